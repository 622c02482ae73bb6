import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.ts";

export type Db = PrismaClient;

/**
 * Splits Prisma's `?schema=NAME` from a DATABASE_URL (node-postgres does not know it).
 * The schema is selected through the search_path, so raw SQL and migrations see it too.
 */
export function connectionFor(databaseUrl: string, schema?: string): { connectionString: string; schema?: string; options?: string } {
  const url = new URL(databaseUrl);
  const fromUrl = url.searchParams.get("schema") ?? undefined;
  url.searchParams.delete("schema");
  const chosen = schema ?? fromUrl;
  if (chosen !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(chosen)) throw new Error(`invalid schema name ${chosen}`);
  return {
    connectionString: url.toString(),
    ...(chosen ? { schema: chosen, options: `-c search_path="${chosen}"` } : {}),
  };
}

const pools = new WeakMap<Db, pg.Pool>();

/** A Prisma client over node-postgres (no native engine). */
export function createDb(databaseUrl: string, schema?: string): Db {
  const conn = connectionFor(databaseUrl, schema);
  // Our pool, handed to Prisma's adapter (which ends it on $disconnect): the intake's hot path
  // queries it directly (change-staging.ts), on the same connections.
  const pool = new pg.Pool({ connectionString: conn.connectionString, max: 10, ...(conn.options ? { options: conn.options } : {}) });
  // An idle connection that drops (a restart, a failover) is an 'error' on the pool: the pool
  // forgets it, and the next query fails or connects again. Prisma listens only once it has
  // connected; the fast path may use the pool before that, and an unheard 'error' ends the process.
  pool.on("error", () => undefined);
  const adapter = new PrismaPg(pool, { ...(conn.schema ? { schema: conn.schema } : {}), disposeExternalPool: true });
  const client = new PrismaClient({ adapter });
  pools.set(client, pool);
  return client;
}

/** The node-postgres pool under a client made by createDb. */
export function poolOf(db: Db): pg.Pool | undefined {
  return pools.get(db);
}

const TIMESTAMP = 1114;
const INT8 = 20;

/**
 * Column types as Prisma maps them, for rows read with poolOf(db) directly: `timestamp(3)` (how
 * Prisma stores DateTime: UTC, no zone) to a Date in UTC whatever the process's TZ, `int8` to a
 * bigint; everything else as node-postgres parses it (json and jsonb to values).
 */
export const prismaTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number): ((value: string) => unknown) => {
    if (oid === TIMESTAMP) return (value) => new Date(`${value.replace(" ", "T")}Z`);
    if (oid === INT8) return (value) => BigInt(value);
    // Queries here use the text format only.
    return pg.types.getTypeParser(oid, "text") as (value: string) => unknown;
  }) as pg.CustomTypesConfig["getTypeParser"],
};
