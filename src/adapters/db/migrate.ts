import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import { SchemaEngine } from "@prisma/schema-engine-wasm";
import type { MigrationList } from "@prisma/schema-engine-wasm";
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

async function openEngine(opts: MigrateOptions): Promise<SchemaEngine> {
  const schemaPath = opts.schemaPath ?? defaultSchemaPath;
  const datamodel = await readFile(schemaPath, "utf8");
  // Migrations create unqualified tables: a schema is chosen through the search_path.
  const conn = connectionFor(opts.databaseUrl, opts.schema);
  const pg = new PrismaPg({ connectionString: conn.connectionString, ...(conn.options ? { options: conn.options } : {}) });
  const adapter = bindMigrationAwareSqlAdapterFactory(pg);
  return SchemaEngine.new({ datamodels: [[schemaPath, datamodel]] }, () => undefined, adapter);
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
    // The engine wants a plain string here, whatever its .d.ts says (see ENVIRONMENT.md).
    lockfile: { path: "migration_lock.toml", content: lock } as unknown as MigrationList["lockfile"],
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

const noFilters = { externalTables: [], externalEnums: [] };

/** Applies every migration not yet applied; returns the names it applied. */
export async function applyMigrations(opts: MigrateOptions): Promise<string[]> {
  const engine = await openEngine(opts);
  const migrationsList = await loadMigrations(opts.migrationsDir ?? defaultMigrationsDir);
  const out = await engine.applyMigrations({ migrationsList, filters: noFilters });
  return out.appliedMigrationNames;
}

/** The SQL that takes the applied migrations to the current schema.prisma ("" when in sync). */
export async function diffSchemaAgainstMigrations(opts: MigrateOptions): Promise<string> {
  const engine = await openEngine(opts);
  const schemaPath = opts.schemaPath ?? defaultSchemaPath;
  const migrations = await loadMigrations(opts.migrationsDir ?? defaultMigrationsDir);
  const result = await engine.diff({
    from: migrations.migrationDirectories.length ? { tag: "migrations", ...migrations } : { tag: "empty" },
    to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: await readFile(schemaPath, "utf8") }] },
    script: true,
    exitCode: null,
    filters: noFilters,
  });
  return result.stdout ?? "";
}
