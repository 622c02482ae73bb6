/**
 * What a staging's page shows of its namespace: each workload's readiness and each pod's state
 * with its problem (pod-problems.ts words it as the status does). Kept small and stable: the
 * worker saves it only when it differs from the last one saved.
 */
import type { WorkloadHealthInput } from "./health.ts";
import { podProblem } from "./pod-problems.ts";
import type { PodHealthInput } from "./pod-problems.ts";

export interface WorkloadSnapshot {
  workloads: { kind: string; name: string; ready: number; desired: number }[];
  pods: { name: string; phase: string; ready: boolean; restarts: number; problem: string | null }[];
  /** Pods beyond the ones listed. */
  morePods: number;
}

/** Pods listed at most: the ones with a problem first. */
export const maxPods = 30;

export function workloadSnapshot(workloads: readonly WorkloadHealthInput[], pods: readonly PodHealthInput[]): WorkloadSnapshot {
  const listed = pods
    .map((p) => ({
      name: p.name,
      phase: p.phase,
      ready: p.containers.length > 0 && p.containers.every((c) => c.ready),
      restarts: p.containers.reduce((n, c) => n + c.restartCount, 0),
      problem: podProblem(p) ?? null,
    }))
    .sort((a, b) => Number(b.problem !== null) - Number(a.problem !== null) || a.name.localeCompare(b.name));
  return {
    workloads: workloads.map((w) => ({ kind: w.kind, name: w.name, ready: w.readyReplicas, desired: w.desiredReplicas })).sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`)),
    pods: listed.slice(0, maxPods),
    morePods: Math.max(0, listed.length - maxPods),
  };
}

/** Whether two snapshots show the same thing (a save is needed only when they do not). */
export function sameSnapshot(a: WorkloadSnapshot | null, b: WorkloadSnapshot): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}
