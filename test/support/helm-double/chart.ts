/**
 * The one chart the double "installs", whatever chart reference it is given: a small web app
 * (Deployment + Service) and, with `persistence.enabled`, a database StatefulSet with a
 * volumeClaimTemplate. Objects carry the labels and annotations real helm 3 puts on them.
 */
import { gzipSync } from "node:zlib";

 
export type Values = Record<string, any>;
export type KubeObject = Record<string, any>;

export const chartName = "web";
export const chartVersion = "0.1.0";

/** Like the chart's values.schema.json: helm refuses values that break it. Returns helm's error lines. */
export function schemaErrors(values: Values): string[] {
  const errors: string[] = [];
  const replicas: unknown = values.replicaCount;
  if (replicas !== undefined && !Number.isInteger(replicas)) {
    errors.push(`- replicaCount: Invalid type. Expected: integer, given: ${typeof replicas === "number" ? "number" : typeof replicas}`);
  }
  if (typeof replicas === "number" && replicas < 0) errors.push("- replicaCount: Must be greater than or equal to 0");
  return errors;
}

function metadata(name: string, release: string, namespace: string, component: string): KubeObject {
  return {
    name,
    namespace,
    labels: {
      "app.kubernetes.io/name": chartName,
      "app.kubernetes.io/instance": release,
      "app.kubernetes.io/component": component,
      "app.kubernetes.io/managed-by": "Helm",
      "helm.sh/chart": `${chartName}-${chartVersion}`,
    },
    annotations: { "meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace },
  };
}

function selector(release: string, component: string): Record<string, string> {
  return { "app.kubernetes.io/name": chartName, "app.kubernetes.io/instance": release, "app.kubernetes.io/component": component };
}

/** The rendered manifests, in helm's install order (Service before Deployment and StatefulSet). */
export function renderChart(release: string, namespace: string, values: Values): KubeObject[] {
  const web = `${release}-web`;
  const image = `${values.image?.repository ?? "example/web"}:${values.image?.tag ?? "latest"}`;
  const env = Object.entries((values.env ?? {}) as Record<string, unknown>).map(([name, value]) => ({ name, value: String(value) }));
  const objects: KubeObject[] = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: metadata(web, release, namespace, "web"),
      spec: { type: "ClusterIP", selector: selector(release, "web"), ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: metadata(web, release, namespace, "web"),
      spec: {
        replicas: values.replicaCount ?? 1,
        selector: { matchLabels: selector(release, "web") },
        template: {
          metadata: { labels: selector(release, "web") },
          spec: { containers: [{ name: "web", image, ports: [{ name: "http", containerPort: values.service?.port ?? 8080 }], env }] },
        },
      },
    },
  ];
  if (values.persistence?.enabled === true) {
    const db = `${release}-db`;
    objects.push({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: metadata(db, release, namespace, "db"),
      spec: {
        serviceName: db,
        replicas: 1,
        selector: { matchLabels: selector(release, "db") },
        template: {
          metadata: { labels: selector(release, "db") },
          spec: { containers: [{ name: "db", image: values.persistence.image ?? "postgres:16", volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: values.persistence.size ?? "1Gi" } } },
          },
        ],
      },
    });
  }
  return objects;
}

/** Every object the chart can render, so uninstall and upgrades can remove what is no longer rendered. */
export function chartObjectRefs(release: string): { kind: string; name: string }[] {
  return [
    { kind: "Service", name: `${release}-web` },
    { kind: "Deployment", name: `${release}-web` },
    { kind: "StatefulSet", name: `${release}-db` },
  ];
}

export function objectPath(kind: string, namespace: string, name?: string): string {
  const base: Record<string, string> = {
    Service: `/api/v1/namespaces/${namespace}/services`,
    Deployment: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    StatefulSet: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
    Secret: `/api/v1/namespaces/${namespace}/secrets`,
  };
  const path = base[kind];
  if (!path) throw new Error(`helm double: no API path for ${kind}`);
  return name === undefined ? path : `${path}/${encodeURIComponent(name)}`;
}

/**
 * The release record helm 3 keeps in a Secret `sh.helm.release.v1.<release>.v<revision>`
 * (type helm.sh/release.v1): base64(gzip(release JSON)), base64-encoded again by the Secret.
 * The JSON holds only the fields the double fills in.
 */
export function releaseSecret(release: string, namespace: string, revision: number, values: Values, manifests: KubeObject[]): KubeObject {
  const now = new Date().toISOString();
  const record = {
    name: release,
    namespace,
    version: revision,
    info: { status: "deployed", first_deployed: now, last_deployed: now, description: revision === 1 ? "Install complete" : "Upgrade complete" },
    chart: { metadata: { name: chartName, version: chartVersion, apiVersion: "v2" } },
    config: values,
    manifest: manifests.map((m) => JSON.stringify(m)).join("\n---\n"),
  };
  const encoded = gzipSync(JSON.stringify(record)).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "helm.sh/release.v1",
    metadata: {
      name: `sh.helm.release.v1.${release}.v${revision}`,
      namespace,
      labels: { owner: "helm", name: release, status: "deployed", version: String(revision) },
    },
    data: { release: Buffer.from(encoded).toString("base64") },
  };
}
