// Execution guarantees: coalescing, one helm at a time per staging across workers, retries,
// permanent failures, recovery after a worker dies mid-deploy. Real Postgres, the real helm
// adapter running the helm double, client-node on the Kubernetes API double.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { reconcile } from "../../src/app/reconcile.ts";
import { runDeploy } from "../../src/app/run-deploy.ts";
import { deployIntent, sha } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { createHelmDouble } from "../support/helm-double.ts";
import type { HelmDouble } from "../support/helm-double.ts";
import { startKubeApiDouble } from "../support/kube-api-double.ts";
import type { KubeApiDouble } from "../support/kube-api-double.ts";
import { workerDeps } from "../support/worker-deps.ts";

let db: TestDb;
let kube: KubeApiDouble;
let helm: HelmDouble;
const once = { attempt: 1, maxAttempts: 5 };

beforeAll(async () => {
  [db, kube] = await Promise.all([createTestDb(), startKubeApiDouble()]);
  helm = createHelmDouble();
});
afterAll(async () => {
  await Promise.all([db.drop(), kube.close()]);
  helm.cleanup();
});
beforeEach(() => helm.reset());

async function record(pr: number, n: number) {
  const out = await db.store.recordIntent(deployIntent(pr, sha(n), { deliveryId: `pr${pr}-push${n}` }));
  if (out.outcome !== "recorded") throw new Error("not recorded");
  return out.staging;
}

const upgrades = () => helm.calls().filter((c) => c.argv[0] === "upgrade");

describe("run-deploy", () => {
  it("coalesces a burst of pushes: deploys the latest SHA once and marks the rest superseded", async () => {
    for (let n = 1; n <= 5; n++) await record(10, n);
    const s = (await db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 10 }))!;
    const out = await runDeploy(workerDeps(db, kube, helm), s.id, once);
    expect(out).toEqual({ outcome: "done", generations: [5] });
    expect(upgrades()).toHaveLength(1);
    expect(upgrades()[0]!.values[0]).toMatchObject({ image: { tag: sha(5) } });
    const actions = await db.store.listActions(s.id);
    expect(actions.map((a) => a.state)).toEqual(["superseded", "superseded", "superseded", "superseded", "succeeded"]);
    expect(actions[0]!.error).toBe("superseded by generation 5");
    expect(actions[4]).toMatchObject({ exitCode: 0 });
    const after = (await db.store.get(s.id))!;
    expect(after).toMatchObject({ observedGeneration: 5, deployedSha: sha(5), lastDeployError: null });
  });

  it("never runs two helm operations on one staging at once, across workers", async () => {
    const s = await record(11, 1);
    helm.delay(400);
    const workers = ["w-a", "w-b", "w-c"].map((id) => workerDeps(db, kube, helm, id));
    const outs = await Promise.all(workers.map((d) => runDeploy(d, s.id, once)));
    expect(outs.filter((o) => o.outcome === "done" && o.generations.length === 1)).toHaveLength(1);
    expect(outs.filter((o) => o.outcome === "busy")).toHaveLength(2);
    expect(upgrades()).toHaveLength(1);
  });

  it("picks up intent recorded while helm ran (the lease holder looks again before leaving)", async () => {
    const s = await record(12, 1);
    helm.delay(400);
    const deps = workerDeps(db, kube, helm);
    const running = runDeploy(deps, s.id, once);
    await new Promise((r) => setTimeout(r, 150));
    await record(12, 2);
    // A second worker gets the job for the new push, finds the staging busy and leaves it to the holder.
    expect(await runDeploy(workerDeps(db, kube, helm, "w-other"), s.id, once)).toEqual({ outcome: "busy" });
    expect(await running).toEqual({ outcome: "done", generations: [1, 2] });
    expect(upgrades().map((c) => (c.values[0] as any).image.tag)).toEqual([sha(1), sha(2)]);
  });

  it("retries a transient helm failure and fails at the last attempt with the reason", async () => {
    const s = await record(13, 1);
    helm.failNext("upgrade", "transient", 5);
    const deps = workerDeps(db, kube, helm);
    await expect(runDeploy(deps, s.id, { attempt: 1, maxAttempts: 2 })).rejects.toMatchObject({ name: "HelmError", code: "failed" });
    let now = (await db.store.get(s.id))!;
    expect(now).toMatchObject({ status: "deploying", observedGeneration: 0 });
    expect(now.reason).toMatch(/^retrying after: .*another operation/);
    const out = await runDeploy(deps, s.id, { attempt: 2, maxAttempts: 2 });
    expect(out.outcome).toBe("done");
    now = (await db.store.get(s.id))!;
    expect(now).toMatchObject({ status: "failed", observedGeneration: 1 });
    expect(now.lastDeployError).toContain("another operation");
    expect((await db.store.listActions(s.id))[0]).toMatchObject({ state: "failed", exitCode: 1 });
  });

  it("fails at once, without retry, when the chart does not exist", async () => {
    const s = await record(14, 1);
    helm.failNext("upgrade", "chartNotFound");
    const out = await runDeploy(workerDeps(db, kube, helm), s.id, once);
    expect(out.outcome).toBe("permanent_failure");
    const now = (await db.store.get(s.id))!;
    expect(now.status).toBe("failed");
    expect(now.reason).toContain('chart "web" version "9.9.9" not found');
    expect(upgrades()).toHaveLength(1);
  });

  it("recovers when a worker died mid-deploy: the lease expires and the reconciler re-enqueues", async () => {
    const s = await record(15, 1);
    // A worker took the lease and died (no heartbeat, no release).
    expect(await db.store.acquireLease(s.id, "deploy", "dead-worker", 200)).toBe(true);
    const deps = workerDeps(db, kube, helm);
    expect(await runDeploy(deps, s.id, once)).toEqual({ outcome: "busy" });
    await reconcile(deps);
    expect(deps.queue.deploys.map((d) => d.stagingId)).not.toContain(s.id);
    await new Promise((r) => setTimeout(r, 250));
    await reconcile(deps);
    expect(deps.queue.deploys).toContainEqual({ stagingId: s.id, generation: 1 });
    expect(await runDeploy(deps, s.id, once)).toEqual({ outcome: "done", generations: [1] });
  });

  it("archives by scaling to zero and restores the recorded replica counts", async () => {
    const s = await record(16, 1);
    const deps = workerDeps(db, kube, helm);
    await runDeploy(deps, s.id, once);
    const deployment = () => kube.get("Deployment", s.namespace, `${s.name}-web`);
    expect(deployment().spec.replicas).toBe(2);
    await db.store.recordIntent({ ...deployIntent(16, sha(1)), desiredState: "archived", action: { kind: "archive", actor: "dev", source: "github" } });
    await runDeploy(deps, s.id, once);
    expect(deployment().spec.replicas).toBe(0);
    expect(await db.store.get(s.id)).toMatchObject({ status: "archived", archivedReplicas: { [`Deployment/${s.name}-web`]: 2 } });
    // Archiving twice keeps the counts (it does not record the zeros).
    await db.store.recordIntent({ ...deployIntent(16, sha(1)), desiredState: "archived", action: { kind: "archive", actor: "dev", source: "github" } });
    await runDeploy(deps, s.id, once);
    expect((await db.store.get(s.id))!.archivedReplicas).toEqual({ [`Deployment/${s.name}-web`]: 2 });
    // Restore: helm upgrade, then scale back to what was recorded. The double's upgrade is
    // scripted to succeed without touching objects (as a real three-way merge may leave
    // replicas alone), so the counts can only come back from Octostage's own scale.
    helm.failNext("upgrade", { exitCode: 0, stderr: "" });
    const scalesBefore = kube.requests.filter((r) => r.path.endsWith("/scale") && r.method !== "GET").length;
    await db.store.recordIntent({ ...deployIntent(16, sha(1)), action: { kind: "restore", actor: "dev", source: "github" } });
    await runDeploy(deps, s.id, once);
    expect(deployment().spec.replicas).toBe(2);
    expect(kube.requests.filter((r) => r.path.endsWith("/scale") && r.method !== "GET").length).toBe(scalesBefore + 1);
    expect((await db.store.get(s.id))!.archivedReplicas).toBeNull();
  });
});
