/**
 * helm 3's release storage with its default driver, Secrets (pkg/storage/storage.go and
 * pkg/storage/driver/secrets.go): one Secret `sh.helm.release.v1.<release>.v<revision>` of type
 * helm.sh/release.v1 per revision, labelled owner=helm, name, status and version, whose
 * `data.release` holds base64(gzip(release JSON)) (base64-encoded once more by the Secret).
 * The release JSON has the shape of helm's release.Release, so `helm status -o json` prints it.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { parseAllDocuments, stringify } from "yaml";
import type { KubeObject, Values } from "./chart.ts";
import { chartAppVersion, chartName, chartVersion, objectPath, templateOf } from "./chart.ts";
import type { KubeClient } from "./kube.ts";
import { apiMessage, HelmFailure } from "./kube.ts";

export type ReleaseStatus =
  | "unknown"
  | "deployed"
  | "uninstalled"
  | "superseded"
  | "failed"
  | "uninstalling"
  | "pending-install"
  | "pending-upgrade"
  | "pending-rollback";

/** helm's release.Status.IsPending(): the states its release lock is made of. */
export function isPending(status: ReleaseStatus): boolean {
  return status === "pending-install" || status === "pending-upgrade" || status === "pending-rollback";
}

interface ReleaseInfo {
  first_deployed: string;
  last_deployed: string;
  /** "" until uninstalled (helm's zero time marshals as ""). */
  deleted: string;
  description?: string;
  status: ReleaseStatus;
  notes?: string;
}

interface ChartRecord {
  metadata: { name: string; version: string; description: string; apiVersion: string; appVersion: string; type: string };
  lock: null;
  templates: { name: string; data: string }[];
  values: Values;
  schema: null;
  files: null;
}

/** helm's release.Release as JSON, fields in its order; `config` and `manifest` are omitempty. */
export interface ReleaseRecord {
  name: string;
  info: ReleaseInfo;
  chart: ChartRecord;
  config?: Values;
  manifest?: string;
  version: number;
  namespace: string;
}

/** errPending in pkg/action/action.go. */
export const errPending = "another operation (install/upgrade/rollback) is in progress";
/** driver.ErrReleaseNotFound. */
export const errReleaseNotFound = "release: not found";

function chartRecord(): ChartRecord {
  return {
    metadata: { name: chartName, version: chartVersion, description: "A small web app", apiVersion: "v2", appVersion: chartAppVersion, type: "application" },
    lock: null,
    templates: ["service", "deployment", "statefulset"].map((t) => ({ name: `templates/${t}.yaml`, data: Buffer.from(`# ${t}\n`).toString("base64") })),
    values: {},
    schema: null,
    files: null,
  };
}

export function newRecord(
  name: string,
  namespace: string,
  version: number,
  status: ReleaseStatus,
  description: string,
  config: Values,
  manifest: string,
  firstDeployed?: string,
): ReleaseRecord {
  const now = new Date().toISOString();
  return {
    name,
    info: { first_deployed: firstDeployed ?? now, last_deployed: now, deleted: "", description, status },
    chart: chartRecord(),
    ...(Object.keys(config).length > 0 ? { config } : {}),
    ...(manifest ? { manifest } : {}),
    version,
    namespace,
  };
}

/** release.SetStatus. */
export function setStatus(record: ReleaseRecord, status: ReleaseStatus, description?: string): void {
  record.info.status = status;
  if (description !== undefined) record.info.description = description;
}

/** The manifest helm stores: each rendered object as YAML after `---` and a `# Source:` comment. */
export function manifestOf(objects: KubeObject[]): string {
  return objects.map((o) => `---\n# Source: ${chartName}/${templateOf(o.kind as string)}\n${stringify(o)}`).join("");
}

export function objectsOf(manifest: string | undefined): KubeObject[] {
  if (!manifest) return [];
  return parseAllDocuments(manifest)
    .flatMap((doc) => ("toJS" in doc ? [doc.toJS() as unknown] : []))
    .filter((o): o is KubeObject => typeof o === "object" && o !== null);
}

/** The Secret's `data.release`: base64 of the base64(gzip(JSON)) text helm's encodeRelease makes. */
function encodeRelease(record: ReleaseRecord): string {
  const encoded = gzipSync(JSON.stringify(record)).toString("base64");
  return Buffer.from(encoded).toString("base64");
}

/** helm's decodeRelease (gzip is detected by its magic bytes, as helm does), from a Secret's `data.release`. */
export function decodeRelease(data: string): ReleaseRecord {
  const bytes = Buffer.from(Buffer.from(data, "base64").toString("utf8"), "base64");
  const json = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return JSON.parse(json.toString("utf8")) as ReleaseRecord;
}

function secretName(release: string, version: number): string {
  return `sh.helm.release.v1.${release}.v${version}`;
}

function releaseSecret(record: ReleaseRecord, timestampLabel: "createdAt" | "modifiedAt"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "helm.sh/release.v1",
    metadata: {
      name: secretName(record.name, record.version),
      namespace: record.namespace,
      labels: {
        [timestampLabel]: String(Math.floor(Date.now() / 1000)),
        name: record.name,
        owner: "helm",
        status: record.info.status,
        version: String(record.version),
      },
    },
    data: { release: encodeRelease(record) },
  };
}

export interface ReleaseStorage {
  /** Every revision, oldest first; [] when there is none (helm: "release: not found"). */
  history(release: string): Promise<ReleaseRecord[]>;
  /** storage.Create: prunes to maxHistory - 1 revisions first (never the deployed one); "release: already exists" on a clash. */
  create(record: ReleaseRecord, maxHistory?: number): Promise<void>;
  /** storage.Update: replaces the revision's Secret. */
  update(record: ReleaseRecord): Promise<void>;
  delete(release: string, version: number): Promise<void>;
}

/** The Secrets driver on one namespace, over the API server's REST interface. */
export function releaseStorage(kube: KubeClient, namespace: string): ReleaseStorage {
  async function history(release: string): Promise<ReleaseRecord[]> {
    const selector = encodeURIComponent(`owner=helm,name=${release}`);
    const res = await kube.request("GET", `${objectPath("Secret", namespace)}?labelSelector=${selector}`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new HelmFailure(`query: failed to query with labels: ${apiMessage(res)}`);
    const items = (res.body as { items: KubeObject[] }).items;
    return items.map((s) => decodeRelease((s.data as { release: string }).release)).sort((a, b) => a.version - b.version);
  }

  async function remove(release: string, version: number): Promise<void> {
    const res = await kube.request("DELETE", objectPath("Secret", namespace, secretName(release, version)));
    if (res.status === 404) throw new HelmFailure(errReleaseNotFound);
    if (res.status >= 300) throw new HelmFailure(`delete: failed to delete: ${apiMessage(res)}`);
  }

  /** storage.removeLeastRecent: oldest first, skipping the last deployed revision. */
  async function removeLeastRecent(release: string, max: number): Promise<void> {
    const all = await history(release);
    if (all.length <= max) return;
    const lastDeployed = all.filter((r) => r.info.status === "deployed").at(-1);
    const toDelete: ReleaseRecord[] = [];
    for (const r of all) {
      if (all.length - toDelete.length === max) break;
      if (r.version !== lastDeployed?.version) toDelete.push(r);
    }
    for (const r of toDelete) await remove(release, r.version).catch(() => undefined);
  }

  return {
    history,
    async create(record, maxHistory = 0) {
      if (maxHistory > 0) await removeLeastRecent(record.name, maxHistory - 1);
      const res = await kube.request("POST", objectPath("Secret", namespace), releaseSecret(record, "createdAt"));
      if (res.status === 409) throw new HelmFailure("release: already exists");
      if (res.status >= 300) throw new HelmFailure(`create: failed to create: ${apiMessage(res)}`);
    },
    async update(record) {
      const res = await kube.request("PUT", objectPath("Secret", namespace, secretName(record.name, record.version)), releaseSecret(record, "modifiedAt"));
      if (res.status === 404) throw new HelmFailure(errReleaseNotFound);
      if (res.status >= 300) throw new HelmFailure(`update: failed to update: ${apiMessage(res)}`);
    },
    delete: remove,
  };
}
