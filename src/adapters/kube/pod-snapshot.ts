import type { V1Container, V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { podRequests } from "../../domain/cost.ts";
import type { PodSnapshot } from "../../ports/cluster.ts";

function container(name: string, image: string, status: V1ContainerStatus | undefined): PodSnapshot["containers"][number] {
  const waiting = status?.state?.waiting;
  const terminated = status?.state?.terminated;
  const last = status?.lastState?.terminated;
  return {
    name,
    image: status?.image && !status.image.startsWith("sha256:") ? status.image : image,
    ready: status?.ready ?? false,
    restartCount: status?.restartCount ?? 0,
    ...(waiting ? { waiting: { ...(waiting.reason ? { reason: waiting.reason } : {}), ...(waiting.message ? { message: waiting.message } : {}) } } : {}),
    ...(terminated ? { terminated: { ...(terminated.reason ? { reason: terminated.reason } : {}), exitCode: terminated.exitCode } } : {}),
    ...(last ? { lastTerminated: { ...(last.reason ? { reason: last.reason } : {}), exitCode: last.exitCode } } : {}),
  };
}

const JOB_LABELS = ["batch.kubernetes.io/job-name", "job-name"];

/** What podRequests reads of a container: its requests (and, for an init container, whether it is a sidecar). */
function trimContainerRequests(c: V1Container): Pick<V1Container, "resources" | "restartPolicy"> {
  return {
    ...(c.resources?.requests ? { resources: { requests: c.resources.requests } } : {}),
    ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
  };
}

/**
 * The part of a Pod that podSnapshot reads, for the informer cache to keep instead of the whole
 * object (a real Pod, with managedFields, env, volumes and probes, is many times larger).
 * Keeps name, namespace and resourceVersion, which the cache itself uses.
 */
export function trimPod(pod: V1Pod): V1Pod {
  const labels = Object.fromEntries(JOB_LABELS.flatMap((k) => (pod.metadata?.labels?.[k] !== undefined ? [[k, pod.metadata.labels[k]]] : [])));
  const scheduled = pod.status?.conditions?.filter((c) => c.type === "PodScheduled");
  return {
    metadata: {
      name: pod.metadata?.name,
      namespace: pod.metadata?.namespace,
      resourceVersion: pod.metadata?.resourceVersion,
      ...(Object.keys(labels).length ? { labels } : {}),
    },
    spec: {
      containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, ...trimContainerRequests(c) })),
      ...(pod.spec?.initContainers ? { initContainers: pod.spec.initContainers.map((c) => ({ name: c.name, ...trimContainerRequests(c) })) } : {}),
      ...(pod.spec?.overhead ? { overhead: pod.spec.overhead } : {}),
      ...(pod.spec?.resources?.requests ? { resources: { requests: pod.spec.resources.requests } } : {}),
    },
    status: {
      phase: pod.status?.phase,
      ...(scheduled?.length ? { conditions: scheduled } : {}),
      ...(pod.status?.containerStatuses
        ? {
            containerStatuses: pod.status.containerStatuses.map((c) => ({
              name: c.name,
              image: c.image,
              imageID: c.imageID,
              ready: c.ready,
              restartCount: c.restartCount,
              ...(c.state ? { state: c.state } : {}),
              ...(c.lastState ? { lastState: c.lastState } : {}),
            })),
          }
        : {}),
    },
  };
}

/** What health needs from a Pod: phase, scheduling, and each container's state; and what it requests (cost). */
export function podSnapshot(pod: V1Pod): PodSnapshot {
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  // batch.kubernetes.io/job-name since Kubernetes 1.27; job-name before (and still, alongside).
  const job = pod.metadata?.labels?.[JOB_LABELS[0]!] ?? pod.metadata?.labels?.[JOB_LABELS[1]!];
  const unschedulable = scheduled?.status === "False" && scheduled.reason === "Unschedulable" ? (scheduled.message ?? "") : undefined;
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    phase: pod.status?.phase ?? "Unknown",
    ...(unschedulable !== undefined ? { unschedulable } : {}),
    containers: (pod.spec?.containers ?? []).map((c) => container(c.name, c.image ?? "", statuses.get(c.name))),
    ...(job ? { job } : {}),
    requests: podRequests(pod.spec),
  };
}
