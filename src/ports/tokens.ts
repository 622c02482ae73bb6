/**
 * API tokens and idempotent POSTs. Adapter: src/adapters/db/token-store.ts (PostgreSQL). A token
 * is stored as its SHA-256 only; the token itself is shown once, when it is created.
 */
import type { Role } from "../domain/roles.ts";

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  /** The token's first characters, to recognise it in a list. */
  prefix: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface NewToken {
  name: string;
  role: Role;
  tokenHash: string;
  prefix: string;
  createdBy: string;
  expiresAt: Date | null;
}

interface IdempotentAnswer {
  requestHash: string;
  status: number;
  body: unknown;
}

export interface TokenStore {
  /** "exists" when a token of that name exists (revoked or not). */
  create(token: NewToken): Promise<TokenRecord | "exists">;
  list(): Promise<TokenRecord[]>;
  /** The token with this hash (revoked and expired ones included: the caller says why it is refused). */
  findByHash(tokenHash: string): Promise<TokenRecord | null>;
  /** Records a use (at most once a minute per token). */
  touch(id: string, at: Date): Promise<void>;
  /** Revokes the named token; null when there is none. */
  revoke(name: string, at: Date): Promise<TokenRecord | null>;
  getIdempotent(tokenId: string, key: string): Promise<IdempotentAnswer | null>;
  /** Saves the answer to a POST under its key; false when another request saved one first. */
  saveIdempotent(tokenId: string, key: string, answer: IdempotentAnswer): Promise<boolean>;
  /** Forgets idempotency keys older than `before`. */
  pruneIdempotent(before: Date): Promise<number>;
}
