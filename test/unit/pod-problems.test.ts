import { describe, expect, test } from "vitest";
import { computeHealth } from "../../src/domain/health.ts";
import type { WorkloadHealthInput } from "../../src/domain/health.ts";
import { podProblem, worstPodProblem } from "../../src/domain/pod-problems.ts";
import type { ContainerHealthInput, PodHealthInput } from "../../src/domain/pod-problems.ts";

function container(over: Partial<ContainerHealthInput> = {}): ContainerHealthInput {
  return { name: "api", image: "ghcr.io/acme/web:1a2b3c", ready: true, restartCount: 0, ...over };
}
function pod(name: string, over: Partial<PodHealthInput> = {}, c: Partial<ContainerHealthInput> = {}): PodHealthInput {
  return { name, phase: "Running", containers: [container(c)], ...over };
}

describe("podProblem names what is wrong, as a person would say it", () => {
  test("a crash loop, with the exit code and the restart count", () => {
    const p = pod("api-7f9c", {}, { ready: false, restartCount: 5, waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s restarting failed container" }, lastTerminated: { reason: "Error", exitCode: 1 } });
    expect(podProblem(p)).toBe("CrashLoopBackOff in api-7f9c (exit 1, 5 restarts)");
  });

  test("a container killed for memory", () => {
    const p = pod("api-7f9c", {}, { ready: false, restartCount: 3, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { reason: "OOMKilled", exitCode: 137 } });
    expect(podProblem(p)).toBe("OOMKilled in api-7f9c (container api, 3 restarts)");
    const once = pod("api-1", {}, { ready: false, restartCount: 0, terminated: { reason: "OOMKilled", exitCode: 137 } });
    expect(podProblem(once)).toBe("OOMKilled in api-1 (container api, 0 restarts)");
  });

  test("an image that does not exist, or that the cluster may not pull", () => {
    const missing = pod("web-1", { phase: "Pending" }, { ready: false, waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "ghcr.io/acme/web:1a2b3c": manifest unknown' } });
    expect(podProblem(missing)).toBe("ImagePullBackOff: image ghcr.io/acme/web:1a2b3c not found");
    const denied = pod("web-1", { phase: "Pending" }, { ready: false, waiting: { reason: "ErrImagePull", message: "pull access denied, repository does not exist or may require authorization: unauthorized" } });
    expect(podProblem(denied)).toContain("ErrImagePull: ");
    expect(podProblem(pod("w", { phase: "Pending" }, { ready: false, waiting: { reason: "ErrImagePull", message: "unauthorized: authentication required" } }))).toBe(
      "ErrImagePull: access to image ghcr.io/acme/web:1a2b3c denied (check imagePullSecrets)",
    );
  });

  test("a pod the scheduler cannot place", () => {
    const p = pod("db-0", { phase: "Pending", unschedulable: "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available" }, { ready: false });
    expect(podProblem(p)).toBe("Unschedulable: insufficient memory");
    expect(podProblem(pod("db-0", { phase: "Pending", unschedulable: "0/3 nodes are available: 3 Insufficient cpu." }, { ready: false }))).toBe("Unschedulable: insufficient cpu");
    expect(podProblem(pod("db-0", { phase: "Pending", unschedulable: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims." }, { ready: false }))).toBe(
      "Unschedulable: a PersistentVolumeClaim is not bound",
    );
  });

  test("a running container whose readiness probe fails", () => {
    expect(podProblem(pod("api-7f9c", {}, { ready: false }))).toBe("readiness probe failing in api-7f9c (container api)");
  });

  test("a missing secret or config map", () => {
    const p = pod("api-1", { phase: "Pending" }, { ready: false, waiting: { reason: "CreateContainerConfigError", message: 'secret "db" not found' } });
    expect(podProblem(p)).toBe('CreateContainerConfigError in api-1: secret "db" not found');
  });

  test("a healthy, a starting and a finished pod have no problem", () => {
    expect(podProblem(pod("ok"))).toBeUndefined();
    expect(podProblem(pod("starting", { phase: "Pending" }, { ready: false, waiting: { reason: "ContainerCreating" } }))).toBeUndefined();
    expect(podProblem(pod("job", { phase: "Succeeded" }, { ready: false, terminated: { reason: "Completed", exitCode: 0 } }))).toBeUndefined();
  });

  test("the worst problem wins: a crash before a slow readiness probe, whatever the pod order", () => {
    const pods = [pod("a-ready-probe", {}, { ready: false }), pod("z-crash", {}, { ready: false, restartCount: 2, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 2 } })];
    expect(worstPodProblem(pods)).toBe("CrashLoopBackOff in z-crash (exit 2, 2 restarts)");
    expect(worstPodProblem([...pods].reverse())).toBe("CrashLoopBackOff in z-crash (exit 2, 2 restarts)");
    expect(worstPodProblem([])).toBeUndefined();
  });
});

describe("computeHealth with pods", () => {
  const workload = (ready: number, desired = 2): WorkloadHealthInput => ({
    kind: "Deployment",
    name: "web",
    desiredReplicas: desired,
    readyReplicas: ready,
    updatedReplicas: desired,
    availableReplicas: ready,
    generation: 2,
    observedGeneration: 2,
    conditions: [],
  });
  const crashing = pod("web-7f9c", {}, { ready: false, restartCount: 4, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 1 } });

  test("a rollout that cannot start says why instead of counting replicas", () => {
    expect(computeHealth([workload(0)], false, [crashing])).toEqual({ state: "progressing", reason: "CrashLoopBackOff in web-7f9c (exit 1, 4 restarts)" });
  });

  test("a running staging with some replicas crashing is degraded, with all of them down it is failed", () => {
    expect(computeHealth([workload(1)], true, [crashing])).toEqual({ state: "degraded", reason: "CrashLoopBackOff in web-7f9c (exit 1, 4 restarts)" });
    expect(computeHealth([workload(0)], true, [crashing])).toEqual({ state: "failed", reason: "CrashLoopBackOff in web-7f9c (exit 1, 4 restarts)" });
  });

  test("it recovers to ready by itself when the pods recover", () => {
    expect(computeHealth([workload(2)], true, [pod("web-7f9c")]).state).toBe("ready");
  });

  test("without a pod problem, the replica counts are the reason", () => {
    expect(computeHealth([workload(0)], true, [])).toEqual({ state: "degraded", reason: "Deployment/web 0/2 ready" });
  });
});
