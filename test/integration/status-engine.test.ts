// Health from watches: pods in each failure state on the Kubernetes API double become the
// staging's status and reason in Postgres, through the real informers; a deploy that is not
// ready in time fails with the last reason; everything recovers by itself; after a restart the
// status is recomputed from the cluster.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeWorkloads } from "../../src/app/observe-workloads.ts";
import type { WorkloadObserver } from "../../src/app/observe-workloads.ts";
import { evaluateHealth } from "../../src/app/evaluate-health.ts";
import { reconcile } from "../../src/app/reconcile.ts";
import { runDeploy } from "../../src/app/run-deploy.ts";
import { pushed, sha } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { createHelmDouble } from "../support/helm-double.ts";
import type { HelmDouble } from "../support/helm-double.ts";
import { startKubeApiDouble } from "../support/kube-api-double.ts";
import type { KubeApiDouble } from "../support/kube-api-double.ts";
import { waitFor } from "../support/wait.ts";
import { workerDeps } from "../support/worker-deps.ts";

let db: TestDb;
let kube: KubeApiDouble;
let helm: HelmDouble;
let deps: ReturnType<typeof workerDeps>;
let observer: WorkloadObserver;

beforeAll(async () => {
  [db, kube] = await Promise.all([createTestDb(), startKubeApiDouble()]);
  helm = createHelmDouble();
  deps = workerDeps(db, kube, helm);
  observer = observeWorkloads(deps);
  await observer.watch.ready();
});
afterAll(async () => {
  await observer.stop();
  await Promise.all([db.drop(), kube.close()]);
  helm.cleanup();
});

async function deployed(pr: number) {
  const staging = await pushed(db.store, pr, sha(pr), { action: "opened" });
  await runDeploy(deps, staging.id);
  return staging;
}

function pod(namespace: string, name: string, containerStatus: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace, name, labels: { app: "web" } },
    spec: { containers: [{ name: "web", image: "ghcr.io/octo-org/web:abc1234" }] },
    status: { phase: "Running", containerStatuses: [{ name: "web", image: "ghcr.io/octo-org/web:abc1234", imageID: "", ready: false, restartCount: 0, ...containerStatus }], ...extra },
  };
}

function job(namespace: string, name: string, status: Record<string, unknown>, hook?: string) {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { namespace, name, ...(hook ? { annotations: { "helm.sh/hook": hook, "helm.sh/hook-delete-policy": "before-hook-creation" } } : {}) },
    spec: { backoffLimit: 2, template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "ghcr.io/octo-org/web:abc1234" }] } } },
    status,
  };
}

function jobPod(namespace: string, jobName: string, name: string, containerStatus: Record<string, unknown>, phase = "Running") {
  const p = pod(namespace, name, containerStatus, { phase });
  return { ...p, metadata: { ...p.metadata, labels: { "batch.kubernetes.io/job-name": jobName, "job-name": jobName } } };
}

const statusOf = async (id: string) => (await db.store.get(id))!;

describe("status engine", () => {
  it("a running staging whose pods crash is degraded, then failed, then recovers to running by itself", async () => {
    const s = await deployed(40);
    await waitFor("running", async () => (await statusOf(s.id)).status === "running");
    kube.setController("manual");
    const crash = { restartCount: 5, state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s" } }, lastState: { terminated: { reason: "Error", exitCode: 1 } } };
    kube.put(pod(s.namespace, "web-pr-40-web-7f9c", crash));
    kube.patchStatus("Deployment", s.namespace, `${s.name}-web`, { readyReplicas: 1, availableReplicas: 1 });
    const degraded = await waitFor("degraded", async () => ((await statusOf(s.id)).status === "degraded" ? statusOf(s.id) : null));
    expect(degraded.reason).toBe("CrashLoopBackOff in web-pr-40-web-7f9c (exit 1, 5 restarts)");

    kube.patchStatus("Deployment", s.namespace, `${s.name}-web`, { readyReplicas: 0, availableReplicas: 0 });
    await waitFor("failed", async () => (await statusOf(s.id)).status === "failed");

    kube.put(pod(s.namespace, "web-pr-40-web-7f9c", { ready: true, restartCount: 5, state: { running: {} } }));
    kube.patchStatus("Deployment", s.namespace, `${s.name}-web`, { readyReplicas: 2, availableReplicas: 2 });
    const back = await waitFor("running again", async () => ((await statusOf(s.id)).status === "running" ? statusOf(s.id) : null));
    expect(back.reason).toBeNull();
    const history = await db.db.statusTransition.findMany({ where: { stagingId: s.id }, orderBy: { createdAt: "asc" } });
    expect(history.map((h) => h.to)).toEqual(["deploying", "running", "degraded", "failed", "running"]);
    kube.setController("ready");
  });

  it.each([
    ["ImagePullBackOff", { state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "ghcr.io/octo-org/web:abc1234": not found' } } }, {}, "ImagePullBackOff: image ghcr.io/octo-org/web:abc1234 not found"],
    ["OOMKilled", { restartCount: 2, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } } }, {}, "OOMKilled in web-pod (container web, 2 restarts)"],
    ["Unschedulable", {}, { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient memory." }] }, "Unschedulable: insufficient memory"],
    ["readiness probe", { state: { running: {} } }, {}, "readiness probe failing in web-pod (container web)"],
  ])("a deploy stuck on %s says so while deploying, and fails with that reason at its timeout", async (_label, containerStatus, podStatus, reason) => {
    kube.setController("manual");
    const pr = 41 + ["ImagePullBackOff", "OOMKilled", "Unschedulable", "readiness probe"].indexOf(_label);
    const s = await deployed(pr);
    kube.put(pod(s.namespace, "web-pod", containerStatus, podStatus));
    const stuck = await waitFor("reason shown", async () => ((await statusOf(s.id)).reason === reason ? statusOf(s.id) : null));
    expect(stuck.status).toBe("deploying");
    // Eleven minutes later (the deploy timeout is 600 s), the reconciler gives up with the last reason.
    const later = { ...deps, clock: { now: () => new Date(Date.now() + 11 * 60_000) } };
    await reconcile(later, observer.watch);
    expect(await statusOf(s.id)).toMatchObject({ status: "failed", reason: `not ready within 600s: ${reason}` });
    kube.setController("ready");
  });

  it("while helm waits for a pre-upgrade hook Job, the staging says so, and why the hook is stuck", async () => {
    const first = await deployed(60);
    await waitFor("running", async () => (await statusOf(first.id)).status === "running");
    // The next push: helm hangs (as real helm does while its hook runs) and the hook's pod crash-loops.
    helm.hang(4000, "upgrade", 1);
    const out = { staging: await pushed(db.store, 60, sha(6060)) };
    const rollout = runDeploy(deps, out.staging.id);
    await waitFor("deploying", async () => (await statusOf(first.id)).status === "deploying");
    kube.put(job(first.namespace, "web-migrate", { active: 1 }, "pre-upgrade"));
    await waitFor("hook named", async () => (await statusOf(first.id)).reason === "waiting for pre-upgrade hook Job web-migrate");
    kube.put(jobPod(first.namespace, "web-migrate", "web-migrate-x7k2p", { restartCount: 2, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1 } } }));
    const stuck = await waitFor("hook problem", async () => ((await statusOf(first.id)).reason?.includes("CrashLoopBackOff") ? statusOf(first.id) : null));
    expect(stuck).toMatchObject({ status: "deploying", reason: "pre-upgrade hook Job web-migrate: CrashLoopBackOff in web-migrate-x7k2p (exit 1, 2 restarts)" });
    // The hook completes; helm finishes; the staging is running again.
    kube.put(job(first.namespace, "web-migrate", { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }, "pre-upgrade"));
    kube.put(jobPod(first.namespace, "web-migrate", "web-migrate-x7k2p", { state: { terminated: { reason: "Completed", exitCode: 0 } } }, "Succeeded"));
    await rollout;
    const done = await waitFor("running again", async () => ((await statusOf(first.id)).status === "running" ? statusOf(first.id) : null));
    expect(done.reason).toBeNull();
  });

  it("a chart's Job that gives up fails the rollout with its reason and last exit code", async () => {
    kube.setController("manual");
    const s = await deployed(61);
    kube.put(job(s.namespace, "web-seed", { active: 1 }));
    await waitFor("job named", async () => (await statusOf(s.id)).reason === "waiting for Job web-seed");
    kube.patchStatus("Deployment", s.namespace, `${s.name}-web`, { readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, observedGeneration: 1 });
    // Deployment ready, Job still running: not ready yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(await statusOf(s.id)).toMatchObject({ status: "deploying", reason: "waiting for Job web-seed" });
    kube.put(jobPod(s.namespace, "web-seed", "web-seed-aaaaa", { state: { terminated: { reason: "Error", exitCode: 4 } } }, "Failed"));
    kube.put(job(s.namespace, "web-seed", { failed: 3, conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }] }));
    const failed = await waitFor("failed", async () => ((await statusOf(s.id)).status === "failed" ? statusOf(s.id) : null));
    expect(failed.reason).toBe("Job web-seed failed: BackoffLimitExceeded (exit 4 in web-seed-aaaaa)");
    // A Job a CronJob started is periodic work: its failure is not the staging's.
    kube.remove("Job", s.namespace, "web-seed");
    await waitFor("running", async () => (await statusOf(s.id)).status === "running");
    const cronRun = job(s.namespace, "nightly-29061234", { failed: 1, conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] });
    kube.put({ ...cronRun, metadata: { ...cronRun.metadata, ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "nightly", uid: "u1", controller: true }] } });
    await new Promise((r) => setTimeout(r, 300));
    await observer.idle();
    expect((await statusOf(s.id)).status).toBe("running");
    kube.setController("ready");
  });

  it("health decided from a staging read before its deploy failed does not overwrite the failure", async () => {
    kube.setController("manual");
    const s = await deployed(62);
    const before = await statusOf(s.id);
    expect(before.status).toBe("deploying");
    // Meanwhile the worker records a failed helm run (as run-deploy does)...
    const lease = (await db.store.acquireLease(s.id, "deploy", "w-fail", 60_000))!;
    await db.store.finishGeneration(lease, {
      generation: s.generation,
      action: { state: "failed" },
      observed: true,
      deployOutcome: { error: "helm upgrade --install failed: Error: UPGRADE FAILED" },
      status: { to: "failed", reason: "helm upgrade --install failed", cause: "deploy failed", actor: "octostage" },
    });
    await db.store.releaseLease(lease);
    // ...and an evaluation that read the staging earlier sees its workloads ready.
    const ready = kube.get("Deployment", s.namespace, `${s.name}-web`);
    const workloads = [{ kind: "Deployment", name: ready.metadata.name, desiredReplicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2, generation: 1, observedGeneration: 1, conditions: [] }];
    const after = await evaluateHealth(deps, before, workloads);
    expect(after).toMatchObject({ status: "failed", reason: "helm upgrade --install failed" });
    expect(await statusOf(s.id)).toMatchObject({ status: "failed", reason: "helm upgrade --install failed" });
    kube.setController("ready");
  });

  it("after a restart, status is recomputed from the cluster, not trusted from memory", async () => {
    const s = await deployed(50);
    await waitFor("running", async () => (await statusOf(s.id)).status === "running");
    await observer.stop();
    // While Octostage is down, the staging's only replica goes away.
    kube.setController("manual");
    kube.put(pod(s.namespace, "web-pr-50-web-1", { restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 2 } } }));
    kube.patchStatus("Deployment", s.namespace, `${s.name}-web`, { readyReplicas: 0, availableReplicas: 0 });
    expect((await statusOf(s.id)).status).toBe("running");
    // The informers' first list evaluates every namespace it finds, before any reconcile.
    observer = observeWorkloads(deps);
    await observer.watch.ready();
    await observer.idle();
    expect(await statusOf(s.id)).toMatchObject({ status: "failed", reason: "CrashLoopBackOff in web-pr-50-web-1 (exit 2, 3 restarts)" });
    kube.setController("ready");
  });

  it("a reconcile recomputes every staging's health on a sweep, and only rollouts' otherwise", async () => {
    const s = await deployed(51);
    await waitFor("running", async () => (await statusOf(s.id)).status === "running");
    // A cache that disagrees with Postgres, as after events lost between two processes.
    const crashed = { namespace: s.namespace, name: "web-pr-51-web-1", phase: "Running", containers: [{ name: "web", image: "ghcr.io/octo-org/web:abc1234", ready: false, restartCount: 4, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 3 } }] };
    const cache = {
      workloadsIn: (ns: string) => observer.watch.workloadsIn(ns).map((w) => (ns === s.namespace ? { ...w, readyReplicas: 0, availableReplicas: 0 } : w)),
      podsIn: (ns: string) => (ns === s.namespace ? [crashed] : observer.watch.podsIn(ns)),
      jobsIn: (ns: string) => observer.watch.jobsIn(ns),
    } as Parameters<typeof reconcile>[1];
    const quiet = await reconcile(deps, cache, { healthSweep: false });
    expect(quiet.evaluated).toBe(0);
    expect((await statusOf(s.id)).status).toBe("running");
    const sweep = await reconcile(deps, cache, { healthSweep: true });
    expect(sweep.evaluated).toBeGreaterThanOrEqual(1);
    expect(await statusOf(s.id)).toMatchObject({ status: "failed", reason: "CrashLoopBackOff in web-pr-51-web-1 (exit 3, 4 restarts)" });
  });
});
