import { z } from "zod";
import { hasCommandLine } from "../domain/command-lines.ts";
import type { NewCommand } from "../ports/store.ts";

/** The subset of GitHub's `issue_comment` payload Octostage reads, checked at the edge. */
const issueCommentPayload = z.object({
  action: z.literal("created"),
  installation: z.object({ id: z.number().int() }),
  repository: z.object({ name: z.string(), owner: z.object({ login: z.string() }) }),
  sender: z.object({ login: z.string(), type: z.string() }),
  issue: z.object({ number: z.number().int().positive(), pull_request: z.object({ url: z.string() }).optional() }),
  comment: z.object({
    id: z.number().int(),
    body: z.string().max(65_536).nullable().default(""),
    created_at: z.iso.datetime({ offset: true }).nullable().optional(),
    user: z.object({ login: z.string(), type: z.string() }),
  }),
});

export type CommentDecision = { run: true; command: NewCommand } | { run: false; why: string };

/**
 * Which comments carry commands: on a pull request, written by a person (bots, Octostage
 * included, are ignored), with at least one `/octo` command line. Edited comments never get
 * here: only `created` is subscribed.
 */
export function commentCommands(deliveryId: string, raw: unknown): CommentDecision {
  const p = issueCommentPayload.parse(raw);
  if (!p.issue.pull_request) return { run: false, why: "not a pull request" };
  if (p.sender.type === "Bot" || p.comment.user.type === "Bot" || p.sender.login.endsWith("[bot]")) return { run: false, why: "written by a bot" };
  const body = p.comment.body ?? "";
  if (!hasCommandLine(body)) return { run: false, why: "no /octo command" };
  return {
    run: true,
    command: {
      source: "github",
      externalId: String(p.comment.id),
      deliveryId,
      installationId: p.installation.id,
      repoOwner: p.repository.owner.login,
      repoName: p.repository.name,
      prNumber: p.issue.number,
      commentId: p.comment.id,
      commentedAt: p.comment.created_at ? new Date(p.comment.created_at) : null,
      actor: p.comment.user.login,
      body,
    },
  };
}
