import { computeHealth } from "../domain/health.ts";
import { jobsHealth } from "../domain/job-health.ts";
import type { StagingStatus } from "../domain/state-machine.ts";
import type { WorkloadHealthInput } from "../domain/health.ts";
import type { JobHealthInput } from "../domain/job-health.ts";
import type { PodHealthInput } from "../domain/pod-problems.ts";
import type { StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { setStatus } from "./set-status.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "logger" | "clock">;

/**
 * Turns the workloads of a staging's namespace into its status. Only acts once the worker
 * has applied the latest generation (else old pods would call a new deploy "running").
 */
export async function evaluateHealth(
  deps: Deps,
  staging: StagingRecord,
  workloads: readonly WorkloadHealthInput[],
  pods: readonly PodHealthInput[] = [],
  jobs: readonly JobHealthInput[] = [],
): Promise<StagingRecord> {
  // A held staging keeps running what it ran, so its health still counts; an archived one does not.
  if (staging.desiredState === "archived") return staging;
  if (staging.observedGeneration < staging.generation) {
    // Helm is still at work. When it waits for a hook Job (a migration, say), say so: that can
    // take minutes, and a crash-looping hook is the reason the deploy will fail.
    const inRollout = staging.status === "deploying" || staging.status === "restoring";
    const hook = inRollout ? jobsHealth(jobs.filter((j) => j.hook !== undefined), pods).running : undefined;
    return hook && hook !== staging.reason ? setStatus(deps, staging.id, staging.status, hook, "hook job running") : staging;
  }
  // The old pods may still be ready, but the latest deploy failed: that is what people must see.
  if (staging.lastDeployError !== null) return staging;
  if (!["deploying", "running", "degraded", "failed", "restoring"].includes(staging.status)) return staging;
  const wasReady = staging.status === "running" || staging.status === "degraded";
  const health = computeHealth(workloads, wasReady, pods, jobs);
  // Nothing changed (the common case on every reconcile): no database round trip.
  const move = (to: StagingStatus, reason: string | null, cause: string) =>
    staging.status === to && staging.reason === reason ? Promise.resolve(staging) : setStatus(deps, staging.id, to, reason, cause);
  switch (health.state) {
    case "ready":
      return move("running", null, "workloads ready");
    case "failed":
      return move("failed", health.reason, "workload failed");
    case "degraded":
      return move("degraded", health.reason, "replicas not ready");
    case "progressing":
      if (staging.status === "deploying" || staging.status === "restoring") {
        return move(staging.status, health.reason, "rollout progressing");
      }
      return staging;
    case "empty":
      return staging;
  }
}
