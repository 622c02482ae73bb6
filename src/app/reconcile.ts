import { reportDelayMs } from "../domain/report-pacing.ts";
import type { WorkloadWatch } from "../ports/cluster.ts";
import type { AppDeps } from "./deps.ts";
import { evaluateHealth } from "./evaluate-health.ts";
import { setStatus } from "./set-status.ts";
import { syncPullRequests } from "./sync-pull-requests.ts";
import type { PullRequestSyncOptions } from "./sync-pull-requests.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "clock" | "logger" | "project" | "codeHost">;

/** A recorded command without a reply after this long has lost its job (or its worker): enqueue it again. */
const commandRequeueAfterMs = 30_000;

export interface ReconcileOptions {
  /**
   * Recompute the health of every observed staging from the cache, not only of those in a
   * rollout (default true). Informer events keep health current, so the worker sweeps only
   * after it starts and then now and then as a safety net: reading every staging row on every
   * tick would cost memory and Postgres in proportion to the number of stagings.
   */
  healthSweep?: boolean;
  /** Ask GitHub about open PR stagings (default on, at the default pace). */
  pullRequestSync?: PullRequestSyncOptions | false;
}

export interface ReconcileSummary {
  deploysEnqueued: number;
  reportsEnqueued: number;
  commandsEnqueued: number;
  timedOut: number;
  evaluated: number;
  pullRequestsChanged: number;
}

/**
 * Heals what events missed. Webhooks and queued jobs are hints, Postgres is the truth:
 * - intent ahead of what was done, with no live lease → enqueue a deploy (as a recovery job, not
 *   merged with a job that may belong to a worker that died);
 * - status ahead of what GitHub shows → enqueue a report, respecting the report pacing and
 *   GitHub's Retry-After; a report GitHub refused for good is not retried;
 * - a recorded /octo command without a reply → enqueue it again;
 * - a deploy not ready within its timeout → failed with the last reason;
 * - with a workload cache at hand, health is recomputed from the cluster: for stagings in a
 *   rollout every time, for all observed stagings on a health sweep (after a restart);
 * - open PR stagings are checked against GitHub now and then (a lost `closed` webhook).
 */
export async function reconcile(deps: Deps, cache?: Pick<WorkloadWatch, "workloadsIn" | "podsIn" | "jobsIn">, options: ReconcileOptions = {}): Promise<ReconcileSummary> {
  const healthSweep = options.healthSweep ?? true;
  const summary: ReconcileSummary = { deploysEnqueued: 0, reportsEnqueued: 0, commandsEnqueued: 0, timedOut: 0, evaluated: 0, pullRequestsChanged: 0 };
  const nowDate = deps.clock.now();
  const now = nowDate.getTime();
  const work = await deps.store.listWork(nowDate, { commandsOlderThan: new Date(now - commandRequeueAfterMs) });
  for (const s of work.deploy) {
    await deps.queue.enqueueDeploy(s.id, s.generation, { recovery: true, recoveryOf: s.lastLease });
    summary.deploysEnqueued++;
  }
  for (const s of work.report) {
    // A new status (not only a new reason) since the last report is shown promptly.
    const statusChanged = s.reportedAt === null || s.statusChangedAt > s.reportedAt;
    await deps.queue.enqueueReport(s.id, s.statusVersion, reportDelayMs(nowDate, s.reportedAt, statusChanged), { recoveryOf: s.lastLease });
    summary.reportsEnqueued++;
  }
  for (const c of work.commands) {
    await deps.queue.enqueueCommand(c.id);
    summary.commandsEnqueued++;
  }
  const candidates = healthSweep ? await deps.store.listObserved() : await deps.store.listInRollout();
  for (const s of candidates) {
    let current = s;
    if (cache && s.observedGeneration >= s.generation) {
      current = await evaluateHealth(deps, s, cache.workloadsIn(s.namespace), cache.podsIn(s.namespace), cache.jobsIn(s.namespace));
      summary.evaluated++;
    }
    const inRollout = current.status === "deploying" || current.status === "restoring";
    const started = current.deployStartedAt?.getTime();
    const timeoutMs = current.desiredSpec.deployTimeoutSeconds * 1000;
    if (inRollout && started !== undefined && now - started > timeoutMs && current.observedGeneration >= current.generation) {
      const last = current.reason ? `: ${current.reason}` : "";
      await setStatus(deps, s.id, "failed", `not ready within ${current.desiredSpec.deployTimeoutSeconds}s${last}`, "deploy timeout");
      summary.timedOut++;
    }
  }
  if (options.pullRequestSync !== false) {
    summary.pullRequestsChanged = (await syncPullRequests(deps, options.pullRequestSync)).changed;
  }
  if (summary.deploysEnqueued || summary.reportsEnqueued || summary.commandsEnqueued || summary.timedOut || summary.pullRequestsChanged) {
    deps.logger.info({ ...summary }, "reconciled");
  }
  return summary;
}
