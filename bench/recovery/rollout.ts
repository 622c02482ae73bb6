// A workload controller with a rollout time: a Deployment or StatefulSet of the Kubernetes API
// double becomes ready `rolloutMs` after it changed (a new generation), instead of ~20 ms after
// (the double's own controller, switched to "manual" here). The staging is "deploying" meanwhile
// (helm has ended, the status engine waits for the workloads): a kill can land in that wait.
import type { KubeApiDouble } from "../../test/support/kube-api-double.ts";

export interface RolloutController {
  stop(): void;
}

interface Workload {
  metadata: { name: string; namespace: string; generation?: number; uid?: string; deletionTimestamp?: string };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number };
}

function readyStatus(kind: "Deployment" | "StatefulSet", w: Workload): Record<string, unknown> {
  const n = w.spec?.replicas ?? 1;
  const counts = { observedGeneration: w.metadata.generation, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n };
  if (kind === "StatefulSet") return { ...counts, currentReplicas: n, currentRevision: `${w.metadata.name}-1`, updateRevision: `${w.metadata.name}-1` };
  const at = new Date().toISOString();
  return {
    ...counts,
    conditions: [
      { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", lastUpdateTime: at, lastTransitionTime: at },
      { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: `ReplicaSet "${w.metadata.name}" has successfully progressed.`, lastUpdateTime: at, lastTransitionTime: at },
    ],
  };
}

const isReady = (w: Workload): boolean => {
  const n = w.spec?.replicas ?? 1;
  return (w.status?.observedGeneration ?? 0) >= (w.metadata.generation ?? 0) && (w.status?.readyReplicas ?? 0) >= n && (w.status?.updatedReplicas ?? 0) >= n;
};

export function startRolloutController(kube: KubeApiDouble, rolloutMs: number, everyMs = 25): RolloutController {
  kube.setController("manual");
  /** `${kind}/${namespace}/${uid}@${generation}` → when it was first seen not ready. */
  const seen = new Map<string, number>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const kind of ["Deployment", "StatefulSet"] as const) {
      for (const w of kube.list(kind) as Workload[]) {
        if (w.metadata.deletionTimestamp || isReady(w)) continue;
        const key = `${kind}/${w.metadata.namespace}/${w.metadata.uid}@${w.metadata.generation}`;
        const first = seen.get(key) ?? now;
        seen.set(key, first);
        if (now - first >= rolloutMs) {
          kube.patchStatus(kind, w.metadata.namespace, w.metadata.name, readyStatus(kind, w));
          seen.delete(key);
        }
      }
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      kube.setController("ready");
    },
  };
}
