// Pure conversion of client-node objects into WorkloadSnapshots, and kubeconfig loading.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { workloadRef, workloadSnapshot } from "../../src/adapters/kube/workload-snapshot.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api-double.ts";

describe("workloadSnapshot", () => {
  it("defaults spec.replicas to 1 and absent counts to 0", () => {
    expect(workloadSnapshot("Deployment", { metadata: { name: "web", namespace: "pr-1" }, spec: { selector: {}, template: {} } })).toEqual({
      kind: "Deployment", namespace: "pr-1", name: "web",
      desiredReplicas: 1, readyReplicas: 0, updatedReplicas: 0, availableReplicas: 0, generation: 0, observedGeneration: 0, conditions: [],
    });
  });

  it("keeps a zero desired count and copies status and conditions", () => {
    const snapshot = workloadSnapshot("StatefulSet", {
      metadata: { name: "db", namespace: "pr-2", generation: 4 },
      spec: { replicas: 0, selector: {}, serviceName: "db", template: {} },
      status: {
        replicas: 2, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1, observedGeneration: 3,
        conditions: [{ type: "Ready", status: "False", reason: "PodsPending", lastTransitionTime: new Date(0) }],
      },
    });
    expect(snapshot).toMatchObject({ desiredReplicas: 0, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1, generation: 4, observedGeneration: 3 });
    expect(snapshot.conditions).toEqual([{ type: "Ready", status: "False", reason: "PodsPending" }]);
    expect(workloadRef("StatefulSet", { metadata: { name: "db", namespace: "pr-2" } })).toEqual({ kind: "StatefulSet", namespace: "pr-2", name: "db" });
  });
});

describe("loadKubeConfig", () => {
  let kube: KubeApiDouble;
  beforeAll(async () => {
    kube = await startKubeApiDouble();
  });
  afterAll(async () => {
    await kube.close();
  });

  it("loads a kubeconfig file", () => {
    expect(loadKubeConfig(kube.kubeconfigPath).cluster.server).toBe(kube.url);
  });

  it("says what to configure when the file is missing or nothing is configured", () => {
    expect(() => loadKubeConfig("/nonexistent/kubeconfig")).toThrow(/KUBECONFIG/);
    expect(() => loadKubeConfig(undefined, { env: {}, fileExists: () => false })).toThrow(expect.objectContaining({ code: "failed", message: expect.stringMatching(/KUBECONFIG.*KUBERNETES_SERVICE_HOST/s) }));
  });

  it("uses the in-cluster service account when running in a pod", () => {
    const env = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(loadKubeConfig(undefined, { env, fileExists: () => true }).cluster).toEqual({ server: "https://10.0.0.1:443", caFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", skipTLSVerify: false });
  });
});

describe("podSnapshot", () => {
  it("keeps what health needs: phase, scheduling, and each container's waiting/terminated state", async () => {
    const { podSnapshot } = await import("../../src/adapters/kube/pod-snapshot.ts");
    const snap = podSnapshot({
      metadata: { namespace: "ns", name: "web-1" },
      spec: { containers: [{ name: "web", image: "ghcr.io/acme/web:1" }, { name: "sidecar", image: "envoy:1" }] },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient cpu." }],
        containerStatuses: [
          { name: "web", image: "ghcr.io/acme/web:1", imageID: "", ready: false, restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } } },
        ],
      },
    });
    expect(snap).toEqual({
      namespace: "ns",
      name: "web-1",
      phase: "Pending",
      unschedulable: "0/1 nodes are available: 1 Insufficient cpu.",
      containers: [
        { name: "web", image: "ghcr.io/acme/web:1", ready: false, restartCount: 3, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { reason: "OOMKilled", exitCode: 137 } },
        // A container without a status yet (still being created) is not ready, with nothing to say.
        { name: "sidecar", image: "envoy:1", ready: false, restartCount: 0 },
      ],
      // No container asks for anything.
      requests: { cpuCores: 0, memoryGiB: 0 },
    });
  });
});
