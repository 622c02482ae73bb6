/**
 * The lifecycle policies of a repository's stagings (docs/users/lifecycle.md): what closing or
 * merging a PR does, when an archived staging is cleaned up (retention), when an unused one is
 * archived (idle), how people keep one, and how many may run at once. Pure: the sweep
 * (src/app/lifecycle/sweep.ts) reads the deadlines from here and acts through the same use
 * cases as everyone else, with the policy that fired in the audit log.
 */
import type { DesiredState } from "./intent/inputs.ts";

const dayMs = 24 * 3600 * 1000;

export interface LifecyclePolicy {
  /** A PR closed without merging: archive its staging (default) or clean it up. */
  onClose: "archive" | "cleanup";
  /** A PR merged: the same choice, separately. */
  onMerge: "archive" | "cleanup";
  /** Archived stagings are cleaned up this many days after they were archived; null: never. */
  retentionDays: number | null;
  /** A staging with no push, command or restore for this many days is archived; null (default): never. */
  idleDays: number | null;
  /** A PR label that keeps its staging from idle archive and retention cleanup. */
  keepLabel: string;
  /** At most this many running stagings per repository; null (default): no limit. */
  maxRunning: number | null;
  /** When a staging would exceed maxRunning: archive the least recently active one, or refuse. */
  onLimit: "archive-oldest" | "refuse";
  /** People are told this many hours before a cleanup or an idle archive. */
  warnHours: number;
}

export const defaultLifecyclePolicy: Readonly<LifecyclePolicy> = Object.freeze({
  onClose: "archive",
  onMerge: "archive",
  retentionDays: 14,
  idleDays: null,
  keepLabel: "octostage/keep",
  maxRunning: null,
  onLimit: "archive-oldest",
  warnHours: 24,
});

/** `keepUntil` of a staging kept until someone says otherwise (`/octo keep` with no date). */
export const keepForever = new Date("9999-12-31T00:00:00.000Z");

/** What the lifecycle policies read of a staging. */
export interface LifecycleFacts {
  desiredState: DesiredState;
  archivedAt: Date | null;
  lastActivityAt: Date;
  keepUntil: Date | null;
  /** The PR carries the keep label. */
  keepLabel: boolean;
}

export type LifecyclePolicyName = "retention" | "idle";

/** The next thing a policy will do to a staging by itself, and when. */
export interface Deadline {
  action: "cleanup" | "archive";
  policy: LifecyclePolicyName;
  at: Date;
}

/** Kept by the label, or until a time after `now`. */
export function isKept(s: Pick<LifecycleFacts, "keepUntil" | "keepLabel">, now: Date): boolean {
  return s.keepLabel || (s.keepUntil !== null && s.keepUntil.getTime() > now.getTime());
}

/**
 * The staging's next policy deadline, or null when no policy will act on it. A keep moves the
 * deadline to the end of the keep (never earlier than the policy's own); the label keeps it
 * for as long as it is on the PR.
 */
export function nextDeadline(policy: LifecyclePolicy, s: LifecycleFacts): Deadline | null {
  if (s.keepLabel || (s.keepUntil !== null && s.keepUntil.getTime() >= keepForever.getTime())) return null;
  let due: Omit<Deadline, "at"> & { at: number };
  if (s.desiredState === "archived" && policy.retentionDays !== null && s.archivedAt) {
    due = { action: "cleanup", policy: "retention", at: s.archivedAt.getTime() + policy.retentionDays * dayMs };
  } else if (s.desiredState === "active" && policy.idleDays !== null) {
    due = { action: "archive", policy: "idle", at: s.lastActivityAt.getTime() + policy.idleDays * dayMs };
  } else {
    return null;
  }
  const at = Math.max(due.at, s.keepUntil?.getTime() ?? 0);
  return { ...due, at: new Date(at) };
}

/** What the sweep does about one staging now. */
export type SweepStep = { act: Deadline } | { warn: Deadline } | { quiet: true };

/** The notice a staging carries: what people were told a policy would do, and when. */
export interface Notice {
  at: Date;
  policy: LifecyclePolicyName;
}

/**
 * What the sweep does now. A policy never acts without notice: people are told `warnHours`
 * before (on the PR comment), and the action waits for that notice to run its course even when
 * the deadline itself has passed (a keep turned off late, the sweep down for a while): it acts
 * at the later of the deadline and the time the notice named. Any change to the staging
 * clears its notice (change-staging), so a keep or a push in between always counts.
 */
export function sweepStep(policy: LifecyclePolicy, s: LifecycleFacts, now: Date, notice: Notice | null = null): SweepStep {
  const deadline = nextDeadline(policy, s);
  if (!deadline) return { quiet: true };
  const t = now.getTime();
  const warnMs = policy.warnHours * 3600 * 1000;
  if (notice && notice.policy === deadline.policy) {
    const at = Math.max(deadline.at.getTime(), notice.at.getTime());
    return at <= t ? { act: { ...deadline, at: new Date(at) } } : { warn: { ...deadline, at: new Date(at) } };
  }
  if (deadline.at.getTime() - t > warnMs) return { quiet: true };
  // Due within the warning window: told now, for the deadline; already past it: told now, for a full window from now.
  return { warn: { ...deadline, at: deadline.at.getTime() > t ? deadline.at : new Date(t + warnMs) } };
}

/** The policy's settings as a sentence, for the audit log and the notice. */
export function describePolicy(policy: LifecyclePolicy, name: LifecyclePolicyName): string {
  return name === "retention"
    ? `archived stagings are cleaned up ${policy.retentionDays} days after they were archived`
    : `stagings with no push, command or restore for ${policy.idleDays} days are archived`;
}

export type KeepRequest = { keepUntil: Date } | { keepUntil: null };

const maxKeepDays = 366;

/**
 * `keep` arguments, as typed in a PR comment, Slack or the CLI: nothing (until someone says
 * otherwise), `7d` (days from now), `until 2027-01-15` (through that day, UTC) or `off`.
 */
export function parseKeep(text: string, now: Date): KeepRequest | { error: string } {
  const arg = text.trim();
  if (arg === "") return { keepUntil: keepForever };
  if (/^off$/i.test(arg)) return { keepUntil: null };
  const days = /^(\d{1,4})d$/i.exec(arg);
  if (days) {
    const n = Number(days[1]);
    if (n < 1 || n > maxKeepDays) return { error: `keep takes 1 to ${maxKeepDays} days (got ${n}d); with no argument it keeps until \`keep off\`` };
    return { keepUntil: new Date(now.getTime() + n * dayMs) };
  }
  const until = /^until\s+(\d{4})-(\d{2})-(\d{2})$/i.exec(arg);
  if (until) {
    const [y, m, d] = [Number(until[1]), Number(until[2]), Number(until[3])];
    const start = Date.UTC(y, m - 1, d);
    const date = new Date(start);
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return { error: `${until[1]}-${until[2]}-${until[3]} is not a date` };
    const end = new Date(start + dayMs);
    if (end.getTime() <= now.getTime()) return { error: `${until[1]}-${until[2]}-${until[3]} has passed` };
    if (end.getTime() - now.getTime() > maxKeepDays * dayMs) return { error: `keep reaches at most ${maxKeepDays} days ahead; with no argument it keeps until \`keep off\`` };
    return { keepUntil: end };
  }
  return { error: `keep takes nothing (until \`keep off\`), a number of days such as \`7d\`, \`until YYYY-MM-DD\` or \`off\`; not "${arg.slice(0, 40)}"` };
}

/** "Tue, 15 Dec 2026 14:00 UTC": a time people read in a comment or Slack. */
export function formatTime(d: Date): string {
  return d.toUTCString().replace(/:\d\d GMT$/, " UTC");
}

/** Stagings that are running (or deploying): what maxRunning counts. */
export interface RunningStaging {
  id: string;
  name: string;
  lastActivityAt: Date;
  kept: boolean;
}

export type LimitDecision<T extends RunningStaging = RunningStaging> = { ok: true } | { ok: true; archive: T[] } | { ok: false; message: string };

/** The running stagings a limit may archive, least recently active first (kept ones never). */
export function archivable<T extends RunningStaging>(running: readonly T[]): T[] {
  return running.filter((s) => !s.kept).sort((a, b) => a.lastActivityAt.getTime() - b.lastActivityAt.getTime() || a.name.localeCompare(b.name));
}

/**
 * Whether one more staging may run in a repository already running `running` (the newcomer not
 * among them). Kept stagings are never archived to make room; the least recently active go first.
 */
export function decideRunningLimit<T extends RunningStaging>(policy: LifecyclePolicy, repo: string, running: readonly T[]): LimitDecision<T> {
  if (policy.maxRunning === null || running.length < policy.maxRunning) return { ok: true };
  const candidates = archivable(running);
  const excess = running.length + 1 - policy.maxRunning;
  const names = candidates.slice(0, 5).map((s) => s.name);
  if (policy.onLimit === "refuse" || candidates.length < excess) {
    const hint = names.length ? `; archive one of the least recently used first: ${names.join(", ")}` : "; every running staging is kept";
    return { ok: false, message: `${repo} may run at most ${policy.maxRunning} stagings at once (policy maxRunning) and runs ${running.length}${hint}.` };
  }
  return { ok: true, archive: candidates.slice(0, excess) };
}
