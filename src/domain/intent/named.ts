/**
 * Creating and updating a staging by name (API, `octo`, CI), decided on the staging as it is now,
 * in the transaction that records it. A named staging runs a commit of its repository (a branch,
 * tag or SHA resolved before the transaction) or an explicit image tag; overrides are merged
 * (keys not named stay).
 */
import type { Actor } from "../actor.ts";
import { refuse } from "./commands.ts";
import type { CommandResult } from "./commands.ts";
import type { CurrentStaging, IntentDecision, OverrideChange, StagingInputs } from "./inputs.ts";
import { shortSha } from "./inputs.ts";

/** What a create or an update sets besides overrides. */
export interface NamedHead {
  /** The commit the ref resolved to, and the ref as given. */
  commit?: { sha: string; ref: string };
  /** An explicit image tag; null removes it (the commit's image again). */
  imageTag?: string | null;
  follow?: boolean;
}

export function decideCreate(current: CurrentStaging | null, actor: Actor, head: NamedHead, changes: readonly OverrideChange[], problem?: string): IntentDecision<CommandResult> {
  if (current) return refuse("exists", `a staging named \`${current.name}\` already exists: update it instead (\`octo update ${current.name}\`).`);
  if (problem) return refuse("invalid_override", `${problem}. Nothing was changed.`);
  if (!head.commit && !head.imageTag) return refuse("invalid_override", "a new staging needs a git ref or an image tag. Nothing was changed.");
  const inputs: Partial<StagingInputs> = {
    desiredState: "active",
    headSha: head.commit?.sha ?? "",
    headRef: head.commit?.ref ?? "",
    imageTag: head.imageTag ?? null,
    follow: head.follow ?? false,
  };
  return {
    change: true,
    inputs,
    overrides: changes,
    action: { kind: "deploy", actor, detail: { command: "create", ...(head.commit ? { ref: head.commit.ref, sha: head.commit.sha } : {}), ...(head.imageTag ? { imageTag: head.imageTag } : {}), changes: changes.map((c) => ({ scope: c.scope, key: c.key, op: c.op })) } },
    bumpGeneration: true,
    result: { ok: true, done: "created", ...(head.commit ? { sha: head.commit.sha } : {}) },
  };
}

export function decideUpdate(current: CurrentStaging & { origin: "pull_request" | "named" }, actor: Actor, head: NamedHead, changes: readonly OverrideChange[], problem?: string): IntentDecision<CommandResult> {
  if (current.desiredState === "deleted") return refuse("deleted", `\`${current.name}\` was deleted: create it again, or forget it.`);
  if (current.origin === "pull_request" && (head.commit || head.imageTag !== undefined || head.follow !== undefined)) {
    return refuse("pull_request", `\`${current.name}\` is a pull request's staging: it runs the PR's head. Only its overrides can be changed here.`);
  }
  if (problem) return refuse("invalid_override", `${problem}. Nothing was changed.`);
  const inputs: Partial<StagingInputs> = {};
  if (head.commit && (head.commit.sha !== current.headSha || head.commit.ref !== current.headRef)) Object.assign(inputs, { headSha: head.commit.sha, headRef: head.commit.ref });
  if (head.imageTag !== undefined && head.imageTag !== current.imageTag) inputs.imageTag = head.imageTag;
  if (head.follow !== undefined && head.follow !== current.follow) inputs.follow = head.follow;
  const moved = "headSha" in inputs || "imageTag" in inputs;
  if (!moved && !("follow" in inputs) && changes.length === 0) return { change: false, reason: "nothing to change", result: { ok: true, done: "unchanged" } };
  const sha = inputs.headSha ?? current.headSha;
  return {
    change: true,
    inputs,
    overrides: changes,
    action: {
      kind: "update",
      actor,
      detail: {
        command: "update",
        ...(inputs.headSha ? { ref: inputs.headRef, sha: inputs.headSha, from: shortSha(current.headSha) } : {}),
        ...("imageTag" in inputs ? { imageTag: inputs.imageTag } : {}),
        ...("follow" in inputs ? { follow: inputs.follow } : {}),
        changes: changes.map((c) => ({ scope: c.scope, key: c.key, op: c.op })),
      },
    },
    // Only a deployed staging is redeployed; an archived one keeps its changes for its restore.
    bumpGeneration: current.desiredState === "active" && (moved || changes.length > 0),
    result: { ok: true, done: "updated", ...(sha ? { sha } : {}) },
  };
}

/** A push to the branch a named staging follows: deploy the new commit, unless it is not newer. */
export function decideFollowPush(current: CurrentStaging, actor: Actor, push: { sha: string; pushedAt: Date | null }): IntentDecision<CommandResult> {
  if (!current.follow) return { change: false, reason: "the staging no longer follows its branch", result: { ok: true, done: "unchanged" } };
  if (current.desiredState === "deleted") return { change: false, reason: "the staging was deleted", result: { ok: true, done: "unchanged" } };
  if (current.headSha === push.sha) return { change: false, reason: "already at this commit", result: { ok: true, done: "unchanged" } };
  if (push.pushedAt && current.headChangedAt && push.pushedAt < current.headChangedAt) {
    return { change: false, reason: `an older push (pushed at ${push.pushedAt.toISOString()}, the staging's head is from ${current.headChangedAt.toISOString()})`, result: { ok: true, done: "unchanged" } };
  }
  return {
    change: true,
    inputs: { headSha: push.sha, headChangedAt: push.pushedAt },
    action: { kind: "update", actor, detail: { event: "push", ref: current.headRef, sha: push.sha, from: shortSha(current.headSha) } },
    bumpGeneration: current.desiredState === "active",
    result: { ok: true, done: "updated", sha: push.sha },
  };
}
