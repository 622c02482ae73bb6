// The staging namespace's sandbox defaults, and the Kubernetes quantities the project config accepts for it.
import { describe, expect, test } from "vitest";
import { defaultSandbox, quantityPattern } from "../../src/domain/sandbox.ts";

describe("Kubernetes quantities", () => {
  test.each(["1", "2", "0.5", ".5", "500m", "4Gi", "128Mi", "1Ki", "2Ti", "1Pi", "1Ei", "1k", "3M", "1G", "1T", "1P", "1E", "1e3", "1E-2", "+1", "-1", "1.", "12.25Gi"])("%s is a quantity", (q) => {
    expect(quantityPattern.test(q)).toBe(true);
  });
  test.each(["", "Gi", "4 Gi", "4gi", "4GB", "4Gii", "1.2.3", "a1", "1e", "four", "1Gi ", " 1", "..5", "++1", "1m2"])("%j is not", (q) => {
    expect(quantityPattern.test(q)).toBe(false);
  });
});

describe("the default sandbox", () => {
  test("Pod Security baseline; the medium profile's limits, no LoadBalancer or NodePort Services; container defaults under the quota", () => {
    expect(defaultSandbox).toEqual({
      podSecurity: "baseline",
      resourceQuota: {
        "requests.cpu": "2",
        "requests.memory": "4Gi",
        "limits.cpu": "4",
        "limits.memory": "8Gi",
        pods: "40",
        persistentvolumeclaims: "10",
        "requests.storage": "50Gi",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
      },
      limitRange: { defaultRequest: { cpu: "50m", memory: "64Mi" }, default: { cpu: "500m", memory: "512Mi" }, max: { cpu: "2", memory: "4Gi" } },
    });
    expect(Object.isFrozen(defaultSandbox)).toBe(true);
  });
});
