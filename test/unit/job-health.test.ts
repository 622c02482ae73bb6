import { describe, expect, it } from "vitest";
import { computeHealth } from "../../src/domain/health.ts";
import type { WorkloadHealthInput } from "../../src/domain/health.ts";
import { jobsHealth } from "../../src/domain/job-health.ts";
import type { JobHealthInput } from "../../src/domain/job-health.ts";
import type { PodHealthInput } from "../../src/domain/pod-problems.ts";

const migrate = (over: Partial<JobHealthInput> = {}): JobHealthInput => ({ name: "web-migrate", hook: "pre-install,pre-upgrade", suspended: false, ...over });
const failed = { type: "Failed" as const, reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
const complete = { type: "Complete" as const };

function jobPod(name: string, container: Partial<PodHealthInput["containers"][number]>, job = "web-migrate", phase = "Running"): PodHealthInput {
  return { name, phase, job, containers: [{ name: "migrate", image: "ghcr.io/acme/web:1a2b3c", ready: false, restartCount: 0, ...container }] };
}

const web = (ready: number): WorkloadHealthInput => ({
  kind: "Deployment",
  name: "web",
  desiredReplicas: 2,
  readyReplicas: ready,
  updatedReplicas: 2,
  availableReplicas: ready,
  generation: 1,
  observedGeneration: 1,
  conditions: [],
});

describe("jobsHealth", () => {
  it("names a running hook Job as what the rollout waits for, by its first hook", () => {
    expect(jobsHealth([migrate()], [])).toEqual({ running: "waiting for pre-install hook Job web-migrate" });
    expect(jobsHealth([migrate({ hook: undefined, name: "seed" })], [])).toEqual({ running: "waiting for Job seed" });
  });

  it("says why a running Job's pod is stuck: crash loop, image pull", () => {
    const crash = jobPod("web-migrate-x7k2p", { restartCount: 3, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 1 } });
    expect(jobsHealth([migrate()], [crash]).running).toBe("pre-install hook Job web-migrate: CrashLoopBackOff in web-migrate-x7k2p (exit 1, 3 restarts)");
    const pull = jobPod("web-migrate-x7k2p", { waiting: { reason: "ImagePullBackOff", message: "manifest unknown" } });
    expect(jobsHealth([migrate()], [pull]).running).toBe("pre-install hook Job web-migrate: ImagePullBackOff: image ghcr.io/acme/web:1a2b3c not found");
  });

  it("says why a Job with restartPolicy Never retries: the exit code of a failed attempt", () => {
    const attempt = jobPod("web-migrate-aaaaa", { terminated: { reason: "Error", exitCode: 2 } }, "web-migrate", "Failed");
    const next = jobPod("web-migrate-bbbbb", {}, "web-migrate", "Pending");
    expect(jobsHealth([migrate()], [attempt, next]).running).toBe("pre-install hook Job web-migrate: retrying after a failed attempt (exit 2 in web-migrate-aaaaa)");
  });

  it("names a failed Job with its reason and the last failed attempt's exit code", () => {
    const attempts = [
      jobPod("web-migrate-aaaaa", { terminated: { reason: "Error", exitCode: 2 } }, "web-migrate", "Failed"),
      jobPod("web-migrate-bbbbb", { terminated: { reason: "Error", exitCode: 3 } }, "web-migrate", "Failed"),
    ];
    expect(jobsHealth([migrate({ finished: failed })], attempts)).toEqual({ failed: "pre-install hook Job web-migrate failed: BackoffLimitExceeded (exit 3 in web-migrate-bbbbb)" });
    const oom = [jobPod("web-migrate-ccccc", { terminated: { reason: "OOMKilled", exitCode: 137 } }, "web-migrate", "Failed")];
    expect(jobsHealth([migrate({ finished: { type: "Failed", reason: "DeadlineExceeded" } })], oom).failed).toBe("pre-install hook Job web-migrate failed: DeadlineExceeded (OOMKilled in web-migrate-ccccc)");
  });

  it("ignores completed and suspended Jobs, and pods of other Jobs", () => {
    expect(jobsHealth([migrate({ finished: complete }), migrate({ name: "later", suspended: true })], [])).toEqual({});
    const other = jobPod("seed-zzzzz", { restartCount: 2, waiting: { reason: "CrashLoopBackOff" } }, "seed");
    expect(jobsHealth([migrate()], [other]).running).toBe("waiting for pre-install hook Job web-migrate");
  });
});

describe("leftover Jobs of earlier releases", () => {
  const deployStartedAt = new Date("2026-11-30T10:00:00Z");
  const failedAt = (iso: string) => migrate({ hook: "post-install", finished: { ...failed, at: new Date(iso) } });

  it("a Job that failed before the latest deploy started does not count; one that failed after does", () => {
    expect(computeHealth([web(2)], false, [], [failedAt("2026-11-29T09:00:00Z")], deployStartedAt).state).toBe("ready");
    expect(computeHealth([web(2)], false, [], [failedAt("2026-11-30T10:00:05Z")], deployStartedAt)).toEqual({ state: "failed", reason: "post-install hook Job web-migrate failed: BackoffLimitExceeded" });
  });

  it("allows for the cluster's clock being behind, and counts failures of unknown time", () => {
    expect(computeHealth([web(2)], false, [], [failedAt("2026-11-30T09:59:00Z")], deployStartedAt).state).toBe("failed");
    expect(computeHealth([web(2)], false, [], [migrate({ finished: failed })], deployStartedAt).state).toBe("failed");
  });
});

describe("computeHealth with Jobs", () => {
  it("a pre-install hook running before any Deployment exists is progress, not an empty namespace", () => {
    expect(computeHealth([], false, [], [migrate()])).toEqual({ state: "progressing", reason: "waiting for pre-install hook Job web-migrate" });
    expect(computeHealth([], false, [], [migrate({ finished: complete })]).state).toBe("empty");
  });

  it("a staging is not ready while a Job of its rollout still runs, and is once it completes", () => {
    expect(computeHealth([web(2)], false, [], [migrate({ hook: undefined, name: "seed" })])).toEqual({ state: "progressing", reason: "waiting for Job seed" });
    expect(computeHealth([web(2)], false, [], [migrate({ finished: complete })]).state).toBe("ready");
  });

  it("a Job that gave up fails a rollout, and degrades a staging that was serving", () => {
    expect(computeHealth([web(2)], false, [], [migrate({ finished: failed })])).toEqual({ state: "failed", reason: "pre-install hook Job web-migrate failed: BackoffLimitExceeded" });
    expect(computeHealth([web(2)], true, [], [migrate({ finished: failed })])).toEqual({ state: "degraded", reason: "pre-install hook Job web-migrate failed: BackoffLimitExceeded" });
  });

  it("a serving staging stays ready while a chart's Job runs again", () => {
    expect(computeHealth([web(2)], true, [], [migrate()]).state).toBe("ready");
  });

  it("a Job's crashing pod is not given as the reason a Deployment is not ready", () => {
    const crash = jobPod("web-migrate-x7k2p", { restartCount: 3, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 1 } });
    expect(computeHealth([web(1)], true, [crash], [migrate({ finished: complete })])).toEqual({ state: "degraded", reason: "Deployment/web 1/2 ready" });
    // While the Job runs, its pod's problem is the reason the rollout waits.
    expect(computeHealth([web(0)], false, [crash], [migrate()]).reason).toBe("pre-install hook Job web-migrate: CrashLoopBackOff in web-migrate-x7k2p (exit 1, 3 restarts)");
  });
});
