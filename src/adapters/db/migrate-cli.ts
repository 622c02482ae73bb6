// `npm run db:migrate` applies pending migrations (offline, Prisma's Wasm schema engine).
// `npm run db:migrate -- --print-create` prints the SQL that creates schema.prisma from scratch,
// a starting point when writing a new migration by hand (see docs/contributors/development.md).
import { applyMigrations, initialMigrationSql } from "./migrate.ts";

const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/octostage";

if (process.argv.includes("--print-create")) {
  process.stdout.write(await initialMigrationSql({ databaseUrl }));
} else {
  const applied = await applyMigrations({ databaseUrl });
  console.log(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
}
