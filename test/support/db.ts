// A fresh Postgres schema per test suite, migrated with the real migrations, dropped after.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { applyMigrations } from "../../src/adapters/db/migrate.ts";
import { createDb } from "../../src/adapters/db/prisma.ts";
import type { Db } from "../../src/adapters/db/prisma.ts";
import { createStagingStore } from "../../src/adapters/db/staging-store.ts";
import type { StagingStoreOptions } from "../../src/adapters/db/staging-store.ts";
import type { StagingStore } from "../../src/ports/store.ts";

export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

export interface TestDb {
  schema: string;
  /** DATABASE_URL that selects this schema (for processes started by the test). */
  url: string;
  db: Db;
  store: StagingStore;
  /** Another store on the same schema, with its own options (a clock, interleaving hooks). */
  storeWith(options: StagingStoreOptions): StagingStore;
  drop(): Promise<void>;
}

export async function createTestDb(): Promise<TestDb> {
  const schema = `t_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.end();
  await applyMigrations({ databaseUrl: testDatabaseUrl, schema });
  const db = createDb(testDatabaseUrl, schema);
  const url = `${testDatabaseUrl}?schema=${schema}`;
  return {
    schema,
    url,
    db,
    store: createStagingStore(db),
    storeWith: (options) => createStagingStore(db, options),
    async drop() {
      await db.$disconnect();
      const c = new pg.Client({ connectionString: testDatabaseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA "${schema}" CASCADE`);
      await c.end();
    },
  };
}
