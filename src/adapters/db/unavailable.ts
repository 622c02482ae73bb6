/** Which database failures mean "Postgres cannot be reached now" (retry later) rather than a bug. */
import { StoreUnavailableError } from "../../ports/store.ts";

/** Prisma: can't reach server, timed out, server closed the connection, pool timeout, transaction API timeout. */
const prismaCodes = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028"]);
/** Node and pg network errors, and PostgreSQL's connection-exception / shutdown SQLSTATEs. */
const errnoCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const sqlStates = /^(08...|57P0[1-3]|53300)$/;
/**
 * Prisma's driver adapters (@prisma/adapter-pg) report why a query failed in
 * `meta.driverAdapterError.cause`: a `kind` (DatabaseNotReachable, ...) or, for PostgreSQL's own
 * errors, `originalCode` (its SQLSTATE, e.g. 57P01 when a stop terminated the connection). Raw
 * queries ($queryRaw) surface as P2010 with only that to tell why.
 */
const adapterKinds = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "TransactionAlreadyClosed", "TlsConnectionError"]);
const messages = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|the database system is (starting up|shutting down)|Transaction already closed|Unable to start a transaction in the given time/i;

function codesOf(err: unknown, depth = 0): string[] {
  if (typeof err !== "object" || err === null || depth > 5) return [];
  const e = err as { code?: unknown; cause?: unknown; errno?: unknown; originalCode?: unknown; kind?: unknown; errors?: unknown; meta?: { driverAdapterError?: unknown } };
  const own = [e.code, e.originalCode, e.errno, e.kind].filter((c): c is string => typeof c === "string");
  const nested = Array.isArray(e.errors) ? e.errors.flatMap((x) => codesOf(x, depth + 1)) : [];
  return [...own, ...codesOf(e.cause, depth + 1), ...codesOf(e.meta?.driverAdapterError, depth + 1), ...nested];
}

function messagesOf(err: unknown, depth = 0): string[] {
  if (typeof err !== "object" || err === null || depth > 5) return [];
  const e = err as { message?: unknown; cause?: unknown };
  return [...(typeof e.message === "string" ? [e.message] : []), ...messagesOf(e.cause, depth + 1)];
}

function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const codes = codesOf(err);
  if (codes.some((c) => prismaCodes.has(c) || errnoCodes.has(c) || adapterKinds.has(c) || sqlStates.test(c))) return true;
  return messagesOf(err).some((m) => messages.test(m));
}

/** Rethrows a database failure as StoreUnavailableError when Postgres could not be reached. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || !isUnavailable(err)) return err;
  return new StoreUnavailableError(`PostgreSQL is unavailable: ${messagesOf(err)[0] ?? "no answer"}`, { cause: err });
}
