// What the cost estimate reads from the cluster, on the worker's own client (kube-transport.ts) against the
// API server double: the size of a namespace's PersistentVolumeClaims (with the worker's own
// RBAC), and each pod's requests, which must survive the trimming of the informer cache.
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { podSnapshot, trimPod } from "../../src/adapters/kube/pod-snapshot.ts";
import type { WorkloadWatch } from "../../src/ports/cluster.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api-double.ts";
import { installOctostageRbac } from "../support/octostage-rbac.ts";
import { realisticPod } from "../support/realistic-pod.ts";

let kube: KubeApiDouble | undefined;
let watch: WorkloadWatch | undefined;
afterEach(async () => {
  await watch?.stop();
  watch = undefined;
  await kube?.close();
  kube = undefined;
});

function claim(namespace: string, name: string, storage: string | undefined, status?: { phase: string; capacity?: { storage: string } }): object {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace },
    spec: { accessModes: ["ReadWriteOnce"], ...(storage !== undefined ? { resources: { requests: { storage } } } : {}) },
    ...(status ? { status } : {}),
  };
}

describe("listVolumeClaims", () => {
  it("lists a namespace's claims with their size: requested, or the bound volume's capacity when larger", async () => {
    kube = await startKubeApiDouble();
    const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath) });
    kube.put(claim("pr-1", "data-db-0", "10Gi", { phase: "Pending" }));
    kube.put(claim("pr-1", "uploads", "500Mi", { phase: "Bound", capacity: { storage: "1Gi" } }));
    kube.put(claim("pr-1", "cache", "8Gi", { phase: "Bound", capacity: { storage: "5Gi" } }));
    kube.put(claim("pr-1", "stale", "2Gi", { phase: "Lost", capacity: { storage: "20Gi" } }));
    kube.put(claim("pr-2", "other", "100Gi"));
    const claims = await cluster.listVolumeClaims("pr-1");
    expect(claims.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "cache", storageGiB: 8 },
      { name: "data-db-0", storageGiB: 10 },
      { name: "stale", storageGiB: 2 },
      { name: "uploads", storageGiB: 1 },
    ]);
    expect(kube.requests.at(-1)).toMatchObject({ method: "GET", path: "/api/v1/namespaces/pr-1/persistentvolumeclaims" });
    expect(await cluster.listVolumeClaims("empty")).toEqual([]);
  });

  it("counts a claim without a size as 0 GiB, and wraps errors into KubeError codes", async () => {
    kube = await startKubeApiDouble();
    const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath) });
    kube.put(claim("pr-1", "unsized", undefined));
    expect(await cluster.listVolumeClaims("pr-1")).toEqual([{ name: "unsized", storageGiB: 0 }]);
    kube.failNext("GET", /persistentvolumeclaims/, 500);
    await expect(cluster.listVolumeClaims("pr-1")).rejects.toMatchObject({ name: "KubeError", code: "failed", status: 500 });
    kube.failNext("GET", /persistentvolumeclaims/, 403);
    await expect(cluster.listVolumeClaims("pr-1")).rejects.toMatchObject({ code: "forbidden" });
  });

  it("is allowed by the worker's ClusterRole (src/adapters/kube/rbac.ts) against an API server that enforces RBAC", async () => {
    kube = await startKubeApiDouble({ rbac: true });
    const kubeconfig = await installOctostageRbac(kube);
    const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kubeconfig) });
    kube.put(claim("pr-1", "data", "3Gi", { phase: "Bound", capacity: { storage: "3Gi" } }));
    expect(await cluster.listVolumeClaims("pr-1")).toEqual([{ name: "data", storageGiB: 3 }]);
    expect(kube.denials).toEqual([]);
  });
});

/** A Deployment's pod with an init container, a sidecar and RuntimeClass overhead, as the API server returns it. */
function podWithInit(namespace: string, name: string): V1Pod {
  const pod = realisticPod(namespace, name) as V1Pod;
  pod.spec!.initContainers = [
    { name: "migrate", image: "ghcr.io/acme/web:1", resources: { requests: { cpu: "1", memory: "64Mi" }, limits: { cpu: "1" } }, env: [{ name: "A", value: "b" }] },
    { name: "proxy", image: "envoy", restartPolicy: "Always", resources: { requests: { cpu: "50m", memory: "128Mi" } } },
  ];
  pod.spec!.overhead = { cpu: "10m", memory: "32Mi" };
  return pod;
}

describe("pod requests", () => {
  it("survive the informer cache's trimming: containers, init containers, sidecars, overhead", () => {
    const pod = podWithInit("pr-1", "web-7f9c5d8b6-x2k4p");
    // Running: web 100m/256Mi + proxy 50m/128Mi; the init container asks for 1 CPU; plus the overhead.
    expect(podSnapshot(pod).requests).toEqual({ cpuCores: 1.01, memoryGiB: 0.40625 });
    expect(podSnapshot(trimPod(pod)).requests).toEqual({ cpuCores: 1.01, memoryGiB: 0.40625 });
    expect(trimPod(pod).spec?.initContainers?.[0]).toEqual({ name: "migrate", resources: { requests: { cpu: "1", memory: "64Mi" } } });
    expect(podSnapshot(trimPod({ metadata: { name: "bare" } })).requests).toEqual({ cpuCores: 0, memoryGiB: 0 });
  });

  it("come through the pod informer and listPodsAndJobs", async () => {
    kube = await startKubeApiDouble();
    const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), delay: () => sleep(5) });
    // A staging namespace (the informers keep only objects of namespaces Octostage labelled).
    kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pr-1", labels: { "app.kubernetes.io/managed-by": "octostage" } } });
    kube.put(podWithInit("pr-1", "web-7f9c5d8b6-x2k4p"));
    watch = cluster.watchWorkloads(() => undefined);
    await watch.ready();
    expect(watch.podsIn("pr-1").map((p) => [p.name, p.requests])).toEqual([["web-7f9c5d8b6-x2k4p", { cpuCores: 1.01, memoryGiB: 0.40625 }]]);
    // A pod added after the first list comes through the watch, trimmed the same way.
    kube.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "worker-1", namespace: "pr-1" }, spec: { containers: [{ name: "w", image: "w", resources: { requests: { cpu: "250m", memory: "1Gi" } } }] } });
    await expect.poll(() => watch!.podsIn("pr-1").find((p) => p.name === "worker-1")?.requests).toEqual({ cpuCores: 0.25, memoryGiB: 1 });
    const listed = await cluster.listPodsAndJobs("pr-1");
    expect(listed.pods.map((p) => p.requests).sort((a, b) => a.cpuCores - b.cpuCores)).toEqual([{ cpuCores: 0.25, memoryGiB: 1 }, { cpuCores: 1.01, memoryGiB: 0.40625 }]);
  });
});
