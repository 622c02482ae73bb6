// Informer restarts, 410 handling and the one-watch-per-kind rule, on the ListWatch (list-watch.ts, client-node's semantics).
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { KubeApiError } from "../../src/adapters/kube/kube-error.ts";
import { createKubeTransport, getList, parsedWatch } from "../../src/adapters/kube/kube-transport.ts";
import { podSnapshot, trimPod } from "../../src/adapters/kube/pod-snapshot.ts";
import { backoffDelay, startResilientInformer, type ListPage } from "../../src/adapters/kube/resilient-informer.ts";
import type { Cluster, WorkloadEvent, WorkloadWatch } from "../../src/ports/cluster.ts";
import { startKubeApiDouble, type KubeApiDouble, type KubeApiDoubleOptions } from "../support/kube-api-double.ts";
import { realisticPod } from "../support/realistic-pod.ts";

const DEPLOYMENTS = /^\/apis\/apps\/v1\/deployments$/;
let kube: KubeApiDouble;
const opened: KubeApiDouble[] = [];
let watch: WorkloadWatch | undefined;
const events: WorkloadEvent[] = [];
/** Every wait the adapter asked for (restart backoff and the ListWatch's reconnect delays). */
const delays: number[] = [];
let gate: Promise<void> | undefined;

async function setup(options: KubeApiDoubleOptions = {}): Promise<Cluster> {
  kube = await startKubeApiDouble(options);
  opened.push(kube);
  events.length = 0;
  delays.length = 0;
  gate = undefined;
  const delay = async (ms: number): Promise<void> => {
    delays.push(ms);
    await gate;
    await sleep(2);
  };
  return createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), delay, random: () => 0.5 });
}
afterEach(async () => {
  await watch?.stop();
  watch = undefined;
  for (const double of opened.splice(0)) await double.close();
});

/** A namespace as ensureNamespace makes it: the informers keep only objects of such namespaces. */
function stagingNamespace(name: string): void {
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "app.kubernetes.io/managed-by": "octostage" } } });
}
function deployment(namespace: string, name: string): object {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace }, spec: { replicas: 1, selector: { matchLabels: { app: name } } } };
}
const hasUpsert = (name: string): boolean => events.some((e) => e.type === "upsert" && e.workload.name === name);
const hasDelete = (name: string): boolean => events.some((e) => e.type === "delete" && e.workload.name === name);
const watchRequests = (): string[] => kube.requests.filter((r) => r.query.watch === "true").map((r) => r.path);
const deploymentLists = (): number => kube.requests.filter((r) => DEPLOYMENTS.test(r.path) && !r.query.watch).length;

describe("resilient informers", () => {
  it("computes exponential backoff with jitter, capped", () => {
    expect([0, 1, 2, 10].map((a) => backoffDelay(a, 500, 30_000, () => 0.5))).toEqual([375, 750, 1500, 22_500]);
    expect(backoffDelay(3, 500, 30_000, () => 0)).toBe(2000);
    expect(backoffDelay(3, 500, 30_000, () => 0.999_999)).toBe(4000);
  });

  it("restarts with growing backoff after failed lists, then becomes ready", async () => {
    const cluster = await setup();
    stagingNamespace("pr-1");
    kube.put(deployment("pr-1", "web"));
    kube.failNext("GET", DEPLOYMENTS, 500, 2);
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    expect(delays.slice(0, 2)).toEqual([375, 750]);
    expect(deploymentLists()).toBe(3);
    expect(hasUpsert("web")).toBe(true);
    kube.put(deployment("pr-1", "api"));
    await expect.poll(() => hasUpsert("api")).toBe(true);
  });

  it("resumes after the server ends every watch, and after connections are reset", async () => {
    const cluster = await setup();
    stagingNamespace("pr-1");
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    kube.dropWatches();
    kube.put(deployment("pr-1", "after-end"));
    await expect.poll(() => hasUpsert("after-end")).toBe(true);
    kube.dropWatches("destroy");
    kube.put(deployment("pr-1", "after-reset"));
    await expect.poll(() => hasUpsert("after-reset")).toBe(true);
    // The clean end is resumed by client-node itself; the reset is an error, so each informer
    // (staging namespaces, Deployments, StatefulSets, Pods, Jobs) restarts once. The Deployments
    // informer may be back before the others noticed their reset (CI once saw three of four):
    // wait for all five.
    await expect.poll(() => delays).toEqual([375, 375, 375, 375, 375]);
    expect(watchRequests().filter((p) => DEPLOYMENTS.test(p)).length).toBe(3);
  });

  it("relists after a watch answered with HTTP 410 Gone", async () => {
    const cluster = await setup();
    stagingNamespace("pr-1");
    kube.put(deployment("pr-1", "web"));
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    kube.failNext("GET", DEPLOYMENTS, 410);
    kube.dropWatches();
    kube.remove("Deployment", "pr-1", "web");
    await expect.poll(() => hasDelete("web")).toBe(true);
    expect(deploymentLists()).toBe(2);
  });

  it("relists when its resourceVersion fell out of the server's history (ERROR 410 event)", async () => {
    const cluster = await setup({ historyLimit: 5 });
    stagingNamespace("pr-1");
    stagingNamespace("pr-2");
    kube.put(deployment("pr-1", "web"));
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    kube.failNext("GET", DEPLOYMENTS, 500);
    kube.dropWatches();
    await expect.poll(() => delays.length).toBeGreaterThan(0); // the restart is waiting on the gate
    kube.remove("Deployment", "pr-1", "web");
    kube.put(deployment("pr-2", "api"));
    for (let i = 0; i < 10; i++) kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${i}`, namespace: "pr-2" } });
    open();
    await expect.poll(() => hasDelete("web") && hasUpsert("api")).toBe(true);
    const queries = kube.requests.filter((r) => DEPLOYMENTS.test(r.path)).map((r) => r.query);
    const staleVersion = queries[1]!.resourceVersion;
    // A watch from the stale version was answered with ERROR 410 and the informer relisted
    // (how many watches client-node makes in between depends on timing, so only that is checked).
    expect(queries[0]).toEqual({ limit: "500" }); // the first list (one page here)
    expect(queries.some((q) => q.watch === "true" && q.resourceVersion === staleVersion)).toBe(true);
    expect(deploymentLists()).toBeGreaterThanOrEqual(2);
    expect(watch.workloadsIn("pr-2").map((w) => w.name)).toEqual(["api"]);
  });

  it("uses one cluster-wide watch per kind, however many namespaces hold workloads", async () => {
    const cluster = await setup();
    for (let i = 0; i < 25; i++) stagingNamespace(`pr-${i}`);
    for (let i = 0; i < 5; i++) kube.put(deployment(`pr-${i}`, "web"));
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    for (let i = 5; i < 25; i++) {
      kube.put(deployment(`pr-${i}`, "web"));
      kube.put({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: `pr-${i}` }, spec: { replicas: 1 } });
    }
    await expect.poll(() => events.filter((e) => e.type === "upsert").length).toBeGreaterThanOrEqual(45);
    expect(watchRequests().sort()).toEqual(["/api/v1/namespaces", "/api/v1/pods", "/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets", "/apis/batch/v1/jobs"]);
    expect(kube.requests.some((r) => r.path.includes("/namespaces/"))).toBe(false);
  });

  it("stop() does not trigger a restart, even during a backoff, and delivers no more events", async () => {
    const cluster = await setup();
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    await watch.stop();
    const requestCount = kube.requests.length;
    kube.put(deployment("pr-1", "late"));
    await sleep(100);
    expect(kube.requests.length).toBe(requestCount);
    expect(events).toEqual([]);

    kube.failNext("GET", DEPLOYMENTS, 500, 100);
    gate = new Promise(() => undefined); // backoffs never end on their own
    const failing = cluster.watchWorkloads((e) => events.push(e));
    const neverReady = expect(failing.ready()).rejects.toMatchObject({ code: "failed" });
    await expect.poll(() => delays.length).toBeGreaterThan(0);
    await failing.stop();
    await neverReady;
    const afterStop = kube.requests.length;
    await sleep(100);
    expect(kube.requests.length).toBe(afterStop);
  });
});

/** A pod informer's list and watch on the double, through the worker's transport. */
function podsOnTheDouble(): { watch: ReturnType<typeof parsedWatch>; list: (page: ListPage) => ReturnType<typeof getList<V1Pod>> } {
  const transport = createKubeTransport(loadKubeConfig(kube.kubeconfigPath));
  return { watch: parsedWatch(transport), list: (page) => getList<V1Pod>(transport, "/api/v1/pods", { limit: page.limit, continue: page._continue }) };
}

describe("trimmed caches", () => {
  it("a trimming informer caches trimmed objects, from the first list and from watch events", async () => {
    await setup();
    kube.put(realisticPod("web-pr-1", "web-7f9c5d8b6-aaaaa"));
    const informer = startResilientInformer<V1Pod>({
      name: "pods",
      path: "/api/v1/pods",
      ...podsOnTheDouble(),
      trim: trimPod,
      onEvent: () => undefined,
      delay: () => sleep(2),
    });
    try {
      await informer.ready();
      kube.put(realisticPod("web-pr-1", "web-7f9c5d8b6-bbbbb", { ready: false }));
      await expect.poll(() => informer.list("web-pr-1").length).toBe(2);
      for (const pod of informer.list("web-pr-1")) {
        expect(pod.metadata?.managedFields).toBeUndefined();
        expect(pod.spec?.volumes).toBeUndefined();
        expect(pod.metadata?.resourceVersion).toBeDefined();
      }
      // What health reads survived: the second pod's crash loop.
      expect(informer.list("web-pr-1").map((p) => podSnapshot(p).containers[0]!.waiting?.reason)).toEqual([undefined, "CrashLoopBackOff"]);
    } finally {
      await informer.stop();
    }
  });

  it("lists page by page, so a list of the whole cluster is never held at once", async () => {
    await setup();
    for (let i = 0; i < 7; i++) kube.put(realisticPod(`team-${i}`, `api-${i}-7f9c5d8b6-aaaaa`));
    const informer = startResilientInformer<V1Pod>({
      name: "pods",
      path: "/api/v1/pods",
      ...podsOnTheDouble(),
      pageSize: 3,
      trim: trimPod,
      onEvent: () => undefined,
      delay: () => sleep(2),
    });
    try {
      await informer.ready();
      expect(informer.list()).toHaveLength(7);
      const lists = kube.requests.filter((r) => r.path === "/api/v1/pods" && !r.query.watch);
      expect(lists.map((r) => [r.query.limit, Boolean(r.query.continue)])).toEqual([["3", false], ["3", true], ["3", true]]);
      // The watch starts from the list's resourceVersion: nothing is replayed, nothing missed.
      kube.put(realisticPod("team-9", "api-9-7f9c5d8b6-aaaaa"));
      await expect.poll(() => informer.list()).toHaveLength(8);
    } finally {
      await informer.stop();
    }
  });

  it("falls back to one whole list when a continue token has expired (410), as client-go's pager does", async () => {
    await setup();
    for (let i = 0; i < 7; i++) kube.put(realisticPod(`team-${i}`, `api-${i}-7f9c5d8b6-aaaaa`));
    const pods = podsOnTheDouble();
    const asked: ListPage[] = [];
    const informer = startResilientInformer<V1Pod>({
      name: "pods",
      path: "/api/v1/pods",
      watch: pods.watch,
      list: (page) => {
        asked.push(page);
        if (page._continue && asked.length === 2) return Promise.reject(new KubeApiError(410, "Gone", JSON.stringify({ kind: "Status", code: 410, reason: "Expired", message: "The provided continue parameter is too old" })));
        return pods.list(page);
      },
      pageSize: 3,
      onEvent: () => undefined,
      delay: () => sleep(2),
    });
    try {
      await informer.ready();
      expect(informer.list()).toHaveLength(7);
      expect(asked.map((p) => [p.limit, Boolean(p._continue)])).toEqual([[3, false], [3, true], [undefined, false]]);
    } finally {
      await informer.stop();
    }
  });
});
