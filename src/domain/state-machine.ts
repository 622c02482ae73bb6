/**
 * The staging lifecycle. One table of allowed moves; everything else is refused.
 *
 *   pending → deploying → running ⇄ degraded → failed
 *   any live status → archiving → archived → restoring → deploying …
 *   archived → cleaning → deleted;  cleaning → cleanup_failed → cleaning (or deploying again)
 *   deleted is final unless recreated on purpose (`/octo deploy`): deleted → deploying
 */

export const stagingStatuses = [
  "pending",
  "deploying",
  "running",
  "degraded",
  "failed",
  "archiving",
  "archived",
  "restoring",
  "cleaning",
  "cleanup_failed",
  "deleted",
] as const;

export type StagingStatus = (typeof stagingStatuses)[number];

const live = ["deploying", "running", "degraded", "failed"] as const;

const allowed: Readonly<Record<StagingStatus, readonly StagingStatus[]>> = {
  pending: ["deploying", "failed", "archiving", "archived", "cleaning"],
  deploying: ["running", "degraded", "failed", "archiving", "cleaning"],
  running: ["deploying", "degraded", "failed", "archiving", "cleaning"],
  degraded: ["deploying", "running", "failed", "archiving", "cleaning"],
  failed: ["deploying", "running", "degraded", "archiving", "cleaning"],
  archiving: ["archived", "failed", "deploying", "restoring", "cleaning"],
  archived: ["restoring", "deploying", "cleaning"],
  restoring: [...live, "archiving", "cleaning"],
  cleaning: ["deleted", "cleanup_failed"],
  cleanup_failed: ["cleaning", "deleted", "deploying", "failed"],
  deleted: ["deploying"],
};

export function isStagingStatus(value: string): value is StagingStatus {
  return (stagingStatuses as readonly string[]).includes(value);
}

export function canTransition(from: StagingStatus, to: StagingStatus): boolean {
  return allowed[from].includes(to);
}

export type TransitionCheck =
  | { ok: true; changed: boolean }
  | { ok: false; error: string };

/**
 * Whether `from → to` is allowed. Staying in the same status is always fine and is not a
 * transition (`changed: false`); only its reason may change.
 */
export function checkTransition(from: StagingStatus, to: StagingStatus): TransitionCheck {
  if (from === to) return { ok: true, changed: false };
  if (canTransition(from, to)) return { ok: true, changed: true };
  return { ok: false, error: `a staging cannot go from ${from} to ${to}` };
}

/** Statuses in which the staging's workloads should be up. */
export function isLive(status: StagingStatus): boolean {
  return (live as readonly string[]).includes(status);
}
