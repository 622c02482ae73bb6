/**
 * API tokens: created with a name, a role and an optional expiry, shown once, stored as their
 * SHA-256 only. Bearer authentication for the HTTP API. The first admin token comes from the
 * server-side command `octostage token create` (src/main/octostage.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { systemActor } from "../domain/actor.ts";
import { roleRefusal } from "../domain/roles.ts";
import type { Caller, Role } from "../domain/roles.ts";
import type { Clock } from "../ports/clock.ts";
import type { TokenRecord, TokenStore } from "../ports/tokens.ts";

export interface TokenDeps {
  tokens: TokenStore;
  clock: Clock;
}

const tokenPrefix = "octo_";
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export type TokenResult<T> = { ok: true; value: T } | { ok: false; code: "forbidden" | "invalid" | "conflict" | "not_found"; message: string };

export interface CreateTokenInput {
  name: string;
  role: Role;
  /** Days until it expires; none: it never expires. */
  expiresInDays?: number;
}

/** A new token: its record and, this once, the token itself. */
export async function createToken(deps: TokenDeps, caller: Caller, input: CreateTokenInput): Promise<TokenResult<{ token: string; record: TokenRecord }>> {
  const refused = roleRefusal(caller, "tokens");
  if (refused) return { ok: false, code: "forbidden", message: refused };
  if (!namePattern.test(input.name)) return { ok: false, code: "invalid", message: `token name "${input.name}": 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit` };
  if (input.expiresInDays !== undefined && !(Number.isInteger(input.expiresInDays) && input.expiresInDays >= 1 && input.expiresInDays <= 3650)) {
    return { ok: false, code: "invalid", message: "expiresInDays: a whole number of days from 1 to 3650" };
  }
  const token = `${tokenPrefix}${randomBytes(32).toString("base64url")}`;
  const now = deps.clock.now();
  const record = await deps.tokens.create({
    name: input.name,
    role: input.role,
    tokenHash: hashToken(token),
    prefix: token.slice(0, tokenPrefix.length + 8),
    createdBy: `${caller.actor.source}:${caller.actor.id}`,
    expiresAt: input.expiresInDays === undefined ? null : new Date(now.getTime() + input.expiresInDays * 86_400_000),
  });
  if (record === "exists") return { ok: false, code: "conflict", message: `a token named "${input.name}" exists already (revoked tokens keep their name)` };
  return { ok: true, value: { token, record } };
}

export async function listTokens(deps: TokenDeps, caller: Caller): Promise<TokenResult<TokenRecord[]>> {
  const refused = roleRefusal(caller, "tokens");
  if (refused) return { ok: false, code: "forbidden", message: refused };
  return { ok: true, value: await deps.tokens.list() };
}

export async function revokeToken(deps: TokenDeps, caller: Caller, name: string): Promise<TokenResult<TokenRecord>> {
  const refused = roleRefusal(caller, "tokens");
  if (refused) return { ok: false, code: "forbidden", message: refused };
  const record = await deps.tokens.revoke(name, deps.clock.now());
  return record ? { ok: true, value: record } : { ok: false, code: "not_found", message: `no token named "${name}"` };
}

/** The caller a bearer token stands for, or why it is refused (the same answer for every unknown token). */
export async function authenticate(deps: TokenDeps, bearer: string): Promise<{ ok: true; caller: Caller; token: TokenRecord } | { ok: false; message: string }> {
  if (!bearer.startsWith(tokenPrefix) || bearer.length > 200) return { ok: false, message: "invalid token" };
  const record = await deps.tokens.findByHash(hashToken(bearer));
  if (!record) return { ok: false, message: "invalid token" };
  const now = deps.clock.now();
  if (record.revokedAt) return { ok: false, message: `token "${record.name}" was revoked` };
  if (record.expiresAt && record.expiresAt <= now) return { ok: false, message: `token "${record.name}" expired on ${record.expiresAt.toISOString()}` };
  await deps.tokens.touch(record.id, now);
  return { ok: true, caller: { actor: { source: "api", id: record.name, name: record.name }, role: record.role }, token: record };
}

/** The caller of server-side commands run by an operator on the server (`octostage token create`). */
export const operatorCaller: Caller = { actor: { ...systemActor, name: "operator" }, role: "admin" };
