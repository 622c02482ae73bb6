import { z } from "zod";
import { githubActor } from "../domain/actor.ts";
import type { PushEvent } from "../app/stagings/follow-push.ts";

/** The fields of a `push` webhook Octostage reads; anything else in it is ignored. */
const pushPayload = z.object({
  ref: z.string(),
  after: z.string().regex(/^[0-9a-f]{40}$/),
  deleted: z.boolean().default(false),
  repository: z.object({ name: z.string(), owner: z.object({ login: z.string() }), pushed_at: z.union([z.number(), z.string(), z.null()]).optional() }),
  pusher: z.object({ name: z.string() }).optional(),
  sender: z.object({ login: z.string() }).optional(),
});

/** A push to a branch, or null for what Octostage ignores (tags, deleted branches). A malformed payload throws (answered 400). */
export function toPushEvent(deliveryId: string, payload: unknown): PushEvent | null {
  const p = pushPayload.parse(payload);
  if (!p.ref.startsWith("refs/heads/") || p.deleted) return null;
  const at = p.repository.pushed_at;
  // GitHub sends pushed_at as epoch seconds in push events (an ISO string elsewhere).
  const pushedAt = typeof at === "number" ? new Date(at * 1000) : typeof at === "string" ? new Date(at) : null;
  return {
    deliveryId,
    owner: p.repository.owner.login,
    repo: p.repository.name,
    branch: p.ref.slice("refs/heads/".length),
    sha: p.after,
    pushedAt: pushedAt && !Number.isNaN(pushedAt.getTime()) ? pushedAt : null,
    actor: githubActor(p.sender?.login ?? p.pusher?.name ?? "github"),
  };
}
