// The workloads snapshot a staging's page shows, beyond web-dashboard-domain.test.ts: a pod is
// ready only when all its containers are, its restarts add up over them, and pods with a problem
// come first whatever their names (so the cap never hides the one that is failing).
import { describe, expect, it } from "vitest";
import { maxPods, workloadSnapshot } from "../../src/domain/workload-snapshot.ts";

const container = (name: string, ready: boolean, restartCount = 0, waiting?: string) => ({
  name,
  image: `${name}:1`,
  ready,
  restartCount,
  ...(waiting ? { waiting: { reason: waiting, message: "back-off 5m0s" } } : {}),
});

describe("workload snapshot: pods", () => {
  it("a pod is ready only when every container is, and its restarts are the sum of its containers'", () => {
    const s = workloadSnapshot([], [{ name: "web-1", phase: "Running", containers: [container("web", true, 3), container("sidecar", false, 4)] }]);
    expect(s.pods[0]).toMatchObject({ name: "web-1", ready: false, restarts: 7 });
    const both = workloadSnapshot([], [{ name: "web-2", phase: "Running", containers: [container("web", true, 1), container("sidecar", true, 2)] }]);
    expect(both.pods[0]).toMatchObject({ ready: true, restarts: 3 });
  });

  it("pods with a problem come first even when their names sort last, and the cap keeps them", () => {
    const healthy = Array.from({ length: maxPods + 2 }, (_, i) => ({ name: `a-${String(i).padStart(3, "0")}`, phase: "Running", containers: [container("web", true)] }));
    const failing = { name: "zz-crash", phase: "Running", containers: [container("web", false, 9, "CrashLoopBackOff")] };
    const s = workloadSnapshot([], [...healthy, failing]);
    expect(s.pods[0]!.name).toBe("zz-crash");
    expect(s.pods[0]!.problem).toContain("CrashLoopBackOff");
    expect(s.pods.slice(1).map((p) => p.name)).toEqual(healthy.slice(0, maxPods - 1).map((p) => p.name));
    expect(s.morePods).toBe(3);
    expect(workloadSnapshot([], [failing, healthy[0]!]).pods.map((p) => p.name)).toEqual(["zz-crash", "a-000"]);
    expect(workloadSnapshot([], [healthy[0]!, failing]).pods.map((p) => p.name)).toEqual(["zz-crash", "a-000"]);
  });
});
