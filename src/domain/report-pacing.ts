/**
 * How soon GitHub hears about a change, so a flapping staging does not spam it.
 * A new status is reported at once unless the last report was very recent; a change of reason
 * alone (a crash loop counting restarts, a rollout counting ready replicas) waits longer.
 * Reports are coalesced: the delayed report shows the latest state when it runs.
 */
export const statusChangeIntervalMs = 1_500;
export const reasonChangeIntervalMs = 30_000;

export function reportDelayMs(now: Date, lastReportedAt: Date | null, statusChanged: boolean): number {
  if (lastReportedAt === null) return 0;
  const interval = statusChanged ? statusChangeIntervalMs : reasonChangeIntervalMs;
  return Math.max(0, lastReportedAt.getTime() + interval - now.getTime());
}
