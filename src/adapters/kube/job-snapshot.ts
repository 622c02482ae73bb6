import type { V1Job, V1OwnerReference } from "@kubernetes/client-node";
import type { JobSnapshot } from "../../ports/cluster.ts";

/**
 * A Job some controller made (a CronJob's run, a KEDA ScaledJob's, an operator's): its work is
 * no part of a rollout. The Jobs of a chart, hooks included, are created by helm and have no
 * controlling owner.
 */
export function isControlledJob(job: V1Job): boolean {
  return (job.metadata?.ownerReferences ?? []).some(controlsJob);
}

function controlsJob(owner: V1OwnerReference): boolean {
  return owner.controller === true || owner.kind === "CronJob";
}

/** The Jobs of a rollout among `jobs` (isControlledJob ones left out), as health sees them. */
export function rolloutJobSnapshots(jobs: readonly V1Job[]): JobSnapshot[] {
  return jobs.filter((job) => !isControlledJob(job)).map(jobSnapshot);
}

const DONE: Record<string, "Complete" | "Failed"> = { Complete: "Complete", SuccessCriteriaMet: "Complete", Failed: "Failed", FailureTarget: "Failed" };

/** A Job as health sees it. Pure. */
export function jobSnapshot(job: V1Job): JobSnapshot {
  // Failed/FailureTarget first: a Job can carry SuccessCriteriaMet and then fail no more, but
  // never both a failure and a success.
  const conditions = (job.status?.conditions ?? []).filter((c) => c.status === "True" && DONE[c.type] !== undefined);
  const done = conditions.find((c) => DONE[c.type] === "Failed") ?? conditions[0];
  const hook = job.metadata?.annotations?.["helm.sh/hook"];
  return {
    namespace: job.metadata?.namespace ?? "",
    name: job.metadata?.name ?? "",
    ...(hook ? { hook } : {}),
    suspended: job.spec?.suspend === true,
    ...(done
      ? {
          finished: {
            type: DONE[done.type]!,
            ...(done.reason ? { reason: done.reason } : {}),
            ...(done.message ? { message: done.message } : {}),
            ...(done.lastTransitionTime ? { at: new Date(done.lastTransitionTime) } : {}),
          },
        }
      : {}),
  };
}

/** The part of a Job that jobSnapshot and isControlledJob read, for the informer cache. */
export function trimJob(job: V1Job): V1Job {
  const hook = job.metadata?.annotations?.["helm.sh/hook"];
  const owners = (job.metadata?.ownerReferences ?? []).filter(controlsJob);
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
