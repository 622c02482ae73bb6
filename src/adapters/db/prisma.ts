import { PrismaPg } from "@prisma/adapter-pg";
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

/** A Prisma client over node-postgres (no native engine). */
export function createDb(databaseUrl: string, schema?: string): Db {
  const conn = connectionFor(databaseUrl, schema);
  const adapter = new PrismaPg(
    { connectionString: conn.connectionString, max: 10, ...(conn.options ? { options: conn.options } : {}) },
    conn.schema ? { schema: conn.schema } : undefined,
  );
  return new PrismaClient({ adapter });
}
