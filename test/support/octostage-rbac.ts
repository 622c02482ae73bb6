// Octostage's RBAC installed in a Kubernetes API double that enforces it (`rbac: true`), as the
// chart installs it: the worker ClusterRole bound to the worker's ServiceAccount, and the
// deployer ClusterRole, both from src/adapters/kube/rbac.ts. Also Octostage's own namespace with
// the Secret an attacker would go for.
import { defaultDeployerClusterRole, deployerRules, workerRules } from "../../src/adapters/kube/rbac.ts";
import type { KubeApiDouble } from "./kube-api-double.ts";

const workerUser = "system:serviceaccount:octostage:octostage";
/** The private key in Octostage's own Secret (octostage/octostage-secrets), to look for where it must not be. */
export const plantedPrivateKey = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-planted\n-----END PRIVATE KEY-----";

/** Installs the roles and returns the path of a kubeconfig that authenticates as the worker. */
export async function installOctostageRbac(kube: KubeApiDouble): Promise<string> {
  const group = "rbac.authorization.k8s.io";
  kube.put({ apiVersion: `${group}/v1`, kind: "ClusterRole", metadata: { name: "octostage" }, rules: workerRules(defaultDeployerClusterRole).map((r) => r.rule) });
  kube.put({ apiVersion: `${group}/v1`, kind: "ClusterRole", metadata: { name: defaultDeployerClusterRole }, rules: deployerRules.map((r) => r.rule) });
  kube.put({
    apiVersion: `${group}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: "octostage" },
    roleRef: { apiGroup: group, kind: "ClusterRole", name: "octostage" },
    subjects: [{ kind: "ServiceAccount", name: "octostage", namespace: "octostage" }],
  });
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "octostage" } });
  kube.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "octostage-secrets", namespace: "octostage" }, data: { PRIVATE_KEY: Buffer.from(plantedPrivateKey).toString("base64") } });
  kube.addToken("octostage-worker-token", { user: workerUser, groups: ["system:serviceaccounts", "system:serviceaccounts:octostage"] });
  return kube.writeKubeconfig("octostage-worker-token");
}
