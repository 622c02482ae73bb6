/**
 * The one chart the double "installs", whatever chart reference it is given: a small web app
 * (Deployment + Service) and, with `persistence.enabled`, a database StatefulSet with a
 * volumeClaimTemplate. Objects carry the labels and annotations real helm 3 puts on them.
 *
 * The parts a hostile chart or override would use are modelled too: `securityContext` and
 * `hostPath` go into the web pod as given (Pod Security admission judges them), and
 * `lookup: {namespace, name}` is the template function `lookup "v1" "Secret" ns name`,
 * run at render time with helm's own identity (see commands.ts `lookups`), its data copied into a
 * ConfigMap `<release>-looked-up`.
 */
export type Values = Record<string, any>;
export type KubeObject = Record<string, any>;

export const chartName = "web";
export const chartVersion = "0.1.0";
export const chartAppVersion = "1.0.0";

/** The chart's template file that renders an object of this kind. */
export function templateOf(kind: string): string {
  return `templates/${kind.toLowerCase()}.yaml`;
}

/** The chart's values.yaml: its defaults. */
export const chartDefaults = {
  replicaCount: 1,
  image: { repository: "example/web", tag: "latest" },
  service: { port: 8080 },
  env: {},
  persistence: { enabled: false, size: "1Gi", image: "postgres:16" },
};

/** The chart's values.schema.json (what schemaErrors enforces). */
export const chartSchema = {
  $schema: "https://json-schema.org/draft-07/schema#",
  type: "object",
  properties: {
    replicaCount: { type: "integer", minimum: 0, description: "Pods of the web Deployment." },
    image: { type: "object", properties: { repository: { type: "string" }, tag: { type: "string" } } },
    service: { type: "object", properties: { port: { type: "integer", description: "The container port." } } },
    persistence: { type: "object", properties: { enabled: { type: "boolean", description: "A database StatefulSet with a volume." }, size: { type: "string" } } },
  },
};

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

/** What the chart's `lookup` calls would fetch: `lookup` in the values, if any. */
export function lookupsOf(values: Values): { namespace: string; name: string } | undefined {
  const l = values.lookup as { namespace?: unknown; name?: unknown } | undefined;
  return typeof l?.namespace === "string" && typeof l.name === "string" ? { namespace: l.namespace, name: l.name } : undefined;
}

/** The rendered manifests, in helm's install order (ConfigMap, Service, then Deployment and StatefulSet). */
export function renderChart(release: string, namespace: string, values: Values, lookedUp?: Record<string, string>): KubeObject[] {
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
          spec: {
            containers: [
              {
                name: "web",
                image,
                ports: [{ name: "http", containerPort: values.service?.port ?? 8080 }],
                env,
                ...(values.securityContext ? { securityContext: values.securityContext } : {}),
                ...(typeof values.hostPath === "string" ? { volumeMounts: [{ name: "host", mountPath: "/host" }] } : {}),
              },
            ],
            ...(typeof values.hostPath === "string" ? { volumes: [{ name: "host", hostPath: { path: values.hostPath } }] } : {}),
          },
        },
      },
    },
  ];
  if (lookedUp) {
    objects.unshift({ apiVersion: "v1", kind: "ConfigMap", metadata: metadata(`${release}-looked-up`, release, namespace, "lookup"), data: lookedUp });
  }
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

export function objectPath(kind: string, namespace: string, name?: string): string {
  const base: Record<string, string> = {
    ConfigMap: `/api/v1/namespaces/${namespace}/configmaps`,
    Service: `/api/v1/namespaces/${namespace}/services`,
    Deployment: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    StatefulSet: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
    Secret: `/api/v1/namespaces/${namespace}/secrets`,
  };
  const path = base[kind];
  if (!path) throw new Error(`helm double: no API path for ${kind}`);
  return name === undefined ? path : `${path}/${encodeURIComponent(name)}`;
}
