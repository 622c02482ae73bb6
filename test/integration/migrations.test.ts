import { readFile, readdir } from "node:fs/promises";
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
