import { describe, expect, test } from "vitest";
import { computeHealth } from "../../src/domain/health.ts";
import type { WorkloadHealthInput } from "../../src/domain/health.ts";

function workload(over: Partial<WorkloadHealthInput> = {}): WorkloadHealthInput {
  return {
    kind: "Deployment",
    name: "web",
    desiredReplicas: 2,
    readyReplicas: 2,
    updatedReplicas: 2,
    availableReplicas: 2,
    generation: 3,
    observedGeneration: 3,
    conditions: [{ type: "Available", status: "True" }],
    ...over,
  };
}

const deadline = { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "web-5d8" has timed out progressing.' };

describe("computeHealth", () => {
  test("empty when the namespace has no workloads yet", () => {
    expect(computeHealth([])).toEqual({ state: "empty", reason: expect.any(String) });
    expect(computeHealth([], true).state).toBe("empty");
  });

  test("ready when every workload has all replicas updated and ready", () => {
    const health = computeHealth([workload(), workload({ kind: "StatefulSet", name: "db", desiredReplicas: 1, readyReplicas: 1, updatedReplicas: 1 })]);
    expect(health.state).toBe("ready");
    expect(health.reason).toContain("2 workload(s)");
    expect(health.reason).toContain("3 replica(s)");
  });

  test("progressing while the controller has not observed the new generation", () => {
    const health = computeHealth([workload({ generation: 4, observedGeneration: 3 })]);
    expect(health.state).toBe("progressing");
    expect(health.reason).toContain("Deployment/web");
  });

  test("progressing while fewer replicas are updated than desired, even after having been ready", () => {
    const w = workload({ updatedReplicas: 1, readyReplicas: 2 });
    expect(computeHealth([w]).state).toBe("progressing");
    expect(computeHealth([w], true).state).toBe("progressing");
  });

  test("progressing (not degraded) when replicas are not ready yet on a first rollout", () => {
    const health = computeHealth([workload({ readyReplicas: 1 })], false);
    expect(health).toEqual({ state: "progressing", reason: "Deployment/web 1/2 ready" });
  });

  test("degraded only after having been ready: rolled out but replicas not ready", () => {
    const health = computeHealth([workload(), workload({ name: "api", readyReplicas: 0 })], true);
    expect(health.state).toBe("degraded");
    expect(health.reason).toBe("Deployment/api 0/2 ready");
    expect(health.reason).not.toContain("Deployment/web");
  });

  test("failed on ProgressDeadlineExceeded, naming the workload and the controller's message", () => {
    const health = computeHealth([workload(), workload({ kind: "StatefulSet", name: "worker", readyReplicas: 0, conditions: [deadline] })]);
    expect(health.state).toBe("failed");
    expect(health.reason).toContain("ProgressDeadlineExceeded");
    expect(health.reason).toContain("StatefulSet/worker");
    expect(health.reason).toContain("has timed out progressing");
    expect(health.reason).not.toContain("Deployment/web");
  });

  test("failure wins over progressing and over having been ready", () => {
    const slow = workload({ name: "slow", generation: 5, observedGeneration: 5, updatedReplicas: 0 });
    const stuck = workload({ name: "stuck", readyReplicas: 0, conditions: [{ ...deadline, message: undefined }] });
    expect(computeHealth([slow, stuck], true)).toEqual({ state: "failed", reason: "ProgressDeadlineExceeded: Deployment/stuck" });
  });

  test("a deadline condition left over from the previous generation does not fail a new rollout", () => {
    // Right after an upgrade the Deployment still carries the old status until the controller
    // observes the new spec (kubectl rollout status ignores conditions in that window).
    const health = computeHealth([workload({ generation: 6, observedGeneration: 5, readyReplicas: 0, conditions: [deadline] })]);
    expect(health.state).toBe("progressing");
  });

  test("other Progressing reasons are not failures", () => {
    const w = workload({ readyReplicas: 1, conditions: [{ type: "Progressing", status: "True", reason: "ReplicaSetUpdated" }] });
    expect(computeHealth([w]).state).toBe("progressing");
  });

  test("a workload scaled to zero on purpose is ready", () => {
    expect(computeHealth([workload({ desiredReplicas: 0, readyReplicas: 0, updatedReplicas: 0, availableReplicas: 0 })]).state).toBe("ready");
  });
});

describe("pods that cannot be created", () => {
  test("a ReplicaFailure (Pod Security refused the pods, a quota is exhausted) fails a rollout and degrades a running staging, saying why", () => {
    const refused = {
      kind: "Deployment",
      name: "web",
      desiredReplicas: 1,
      readyReplicas: 0,
      updatedReplicas: 0,
      availableReplicas: 0,
      generation: 1,
      observedGeneration: 1,
      conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: 'pods "web-x" is forbidden: violates PodSecurity "baseline:latest": privileged (container "web" must not set securityContext.privileged=true)' }],
    };
    expect(computeHealth([refused])).toEqual({ state: "failed", reason: `Deployment/web: pods cannot be created: ${refused.conditions[0]!.message}` });
    expect(computeHealth([refused], true).state).toBe("degraded");
    expect(computeHealth([{ ...refused, conditions: [{ ...refused.conditions[0]!, status: "False" }] }]).state).toBe("progressing");
  });
});
