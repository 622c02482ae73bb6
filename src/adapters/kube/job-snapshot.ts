import type { V1Job } from "@kubernetes/client-node";
import type { JobSnapshot } from "../../ports/cluster.ts";

/** A Job started by a CronJob: periodic work that is no part of any rollout. */
export function isCronJobRun(job: V1Job): boolean {
  return (job.metadata?.ownerReferences ?? []).some((o) => o.kind === "CronJob");
}

/** A Job as health sees it. Pure. */
export function jobSnapshot(job: V1Job): JobSnapshot {
  const done = (job.status?.conditions ?? []).find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  const hook = job.metadata?.annotations?.["helm.sh/hook"];
  return {
    namespace: job.metadata?.namespace ?? "",
    name: job.metadata?.name ?? "",
    ...(hook ? { hook } : {}),
    suspended: job.spec?.suspend === true,
    ...(done
      ? {
          finished: {
            type: done.type as "Complete" | "Failed",
            ...(done.reason ? { reason: done.reason } : {}),
            ...(done.message ? { message: done.message } : {}),
          },
        }
      : {}),
  };
}

/** The part of a Job that jobSnapshot and isCronJobRun read, for the informer cache. */
export function trimJob(job: V1Job): V1Job {
  const hook = job.metadata?.annotations?.["helm.sh/hook"];
  const owners = (job.metadata?.ownerReferences ?? []).filter((o) => o.kind === "CronJob");
  return {
    metadata: {
      name: job.metadata?.name,
      namespace: job.metadata?.namespace,
      resourceVersion: job.metadata?.resourceVersion,
      ...(hook !== undefined ? { annotations: { "helm.sh/hook": hook } } : {}),
      ...(owners.length ? { ownerReferences: owners } : {}),
    },
    spec: { ...(job.spec?.suspend !== undefined ? { suspend: job.spec.suspend } : {}), template: {} },
    ...(job.status?.conditions ? { status: { conditions: job.status.conditions } } : {}),
  };
}
