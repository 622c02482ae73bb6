// Kubernetes objects the bench puts into the API double: what the helm double's chart renders
// (test/support/helm-double/chart.ts) and the pods a ReplicaSet controller would add.

function labels(release: string): Record<string, string> {
  return { "app.kubernetes.io/name": "web", "app.kubernetes.io/instance": release, "app.kubernetes.io/component": "web" };
}

/** The chart's web Deployment (`<release>-web`), as helm installs it. */
export function webDeployment(namespace: string, release: string, replicas = 2): object {
  const selector = labels(release);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `${release}-web`,
      namespace,
      labels: { ...selector, "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "web-0.1.0" },
      annotations: { "meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace },
    },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: selector },
        spec: { containers: [{ name: "web", image: "ghcr.io/octo-org/web:abc1234", ports: [{ name: "http", containerPort: 8080 }] }] },
      },
    },
  };
}

const healthy = { ready: true, restartCount: 0, state: { running: { startedAt: "2026-11-22T10:00:00Z" } } };
const crashing = {
  ready: false,
  restartCount: 5,
  state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s restarting failed container=web" } },
  lastState: { terminated: { reason: "Error", exitCode: 1 } },
};

/** A pod of the web Deployment, running and ready, or in CrashLoopBackOff. */
export function webPod(namespace: string, release: string, name: string, state: "healthy" | "crashing"): object {
  const container = state === "healthy" ? healthy : crashing;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { ...labels(release), "pod-template-hash": "7f9c5d8b6" } },
    spec: { containers: [{ name: "web", image: "ghcr.io/octo-org/web:abc1234" }], nodeName: "node-1" },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: state === "healthy" ? "True" : "False" }],
      containerStatuses: [{ name: "web", image: "ghcr.io/octo-org/web:abc1234", imageID: "", ...container }],
    },
  };
}
