// The Cluster adapter (its own REST client, kube-transport.ts) against the API server double.
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { kubeConnectionFromString, loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { KubeError } from "../../src/adapters/kube/kube-error.ts";
import type { Cluster, WorkloadEvent, WorkloadSnapshot, WorkloadWatch } from "../../src/ports/cluster.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api-double.ts";
import { waitFor } from "../support/wait.ts";

let kube: KubeApiDouble;
let cluster: Cluster;
let watch: WorkloadWatch | undefined;
const events: WorkloadEvent[] = [];

beforeEach(async () => {
  kube = await startKubeApiDouble();
  cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), delay: () => sleep(5) });
  events.length = 0;
});
afterEach(async () => {
  await watch?.stop();
  watch = undefined;
  await kube.close();
});

/** A namespace as ensureNamespace makes it: the informers keep only objects of such namespaces. */
function stagingNamespace(name: string): void {
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "app.kubernetes.io/managed-by": "octostage" } } });
}
function deployment(namespace: string, name: string, spec: Record<string, unknown> = {}, status?: object): object {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace }, spec: { selector: { matchLabels: { app: name } }, template: {}, ...spec }, ...(status ? { status } : {}) };
}
function statefulSet(namespace: string, name: string, replicas: number): object {
  return { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name, namespace }, spec: { replicas, selector: { matchLabels: { app: name } } } };
}
async function startWatch(): Promise<WorkloadWatch> {
  watch = cluster.watchWorkloads((e) => events.push(e));
  await watch.ready();
  return watch;
}
function lastUpsert(name: string): WorkloadSnapshot | undefined {
  const event = events.findLast((e) => e.type === "upsert" && e.workload.name === name);
  return event?.type === "upsert" ? event.workload : undefined;
}

describe("watchWorkloads", () => {
  it("reports adds, modifications and deletes of Deployments and StatefulSets", async () => {
    kube.setController("manual");
    stagingNamespace("pr-1");
    kube.put(deployment("pr-1", "web", { replicas: 2 }));
    await startWatch();
    expect(events).toEqual([{ type: "upsert", workload: expect.objectContaining({ kind: "Deployment", namespace: "pr-1", name: "web", desiredReplicas: 2 }) }]);
    kube.put(statefulSet("pr-1", "db", 1));
    await expect.poll(() => lastUpsert("db")?.kind).toBe("StatefulSet");
    kube.patchStatus("Deployment", "pr-1", "web", { readyReplicas: 2, observedGeneration: 1 });
    await expect.poll(() => lastUpsert("web")?.readyReplicas).toBe(2);
    expect(lastUpsert("web")!.observedGeneration).toBe(1);
    kube.remove("Deployment", "pr-1", "web");
    await expect.poll(() => events.at(-1)).toEqual({ type: "delete", workload: { kind: "Deployment", namespace: "pr-1", name: "web" } });
  });

  it("treats absent zero counts as 0 and serves a namespace from the cache", async () => {
    kube.setController("manual");
    stagingNamespace("pr-1");
    stagingNamespace("pr-2");
    kube.put(deployment("pr-1", "web", { replicas: 3 }, { replicas: 3, updatedReplicas: 3, readyReplicas: 0, availableReplicas: 0 }));
    kube.put(statefulSet("pr-2", "db", 1));
    const w = await startWatch();
    const requestsBefore = kube.requests.length;
    expect(w.workloadsIn("pr-1")).toEqual([
      { kind: "Deployment", namespace: "pr-1", name: "web", desiredReplicas: 3, readyReplicas: 0, updatedReplicas: 3, availableReplicas: 0, generation: 1, observedGeneration: 0, conditions: [] },
    ]);
    expect(w.workloadsIn("pr-2").map((s) => s.name)).toEqual(["db"]);
    expect(w.workloadsIn("nothing-here")).toEqual([]);
    expect(kube.requests.length).toBe(requestsBefore);
  });

  it("reports readiness set by the controller, with conditions", async () => {
    stagingNamespace("pr-1");
    kube.put(deployment("pr-1", "web", { replicas: 2 }));
    await startWatch();
    await expect.poll(() => lastUpsert("web")?.readyReplicas).toBe(2);
    expect(lastUpsert("web")!.conditions).toContainEqual(expect.objectContaining({ type: "Available", status: "True", reason: "MinimumReplicasAvailable" }));
  });
});

describe("scaleWorkload", () => {
  it("merge-patches the scale subresource and the informer sees the new replica count", async () => {
    stagingNamespace("pr-1");
    kube.put(deployment("pr-1", "web", { replicas: 1 }));
    kube.put(statefulSet("pr-1", "db", 1));
    await startWatch();
    await cluster.scaleWorkload({ kind: "Deployment", namespace: "pr-1", name: "web" }, 0);
    await cluster.scaleWorkload({ kind: "StatefulSet", namespace: "pr-1", name: "db" }, 3);
    const patches = kube.requests.filter((r) => r.method === "PATCH");
    expect(patches).toEqual([
      { method: "PATCH", path: "/apis/apps/v1/namespaces/pr-1/deployments/web/scale", query: {}, contentType: "application/merge-patch+json", body: { spec: { replicas: 0 } } },
      { method: "PATCH", path: "/apis/apps/v1/namespaces/pr-1/statefulsets/db/scale", query: {}, contentType: "application/merge-patch+json", body: { spec: { replicas: 3 } } },
    ]);
    expect(kube.get("Deployment", "pr-1", "web").spec.replicas).toBe(0);
    await expect.poll(() => lastUpsert("web")).toMatchObject({ desiredReplicas: 0, readyReplicas: 0, generation: 2, observedGeneration: 2 });
    await expect.poll(() => lastUpsert("db")).toMatchObject({ desiredReplicas: 3, readyReplicas: 3 });
  });

  it("fails with code not_found for a missing workload and refuses negative replicas", async () => {
    const missing = cluster.scaleWorkload({ kind: "Deployment", namespace: "pr-1", name: "ghost" }, 1);
    await expect(missing).rejects.toMatchObject({ name: "KubeError", code: "not_found", status: 404 });
    await expect(cluster.scaleWorkload({ kind: "Deployment", namespace: "pr-1", name: "web" }, -1)).rejects.toMatchObject({ code: "failed" });
  });
});

describe("listWorkloads and deleteNamespace", () => {
  it("lists both kinds of one namespace from the API server", async () => {
    kube.setController("manual");
    kube.put(deployment("pr-1", "web"));
    kube.put(statefulSet("pr-1", "db", 2));
    kube.put(deployment("pr-2", "other"));
    const workloads = await cluster.listWorkloads("pr-1");
    expect(workloads.map((w) => [w.kind, w.name, w.desiredReplicas, w.readyReplicas])).toEqual([["Deployment", "web", 1, 0], ["StatefulSet", "db", 2, 0]]);
  });

  it("deletes a namespace it created for the staging, with its workloads; a second delete and a missing namespace are fine", async () => {
    await cluster.ensureNamespace("pr-1", "staging-1");
    kube.put(deployment("pr-1", "web"));
    await cluster.deleteNamespace("pr-1", "staging-1");
    await waitFor("namespace gone", async () => !(await cluster.namespaceState("pr-1")).exists);
    expect(kube.list("Deployment", "pr-1")).toEqual([]);
    await cluster.deleteNamespace("pr-1", "staging-1");
    await cluster.ensureNamespace("pr-2", "staging-2");
    kube.failNext("DELETE", /^\/api\/v1\/namespaces\/pr-2$/, 409);
    await cluster.deleteNamespace("pr-2", "staging-2");
    expect(kube.requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/v1/namespaces/pr-1", "/api/v1/namespaces/pr-2"]);
  });

  it("never adopts or deletes a namespace it did not create for this staging", async () => {
    kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-payments" } });
    kube.put(deployment("team-payments", "api"));
    await expect(cluster.ensureNamespace("team-payments", "staging-1")).rejects.toMatchObject({ name: "NamespaceError", code: "not_owned" });
    await expect(cluster.deleteNamespace("team-payments", "staging-1")).rejects.toMatchObject({ code: "not_owned" });
    expect(kube.get("Namespace", undefined, "team-payments")).toBeDefined();
    expect(kube.list("Deployment", "team-payments")).toHaveLength(1);
    // Another staging's namespace is not this one's either.
    await cluster.ensureNamespace("pr-3", "staging-3");
    await expect(cluster.ensureNamespace("pr-3", "staging-4")).rejects.toMatchObject({ code: "not_owned" });
    await expect(cluster.deleteNamespace("pr-3", "staging-4")).rejects.toMatchObject({ code: "not_owned" });
    expect(kube.requests.filter((r) => r.method === "DELETE")).toEqual([]);
  });

  it("claims a namespace an earlier Octostage created (labelled, not yet annotated) for its staging", async () => {
    kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pr-9", labels: { "app.kubernetes.io/managed-by": "octostage" } } });
    await cluster.ensureNamespace("pr-9", "staging-9");
    expect(kube.get("Namespace", undefined, "pr-9").metadata.annotations).toMatchObject({ "octostage.dev/staging-id": "staging-9" });
    await expect(cluster.ensureNamespace("pr-9", "staging-10")).rejects.toMatchObject({ code: "not_owned" });
  });

  it("wraps errors into KubeError codes: forbidden, failed, unreachable", async () => {
    await cluster.ensureNamespace("pr-1", "staging-1");
    kube.failNext("DELETE", /namespaces/, 403);
    await expect(cluster.deleteNamespace("pr-1", "staging-1")).rejects.toMatchObject({ code: "forbidden", status: 403 });
    kube.failNext("GET", /deployments/, 500);
    const failed = await cluster.listWorkloads("pr-1").catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(KubeError);
    expect(failed).toMatchObject({ code: "failed", status: 500 });
    const nowhere = kubeConnectionFromString(stringify({
      clusters: [{ name: "gone", cluster: { server: "http://127.0.0.1:1", "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: "c", context: { cluster: "gone", user: "u" } }],
      "current-context": "c",
    }));
    const offline = createKubeCluster({ kubeConfig: nowhere });
    await expect(offline.listWorkloads("pr-1")).rejects.toMatchObject({ code: "unreachable" });
  });
});
