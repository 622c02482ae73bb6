// Deterministic interleavings for concurrency tests: barriers, and "is a writer waiting for a
// row lock" read from PostgreSQL itself (never a sleep that only usually orders things).
import pg from "pg";
import { testDatabaseUrl } from "./db.ts";

export interface Barrier {
  /** Resolves once release() is called. */
  wait(): Promise<void>;
  release(): void;
  /** Resolves once somebody is waiting at the barrier. */
  reached(): Promise<void>;
}

export function barrier(): Barrier {
  let release!: () => void;
  let arrived!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (arrived = r));
  return {
    wait: () => {
      arrived();
      return gate;
    },
    release,
    reached: () => reached,
  };
}

/**
 * Resolves once another transaction waits for a row lock on `table` in `schema` (PostgreSQL
 * grants the first waiter a tuple lock on the row it waits for), or `settled()` turns true.
 */
export async function untilWaitingForRowLock(schema: string, table: string, settled: () => boolean, timeoutMs = 10_000): Promise<"waiting" | "settled"> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (settled()) return "settled";
      const { rows } = await client.query<{ n: string }>(
        `select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation join pg_namespace s on s.oid = c.relnamespace
         where s.nspname = $1 and c.relname = $2 and l.locktype = 'tuple'`,
        [schema, table],
      );
      if (Number(rows[0]?.n ?? 0) > 0) return "waiting";
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no transaction waited for a row lock on ${schema}.${table} within ${timeoutMs} ms`);
  } finally {
    await client.end();
  }
}
