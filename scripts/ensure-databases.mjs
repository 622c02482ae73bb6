// Creates the named databases on the local PostgreSQL when missing (used by scripts/setup.sh).
import pg from "pg";

const url = process.env.DATABASE_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const client = new pg.Client({ connectionString: url });
try {
  await client.connect();
} catch (err) {
  console.error(`[setup] cannot connect to ${url}: ${err.message}`);
  process.exit(1);
}
for (const name of process.argv.slice(2)) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  if (!rowCount) {
    await client.query(`CREATE DATABASE "${name}"`);
    console.error(`[setup] created database ${name}`);
  }
}
await client.end();
