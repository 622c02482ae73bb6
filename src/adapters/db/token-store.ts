import type { ApiToken } from "../../generated/prisma/client.ts";
import { roles } from "../../domain/roles.ts";
import type { Role } from "../../domain/roles.ts";
import type { TokenRecord, TokenStore } from "../../ports/tokens.ts";
import { json } from "./change-staging.ts";
import type { Db } from "./prisma.ts";
import { toStoreError } from "./unavailable.ts";

function toToken(row: ApiToken): TokenRecord {
  const role: Role = roles.find((r) => r === row.role) ?? "read";
  return {
    id: row.id,
    name: row.name,
    role,
    prefix: row.prefix,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

const isUniqueViolation = (err: unknown): boolean => typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toStoreError(err);
  }
}

export function createTokenStore(db: Db): TokenStore {
  return {
    create: (token) =>
      guarded(async () => {
        try {
          return toToken(await db.apiToken.create({ data: token }));
        } catch (err) {
          if (isUniqueViolation(err)) return "exists" as const;
          throw err;
        }
      }),
    list: () => guarded(async () => (await db.apiToken.findMany({ orderBy: { name: "asc" } })).map(toToken)),
    findByHash: (tokenHash) =>
      guarded(async () => {
        const row = await db.apiToken.findUnique({ where: { tokenHash } });
        return row ? toToken(row) : null;
      }),
    touch: (id, at) =>
      guarded(async () => {
        await db.apiToken.updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(at.getTime() - 60_000) } }] }, data: { lastUsedAt: at } });
      }),
    revoke: (name, at) =>
      guarded(async () => {
        const row = await db.apiToken.findUnique({ where: { name } });
        if (!row) return null;
        return toToken(row.revokedAt ? row : await db.apiToken.update({ where: { id: row.id }, data: { revokedAt: at } }));
      }),
    getIdempotent: (tokenId, key) =>
      guarded(async () => {
        const row = await db.idempotentRequest.findUnique({ where: { tokenId_key: { tokenId, key } } });
        return row ? { requestHash: row.requestHash, status: row.status, body: row.body } : null;
      }),
    saveIdempotent: (tokenId, key, answer) =>
      guarded(async () => {
        const out = await db.idempotentRequest.createMany({ data: [{ tokenId, key, requestHash: answer.requestHash, status: answer.status, body: json(answer.body) }], skipDuplicates: true });
        return out.count === 1;
      }),
    pruneIdempotent: (before) => guarded(async () => (await db.idempotentRequest.deleteMany({ where: { createdAt: { lt: before } } })).count),
  };
}
