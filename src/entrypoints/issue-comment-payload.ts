import { z } from "zod";
import type { CommentCommandsJob } from "../ports/queue.ts";

/** The subset of GitHub's `issue_comment` payload Octostage reads, checked at the edge. */
export const issueCommentPayload = z.object({
  action: z.literal("created"),
  installation: z.object({ id: z.number().int() }),
  repository: z.object({ name: z.string(), owner: z.object({ login: z.string() }) }),
  sender: z.object({ login: z.string(), type: z.string() }),
  issue: z.object({ number: z.number().int().positive(), pull_request: z.object({ url: z.string() }).optional() }),
  comment: z.object({ id: z.number().int(), body: z.string().nullable().default(""), user: z.object({ login: z.string(), type: z.string() }) }),
});

/** Lines starting with `/octo` (the grammar decides what they mean). */
const commandLine = /^\s*\/octo\b/im;

export type CommentDecision = { run: true; job: CommentCommandsJob } | { run: false; why: string };

/**
 * Which comments carry commands: on a pull request, written by a person (bots, Octostage
 * included, are ignored), with at least one `/octo` line. Edited comments never get here:
 * only `created` is subscribed.
 */
export function commentCommands(deliveryId: string, raw: unknown): CommentDecision {
  const p = issueCommentPayload.parse(raw);
  if (!p.issue.pull_request) return { run: false, why: "not a pull request" };
  if (p.sender.type === "Bot" || p.comment.user.type === "Bot" || p.sender.login.endsWith("[bot]")) return { run: false, why: "written by a bot" };
  const body = p.comment.body ?? "";
  if (!commandLine.test(body)) return { run: false, why: "no /octo command" };
  return {
    run: true,
    job: {
      deliveryId,
      installationId: p.installation.id,
      owner: p.repository.owner.login,
      repo: p.repository.name,
      number: p.issue.number,
      commentId: p.comment.id,
      body,
      actor: p.comment.user.login,
    },
  };
}
