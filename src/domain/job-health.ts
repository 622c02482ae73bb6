/**
 * Jobs of a staging: Helm hooks (a database migration before an upgrade) and plain Jobs a
 * chart runs once. Pure. A rollout is not done while one of them is still running, and a Job
 * that gave up is why the staging failed:
 *
 *   waiting for pre-upgrade hook Job web-migrate
 *   pre-upgrade hook Job web-migrate: CrashLoopBackOff in web-migrate-x7k2p (exit 1, 3 restarts)
 *   pre-upgrade hook Job web-migrate: retrying after a failed attempt (exit 1 in web-migrate-x7k2p)
 *   pre-upgrade hook Job web-migrate failed: BackoffLimitExceeded (exit 1 in web-migrate-x7k2p)
 *
 * Jobs a controller starts (a CronJob's runs, a KEDA ScaledJob's) are not part of a rollout: the adapter leaves them out.
 */
import { podProblem } from "./pod-problems.ts";
import type { PodHealthInput } from "./pod-problems.ts";

export interface JobHealthInput {
  name: string;
  /** The helm.sh/hook annotation ("pre-install,pre-upgrade") when the Job is a Helm hook. */
  hook?: string;
  /** spec.suspend: a suspended Job runs nothing and is waited for by nobody. */
  suspended: boolean;
  /**
   * Once the Job has finished: its Complete or Failed condition (or SuccessCriteriaMet /
   * FailureTarget, which Kubernetes 1.31+ sets first, while pods still terminate) with status
   * True, and when that happened (the condition's lastTransitionTime).
   */
  finished?: { type: "Complete" | "Failed"; reason?: string; message?: string; at?: Date };
}

/** Clocks of the cluster and of Octostage may differ this much. */
const CLOCK_SKEW_MS = 2 * 60_000;

function label(job: JobHealthInput): string {
  const hook = job.hook?.split(",").map((h) => h.trim()).filter(Boolean)[0];
  return hook ? `${hook} hook Job ${job.name}` : `Job ${job.name}`;
}

/** The pods a Job started (pods carry the job-name label; PodHealthInput.job holds it). */
function podsOf(job: JobHealthInput, pods: readonly PodHealthInput[]): PodHealthInput[] {
  return pods.filter((p) => p.job === job.name).sort((a, b) => a.name.localeCompare(b.name));
}

/** The exit code of a failed attempt (the last by pod name), for a Job whose pods do not restart in place. */
function lastFailedExit(pods: readonly PodHealthInput[]): string | undefined {
  for (const pod of [...pods].reverse()) {
    for (const c of pod.containers) {
      const t = c.terminated ?? c.lastTerminated;
      if (t && t.exitCode !== undefined && t.exitCode !== 0) return `${t.reason === "OOMKilled" ? "OOMKilled" : `exit ${t.exitCode}`} in ${pod.name}`;
    }
  }
  return undefined;
}

export interface JobsHealth {
  /** Jobs that gave up: the staging failed (or is degraded when it was already serving). */
  failed?: string;
  /** Jobs still running: the rollout is not done. */
  running?: string;
}

/**
 * What the staging's Jobs say, most telling first; empty when every Job has completed. With
 * `failedSince` (the start of the staging's latest deploy), a Job that failed before it is a
 * leftover of an earlier release (a post-install hook that failed once stays there until the
 * release is uninstalled) and is not counted.
 */
export function jobsHealth(jobs: readonly JobHealthInput[], pods: readonly PodHealthInput[], failedSince?: Date): JobsHealth {
  const sorted = [...jobs].sort((a, b) => a.name.localeCompare(b.name));
  const out: JobsHealth = {};
  const recent = (j: JobHealthInput): boolean =>
    failedSince === undefined || j.finished?.at === undefined || j.finished.at.getTime() >= failedSince.getTime() - CLOCK_SKEW_MS;
  const failed = sorted.find((j) => j.finished?.type === "Failed" && recent(j));
  if (failed) {
    const why = failed.finished?.reason ?? "Failed";
    const exit = lastFailedExit(podsOf(failed, pods));
    out.failed = `${label(failed)} failed: ${why}${exit ? ` (${exit})` : ""}`;
  }
  const running = sorted.filter((j) => !j.finished && !j.suspended);
  for (const job of running) {
    const problem = podsOf(job, pods).map(podProblem).find((p) => p !== undefined);
    if (problem) {
      out.running = `${label(job)}: ${problem}`;
      break;
    }
  }
  if (!out.running) {
    // restartPolicy Never: each failed attempt is a pod of its own that ended (restart count 0),
    // so no crash loop shows; the attempts' exit codes say what goes wrong while the Job retries.
    const retrying = running.map((job) => [job, lastFailedExit(podsOf(job, pods))] as const).find(([, exit]) => exit !== undefined);
    if (retrying) out.running = `${label(retrying[0])}: retrying after a failed attempt (${retrying[1]})`;
    else if (running[0]) out.running = `waiting for ${label(running[0])}`;
  }
  return out;
}
