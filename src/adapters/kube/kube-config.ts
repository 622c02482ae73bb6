import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeError } from "./kube-error.ts";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export interface InClusterProbe {
  /** Environment to read KUBERNETES_SERVICE_HOST/PORT from (defaults to process.env). */
  env?: Record<string, string | undefined>;
  /** Checks that a file exists (injectable for tests). */
  fileExists?: (path: string) => boolean;
}

/**
 * Loads the Kubernetes client configuration: the kubeconfig file when a path is given (the
 * KUBECONFIG setting), otherwise the in-cluster service account. Throws a KubeError (code
 * "failed") that says what to configure.
 */
export function loadKubeConfig(kubeconfigPath?: string, probe: InClusterProbe = {}): KubeConfig {
  const env = probe.env ?? process.env;
  const fileExists = probe.fileExists ?? existsSync;
  const kc = new KubeConfig();
  if (kubeconfigPath) {
    if (!fileExists(kubeconfigPath)) {
      throw new KubeError("failed", `kubeconfig file ${kubeconfigPath} does not exist: set KUBECONFIG to a readable kubeconfig file, or unset it to use the in-cluster service account`);
    }
    try {
      kc.loadFromFile(kubeconfigPath);
    } catch (err) {
      throw new KubeError("failed", `kubeconfig file ${kubeconfigPath} could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!kc.getCurrentCluster()) {
      throw new KubeError("failed", `kubeconfig file ${kubeconfigPath} has no current context with a cluster: set current-context (kubectl config use-context NAME)`);
    }
    return kc;
  }
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && fileExists(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    return kc;
  }
  throw new KubeError(
    "failed",
    "No Kubernetes configuration found: set KUBECONFIG to a kubeconfig file, or run Octostage inside the cluster " +
      `with a service account (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT set and ${SERVICE_ACCOUNT_TOKEN} mounted)`,
  );
}
