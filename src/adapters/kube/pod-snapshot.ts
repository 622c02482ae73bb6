import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
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

/** What health needs from a Pod: phase, scheduling, and each container's state. */
export function podSnapshot(pod: V1Pod): PodSnapshot {
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  // batch.kubernetes.io/job-name since Kubernetes 1.27; job-name before (and still, alongside).
  const job = pod.metadata?.labels?.["batch.kubernetes.io/job-name"] ?? pod.metadata?.labels?.["job-name"];
  const unschedulable = scheduled?.status === "False" && scheduled.reason === "Unschedulable" ? (scheduled.message ?? "") : undefined;
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    phase: pod.status?.phase ?? "Unknown",
    ...(unschedulable !== undefined ? { unschedulable } : {}),
    containers: (pod.spec?.containers ?? []).map((c) => container(c.name, c.image ?? "", statuses.get(c.name))),
    ...(job ? { job } : {}),
  };
}
