import type { WorkloadWatch } from "../ports/cluster.ts";
import type { AppDeps } from "./deps.ts";
import { evaluateHealth } from "./evaluate-health.ts";
import { setStatus } from "./set-status.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "clock" | "logger">;

/** Delivery ids are kept this long for idempotency: longer than GitHub's redelivery window. */
export const deliveryRetentionMs = 30 * 24 * 3600 * 1000;

export interface ReconcileOptions {
  /**
   * Recompute the health of every observed staging from the cache, not only of those in a
   * rollout (default true). Informer events keep health current, so the worker sweeps only
   * after it starts and then now and then as a safety net: reading every staging row on every
   * tick would cost memory and Postgres in proportion to the number of stagings.
   */
  healthSweep?: boolean;
}

export interface ReconcileSummary {
  deploysEnqueued: number;
  reportsEnqueued: number;
  timedOut: number;
  evaluated: number;
}

/**
 * Heals what events missed. Webhooks are hints, Postgres is the truth:
 * - intent ahead of what was done, with no worker on it → enqueue a deploy;
 * - status ahead of what GitHub shows → enqueue a report;
 * - a deploy not ready within its timeout → failed with the last reason;
 * - with a workload cache at hand, health is recomputed from the cluster: for stagings in a
 *   rollout every time, for all observed stagings on a health sweep (after a restart).
 */
export async function reconcile(deps: Deps, cache?: Pick<WorkloadWatch, "workloadsIn" | "podsIn" | "jobsIn">, options: ReconcileOptions = {}): Promise<ReconcileSummary> {
  const healthSweep = options.healthSweep ?? true;
  const summary: ReconcileSummary = { deploysEnqueued: 0, reportsEnqueued: 0, timedOut: 0, evaluated: 0 };
  const work = await deps.store.listNeedingWork();
  for (const s of work.deploy) {
    await deps.queue.enqueueDeploy(s.id, s.generation);
    summary.deploysEnqueued++;
  }
  for (const s of work.report) {
    await deps.queue.enqueueReport(s.id, s.statusVersion);
    summary.reportsEnqueued++;
  }
  const now = deps.clock.now().getTime();
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
  await deps.store.pruneDeliveries(new Date(now - deliveryRetentionMs));
  if (summary.deploysEnqueued || summary.reportsEnqueued || summary.timedOut) {
    deps.logger.info({ ...summary }, "reconciled");
  }
  return summary;
}
