import { randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import pg from "pg";
import { expect, test } from "vitest";
import { applyMigrations, initialMigrationSql } from "../../src/adapters/db/migrate.ts";
import { createTestDb } from "../support/db.ts";

test("migrations apply offline into the chosen schema, once", async () => {
  const t = await createTestDb();
  try {
    expect(await applyMigrations({ databaseUrl: t.url })).toEqual([]);
    const rows = await t.db.$queryRawUnsafe<{ table_schema: string }[]>(
      `select table_schema from information_schema.tables where table_name = 'Staging' and table_schema in ('public', $1)`,
      t.schema,
    );
    expect(rows.map((x) => x.table_schema)).toEqual([t.schema]);
    const applied = await t.db.$queryRawUnsafe<{ migration_name: string }[]>(`select migration_name from "_prisma_migrations"`);
    expect(applied.map((r) => r.migration_name)).toEqual((await readdir("prisma/migrations", { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name));
  } finally {
    await t.drop();
  }
});

test("while there is one migration, it creates exactly what schema.prisma describes", async () => {
  const dirs = (await readdir("prisma/migrations", { withFileTypes: true })).filter((d) => d.isDirectory());
  if (dirs.length !== 1) return; // later migrations are diffs, checked by the test above applying cleanly
  const written = await readFile(`prisma/migrations/${dirs[0]!.name}/migration.sql`, "utf8");
  const t = await createTestDb();
  try {
    const sql = await initialMigrationSql({ databaseUrl: t.url });
    expect(sql.replaceAll(`"${t.schema}"`, `"public"`)).toBe(written);
  } finally {
    await t.drop();
  }
});

test("processes starting together migrate one after the other: each migration is applied once", async () => {
  const t = await createTestDb(); // for its database URL; the new schema below starts empty
  const schema = `migrate_race_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: t.url.replace(/\?.*$/, "") });
  await admin.connect();
  try {
    await admin.query(`create schema "${schema}"`);
    const results = await Promise.all([1, 2, 3].map(() => applyMigrations({ databaseUrl: t.url, schema })));
    const all = (await readdir("prisma/migrations", { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    // One process applied everything; the others waited and found nothing to do.
    expect(results.map((r) => r.length).sort()).toEqual([0, 0, all.length]);
    const applied = await admin.query<{ migration_name: string }>(`select migration_name from "${schema}"."_prisma_migrations"`);
    expect(applied.rows.map((r) => r.migration_name)).toEqual(all);
  } finally {
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
    await t.drop();
  }
});

test("a process waits for the migration lock as long as another holds it (no time limit), then migrates", async () => {
  const t = await createTestDb();
  const schema = `migrate_wait_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: t.url.replace(/\?.*$/, "") });
  await admin.connect();
  try {
    await admin.query(`create schema "${schema}"`);
    // Another process is migrating this schema (holding the lock on its own connection).
    await admin.query("select pg_advisory_lock(hashtext($1))", [`octostage:migrate:${schema}`]);
    let done = false;
    const waiting = applyMigrations({ databaseUrl: t.url, schema }).then((names) => ((done = true), names));
    await new Promise((r) => setTimeout(r, 800));
    expect(done).toBe(false);
    const tables = await admin.query(`select 1 from information_schema.tables where table_schema = $1`, [schema]);
    expect(tables.rowCount).toBe(0);
    await admin.query("select pg_advisory_unlock(hashtext($1))", [`octostage:migrate:${schema}`]);
    expect((await waiting).length).toBeGreaterThan(0);
  } finally {
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
    await t.drop();
  }
});

test("the migrations create every table schema.prisma describes (a new model needs a new migration)", async () => {
  const t = await createTestDb();
  try {
    const tables = (sql: string): string[] => [...sql.matchAll(/CREATE TABLE "(\w+)"/g)].map((m) => m[1]!).sort();
    const wanted = tables(await initialMigrationSql({ databaseUrl: t.url }));
    const dirs = (await readdir("prisma/migrations", { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    const written = (await Promise.all(dirs.map((d) => readFile(`prisma/migrations/${d}/migration.sql`, "utf8")))).join("\n");
    expect(tables(written)).toEqual(wanted);
    expect(wanted).toContain("CommandRun");
  } finally {
    await t.drop();
  }
});
