/** Health of a staging computed from its workloads (Deployments, StatefulSets), Jobs and pods. Pure. */
import { jobsHealth } from "./job-health.ts";
import type { JobHealthInput } from "./job-health.ts";
import { worstPodProblem } from "./pod-problems.ts";
import type { PodHealthInput } from "./pod-problems.ts";

export interface WorkloadHealthInput {
  kind: string;
  name: string;
  desiredReplicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  generation: number;
  observedGeneration: number;
  conditions: { type: string; status: string; reason?: string; message?: string }[];
}

export type Health =
  | { state: "ready"; reason: string }
  | { state: "progressing"; reason: string }
  | { state: "degraded"; reason: string }
  | { state: "failed"; reason: string }
  | { state: "empty"; reason: string };

function label(w: WorkloadHealthInput): string {
  return `${w.kind}/${w.name}`;
}

function progressDeadlineExceeded(w: WorkloadHealthInput): string | undefined {
  // Until the controller observes a new generation, conditions describe the previous rollout.
  if (w.observedGeneration < w.generation) return undefined;
  const c = w.conditions.find((x) => x.type === "Progressing" && x.reason === "ProgressDeadlineExceeded");
  return c ? `ProgressDeadlineExceeded: ${label(w)}${c.message ? ` (${c.message})` : ""}` : undefined;
}

/** Pods a workload's controller cannot create (Pod Security, a quota, a missing ServiceAccount): they will not come by themselves. */
function replicaFailure(w: WorkloadHealthInput): string | undefined {
  const c = w.conditions.find((x) => x.type === "ReplicaFailure" && x.status === "True");
  return c ? `${label(w)}: pods cannot be created${c.message ? `: ${c.message}` : ""}` : undefined;
}

/**
 * - failed: a workload's pods cannot be created (ReplicaFailure: Pod Security, a quota), a workload gave up (ProgressDeadlineExceeded), a Job gave up (BackoffLimitExceeded,
 *   DeadlineExceeded) during a rollout, or a staging that was ready has a workload with no ready
 *   replica left and its pods say why (crash loop, OOM, image pull...)
 * - progressing: a rollout is not finished (new generation not observed, replicas not updated or
 *   ready, or a Job such as a Helm hook still running)
 * - degraded: rolled out, but fewer replicas ready than wanted (or a Job failed) after having been ready
 * - ready: every workload has all its replicas updated and ready, and every Job has completed
 * - empty: the namespace has no workloads and no running Jobs (yet)
 * The reason names the most telling pod problem when there is one (see pod-problems.ts), and
 * the Job when one is what the staging waits for or why it failed (see job-health.ts).
 */
export function computeHealth(
  workloads: readonly WorkloadHealthInput[],
  wasReady = false,
  pods: readonly PodHealthInput[] = [],
  jobs: readonly JobHealthInput[] = [],
  /** Start of the latest deploy: Jobs that failed before it are an earlier release's. */
  deployStartedAt?: Date,
): Health {
  const fromJobs = jobsHealth(jobs, pods, deployStartedAt);
  if (fromJobs.failed) return wasReady ? { state: "degraded", reason: fromJobs.failed } : { state: "failed", reason: fromJobs.failed };
  // Once serving, a staging does not go back to "progressing" because a chart's Job runs again.
  const waitingForJob = wasReady ? undefined : fromJobs.running;
  if (workloads.length === 0) {
    return waitingForJob ? { state: "progressing", reason: waitingForJob } : { state: "empty", reason: "no Deployments or StatefulSets yet" };
  }
  const podReason = worstPodProblem(pods.filter((p) => p.job === undefined));
  for (const w of workloads) {
    const refused = replicaFailure(w);
    if (refused) return { state: wasReady ? "degraded" : "failed", reason: refused };
  }
  for (const w of workloads) {
    const failed = progressDeadlineExceeded(w);
    if (failed) return { state: "failed", reason: podReason ? `${failed}: ${podReason}` : failed };
  }
  const notReady = workloads.filter(
    (w) =>
      w.observedGeneration < w.generation ||
      w.updatedReplicas < w.desiredReplicas ||
      w.readyReplicas < w.desiredReplicas,
  );
  if (notReady.length === 0) {
    if (waitingForJob) return { state: "progressing", reason: waitingForJob };
    const total = workloads.reduce((n, w) => n + w.desiredReplicas, 0);
    return { state: "ready", reason: `${workloads.length} workload(s), ${total} replica(s) ready` };
  }
  const detail = notReady
    .map((w) => `${label(w)} ${w.readyReplicas}/${w.desiredReplicas} ready`)
    .join(", ");
  const reason = podReason ?? waitingForJob ?? detail;
  const rollingOut = notReady.some((w) => w.observedGeneration < w.generation || w.updatedReplicas < w.desiredReplicas);
  if (wasReady && !rollingOut) {
    const down = notReady.some((w) => w.readyReplicas === 0);
    return down && podReason ? { state: "failed", reason } : { state: "degraded", reason };
  }
  return { state: "progressing", reason };
}
