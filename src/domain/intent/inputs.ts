/**
 * A staging's inputs: what people and events ask for (head commit, desired state, approvals,
 * holds). Every change of inputs is decided by a pure function of the inputs as they are at
 * that moment (read under a row lock), so concurrent writers never lose each other's changes.
 */
import type { Actor } from "../actor.ts";
import type { StagingStatus } from "../state-machine.ts";

/** Deployed, scaled to zero, held back by policy (draft, labels, fork), or uninstalled. */
export type DesiredState = "active" | "archived" | "held" | "deleted";

export type ActionKind = "deploy" | "update" | "archive" | "restore" | "cleanup" | "override" | "hold" | "recover" | "keep";

export interface StagingInputs {
  desiredState: DesiredState;
  headSha: string;
  headRef: string;
  /** The head branch lives in another repository: only the commit a maintainer approved deploys. */
  headFromFork: boolean;
  /** GitHub's time of the event that brought the current head (what a commenter could have seen). */
  headChangedAt: Date | null;
  /** GitHub's updated_at of the newest PR event applied: older events change nothing. */
  prUpdatedAt: Date | null;
  approvedSha: string | null;
  approvedBy: string | null;
  /** Why the staging is not deployed (held by policy, deleted on purpose). */
  skipReason: string | null;
  /** A named staging's explicit image tag (instead of the one its commit's template gives); null for PRs. */
  imageTag: string | null;
  /** A named staging that tracks its branch: a push to headRef updates it. */
  follow: boolean;
  /** Kept from idle archive and retention cleanup until then (lifecycle.ts keepForever: until `keep off`). */
  keepUntil: Date | null;
  /** The PR carries the repository's keep label. */
  keepLabel: boolean;
}

/** What a decision sees of the staging: its inputs and where it stands. */
export interface CurrentStaging extends StagingInputs {
  name: string;
  namespace: string;
  status: StagingStatus;
  generation: number;
  observedGeneration: number;
}

export type OverrideScope = "app" | "deployment";

export interface OverrideChange {
  scope: OverrideScope;
  key: string;
  op: "set" | "unset";
  value?: unknown;
}

interface IntentAction {
  kind: ActionKind;
  actor: Actor;
  detail?: Record<string, unknown>;
}

/**
 * The outcome of deciding on a change: new inputs (merged over the current ones), override
 * edits, the audit entry, and whether the worker has something new to apply; or nothing to
 * change, with why. `result` is what the caller gets back either way.
 */
export type IntentDecision<R> =
  | {
      change: true;
      inputs: Partial<StagingInputs>;
      overrides?: readonly OverrideChange[];
      action: IntentAction;
      bumpGeneration: boolean;
      result: R;
    }
  | { change: false; reason: string; result: R };

export function noChange<R>(reason: string, result: R): IntentDecision<R> {
  return { change: false, reason, result };
}

/** The newer of two GitHub timestamps (null counts as unknown, the other wins). */
export function newest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
}

export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}
