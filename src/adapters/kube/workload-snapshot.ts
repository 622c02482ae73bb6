import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import type { WorkloadCondition, WorkloadKind, WorkloadRef, WorkloadSnapshot } from "../../ports/cluster.ts";

export type WorkloadObject = V1Deployment | V1StatefulSet;

export function workloadRef(kind: WorkloadKind, obj: WorkloadObject): WorkloadRef {
  return { kind, namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

function condition(c: { type: string; status: string; reason?: string; message?: string }): WorkloadCondition {
  return {
    type: c.type,
    status: c.status,
    ...(c.reason !== undefined ? { reason: c.reason } : {}),
    ...(c.message !== undefined ? { message: c.message } : {}),
  };
}

/**
 * A Deployment or StatefulSet as Octostage sees it. Pure. A real API server omits zero counts
 * (`readyReplicas: 0` is absent) and spec.replicas defaults to 1, so absent values get those meanings.
 */
export function workloadSnapshot(kind: WorkloadKind, obj: WorkloadObject): WorkloadSnapshot {
  const status = obj.status;
  return {
    ...workloadRef(kind, obj),
    desiredReplicas: obj.spec?.replicas ?? 1,
    readyReplicas: status?.readyReplicas ?? 0,
    updatedReplicas: status?.updatedReplicas ?? 0,
    availableReplicas: status?.availableReplicas ?? 0,
    generation: obj.metadata?.generation ?? 0,
    observedGeneration: status?.observedGeneration ?? 0,
    conditions: (status?.conditions ?? []).map(condition),
  };
}

/** The part of a Deployment or StatefulSet that workloadSnapshot reads, for the informer cache. */
export function trimWorkload<T extends WorkloadObject>(obj: T): T {
  const status = obj.status;
  return {
    metadata: { name: obj.metadata?.name, namespace: obj.metadata?.namespace, resourceVersion: obj.metadata?.resourceVersion, generation: obj.metadata?.generation },
    spec: { replicas: obj.spec?.replicas },
    status: {
      readyReplicas: status?.readyReplicas,
      updatedReplicas: status?.updatedReplicas,
      availableReplicas: status?.availableReplicas,
      observedGeneration: status?.observedGeneration,
      ...(status?.conditions ? { conditions: status.conditions } : {}),
    },
  } as T;
}
