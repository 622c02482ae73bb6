/** Postgres as the use cases see it: the source of truth. Adapter: src/adapters/db/staging-store.ts. */
import type { DesiredSpec } from "../domain/spec.ts";
import type { StagingStatus } from "../domain/state-machine.ts";

/** What the staging should be: deployed, scaled to zero, or held back by policy (draft, labels, fork). */
export type DesiredState = "active" | "archived" | "held" | "deleted";
export type ActionKind = "deploy" | "update" | "archive" | "restore" | "cleanup" | "override" | "hold";
export type ActionSource = "github" | "slack" | "jira" | "cli" | "system";
export type ActionState = "queued" | "running" | "succeeded" | "failed" | "superseded" | "skipped";

export interface StagingRecord {
  id: string;
  name: string;
  repoOwner: string;
  repoName: string;
  prNumber: number;
  installationId: number;
  namespace: string;
  desiredState: DesiredState;
  desiredSpec: DesiredSpec;
  generation: number;
  observedGeneration: number;
  status: StagingStatus;
  reason: string | null;
  statusChangedAt: Date;
  statusVersion: number;
  reportedVersion: number;
  /** What reporters last wrote (hashes of the rendered output) and when. */
  reported: { at: Date | null; check: string | null; comment: string | null; deployment: string | null };
  url: string | null;
  headSha: string;
  headRef: string;
  /** What the last successful helm run deployed; headSha may be ahead while the PR is held. */
  deployedSha: string | null;
  /** The last helm run for the current generation failed for good (cleared by a success). */
  lastDeployError: string | null;
  skipReason: string | null;
  /** A maintainer's approval of a fork PR, pinned to the approved SHA. */
  approvedSha: string | null;
  approvedBy: string | null;
  archivedReplicas: Record<string, number> | null;
  deployStartedAt: Date | null;
  checkRun: { id: number; sha: string } | null;
  commentId: number | null;
  deployment: { id: number; sha: string } | null;
}

export interface ActionRecord {
  id: string;
  kind: ActionKind;
  actor: string;
  source: ActionSource;
  generation: number;
  state: ActionState;
  detail: unknown;
  exitCode: number | null;
  durationMs: number | null;
  output: string | null;
  error: string | null;
  deliveryId: string | null;
  createdAt: Date;
}

export interface TransitionRecord {
  from: StagingStatus;
  to: StagingStatus;
  reason: string | null;
  cause: string;
  actor: string;
  at: Date;
}

export interface StagingKey {
  repoOwner: string;
  repoName: string;
  prNumber: number;
}

export interface IntentInput {
  /** GitHub's X-GitHub-Delivery: a second intent with the same id changes nothing. */
  deliveryId?: string;
  event: string;
  key: StagingKey;
  /** Fields for a staging seen for the first time. */
  create: { name: string; namespace: string; installationId: number };
  desiredState: DesiredState;
  desiredSpec?: DesiredSpec;
  skipReason: string | null;
  action: { kind: ActionKind; actor: string; source: ActionSource; detail?: unknown };
  /** Whether this changes what must be deployed (a new generation for the worker). */
  bumpGeneration: boolean;
  /** Override edits stored in the same transaction (by the action's actor and source). */
  overrides?: OverrideChange[];
  /** Sets (or with null clears) the maintainer's approval of a fork PR. */
  approval?: { sha: string; by: string } | null;
}

export interface OverrideChange {
  scope: "app" | "deployment";
  key: string;
  op: "set" | "unset";
  value?: unknown;
}

/** A stored override edit over the project defaults, with who made it and when. */
export interface OverrideRecord extends OverrideChange {
  actor: string;
  source: string;
  at: Date;
}

export type IntentOutcome =
  | { outcome: "duplicate" }
  | { outcome: "recorded"; staging: StagingRecord; actionId: string; created: boolean };

export interface TransitionInput {
  to: StagingStatus;
  reason: string | null;
  cause: string;
  actor: string;
  /**
   * Apply only if the staging's statusVersion is still this one: for a decision made from a
   * staging read earlier (health evaluation), which a newer status must not be overwritten by.
   */
  expectedStatusVersion?: number;
}

export type TransitionOutcome =
  /** `changed`: the status moved (false when only the reason changed). */
  | { applied: true; staging: StagingRecord; changed: boolean }
  | { applied: false; staging: StagingRecord; refused?: string; stale?: boolean };

export interface ActionResult {
  state: ActionState;
  exitCode?: number | null;
  durationMs?: number;
  output?: string;
  error?: string;
}

export interface StagingStore {
  recordIntent(input: IntentInput): Promise<IntentOutcome>;
  get(id: string): Promise<StagingRecord | null>;
  find(key: StagingKey): Promise<StagingRecord | null>;
  findByNamespace(namespace: string): Promise<StagingRecord | null>;
  /** Stagings whose workloads Octostage watches (not archived, held or deleted). */
  listObserved(): Promise<StagingRecord[]>;
  /** Observed stagings in a rollout (deploying or restoring): the ones a deploy timeout can fail. */
  listInRollout(): Promise<StagingRecord[]>;
  /** Moves the status if the state machine allows it; same status with a new reason updates the reason. */
  transition(id: string, input: TransitionInput): Promise<TransitionOutcome>;
  /** Marks queued actions older than `generation` superseded and that generation's action running. */
  startGeneration(id: string, generation: number): Promise<void>;
  finishGeneration(id: string, generation: number, result: ActionResult): Promise<void>;
  setObservedGeneration(id: string, generation: number): Promise<void>;
  setArchivedReplicas(id: string, replicas: Record<string, number> | null): Promise<void>;
  setDeployStarted(id: string, at: Date | null): Promise<void>;
  /** Records the outcome of a helm run: the SHA it deployed, or why it failed for good. */
  setDeployOutcome(id: string, outcome: { deployedSha: string } | { error: string }): Promise<void>;
  /** Records what reporters last showed and the GitHub ids they used. */
  markReported(
    id: string,
    version: number,
    github: { checkRun?: { id: number; sha: string }; commentId?: number; deployment?: { id: number; sha: string } },
    hashes?: { check?: string; comment?: string; deployment?: string; at?: Date },
  ): Promise<void>;
  /** The staging's status history, oldest first. */
  listTransitions(id: string): Promise<TransitionRecord[]>;
  listActions(id: string): Promise<ActionRecord[]>;
  /** The staging's override edits, oldest first. */
  listOverrides(id: string): Promise<OverrideRecord[]>;
  /** Records a webhook delivery id; false when it was seen before (a redelivery). */
  recordDelivery(id: string, event: string): Promise<boolean>;
  forgetDelivery(id: string): Promise<void>;
  /** Takes or renews a lease; false when another owner holds an unexpired one. */
  acquireLease(id: string, kind: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(id: string, kind: string, owner: string): Promise<void>;
  /** Stagings with intent ahead of what was done, or status ahead of what was reported, and no lease held. */
  listNeedingWork(): Promise<{ deploy: StagingRecord[]; report: StagingRecord[] }>;
  /** Forgets webhook delivery ids older than `before` (GitHub redelivers within days, not weeks). */
  pruneDeliveries(before: Date): Promise<number>;
  /** The saved reply to the /octo commands a webhook delivery brought, if they have run. */
  getCommandRun(deliveryId: string): Promise<{ reply: string; repliedAt: Date | null } | null>;
  /** Saves the reply once the commands have run, before it is posted. */
  saveCommandRun(deliveryId: string, reply: string): Promise<void>;
  markCommandReplied(deliveryId: string): Promise<void>;
}
