// Execution guarantees: coalescing, one helm at a time per staging across workers, a fenced
// lease kept by its heartbeat (and helm stopped when it is lost), retries, permanent failures,
// recovery after a worker died, releases left pending by a killed helm, archive and restore of
// replica counts. Real Postgres, the real helm adapter running the helm double, client-node on
// the Kubernetes API double.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { reconcile } from "../../src/app/reconcile.ts";
import { runDeploy } from "../../src/app/run-deploy.ts";
import { githubActor } from "../../src/domain/actor.ts";
import { decideArchive, decideDelete, decideRestore } from "../../src/domain/intent/commands.ts";
import { pullRequestSpec } from "../../src/app/desired-spec.ts";
import type { StagingStore } from "../../src/ports/store.ts";
import { pushed, sha, testProject } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { createHelmDouble, releaseHistory } from "../support/helm-double.ts";
import type { HelmDouble } from "../support/helm-double.ts";
import { startKubeApiDouble } from "../support/kube-api-double.ts";
import type { KubeApiDouble } from "../support/kube-api-double.ts";
import { leaveReleasePending } from "../support/stuck-release.ts";
import { waitFor } from "../support/wait.ts";
import { movableClock } from "../support/clock.ts";
import { testTiming, workerDeps } from "../support/worker-deps.ts";

let db: TestDb;
let kube: KubeApiDouble;
let helm: HelmDouble;
const settings = testProject().repositories[0]!;

beforeAll(async () => {
  [db, kube] = await Promise.all([createTestDb(), startKubeApiDouble()]);
  helm = createHelmDouble();
});
afterAll(async () => {
  await Promise.all([db.drop(), kube.close()]);
  helm.cleanup();
});
beforeEach(() => helm.reset());

const record = (pr: number, n: number) => pushed(db.store, pr, sha(n), { deliveryId: `pr${pr}-push${n}` });
const upgrades = () => helm.calls().filter((c) => c.argv[0] === "upgrade");

function steer(store: StagingStore, id: string, pr: number, decide: typeof decideArchive) {
  return store.changeStaging({
    target: { id },
    event: "test",
    decide: (current) => decide(current!.staging, githubActor("dev")),
    spec: pullRequestSpec(settings, "octo-org", "web", pr),
  });
}

describe("run-deploy", () => {
  it("coalesces a burst of pushes: deploys the latest SHA once and marks the rest superseded", async () => {
    for (let n = 1; n <= 5; n++) await record(10, n);
    const s = (await db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 10 }))!;
    const out = await runDeploy(workerDeps(db, kube, helm), s.id);
    expect(out).toEqual({ outcome: "done", generations: [5] });
    expect(upgrades()).toHaveLength(1);
    expect(upgrades()[0]!.values[0]).toMatchObject({ image: { tag: sha(5) } });
    const actions = await db.store.listActions(s.id);
    expect(actions.map((a) => a.state)).toEqual(["superseded", "superseded", "superseded", "superseded", "succeeded"]);
    expect(actions[0]!.error).toBe("superseded by generation 5");
    expect(actions[4]).toMatchObject({ exitCode: 0 });
    expect((await db.store.get(s.id))!).toMatchObject({ observedGeneration: 5, deployedSha: sha(5), lastDeployError: null });
  });

  it("never runs two helm operations on one staging at once, across workers", async () => {
    const s = await record(11, 1);
    helm.delay(400);
    const workers = ["w-a", "w-b", "w-c"].map((id) => workerDeps(db, kube, helm, id));
    const outs = await Promise.all(workers.map((d) => runDeploy(d, s.id)));
    expect(outs.filter((o) => o.outcome === "done" && o.generations.length === 1)).toHaveLength(1);
    expect(outs.filter((o) => o.outcome === "busy")).toHaveLength(2);
    expect(upgrades()).toHaveLength(1);
    expect(helm.overlaps()).toEqual([]);
  });

  it("picks up intent recorded while helm ran (the lease holder looks again before leaving)", async () => {
    const s = await record(12, 1);
    helm.delay(400);
    const deps = workerDeps(db, kube, helm);
    const running = runDeploy(deps, s.id);
    await waitFor("helm started", () => upgrades().length === 1);
    await record(12, 2);
    // A second worker gets the job for the new push, finds the staging busy and leaves it to the holder.
    expect(await runDeploy(workerDeps(db, kube, helm, "w-other"), s.id)).toEqual({ outcome: "busy" });
    expect(await running).toEqual({ outcome: "done", generations: [1, 2] });
    expect(upgrades().map((c) => (c.values[0] as any).image.tag)).toEqual([sha(1), sha(2)]);
  });

  it("keeps its lease through a helm run longer than the lease, by renewing it: no other worker gets in", async () => {
    const s = await record(17, 1);
    // A lease of 1.5 s renewed every 100 ms; helm runs 4 s, well past several lease lifetimes.
    const timing = { ...testTiming, deployLeaseMs: 1_500, heartbeatMs: 100, leaseSafetyMs: 600 };
    helm.delay(4_000);
    const running = runDeploy(workerDeps(db, kube, helm, "w-a", { timing }), s.id);
    await waitFor("helm started", () => upgrades().length === 1);
    const started = Date.now();
    while (Date.now() - started < 3_000) {
      await new Promise((r) => setTimeout(r, 300));
      expect(await runDeploy(workerDeps(db, kube, helm, "w-b", { timing }), s.id)).toEqual({ outcome: "busy" });
    }
    expect(await running).toEqual({ outcome: "done", generations: [1] });
    expect(upgrades()).toHaveLength(1);
    expect(helm.overlaps()).toEqual([]);
  });

  it("stops helm (SIGTERM to its process group) and writes nothing when its lease is taken", async () => {
    const s = await record(18, 1);
    const timing = { ...testTiming, deployLeaseMs: 60_000, heartbeatMs: 100 };
    helm.hang(20_000, "upgrade");
    const running = runDeploy(workerDeps(db, kube, helm, "w-a", { timing }), s.id);
    await waitFor("release pending", () => releaseHistory(kube, s.namespace, s.name).at(-1)?.status === "pending-install");
    // Another process takes the lease over (as after an expiry): A's next heartbeat finds it gone.
    await db.db.$executeRaw`UPDATE "Lease" SET "owner" = 'w-b', "token" = nextval('"Lease_token_seq"') WHERE "stagingId" = ${s.id}::uuid AND "kind" = 'deploy'`;
    expect(await running).toEqual({ outcome: "stopped" });
    const call = upgrades()[0]!;
    expect(call.signal ?? call.exitCode).toBeTruthy();
    // helm caught SIGTERM and marked its release failed rather than leaving it pending.
    expect(releaseHistory(kube, s.namespace, s.name).at(-1)?.status).toBe("failed");
    expect((await db.store.get(s.id))!).toMatchObject({ observedGeneration: 0, deployedSha: null });
  });

  it("stops helm at the lease deadline when renewals keep failing (Postgres unreachable): it never outlives the lease", async () => {
    const s = await record(19, 1);
    // A lease long enough for helm to start on a loaded machine (900 ms was not, once: the run
    // stopped, rightly, before helm had started, and there was no helm call to look at).
    const timing = { ...testTiming, deployLeaseMs: 3_000, heartbeatMs: 100, leaseSafetyMs: 1_000 };
    helm.hang(20_000, "upgrade");
    const broken: StagingStore = { ...db.store, renewLease: () => Promise.reject(new Error("connection refused")) };
    const started = Date.now();
    const out = await runDeploy(workerDeps(db, kube, helm, "w-a", { timing, store: broken }), s.id);
    expect(out).toEqual({ outcome: "stopped" });
    // Stopped before the lease (3 s from its acquisition) could expire and be taken.
    expect(Date.now() - started).toBeLessThan(6_000);
    const call = upgrades()[0]!;
    expect(call).toBeDefined();
    expect(new Date(call.endedAt!).getTime() - new Date(call.startedAt).getTime()).toBeLessThan(3_000);
  });

  it("on shutdown stops helm cleanly (release marked failed, not left pending) and hands the work on at once", async () => {
    const s = await record(22, 1);
    helm.hang(20_000, "upgrade");
    const shutdown = new AbortController();
    const stopping = workerDeps(db, kube, helm, "w-a");
    const running = runDeploy(stopping, s.id, shutdown.signal);
    await waitFor("release pending", () => releaseHistory(kube, s.namespace, s.name).at(-1)?.status === "pending-install");
    shutdown.abort();
    expect(await running).toEqual({ outcome: "stopped" });
    expect(releaseHistory(kube, s.namespace, s.name).at(-1)?.status).toBe("failed");
    // The staging says what happened, and the stopping worker asked for another one at once.
    expect((await db.store.get(s.id))!.reason).toBe("handed over: the worker running it is shutting down");
    expect(stopping.queue.deploys).toContainEqual({ stagingId: s.id, generation: 1, recovery: true });
    // The lease was released: another worker takes the staging over right away and deploys it.
    const other = workerDeps(db, kube, helm, "w-b");
    await reconcile(other, undefined, { pullRequestSync: false, healthSweep: false });
    expect(other.queue.deploys).toContainEqual({ stagingId: s.id, generation: 1, recovery: true });
    expect(await runDeploy(other, s.id)).toEqual({ outcome: "done", generations: [1] });
    expect((await db.store.get(s.id))!.deployedSha).toBe(sha(1));
  });

  it("a delete is done only when the namespace is gone; held by a finalizer it becomes cleanup_failed naming it, and is retried until it goes", async () => {
    const s = await record(23, 1);
    const timing = { ...testTiming, namespaceGoneTimeoutMs: 600, cleanupRetryBaseMs: 300 };
    const deps = workerDeps(db, kube, helm, "worker-1", { timing });
    await runDeploy(deps, s.id);
    kube.put({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: s.namespace }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    kube.holdFinalizer("PersistentVolumeClaim", s.namespace, "data", "kubernetes.io/pvc-protection");
    await steer(db.store, s.id, 23, decideDelete);
    // Four failures were recorded already: this is the last try of the usual five.
    await db.db.staging.update({ where: { id: s.id }, data: { attempts: 4 } });
    expect(await runDeploy(deps, s.id)).toMatchObject({ outcome: "retrying" });
    let now = (await db.store.get(s.id))!;
    expect(now).toMatchObject({ status: "cleanup_failed", observedGeneration: 1, attempts: 5 });
    expect(now.reason).toContain(`namespace ${s.namespace} is still terminating`);
    expect(now.reason).toContain("kubernetes.io/pvc-protection");
    expect(now.retryAt!.getTime()).toBeGreaterThan(Date.now());
    // Not retried before its time; retried after it (the reconciler enqueues it again).
    expect((await db.store.listWork(new Date())).deploy.map((d) => d.id)).not.toContain(s.id);
    kube.releaseFinalizer("PersistentVolumeClaim", s.namespace, "data", "kubernetes.io/pvc-protection");
    await waitFor("retry due", async () => (await db.store.listWork(new Date())).deploy.some((d) => d.id === s.id));
    expect(await runDeploy(deps, s.id)).toEqual({ outcome: "done", generations: [2] });
    now = (await db.store.get(s.id))!;
    expect(now).toMatchObject({ status: "deleted", observedGeneration: 2, retryAt: null, attempts: 0 });
    expect(kube.get("Namespace", undefined, s.namespace)).toBeUndefined();
    const history = (await db.store.listTransitions(s.id)).map((t) => t.to);
    expect(history.slice(-3)).toEqual(["cleanup_failed", "cleaning", "deleted"]);
  });

  it("a deploy into a namespace that is still terminating waits for it to go, then deploys", async () => {
    const s = await record(24, 1);
    const deps = workerDeps(db, kube, helm);
    await runDeploy(deps, s.id);
    // The namespace is being deleted (say, by a delete just before) and a finalizer holds it a while.
    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "slow", namespace: s.namespace, finalizers: ["example.com/slow"] } });
    await fetch(`${kube.url}/api/v1/namespaces/${s.namespace}`, { method: "DELETE", headers: { authorization: "Bearer kube-api-double-token" } });
    await waitFor("terminating", () => kube.get("Namespace", undefined, s.namespace)?.status?.phase === "Terminating");
    await record(24, 2);
    const running = runDeploy(deps, s.id);
    await waitFor("waiting said", async () => (await db.store.get(s.id))!.reason === `waiting for namespace ${s.namespace} to finish terminating`);
    kube.put({ ...kube.get("ConfigMap", s.namespace, "slow"), metadata: { ...kube.get("ConfigMap", s.namespace, "slow").metadata, finalizers: [] } });
    expect(await running).toEqual({ outcome: "done", generations: [2] });
    expect((await db.store.get(s.id))!.deployedSha).toBe(sha(2));
    expect(kube.get("Namespace", undefined, s.namespace).metadata.annotations).toMatchObject({ "octostage.dev/staging-id": s.id });
  });

  it("never deploys into, or deletes, a namespace of the same name that Octostage did not create", async () => {
    const s = await record(25, 1);
    kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: s.namespace } });
    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "precious", namespace: s.namespace } });
    const deps = workerDeps(db, kube, helm);
    expect(await runDeploy(deps, s.id)).toMatchObject({ outcome: "permanent_failure" });
    expect((await db.store.get(s.id))!).toMatchObject({ status: "failed", reason: expect.stringContaining("was not created by Octostage for this staging") });
    expect(upgrades()).toHaveLength(0);
    await steer(db.store, s.id, 25, decideDelete);
    await runDeploy(deps, s.id);
    expect((await db.store.get(s.id))!).toMatchObject({ status: "deleted", reason: expect.stringContaining("left alone") });
    expect(kube.get("ConfigMap", s.namespace, "precious")).toBeDefined();
    expect(helm.calls().filter((c) => c.argv[0] === "uninstall")).toHaveLength(0);
  });

  it("retries a transient helm failure with backoff (counted in Postgres, not by the queue job) and fails at the last attempt with the reason", async () => {
    const s = await record(13, 1);
    helm.failNext("upgrade", "clusterUnreachable", 5);
    // The retry time is the injected clock's: moved forward, never waited for (a short real delay raced a loaded CI).
    const clock = movableClock();
    const deps = workerDeps(db, kube, helm, "worker-1", { clock, timing: { ...testTiming, maxAttempts: 2, retryBaseMs: 60_000 } });
    const first = await runDeploy(deps, s.id);
    expect(first).toMatchObject({ outcome: "retrying" });
    let now = (await db.store.get(s.id))!;
    expect(now).toMatchObject({ status: "deploying", observedGeneration: 0, attempts: 1 });
    expect(now.reason).toMatch(/^retrying after: .*could not reach the Kubernetes cluster/);
    // A retry is queued for then (a recovery job, not merged with the job that just ran)...
    expect(deps.queue.deploys).toContainEqual({ stagingId: s.id, generation: 1, recovery: true });
    // ...and not run before its time, whoever asks.
    expect(await runDeploy(workerDeps(db, kube, helm, "w-early", { clock }), s.id)).toEqual({ outcome: "done", generations: [] });
    expect((await db.store.listWork(clock.now())).deploy.some((d) => d.id === s.id)).toBe(false);
    clock.advance(61_000);
    expect((await db.store.listWork(clock.now())).deploy.some((d) => d.id === s.id)).toBe(true);
    const out = await runDeploy(deps, s.id);
    expect(out.outcome).toBe("done");
    now = (await db.store.get(s.id))!;
    expect(now).toMatchObject({ status: "failed", observedGeneration: 1, attempts: 0, retryAt: null });
    expect(now.lastDeployError).toContain("could not reach the Kubernetes cluster");
    expect((await db.store.listActions(s.id))[0]).toMatchObject({ state: "failed", exitCode: 1 });
    // A new push starts afresh.
    await record(13, 2);
    expect((await db.store.get(s.id))!).toMatchObject({ attempts: 0, retryAt: null });
  });

  it("fails at once, without retry, when the chart does not exist", async () => {
    const s = await record(14, 1);
    helm.failNext("upgrade", "chartNotFound");
    const out = await runDeploy(workerDeps(db, kube, helm), s.id);
    expect(out.outcome).toBe("permanent_failure");
    const now = (await db.store.get(s.id))!;
    expect(now.status).toBe("failed");
    expect(now.reason).toContain('chart "web" version "9.9.9" not found');
    expect(upgrades()).toHaveLength(1);
  });

  it("recovers when a worker died mid-deploy: its lease expires and the reconciler enqueues a recovery job", async () => {
    const s = await record(15, 1);
    // A worker took the lease and died (no heartbeat, no release).
    expect(await db.store.acquireLease(s.id, "deploy", "dead-worker", 300)).not.toBeNull();
    const deps = workerDeps(db, kube, helm, "worker-1", { codeHost: { ...workerDeps(db, kube, helm).codeHost } });
    expect(await runDeploy(deps, s.id)).toEqual({ outcome: "busy" });
    await reconcile(deps, undefined, { pullRequestSync: false });
    expect(deps.queue.deploys.map((d) => d.stagingId)).not.toContain(s.id);
    await waitFor("lease expired", async () => (await db.store.listWork(new Date())).deploy.some((d) => d.id === s.id));
    await reconcile(deps, undefined, { pullRequestSync: false });
    expect(deps.queue.deploys).toContainEqual({ stagingId: s.id, generation: 1, recovery: true });
    expect(await runDeploy(deps, s.id)).toEqual({ outcome: "done", generations: [1] });
  });

  it("recovers a release a killed helm left pending-upgrade: rolls back to the last deployed revision, records it, deploys", async () => {
    const s = await record(20, 1);
    const deps = workerDeps(db, kube, helm);
    await runDeploy(deps, s.id);
    await leaveReleasePending(helm, kube, s.name, s.namespace, { image: { tag: "killed" } });
    expect(releaseHistory(kube, s.namespace, s.name).map((r) => r.status)).toEqual(["deployed", "pending-upgrade"]);
    await record(20, 2);
    expect(await runDeploy(deps, s.id)).toEqual({ outcome: "done", generations: [2] });
    const after = (await db.store.get(s.id))!;
    expect(after).toMatchObject({ deployedSha: sha(2), observedGeneration: 2, lastDeployError: null });
    expect(releaseHistory(kube, s.namespace, s.name).at(-1)?.status).toBe("deployed");
    expect(helm.calls().map((c) => c.argv[0])).toEqual(expect.arrayContaining(["history", "rollback"]));
    const recovery = (await db.store.listActions(s.id)).find((a) => a.kind === "recover");
    expect(recovery).toMatchObject({ state: "succeeded", source: "system", detail: { action: "rollback", rolledBackTo: 1, stuck: { status: "pending-upgrade", revision: 2 } } });
  });

  it("recovers an install a killed helm left pending-install (never deployed): uninstalls it, then installs", async () => {
    const s = await record(21, 1);
    await kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: s.namespace, labels: { "app.kubernetes.io/managed-by": "octostage" }, annotations: { "octostage.dev/staging-id": s.id } } });
    await leaveReleasePending(helm, kube, s.name, s.namespace);
    expect(releaseHistory(kube, s.namespace, s.name).map((r) => r.status)).toEqual(["pending-install"]);
    expect(await runDeploy(workerDeps(db, kube, helm), s.id)).toEqual({ outcome: "done", generations: [1] });
    expect(releaseHistory(kube, s.namespace, s.name).map((r) => r.status)).toEqual(["deployed"]);
    const recovery = (await db.store.listActions(s.id)).find((a) => a.kind === "recover");
    expect(recovery).toMatchObject({ state: "succeeded", detail: { action: "uninstall", stuck: { status: "pending-install" } } });
  });

  it("archives by scaling to zero and restores the recorded replica counts, over what the chart sets", async () => {
    const s = await record(16, 1);
    const deps = workerDeps(db, kube, helm);
    await runDeploy(deps, s.id);
    const deployment = () => kube.get("Deployment", s.namespace, `${s.name}-web`);
    expect(deployment().spec.replicas).toBe(2);
    // Someone scaled it by hand to 3.
    kube.put({ ...deployment(), spec: { ...deployment().spec, replicas: 3 } });
    await steer(db.store, s.id, 16, decideArchive);
    await runDeploy(deps, s.id);
    expect(deployment().spec.replicas).toBe(0);
    expect(await db.store.get(s.id)).toMatchObject({ status: "archived", archivedReplicas: { [`Deployment/${s.name}-web`]: 3 } });
    // Archiving twice keeps the counts (it does not record the zeros).
    await db.store.changeStaging({
      target: { id: s.id },
      event: "test",
      decide: (current) => ({ ...(decideArchive({ ...current!.staging, desiredState: "active" }, githubActor("dev")) as any) }),
      spec: pullRequestSpec(settings, "octo-org", "web", 16),
    });
    await runDeploy(deps, s.id);
    expect((await db.store.get(s.id))!.archivedReplicas).toEqual({ [`Deployment/${s.name}-web`]: 3 });
    // Restore: helm sets the chart's 2 first; the recorded 3 win after it.
    await steer(db.store, s.id, 16, decideRestore);
    await runDeploy(deps, s.id);
    expect(deployment().spec.replicas).toBe(3);
    expect((await db.store.get(s.id))!).toMatchObject({ archivedReplicas: null, status: expect.stringMatching(/running|restoring/) });
  });
});
