/** Postgres as the use cases see it: the source of truth. Adapter: src/adapters/db/. */
import type { WorkloadSnapshot } from "../domain/workload-snapshot.ts";
import type { LifecycleFacts, LifecyclePolicyName } from "../domain/lifecycle.ts";
import type { UsageLedger } from "../domain/cost.ts";
import type { Actor, ActorSource } from "../domain/actor.ts";
import type { ActionKind, CurrentStaging, IntentDecision, OverrideChange, StagingInputs } from "../domain/intent/inputs.ts";
import type { DesiredSpec } from "../domain/spec.ts";
import type { StagingOrigin } from "../domain/origin.ts";
import type { StagingStatus } from "../domain/state-machine.ts";

export type { OverrideChange } from "../domain/intent/inputs.ts";
type ActionSource = ActorSource;
type ActionState = "queued" | "running" | "succeeded" | "failed" | "superseded" | "skipped";

export interface StagingRecord extends CurrentStaging {
  id: string;
  repoOwner: string;
  repoName: string;
  /** A pull request's staging, or one created by name (API, CLI) with a ref or an image tag. */
  origin: StagingOrigin;
  /** The pull request, for origin "pull_request"; null for a named staging. */
  prNumber: number | null;
  installationId: number;
  /** A named staging deployed from this image tag rather than its commit's. */
  imageTag: string | null;
  /** A named staging that tracks its branch (headRef): a push to it updates the staging. */
  follow: boolean;
  desiredSpec: DesiredSpec;
  reason: string | null;
  statusChangedAt: Date;
  statusVersion: number;
  url: string | null;
  /** What the last successful helm run deployed; headSha may be ahead while the PR is held. */
  deployedSha: string | null;
  /** The last helm run for the current generation failed for good (cleared by a success). */
  lastDeployError: string | null;
  archivedReplicas: Record<string, number> | null;
  deployStartedAt: Date | null;
  /** A cleanup that failed for good is tried again then. */
  retryAt: Date | null;
  attempts: number;
  /** When the reconciler last asked GitHub about the PR, and the ETag of the answer. */
  prCheckedAt: Date | null;
  prEtag: string | null;
  /** When it was archived (retention counts from here); null unless archived. */
  archivedAt: Date | null;
  /** The last push, command or restore by a person (idle counts from here). */
  lastActivityAt: Date;
  /** A coming policy action people were told about (shown on the PR until it happens or is kept off). */
  notice: { at: Date; policy: LifecyclePolicyName } | null;
  /** Resource usage for the cost estimate; null until observed. */
  usage: UsageLedger | null;
  /** What the worker last saw of its workloads and pods; null until observed. */
  workloads: WorkloadSnapshot | null;
}

export interface ActionRecord {
  id: string;
  stagingId: string;
  kind: ActionKind;
  actor: string;
  actorName: string | null;
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

interface TransitionRecord {
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

/** A stored override edit over the project defaults, with who made it and when. */
export interface OverrideRecord extends OverrideChange {
  actor: string;
  source: string;
  at: Date;
}

/** What a decision sees: the staging (as locked for the change) and its override edits. */
export interface StagingSnapshot {
  staging: StagingRecord;
  overrides: OverrideRecord[];
}

interface NewStaging {
  name: string;
  namespace: string;
  installationId: number;
}

/** A staging created by name (API, `octo`): its repository comes with it. */
interface NewNamedStaging extends NewStaging {
  repoOwner: string;
  repoName: string;
}

/**
 * One change of intent, applied in ONE transaction: the staging row is locked, `decide` sees it
 * as it is now, and the desired spec is derived by `spec` from the inputs and overrides the
 * change leaves behind (never from a copy read earlier). `decide` and `spec` must be pure and
 * quick: they run while the row is locked.
 */
export interface ChangeRequest<R> {
  target: { id: string } | { key: StagingKey; create?: NewStaging } | { name: string; create?: NewNamedStaging };
  /** A webhook delivery id: a second change with the same id changes nothing. */
  deliveryId?: string;
  event: string;
  decide(current: StagingSnapshot | null): IntentDecision<R>;
  spec(inputs: StagingInputs, overrides: readonly OverrideRecord[], name: string): DesiredSpec;
}

export type ChangeOutcome<R> =
  | { outcome: "duplicate" }
  | { outcome: "unchanged"; reason: string; result: R; staging: StagingRecord | null }
  | { outcome: "changed"; result: R; staging: StagingRecord; actionId: string; created: boolean };

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

interface ActionResult {
  state: ActionState;
  exitCode?: number | null;
  durationMs?: number;
  output?: string;
  error?: string;
}

export type LeaseKind = "deploy" | "report";

/** A lease held on one kind of work for one staging, with its fencing token. */
export interface Lease {
  stagingId: string;
  kind: LeaseKind;
  owner: string;
  token: number;
}

/** A fenced write found its lease gone or taken: the holder must stop, it can write nothing. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
  readonly code = "lease_lost";
  constructor(lease: Lease) {
    super(`the ${lease.kind} lease on staging ${lease.stagingId} (token ${lease.token}) is no longer held by ${lease.owner}`);
  }
}

/** Postgres cannot be reached (or timed out): answer 503, pause, retry later. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  readonly code = "store_unavailable";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Start of a generation's work by the lease holder. */
export interface GenerationStart {
  generation: number;
  status?: Omit<TransitionInput, "expectedStatusVersion">;
  deployStartedAt?: Date | null;
}

/** End of a generation's work by the lease holder: everything it learned, in one transaction. */
export interface GenerationFinish {
  generation: number;
  action: ActionResult;
  /** The generation was acted on (observedGeneration moves up to it). */
  observed: boolean;
  deployOutcome?: { deployedSha: string } | { error: string };
  archivedReplicas?: Record<string, number> | null;
  status?: Omit<TransitionInput, "expectedStatusVersion">;
  /** For a cleanup that failed for good: when to try again (null clears it). */
  retryAt?: Date | null;
  /** The resource usage ledger as the work left it (archived, cleaned up, volumes measured). */
  usage?: UsageLedger;
}

export interface WorkerWriteOutcome {
  staging: StagingRecord;
  transition?: TransitionOutcome;
}

/** A separate audit entry (a stuck release recovered, a PR found closed). */
export interface AuditEntry {
  kind: ActionKind;
  actor: Actor;
  state: ActionState;
  detail?: Record<string, unknown>;
  output?: string;
  error?: string;
  exitCode?: number | null;
  durationMs?: number;
}

type ReportChannelName = "github" | "jira" | "slack";

export interface ReportChannelRecord {
  stagingId: string;
  channel: ReportChannelName;
  reportedVersion: number;
  reportedAt: Date | null;
  /** Channel-specific state, parsed by the channel's own schema (see report-status.ts). */
  state: unknown;
  error: { code: string; message: string; version: number | null } | null;
  notBefore: Date | null;
}

interface ChannelUpdate {
  reportedVersion?: number;
  reportedAt?: Date;
  state?: unknown;
  /** A permanent failure (no retry until the status moves past `version`), or null to clear. */
  error?: { code: string; message: string; version: number | null } | null;
  notBefore?: Date | null;
}

/** A PR comment's /octo commands, recorded before the delivery counts as seen. */
export interface NewCommand {
  source: "github";
  externalId: string;
  deliveryId: string;
  installationId: number;
  repoOwner: string;
  repoName: string;
  prNumber: number;
  commentId: number;
  commentedAt: Date | null;
  actor: string;
  body: string;
}

export interface CommandRecord extends NewCommand {
  id: string;
  state: "queued" | "replied";
  reply: string | null;
  createdAt: Date;
}

interface WorkItems {
  /** Intent ahead of what was done, no live deploy lease, not waiting for a retry time. */
  /**
   * `lastLease`: the fencing token of a lease left to expire (a released lease is deleted, so one
   * still there means its holder died or lost it), if any.
   */
  deploy: { id: string; generation: number; lastLease: number | null }[];
  /** Status ahead of what a channel shows, not paused by an error or Retry-After; oldest first. */
  report: { id: string; statusVersion: number; statusChangedAt: Date; reportedAt: Date | null; lastLease: number | null }[];
  /** Commands recorded a while ago and not replied to (their job may have been lost). */
  commands: { id: string }[];
}

interface StagingFilter {
  repo?: { owner: string; name: string };
  status?: StagingStatus;
  includeDeleted?: boolean;
  after?: string;
  limit: number;
}

export interface StagingStore {
  /** One change of intent in one transaction (see ChangeRequest). */
  changeStaging<R>(req: ChangeRequest<R>): Promise<ChangeOutcome<R>>;
  get(id: string): Promise<StagingRecord | null>;
  find(key: StagingKey): Promise<StagingRecord | null>;
  findByNamespace(namespace: string): Promise<StagingRecord | null>;
  findByName(name: string): Promise<StagingRecord | null>;
  /** Stagings by name, after the cursor `after` (a name), at most `limit`; deleted ones only with `includeDeleted`. */
  listStagings(filter: StagingFilter): Promise<StagingRecord[]>;
  /**
   * A mark of the repositories' stagings that changes whenever one is added, removed or changes
   * status or generation (one aggregate query): a live list re-reads them only when it moved.
   */
  listMark(repos: readonly string[]): Promise<string>;
  /** Named stagings that follow `ref` of the repository (a push to it updates them). */
  listFollowing(repoOwner: string, repoName: string, ref: string): Promise<StagingRecord[]>;
  /** Removes the staging's record and history; the cluster is not touched. */
  forget(id: string): Promise<void>;
  getAction(id: string): Promise<ActionRecord | null>;
  /** Stagings whose workloads Octostage watches (not archived, held or deleted). */
  listObserved(): Promise<StagingRecord[]>;
  /** Observed stagings in a rollout (deploying or restoring): the ones a deploy timeout can fail. */
  listInRollout(): Promise<StagingRecord[]>;
  /** Open PR stagings GitHub was not asked about since `before`, least recently asked first. */
  listPullRequestsToCheck(before: Date, limit: number): Promise<StagingRecord[]>;
  /** Records when GitHub was asked about the PR and the ETag it answered with. */
  markPullRequestChecked(id: string, at: Date, etag: string | null): Promise<void>;
  /**
   * Moves the status if the state machine allows it; the same status with a new reason updates
   * the reason. Not for lease holders, who use the fenced writes below.
   */
  transition(id: string, input: TransitionInput): Promise<TransitionOutcome>;
  /** The staging's status history, oldest first. */
  listTransitions(id: string): Promise<TransitionRecord[]>;
  listActions(id: string): Promise<ActionRecord[]>;
  /** Who asked for each staging's first action (who created a named staging), by staging id. */
  creators(ids: readonly string[]): Promise<Map<string, { source: ActorSource; actor: string; actorName: string | null }>>;
  /** The staging's override edits, oldest first. */
  listOverrides(id: string): Promise<OverrideRecord[]>;

  /** Takes a lease (with a new fencing token) unless another owner holds an unexpired one. */
  acquireLease(stagingId: string, kind: LeaseKind, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Extends a lease still held with this token; false when it expired or changed hands. */
  renewLease(lease: Lease, ttlMs: number): Promise<boolean>;
  releaseLease(lease: Lease): Promise<void>;

  // Fenced writes: each checks, in its own transaction, that `lease` is still held (LeaseLostError if not).
  /** Supersedes older queued actions, marks the generation's action running, moves the status. */
  startGeneration(lease: Lease, start: GenerationStart): Promise<WorkerWriteOutcome>;
  /** Moves the status while working (a retry, a hook Job). */
  progress(lease: Lease, status: Omit<TransitionInput, "expectedStatusVersion">): Promise<WorkerWriteOutcome>;
  /** Records the replica counts an archive scales from (before it scales). */
  setArchivedReplicas(lease: Lease, replicas: Record<string, number> | null): Promise<void>;
  finishGeneration(lease: Lease, finish: GenerationFinish): Promise<WorkerWriteOutcome>;
  /** Adds an audit entry for the lease's staging (a stuck release recovered, say). */
  audit(lease: Lease, entry: AuditEntry): Promise<void>;

  getChannel(stagingId: string, channel: ReportChannelName): Promise<ReportChannelRecord | null>;
  /** Fenced by the report lease. */
  updateChannel(lease: Lease, channel: ReportChannelName, update: ChannelUpdate): Promise<void>;

  /** Records the commands of a comment with its delivery id; "duplicate" when the comment was recorded before. */
  recordCommand(cmd: NewCommand): Promise<{ outcome: "recorded" | "duplicate"; command: CommandRecord }>;
  getCommand(id: string): Promise<CommandRecord | null>;
  /** Saves the reply once the commands have run, before it is posted. */
  saveCommandReply(id: string, reply: string): Promise<void>;
  markCommandReplied(id: string): Promise<void>;

  /** What the reconciler must (re-)enqueue, as of `now`. */
  listWork(now: Date, options?: { commandsOlderThan?: Date; limit?: number }): Promise<WorkItems>;
  /**
   * Housekeeping: webhook deliveries, command records and actions' helm output older than
   * `before` are removed; the audit entries themselves (who did what, when) are kept.
   */
  pruneHistory(before: Date): Promise<{ deliveries: number; commands: number; outputs: number }>;

  /**
   * The lifecycle sweep's candidates in ONE query: per repository rule, stagings a policy acts
   * on or warns about by now (not kept by the label, nor kept past the rule's horizon), and every
   * staging that carries a notice (which may have to be taken back). At most `limit`, soonest first.
   */
  listLifecycleCandidates(rules: readonly LifecycleRule[], limit: number): Promise<StagingRecord[]>;
  /**
   * Sets (or clears, with null) the notices of coming policy actions, in one statement, each only
   * if the staging's lifecycle facts are still those the sweep read (a keep or a push in between
   * wins); bumps statusVersion so the reports show it. Returns the stagings that changed.
   */
  setNotices(changes: readonly NoticeChange[]): Promise<{ id: string; statusVersion: number }[]>;
  /** Stagings of a repository that run or are being deployed (what the running limit counts). */
  listRunning(repoOwner: string, repoName: string): Promise<StagingRecord[]>;
  /**
   * Saves the staging's resource usage ledger (the cost estimate) if the stored one is still the
   * one read (its updatedAt, null for none): a health evaluation made from a stale read never
   * overwrites what an archive or a deploy recorded since. False when it was not saved.
   */
  saveUsage(id: string, expectedUpdatedAt: string | null, usage: UsageLedger): Promise<boolean>;

  /** Saves what the worker saw of the staging's workloads and pods (shown, never decided on). */
  saveWorkloads(id: string, snapshot: WorkloadSnapshot): Promise<void>;

  /**
   * Replaces the staging's Jira links found in `sources` with `links` (other sources are kept);
   * with `report`, the staging gets a Jira report channel (remote links on its issues).
   */
  setIssueLinks(stagingId: string, sources: readonly IssueLinkSource[], links: readonly { issueKey: string; source: IssueLinkSource }[], report: boolean): Promise<{ added: string[] }>;
  listIssueLinks(stagingId: string): Promise<IssueLinkRecord[]>;
  /** Records that the issue's move into Done archived or cleaned up the staging (null: its move out of Done was handled). */
  setIssueDoneAction(stagingId: string, issueKey: string, action: "archive" | "cleanup" | null): Promise<void>;
  /** Stagings linked to a Jira issue (not deleted ones). */
  findByIssueKey(issueKey: string): Promise<StagingRecord[]>;
}

export type IssueLinkSource = "branch" | "title" | "body" | "api";

interface IssueLinkRecord {
  issueKey: string;
  source: IssueLinkSource;
  /** What the issue's move into Done did to the staging (its move out of Done undoes it). */
  doneAction: "archive" | "cleanup" | null;
}

export interface NoticeChange {
  id: string;
  expected: LifecycleFacts;
  notice: { at: Date; policy: LifecyclePolicyName } | null;
}

/** One repository's lifecycle thresholds for a sweep at some time (see listLifecycleCandidates). */
export interface LifecycleRule {
  repoOwner: string;
  repoName: string;
  /** Archived stagings archived at or before this are due (or due for a warning); null: no retention. */
  archivedBefore: Date | null;
  /** Active stagings with no activity since this are due (or due for a warning); null: no idle policy. */
  idleBefore: Date | null;
  /** A keep ending after this holds the staging back for now. */
  keptAfter: Date;
}
