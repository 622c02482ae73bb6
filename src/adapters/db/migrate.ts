import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm";
import { connectionFor } from "./prisma.ts";

/**
 * Applies prisma/migrations with Prisma's own schema engine, built to Wasm, so it runs
 * offline and records `_prisma_migrations` exactly as `prisma migrate deploy` does.
 */
export interface MigrateOptions {
  databaseUrl: string;
  /** Postgres schema to migrate (tests use one per suite); default "public". */
  schema?: string;
  migrationsDir?: string;
  schemaPath?: string;
}

const root = resolve(import.meta.dirname, "../../..");
const defaultMigrationsDir = join(root, "prisma/migrations");
const defaultSchemaPath = join(root, "prisma/schema.prisma");

interface OpenEngine {
  engine: SchemaEngine;
  close(): Promise<void>;
}

async function openEngine(opts: MigrateOptions): Promise<OpenEngine> {
  const schemaPath = opts.schemaPath ?? defaultSchemaPath;
  const datamodel = await readFile(schemaPath, "utf8");
  // Migrations create unqualified tables: a schema is chosen through the search_path.
  const conn = connectionFor(opts.databaseUrl, opts.schema);
  // The engine looks for _prisma_migrations in the adapter's schema, so it is given both.
  // Our own pool, ended afterwards: the engine's advisory lock must not outlive the run.
  const pool = new pg.Pool({ connectionString: conn.connectionString, max: 2, ...(conn.options ? { options: conn.options } : {}) });
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool, conn.schema ? { schema: conn.schema } : undefined));
  // Loaded only when there is something to do: the engine's Wasm stays in the process for good (about 13 MB of RSS).
  const { SchemaEngine: Engine } = await import("@prisma/schema-engine-wasm");
  const engine = await Engine.new({ datamodels: [[schemaPath, datamodel]] }, () => undefined, adapter);
  return { engine, close: () => pool.end() };
}

async function loadMigrations(dir: string): Promise<MigrationList> {
  const entries = (await readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    entries.map(async (name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok" as const, value: await readFile(join(dir, name, "migration.sql"), "utf8") },
      },
    })),
  );
  const lock = await readFile(join(dir, "migration_lock.toml"), "utf8").catch(() => null);
  return {
    baseDir: dir,
    // The engine wants a plain string (or null) here, whatever its .d.ts says.
    lockfile: { path: "migration_lock.toml", content: lock },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

const noFilters = { externalTables: [], externalEnums: [] };

/**
 * Holds a PostgreSQL advisory lock, one per schema, on a connection of its own for as long as
 * `fn` runs: every Octostage process migrates at start, and processes starting together (the
 * pods of a rolling update, a first install) must apply migrations one after the other. The
 * others wait, then find nothing left to apply. The lock ends with the connection, so a
 * process that dies while migrating does not leave it held.
 */
async function withMigrationLock<T>(opts: MigrateOptions, fn: () => Promise<T>): Promise<T> {
  const conn = connectionFor(opts.databaseUrl, opts.schema);
  const client = new pg.Client({ connectionString: conn.connectionString });
  // A connection lost while waiting or migrating (failover, idle timeout) fails the query in
  // flight, or the unlock below; without a listener pg would also throw it as uncaught.
  let lost: Error | undefined;
  client.on("error", (err) => (lost = err));
  await client.connect();
  const key = `octostage:migrate:${conn.schema ?? "public"}`;
  try {
    await client.query("select pg_advisory_lock(hashtext($1))", [key]);
    const result = await fn();
    // Explicitly, not only by closing: behind a pooler the server session may outlive ours.
    await client.query("select pg_advisory_unlock(hashtext($1))", [key]);
    if (lost) throw new Error(`lost the migration lock's database connection: ${lost.message}`, { cause: lost });
    return result;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether `_prisma_migrations` records every migration directory as applied (finished, not rolled
 * back): the usual start of a process, answered with one query and without the schema engine.
 * Anything else (no table yet, a failed or missing migration, an error) is left to the engine.
 */
async function allApplied(opts: MigrateOptions): Promise<boolean> {
  const names = (await readdir(opts.migrationsDir ?? defaultMigrationsDir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name);
  const conn = connectionFor(opts.databaseUrl, opts.schema);
  const client = new pg.Client({ connectionString: conn.connectionString, ...(conn.options ? { options: conn.options } : {}) });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ migration_name: string }>(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`);
    const applied = new Set(rows.map((r) => r.migration_name));
    return names.every((n) => applied.has(n));
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Applies every migration not yet applied; returns the names it applied. */
export async function applyMigrations(opts: MigrateOptions): Promise<string[]> {
  if (await allApplied(opts)) return [];
  return withMigrationLock(opts, async () => {
    const open = await openEngine(opts);
    try {
      const migrationsList = await loadMigrations(opts.migrationsDir ?? defaultMigrationsDir);
      const out = await open.engine.applyMigrations({ migrationsList, filters: noFilters });
      return out.appliedMigrationNames;
    } finally {
      await open.close();
    }
  });
}

/** The SQL that creates the whole schema.prisma on an empty database (the first migration). */
export async function initialMigrationSql(opts: MigrateOptions): Promise<string> {
  const open = await openEngine(opts);
  try {
    const schemaPath = opts.schemaPath ?? defaultSchemaPath;
    const result = await open.engine.diff({
      from: { tag: "empty" },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: await readFile(schemaPath, "utf8") }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return result.stdout ?? "";
  } finally {
    await open.close();
  }
}
