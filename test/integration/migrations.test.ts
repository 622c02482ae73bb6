import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
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

test("the migrations build exactly the tables, columns, indexes and keys schema.prisma describes (no drift)", async () => {
  const migrated = await createTestDb();
  const fresh = await createTestDb(); // migrated too; emptied below and rebuilt from schema.prisma alone
  const admin = new pg.Client({ connectionString: fresh.url.replace(/\?.*$/, "") });
  await admin.connect();
  try {
    const sql = (await initialMigrationSql({ databaseUrl: fresh.url })).replaceAll(`"public"`, `"${fresh.schema}"`);
    await admin.query(`drop schema "${fresh.schema}" cascade; create schema "${fresh.schema}"`);
    await admin.query(`set search_path to "${fresh.schema}"; ${sql}`);
    const shape = async (schema: string) => {
      const columns = await admin.query(
        `select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns
         where table_schema = $1 and table_name <> '_prisma_migrations' order by table_name, column_name`,
        [schema],
      );
      const indexes = await admin.query(
        `select indexname, replace(replace(indexdef, $1, ''), $2, '') as def from pg_indexes where schemaname = $3 and tablename <> '_prisma_migrations' order by indexname`,
        [`"${schema}".`, `${schema}.`, schema],
      );
      const keys = await admin.query(
        `select conname, replace(pg_get_constraintdef(c.oid), $2, '') as def from pg_constraint c join pg_namespace n on n.oid = c.connamespace
         where n.nspname = $1 and conname not like '_prisma_migrations%' order by conname`,
        [schema, `${schema}.`],
      );
      return { columns: columns.rows, indexes: indexes.rows, keys: keys.rows };
    };
    expect(await shape(migrated.schema)).toEqual(await shape(fresh.schema));
  } finally {
    await admin.end();
    await Promise.all([migrated.drop(), fresh.drop()]);
  }
});

test("a start with every migration applied asks PostgreSQL once and never loads the schema engine; a new migration still gets applied", async () => {
  const t = await createTestDb();
  const dir = await mkdtemp(join(tmpdir(), "migrations-"));
  try {
    // Up to date (createTestDb migrated it): in a fresh process, nothing resolves the engine.
    const script = `
      import { registerHooks } from "node:module";
      let engine = false;
      registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith("@prisma/schema-engine-wasm")) engine = true; return next(specifier, context); } });
      const { applyMigrations } = await import(${JSON.stringify(pathToFileURL(resolve("src/adapters/db/migrate.ts")).href)});
      const applied = await applyMigrations({ databaseUrl: process.env.URL_UNDER_TEST, migrationsDir: process.env.DIR_UNDER_TEST || undefined });
      console.log(JSON.stringify({ applied, engine }));`;
    const run = async (migrationsDir = ""): Promise<{ applied: string[]; engine: boolean }> => {
      const { stdout } = await promisify(execFile)(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], { env: { ...process.env, URL_UNDER_TEST: t.url, DIR_UNDER_TEST: migrationsDir } });
      return JSON.parse(stdout.trim().split("\n").at(-1)!) as { applied: string[]; engine: boolean };
    };
    expect(await run()).toEqual({ applied: [], engine: false });
    // One migration more than the database has: the engine applies it, then the check is quiet again.
    await cp("prisma/migrations", dir, { recursive: true });
    await mkdir(join(dir, "29991231000000_extra"));
    await writeFile(join(dir, "29991231000000_extra", "migration.sql"), `CREATE TABLE "Extra" ("id" INTEGER PRIMARY KEY);\n`);
    expect(await run(dir)).toEqual({ applied: ["29991231000000_extra"], engine: true });
    expect(await run(dir)).toEqual({ applied: [], engine: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await t.drop();
  }
});
