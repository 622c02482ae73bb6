/** Health of a staging computed from its workloads (Deployments, StatefulSets) and their pods. Pure. */
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

/**
 * - failed: a workload gave up (ProgressDeadlineExceeded), or a staging that was ready has a
 *   workload with no ready replica left and its pods say why (crash loop, OOM, image pull...)
 * - progressing: a rollout is not finished (new generation not observed, replicas not updated or ready)
 * - degraded: rolled out, but fewer replicas ready than wanted, after having been ready
 * - ready: every workload has all its replicas updated and ready
 * - empty: the namespace has no workloads (yet)
 * The reason names the most telling pod problem when there is one (see pod-problems.ts).
 */
export function computeHealth(
  workloads: readonly WorkloadHealthInput[],
  wasReady = false,
  pods: readonly PodHealthInput[] = [],
): Health {
  if (workloads.length === 0) return { state: "empty", reason: "no Deployments or StatefulSets yet" };
  const podReason = worstPodProblem(pods);
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
    const total = workloads.reduce((n, w) => n + w.desiredReplicas, 0);
    return { state: "ready", reason: `${workloads.length} workload(s), ${total} replica(s) ready` };
  }
  const detail = notReady
    .map((w) => `${label(w)} ${w.readyReplicas}/${w.desiredReplicas} ready`)
    .join(", ");
  const reason = podReason ?? detail;
  const rollingOut = notReady.some((w) => w.observedGeneration < w.generation || w.updatedReplicas < w.desiredReplicas);
  if (wasReady && !rollingOut) {
    const down = notReady.some((w) => w.readyReplicas === 0);
    return down && podReason ? { state: "failed", reason } : { state: "degraded", reason };
  }
  return { state: "progressing", reason };
}
