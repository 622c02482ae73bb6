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
