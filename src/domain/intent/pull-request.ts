/**
 * What a `pull_request` event asks of its staging, decided on the staging as it is now. Events
 * are ordered by GitHub's `updated_at`: a late redelivery of an older event changes nothing, so
 * a staging's head never moves back to an older commit, and a lost-then-redelivered `closed`
 * cannot archive a PR that was reopened since.
 */
import type { Actor } from "../actor.ts";
import type { LifecyclePolicy } from "../lifecycle.ts";
import { defaultLifecyclePolicy } from "../lifecycle.ts";
import { decideTrigger } from "../policy.ts";
import type { TriggerPolicy } from "../settings.ts";
import type { ActionKind, CurrentStaging, IntentDecision, StagingInputs } from "./inputs.ts";
import { newest, noChange } from "./inputs.ts";

export type PullRequestAction =
  | "opened"
  | "reopened"
  | "synchronize"
  | "ready_for_review"
  | "converted_to_draft"
  | "labeled"
  | "unlabeled"
  | "closed";

/** The facts of a PR event (or of GitHub's answer about a PR) that a staging depends on. */
export interface PullRequestFacts {
  action: PullRequestAction;
  state: "open" | "closed";
  /** Closed by merging (GitHub's `merged`): the merge policy applies instead of the close policy. */
  merged: boolean;
  headSha: string;
  headRef: string;
  draft: boolean;
  labels: readonly string[];
  fromFork: boolean;
  /** GitHub's updated_at of the pull request in the payload; null when unknown. */
  updatedAt: Date | null;
}

/** How the event was taken, for logs and the webhook's answer. */
export type PullRequestOutcome = "deploy" | "hold" | "archive" | "cleanup" | "kept_deleted" | "stale" | "unknown_staging" | "closed" | "unchanged";

const actionKinds: Record<PullRequestAction, ActionKind> = {
  opened: "deploy",
  reopened: "restore",
  synchronize: "update",
  ready_for_review: "deploy",
  converted_to_draft: "hold",
  labeled: "deploy",
  unlabeled: "hold",
  closed: "archive",
};

function isOlder(ev: PullRequestFacts, current: CurrentStaging): boolean {
  return ev.updatedAt !== null && current.prUpdatedAt !== null && ev.updatedAt.getTime() < current.prUpdatedAt.getTime();
}

/** The head fields of the event, and when the head changed (GitHub's time). */
function headInputs(ev: PullRequestFacts, current: CurrentStaging | null, keepLabel: string): Partial<StagingInputs> {
  const changed = !current || current.headSha !== ev.headSha;
  return {
    keepLabel: ev.labels.includes(keepLabel),
    headSha: ev.headSha,
    headRef: ev.headRef,
    headFromFork: ev.fromFork,
    prUpdatedAt: newest(current?.prUpdatedAt ?? null, ev.updatedAt),
    ...(changed ? { headChangedAt: ev.updatedAt } : {}),
  };
}

/** What closing and merging do, and the keep label: the repository's lifecycle policy (the defaults when absent). */
export type ClosePolicy = Pick<LifecyclePolicy, "onClose" | "onMerge" | "keepLabel">;

export function decidePullRequestEvent(
  trigger: TriggerPolicy,
  current: CurrentStaging | null,
  ev: PullRequestFacts,
  actor: Actor,
  lifecycle: ClosePolicy = defaultLifecyclePolicy,
): IntentDecision<PullRequestOutcome> {
  const detail = { event: ev.action, sha: ev.headSha };
  const action = { kind: actionKinds[ev.action], actor, detail };
  if (current && isOlder(ev, current)) {
    return noChange(`older than the state recorded (GitHub updated_at ${ev.updatedAt?.toISOString()} < ${current.prUpdatedAt?.toISOString()})`, "stale");
  }
  if (ev.action === "closed") {
    if (!current) return noChange("no staging for this pull request", "unknown_staging");
    const inputs = { prUpdatedAt: newest(current.prUpdatedAt, ev.updatedAt), keepLabel: ev.labels.includes(lifecycle.keepLabel) };
    if (current.desiredState === "deleted") return { change: true, inputs, action: { ...action, kind: "hold" }, bumpGeneration: false, result: "kept_deleted" };
    const policy = ev.merged ? "onMerge" : "onClose";
    if (lifecycle[policy] === "cleanup") {
      const skipReason = `Cleaned up when the PR was ${ev.merged ? "merged" : "closed"} (lifecycle ${policy}: cleanup); \`/octo deploy\` recreates it.`;
      return { change: true, inputs: { ...inputs, desiredState: "deleted", skipReason }, action: { ...action, kind: "cleanup", detail: { ...detail, policy } }, bumpGeneration: true, result: "cleanup" };
    }
    const archived = current.desiredState === "archived";
    return { change: true, inputs: { ...inputs, desiredState: "archived", skipReason: null }, action: { ...action, detail: { ...detail, policy } }, bumpGeneration: !archived, result: "archive" };
  }
  // A label or a push on a closed PR (GitHub sends some) does not bring its staging back.
  if (ev.state === "closed") return noChange("the pull request is closed", "closed");
  if (current?.desiredState === "deleted") {
    // Deleted on purpose (`/octo delete`): PR events do not bring it back, `/octo deploy` does.
    return {
      change: true,
      inputs: { ...headInputs(ev, current, lifecycle.keepLabel), skipReason: current.skipReason ?? "Deleted with `/octo delete`; `/octo deploy` recreates it." },
      action: { ...action, kind: "hold" },
      bumpGeneration: false,
      result: "kept_deleted",
    };
  }
  const head = headInputs(ev, current, lifecycle.keepLabel);
  const decision = decideTrigger(trigger, { ...ev, approvedSha: current?.approvedSha ?? null });
  if (!decision.deploy) {
    // An archived staging stays archived (`/octo restore` asks for it back, through the fork gate).
    const desiredState = current?.desiredState === "archived" ? "archived" : "held";
    return {
      change: true,
      inputs: { ...head, desiredState, skipReason: decision.reason },
      action: { ...action, kind: "hold", detail: { ...detail, hold: decision.hold } },
      bumpGeneration: false,
      result: "hold",
    };
  }
  // A label or ready-for-review on a staging already running this SHA changes nothing to deploy.
  const changed = !current || current.desiredState !== "active" || current.headSha !== ev.headSha || ev.action === "reopened";
  return {
    change: true,
    inputs: { ...head, desiredState: "active", skipReason: null },
    action,
    bumpGeneration: changed,
    result: changed ? "deploy" : "unchanged",
  };
}

/**
 * What GitHub's answer about a PR changes, if anything, compared with what Octostage recorded
 * (for the reconciler, which asks GitHub now and then in case a webhook was lost): the action
 * to apply, or null when the answer matches. Only a PR GitHub says is closed ever archives.
 */
export function pullRequestDrift(trigger: TriggerPolicy, current: CurrentStaging, pr: Omit<PullRequestFacts, "action">): PullRequestAction | null {
  if (current.desiredState === "deleted") return null;
  if (pr.state === "closed") return current.desiredState === "archived" ? null : "closed";
  if (current.desiredState === "archived") return "reopened";
  if (pr.headSha !== current.headSha) return "synchronize";
  const decision = decideTrigger(trigger, { ...pr, approvedSha: current.approvedSha });
  const wanted = decision.deploy ? "active" : "held";
  if (wanted === current.desiredState) return null;
  return decision.deploy ? "labeled" : "unlabeled";
}
