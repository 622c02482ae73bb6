/**
 * Dashboard sessions in Redis, under the SHA-256 of the session id: whoever reads Redis (a
 * backup, a shared instance) learns no cookie that would sign them in. Each session expires
 * with its TTL; sign-out deletes it.
 */
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import type { SessionStore } from "../../ports/sessions.ts";

export function createRedisSessionStore(opts: { redisUrl: string; prefix: string }): SessionStore {
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false });
  const keyOf = (id: string) => `${opts.prefix}:session:${createHash("sha256").update(id).digest("hex")}`;
  return {
    async get(id) {
      const raw = await redis.get(keyOf(id));
      if (raw === null) return null;
      try {
        const parsed: unknown = JSON.parse(raw);
        return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : null;
      } catch {
        return null;
      }
    },
    async set(id, data, ttlSeconds) {
      await redis.set(keyOf(id), JSON.stringify(data), "EX", Math.max(1, Math.ceil(ttlSeconds)));
    },
    async destroy(id) {
      await redis.del(keyOf(id));
    },
    async close() {
      await redis.quit().catch(() => undefined);
    },
  };
}
