/**
 * The identity helm runs as in a staging namespace: the ServiceAccount octostage-deployer, bound
 * there (RoleBinding) to the deployer ClusterRole, and for each run a short-lived token of it
 * (TokenRequest) in a kubeconfig of its own. See rbac.ts.
 */
import type { AuthenticationV1TokenRequest, V1Deployment, V1RoleBinding, V1StatefulSet } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { StagingCredentials, StagingWorkloads, WorkloadRef } from "../../ports/cluster.ts";
import { kubeConnectionFromString, type ClusterEndpoint } from "./kube-config.ts";
import { toKubeError } from "./kube-error.ts";
import { createKubeTransport, listItems, MERGE_PATCH, namespaced, scalePath, type KubeTransport } from "./kube-transport.ts";
import { deployerName } from "./rbac.ts";
import type { DocumentedRule } from "./rbac.ts";
import { workloadSnapshot } from "./workload-snapshot.ts";

/** Kubernetes refuses token lifetimes under 10 minutes. */
const minTokenSeconds = 600;

function isConflict(err: unknown): boolean {
  return (err as { code?: unknown }).code === 409;
}

const RBAC = "/apis/rbac.authorization.k8s.io/v1";

export interface StagingAccessOptions {
  /** The worker's own requests. */
  transport: KubeTransport;
  /** The API server the worker talks to: the deployer's kubeconfig points there too. */
  cluster: ClusterEndpoint;
  /** The ClusterRole the deployer is bound to in each staging namespace. */
  deployerClusterRole: string;
}

/** A kubeconfig for the deployer's token, pointing at the cluster the worker talks to (same server and CA). */
function deployerKubeconfig(cluster: ClusterEndpoint, namespace: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "staging",
        cluster: {
          server: cluster.server,
          ...(cluster.caData ? { "certificate-authority-data": cluster.caData } : {}),
          ...(cluster.caFile ? { "certificate-authority": cluster.caFile } : {}),
          ...(cluster.skipTLSVerify ? { "insecure-skip-tls-verify": true } : {}),
          ...(cluster.tlsServerName ? { "tls-server-name": cluster.tlsServerName } : {}),
        },
      },
    ],
    users: [{ name: deployerName, user: { token } }],
    contexts: [{ name: "staging", context: { cluster: "staging", user: deployerName, namespace } }],
    "current-context": "staging",
  });
}

export function createStagingAccess(opts: StagingAccessOptions) {
  const { transport } = opts;

  async function ensureIdentity(namespace: string): Promise<void> {
    const labels = { "app.kubernetes.io/managed-by": "octostage" };
    try {
      await transport.request({ method: "POST", path: namespaced("/api/v1", namespace, "serviceaccounts"), body: { metadata: { name: deployerName, labels } } });
    } catch (err) {
      if (!isConflict(err)) throw toKubeError(err, `create ServiceAccount ${namespace}/${deployerName}`);
    }
    const binding = {
      metadata: { name: deployerName, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: opts.deployerClusterRole },
      subjects: [{ kind: "ServiceAccount", name: deployerName, namespace }],
    };
    const bindings = namespaced(RBAC, namespace, "rolebindings");
    try {
      await transport.request({ method: "POST", path: bindings, body: binding });
      return;
    } catch (err) {
      if (!isConflict(err)) throw toKubeError(err, `create RoleBinding ${namespace}/${deployerName}`);
    }
    try {
      const existing = await transport.request<V1RoleBinding>({ method: "GET", path: namespaced(RBAC, namespace, "rolebindings", deployerName) });
      if (existing.roleRef.name === opts.deployerClusterRole && existing.subjects?.length === 1 && existing.subjects[0]?.name === deployerName) return;
      // roleRef cannot change: a binding to another role is replaced.
      await transport.request({ method: "DELETE", path: namespaced(RBAC, namespace, "rolebindings", deployerName) });
      await transport.request({ method: "POST", path: bindings, body: binding });
    } catch (err) {
      throw toKubeError(err, `update RoleBinding ${namespace}/${deployerName}`);
    }
  }

  async function credentials(namespace: string, ttlSeconds: number): Promise<StagingCredentials> {
    const expirationSeconds = Math.max(minTokenSeconds, Math.ceil(ttlSeconds));
    try {
      const request = await transport.request<AuthenticationV1TokenRequest>({
        method: "POST",
        path: `${namespaced("/api/v1", namespace, "serviceaccounts", deployerName)}/token`,
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [], expirationSeconds } },
      });
      const token = request.status?.token;
      if (!token) throw new Error("the TokenRequest answer has no token");
      return {
        kubeconfig: deployerKubeconfig(opts.cluster, namespace, token),
        expiresAt: request.status?.expirationTimestamp ? new Date(request.status.expirationTimestamp) : new Date(Date.now() + expirationSeconds * 1000),
      };
    } catch (err) {
      throw toKubeError(err, `request a token for ${namespace}/${deployerName}`);
    }
  }

  /** Workloads of the staging's namespace, read and scaled as its deployer. */
  function workloads(credentials: StagingCredentials): StagingWorkloads {
    const deployer = createKubeTransport(kubeConnectionFromString(credentials.kubeconfig));
    return {
      async listWorkloads(namespace) {
        try {
          const [deployments, statefulSets] = await Promise.all([
            listItems<V1Deployment>(deployer, namespaced("/apis/apps/v1", namespace, "deployments")),
            listItems<V1StatefulSet>(deployer, namespaced("/apis/apps/v1", namespace, "statefulsets")),
          ]);
          return [...deployments.map((d) => workloadSnapshot("Deployment", d)), ...statefulSets.map((s) => workloadSnapshot("StatefulSet", s))];
        } catch (err) {
          throw toKubeError(err, `list workloads in namespace ${namespace}`);
        }
      },
      async scaleWorkload(ref: WorkloadRef, replicas: number) {
        try {
          await deployer.request({ method: "PATCH", path: scalePath(ref), body: { spec: { replicas } }, contentType: MERGE_PATCH });
        } catch (err) {
          throw toKubeError(err, `scale ${ref.kind} ${ref.namespace}/${ref.name} to ${replicas}`);
        }
      },
    };
  }

  /** Creates the deployer ClusterRole when it is missing (a development cluster; the chart installs it). */
  async function ensureDeployerRole(rules: readonly DocumentedRule[]): Promise<"exists" | "created"> {
    try {
      await transport.request({ method: "GET", path: `${RBAC}/clusterroles/${encodeURIComponent(opts.deployerClusterRole)}` });
      return "exists";
    } catch (err) {
      const error = toKubeError(err, `read ClusterRole ${opts.deployerClusterRole}`);
      if (error.code !== "not_found") throw error;
    }
    try {
      await transport.request({ method: "POST", path: `${RBAC}/clusterroles`, body: { metadata: { name: opts.deployerClusterRole, labels: { "app.kubernetes.io/managed-by": "octostage" } }, rules: rules.map((r) => r.rule) } });
      return "created";
    } catch (err) {
      throw toKubeError(err, `create ClusterRole ${opts.deployerClusterRole}`);
    }
  }

  return { ensureIdentity, credentials, workloads, ensureDeployerRole };
}
