import { computeHealth } from "../domain/health.ts";
import { jobsHealth } from "../domain/job-health.ts";
import type { StagingStatus } from "../domain/state-machine.ts";
import type { WorkloadHealthInput } from "../domain/health.ts";
import type { JobHealthInput } from "../domain/job-health.ts";
import type { PodHealthInput } from "../domain/pod-problems.ts";
import type { StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import type { PodRequests } from "../domain/cost.ts";
import { observePods } from "./usage.ts";
import { applyTransition } from "./set-status.ts";
import { sameSnapshot, workloadSnapshot } from "../domain/workload-snapshot.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "logger" | "clock">;

interface Move {
  to: StagingStatus;
  reason: string | null;
  cause: string;
}

/** What the staging's status should become, or null to leave it as it is. */
function decide(
  staging: StagingRecord,
  workloads: readonly WorkloadHealthInput[],
  pods: readonly PodHealthInput[],
  jobs: readonly JobHealthInput[],
): Move | null {
  // A held staging keeps running what it ran, so its health still counts; an archived one does not.
  if (staging.desiredState === "archived") return null;
  const inRollout = staging.status === "deploying" || staging.status === "restoring";
  if (staging.observedGeneration < staging.generation) {
    // Helm is still at work. When it waits for a hook Job (a migration, say), say so: that can
    // take minutes, and a crash-looping hook is the reason the deploy will fail.
    const hook = inRollout ? jobsHealth(jobs.filter((j) => j.hook !== undefined), pods).running : undefined;
    return hook && hook !== staging.reason ? { to: staging.status, reason: hook, cause: "hook job running" } : null;
  }
  // The old pods may still be ready, but the latest deploy failed: that is what people must see.
  if (staging.lastDeployError !== null) return null;
  if (!["deploying", "running", "degraded", "failed", "restoring"].includes(staging.status)) return null;
  const wasReady = staging.status === "running" || staging.status === "degraded";
  const health = computeHealth(workloads, wasReady, pods, jobs, staging.deployStartedAt ?? undefined);
  switch (health.state) {
    case "ready":
      return { to: "running", reason: null, cause: "workloads ready" };
    case "failed":
      return { to: "failed", reason: health.reason, cause: "workload failed" };
    case "degraded":
      return { to: "degraded", reason: health.reason, cause: "replicas not ready" };
    case "progressing":
      return inRollout ? { to: staging.status, reason: health.reason, cause: "rollout progressing" } : null;
    case "empty":
      return null;
  }
}

/** What the dashboard shows of the namespace, saved only when it changed. A failure only costs the view. */
async function saveSnapshot(deps: Deps, staging: StagingRecord, workloads: readonly WorkloadHealthInput[], pods: readonly PodHealthInput[]): Promise<void> {
  if (staging.desiredState === "deleted") return;
  const snapshot = workloadSnapshot(workloads, pods);
  if (sameSnapshot(staging.workloads, snapshot)) return;
  try {
    await deps.store.saveWorkloads(staging.id, snapshot);
    staging.workloads = snapshot;
  } catch (err) {
    deps.logger.warn({ staging: staging.name, err: (err as Error).message }, "could not save the workloads seen (the dashboard shows older ones)");
  }
}

/**
 * Turns the workloads, pods and Jobs of a staging's namespace into its status. Only acts once
 * the worker has applied the latest generation (else old pods would call a new deploy
 * "running"). The decision is applied only if the staging has not changed since it was read
 * (a deploy that just failed must not be overwritten by health read a moment earlier); if it
 * has, the decision is made again on the staging as it is now.
 */
export async function evaluateHealth(
  deps: Deps,
  staging: StagingRecord,
  workloads: readonly WorkloadHealthInput[],
  pods: readonly (PodHealthInput & { requests?: PodRequests })[] = [],
  jobs: readonly JobHealthInput[] = [],
): Promise<StagingRecord> {
  await observePods(deps, staging, pods);
  await saveSnapshot(deps, staging, workloads, pods);
  let current = staging;
  for (let attempt = 0; attempt < 3; attempt++) {
    const move = decide(current, workloads, pods, jobs);
    // Nothing changed (the common case on every reconcile): no database round trip.
    if (!move || (current.status === move.to && current.reason === move.reason)) return current;
    const out = await applyTransition(deps, current.id, { ...move, actor: "octostage", expectedStatusVersion: current.statusVersion });
    if (!out.applied && out.stale) {
      current = out.staging; // changed meanwhile: decide again on what it is now
      continue;
    }
    return out.staging;
  }
  return current;
}
