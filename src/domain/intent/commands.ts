/**
 * What a person's request (from a PR comment today; the API, Slack and the dashboard later)
 * does to a staging, decided on the staging as it is now. Each refusal has a stable code and a
 * sentence people can act on.
 */
import type { Actor } from "../actor.ts";
import type { CurrentStaging, IntentDecision, OverrideChange, OverrideScope } from "./inputs.ts";
import { noChange, shortSha } from "./inputs.ts";

export type RefusalCode =
  | "not_archived"
  | "not_deployed"
  | "unapproved_fork_commit"
  | "unseen_commit"
  | "not_head"
  | "deleted"
  | "invalid_override"
  | "exists"
  | "pull_request"
  | "invalid_keep"
  | "running_limit";

export type CommandResult =
  | {
      ok: true;
      done: "archived" | "already_archived" | "restoring" | "redeploying" | "approved" | "deleting" | "already_deleted" | "overrides_saved" | "created" | "updated" | "unchanged" | "kept" | "unkept";
      sha?: string;
      /** `kept`: until when. */
      until?: Date;
    }
  | { ok: false; code: RefusalCode; message: string };

export function refuse(code: RefusalCode, message: string): IntentDecision<CommandResult> {
  return noChange(message, { ok: false, code, message });
}

/**
 * Approval on every path: a fork's commit deploys only when a maintainer approved exactly that
 * commit. Restore and redeploy of a fork PR whose head moved on since are refused.
 */
function forkGate(current: CurrentStaging): IntentDecision<CommandResult> | undefined {
  if (!current.headFromFork || current.approvedSha === current.headSha) return undefined;
  return refuse(
    "unapproved_fork_commit",
    `This PR comes from a fork and its head \`${shortSha(current.headSha)}\` is not approved${current.approvedSha ? ` (\`${shortSha(current.approvedSha)}\` was)` : ""}: a maintainer must review it and approve it with \`/octo deploy\`.`,
  );
}

export function decideArchive(current: CurrentStaging, actor: Actor): IntentDecision<CommandResult> {
  if (current.desiredState === "deleted") return refuse("deleted", `\`${current.name}\` was deleted; \`/octo deploy\` recreates it.`);
  if (current.desiredState === "archived") return noChange("already archived", { ok: true, done: "already_archived" });
  return { change: true, inputs: { desiredState: "archived" }, action: { kind: "archive", actor, detail: { command: "archive" } }, bumpGeneration: true, result: { ok: true, done: "archived" } };
}

export function decideRestore(current: CurrentStaging, actor: Actor): IntentDecision<CommandResult> {
  if (current.desiredState !== "archived") {
    return refuse("not_archived", `\`${current.name}\` is not archived (${current.desiredState === "held" ? "held back by policy: use `/octo deploy`" : current.desiredState}).`);
  }
  const gate = forkGate(current);
  if (gate) return gate;
  return {
    change: true,
    inputs: { desiredState: "active", skipReason: null },
    action: { kind: "restore", actor, detail: { command: "restore", sha: current.headSha } },
    bumpGeneration: true,
    result: { ok: true, done: "restoring", sha: current.headSha },
  };
}

export function decideRedeploy(current: CurrentStaging, actor: Actor): IntentDecision<CommandResult> {
  if (current.desiredState !== "active") {
    const how = current.desiredState === "archived" ? "`/octo restore` brings it back" : "`/octo deploy` deploys it";
    return refuse("not_deployed", `\`${current.name}\` is not deployed (${current.desiredState}): ${how}.`);
  }
  const gate = forkGate(current);
  if (gate) return gate;
  return {
    change: true,
    inputs: {},
    action: { kind: "deploy", actor, detail: { command: "redeploy", sha: current.headSha } },
    bumpGeneration: true,
    result: { ok: true, done: "redeploying", sha: current.headSha },
  };
}

export interface ApprovalRequest {
  /** An exact commit to approve (a full SHA or a prefix of at least 7 characters). */
  sha?: string;
  /** When the person wrote the request (GitHub's time): commits that arrived later were not seen. */
  seenAt: Date | null;
}

/**
 * `/octo deploy`: deploy now, also what policy holds back; for a fork, approve the head the
 * person saw when writing (a commit that reached the PR after that is refused, not approved).
 */
export function decideApprove(current: CurrentStaging, actor: Actor, req: ApprovalRequest): IntentDecision<CommandResult> {
  const head = current.headSha;
  if (req.sha !== undefined && !head.startsWith(req.sha.toLowerCase())) {
    return refuse("not_head", `${req.sha} is not the head of this PR (the head is \`${shortSha(head)}\`); nothing was approved.`);
  }
  if (req.sha === undefined && req.seenAt && current.headChangedAt && current.headChangedAt.getTime() > req.seenAt.getTime()) {
    return refuse(
      "unseen_commit",
      `A new commit (\`${shortSha(head)}\`) reached this PR after your comment, so it was not approved: review it, then comment \`/octo deploy\` again (or \`/octo deploy ${shortSha(head)}\`).`,
    );
  }
  return {
    change: true,
    inputs: { desiredState: "active", approvedSha: head, approvedBy: actor.id, skipReason: null },
    action: { kind: "deploy", actor, detail: { command: "deploy", approvedSha: head } },
    bumpGeneration: true,
    result: { ok: true, done: "approved", sha: head },
  };
}

export function decideDelete(current: CurrentStaging, actor: Actor): IntentDecision<CommandResult> {
  if (current.desiredState === "deleted" && current.status === "deleted") return noChange("already deleted", { ok: true, done: "already_deleted" });
  return {
    change: true,
    inputs: { desiredState: "deleted" },
    action: { kind: "cleanup", actor, detail: { command: "delete" } },
    bumpGeneration: true,
    result: { ok: true, done: "deleting" },
  };
}

/**
 * Override edits: saved whatever the state; only a deployed staging is updated at once.
 * `problem` is what the values would be wrong about with these edits (holes, size), if anything.
 */
export function decideOverrides(current: CurrentStaging, actor: Actor, scope: OverrideScope, changes: readonly OverrideChange[], problem?: string): IntentDecision<CommandResult> {
  if (problem) return refuse("invalid_override", `${problem}. Nothing was changed.`);
  return {
    change: true,
    inputs: {},
    overrides: changes,
    action: { kind: "override", actor, detail: { command: changes.some((c) => c.op === "set") ? "override" : "unset", scope, changes: changes.map((c) => ({ key: c.key, op: c.op })) } },
    bumpGeneration: current.desiredState === "active",
    result: { ok: true, done: "overrides_saved" },
  };
}

/**
 * `keep`: exempt the staging from the idle and retention policies until `keepUntil`
 * (lifecycle.ts keepForever: until `keep off`), or end the keep (null). A kept archived
 * staging stays archived; a deleted one has nothing to keep.
 */
export function decideKeep(current: CurrentStaging, actor: Actor, keepUntil: Date | null): IntentDecision<CommandResult> {
  if (current.desiredState === "deleted") return refuse("deleted", `\`${current.name}\` was deleted: there is nothing to keep.`);
  const same = current.keepUntil?.getTime() === keepUntil?.getTime();
  if (same) return noChange(keepUntil ? "already kept until then" : "not kept", keepUntil ? { ok: true, done: "kept", until: keepUntil } : { ok: true, done: "unkept" });
  return {
    change: true,
    inputs: { keepUntil },
    action: { kind: "keep", actor, detail: { command: "keep", until: keepUntil?.toISOString() ?? null } },
    bumpGeneration: false,
    result: keepUntil ? { ok: true, done: "kept", until: keepUntil } : { ok: true, done: "unkept" },
  };
}
