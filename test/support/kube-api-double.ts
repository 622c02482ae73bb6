/**
 * Kubernetes API server double: a node:http server on 127.0.0.1 that speaks enough of the real
 * REST protocol for @kubernetes/client-node and `kubectl --kubeconfig <kubeconfigPath>` to work.
 *
 * FAKES, as a real kube-apiserver does:
 * - discovery (/api, /apis, /api/v1, /apis/<group>/<version>, /version) for namespaces, pods,
 *   services, configmaps, secrets, persistentvolumeclaims, resourcequotas, apps/v1 deployments and statefulsets
 *   (with /scale and /status), networking.k8s.io/v1 ingresses and batch/v1 jobs;
 * - list (namespaced and cluster-wide; pages with limit/continue, see listPage), get, create (409 AlreadyExists, 404 if the namespace is
 *   missing), replace (409 Conflict on a stale metadata.resourceVersion), patch (merge,
 *   strategic-merge treated as merge, json-patch), delete (a namespace takes its contents along);
 * - watch (?watch=true|1): newline-delimited `{type, object}` events, replay after a given
 *   resourceVersion from a bounded history, an `ERROR` event with a 410 Expired Status when the
 *   version is older than that history; label selectors (=, ==, !=, in, notin, exists, !exists)
 *   and fieldSelector metadata.name / metadata.namespace on list and watch;
 * - server-managed metadata (uid, creationTimestamp, generation bumped on spec changes, a global
 *   resourceVersion), spec.replicas defaulted to 1, status ignored on the main resource of kinds
 *   with a status subresource, zero status counts omitted; LIST items carry no kind/apiVersion;
 *   errors are `Status` objects.
 * - an optional controller that marks Deployments/StatefulSets fully ready ~20 ms after a change.
 *
 * DOES NOT FAKE: TLS, authentication and authorization (any or no token is accepted), admission
 * and schema validation, ReplicaSets/Pods/garbage collection or any other controller, finalizers
 * and graceful deletion (deletes are immediate), server-side apply (415), strategic-merge list
 * merging (lists are replaced), deletecollection, dry-run, consistent snapshots across list pages
 * and expired continue tokens, Table output, protobuf, aggregated discovery, OpenAPI (404), the legacy /api/v1/watch/ paths,
 * and watch events for objects leaving a label selector. Watch history is global, not per type.
 */
 
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";

export type KubeKind = "Namespace" | "Deployment" | "StatefulSet" | "Pod" | "Service" | "ConfigMap" | "Secret" | "PersistentVolumeClaim" | "Ingress" | "Job" | "ResourceQuota";
export interface RecordedKubeRequest { method: string; path: string; query: Record<string, string>; contentType?: string; body?: unknown }
export interface KubeApiDouble {
  url: string;
  kubeconfigPath: string;
  requests: RecordedKubeRequest[];
  /** A copy of the stored object, or undefined. */
  get(kind: KubeKind, namespace: string | undefined, name: string): any;
  list(kind: KubeKind, namespace?: string): any[];
  /** Create or replace an object from a test; emits ADDED/MODIFIED watch events. Returns the stored object. */
  put(obj: any): any;
  /** Deep-merge into .status (like the status subresource), bump resourceVersion, emit MODIFIED. */
  patchStatus(kind: KubeKind, namespace: string, name: string, status: Record<string, unknown>): void;
  remove(kind: KubeKind, namespace: string, name: string): void;
  /** Makes the next N requests matching method+path regex answer with this HTTP status (for informer-restart tests). */
  failNext(method: string, pathPattern: RegExp, status: number, count?: number): void;
  /** Ends every open watch stream (like an API server restart); informers must reconnect. "destroy" resets the connections instead. */
  dropWatches(how?: "end" | "destroy"): void;
  /** Simulated controller: "ready" (default) marks Deployments/StatefulSets ready ~20 ms after create/update/scale; "manual" leaves status to patchStatus. */
  setController(mode: "ready" | "manual"): void;
  close(): Promise<void>;
}
export interface KubeApiDoubleOptions { /** Watch events kept for replay; older resourceVersions get 410 Expired. */ historyLimit?: number }

interface ResourceType { kind: KubeKind; plural: string; group: string; namespaced: boolean; shortNames: string[]; status: boolean; generation: boolean; scale: boolean }
function resourceType(kind: KubeKind, plural: string, group: string, namespaced: boolean, shortNames: string[], flags = ""): ResourceType {
  return { kind, plural, group, namespaced, shortNames, status: flags.includes("status"), generation: flags.includes("generation"), scale: flags.includes("scale") };
}
const TYPES: ResourceType[] = [
  resourceType("Namespace", "namespaces", "", false, ["ns"], "status"),
  resourceType("Pod", "pods", "", true, ["po"], "status"),
  resourceType("Service", "services", "", true, ["svc"], "status"),
  resourceType("ConfigMap", "configmaps", "", true, ["cm"]),
  resourceType("Secret", "secrets", "", true, []),
  resourceType("PersistentVolumeClaim", "persistentvolumeclaims", "", true, ["pvc"], "status"),
  resourceType("ResourceQuota", "resourcequotas", "", true, ["quota"], "status"),
  resourceType("Deployment", "deployments", "apps", true, ["deploy"], "status generation scale"),
  resourceType("StatefulSet", "statefulsets", "apps", true, ["sts"], "status generation scale"),
  resourceType("Ingress", "ingresses", "networking.k8s.io", true, ["ing"], "status generation"),
  resourceType("Job", "jobs", "batch", true, [], "status generation"),
];
const NAMESPACE = TYPES[0]!;
const OMIT_ZERO: Partial<Record<KubeKind, string[]>> = {
  Deployment: ["observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas", "terminatingReplicas"],
  StatefulSet: ["observedGeneration", "readyReplicas", "currentReplicas", "updatedReplicas"],
};
const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/v1` : "v1");
const qualified = (t: ResourceType): string => (t.group ? `${t.plural}.${t.group}` : t.plural);
const keyOf = (kind: string, ns: string | undefined, name: string): string => `${kind}/${ns ?? ""}/${name}`;
const clone = <T>(value: T): T => structuredClone(value);
const isObject = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);
function typeOfKind(kind: unknown): ResourceType {
  const type = TYPES.find((t) => t.kind === kind);
  if (!type) throw new Error(`kube-api-double: unsupported kind ${String(kind)}`);
  return type;
}

class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: object | undefined;
  constructor(code: number, reason: string, message: string, details?: object) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}
const badRequest = (message: string): ApiError => new ApiError(400, "BadRequest", message);
const notFound = (t: ResourceType, name: string): ApiError =>
  new ApiError(404, "NotFound", `${qualified(t)} "${name}" not found`, { name, group: t.group, kind: t.plural });
const REASONS: Record<number, string> = { 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout" };
function statusBody(code: number, reason: string, message: string, details?: object): object {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code };
}

function normalize(type: ResourceType, obj: any): void {
  if (type.kind === "Deployment" || type.kind === "StatefulSet") obj.spec = { ...obj.spec, replicas: obj.spec?.replicas ?? 1 };
  if (type.kind === "Namespace") {
    obj.metadata.labels = { ...obj.metadata.labels, "kubernetes.io/metadata.name": obj.metadata.name };
    obj.spec ??= { finalizers: ["kubernetes"] };
    obj.status = { phase: "Active", ...obj.status };
  }
  if (type.status) obj.status ??= {};
  for (const field of OMIT_ZERO[type.kind] ?? []) if (obj.status[field] === 0) delete obj.status[field];
  if (type.kind === "StatefulSet") obj.status = { replicas: 0, availableReplicas: 0, ...obj.status };
}

function readyStatus(type: ResourceType, obj: any): Record<string, unknown> {
  const n: number = obj.spec.replicas;
  const counts = { observedGeneration: obj.metadata.generation, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n };
  if (type.kind === "StatefulSet") return { ...counts, currentReplicas: n, currentRevision: `${obj.metadata.name}-1`, updateRevision: `${obj.metadata.name}-1` };
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const condition = (t: string, reason: string, message: string): object => ({ type: t, status: "True", reason, message, lastUpdateTime: now, lastTransitionTime: now });
  return { ...counts, conditions: [
    condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability."),
    condition("Progressing", "NewReplicaSetAvailable", `ReplicaSet "${obj.metadata.name}" has successfully progressed.`),
  ] };
}

interface StoredEvent { rv: number; type: "ADDED" | "MODIFIED" | "DELETED"; object: any }
interface Watcher { res: ServerResponse; matches: (obj: any) => boolean }

/** Objects, resourceVersions, watch history and watchers: the etcd + watch cache of the double. */
class ApiState {
  private rv = 1;
  private compactedRv = 1;
  private readonly objects = new Map<string, any>();
  private readonly history: StoredEvent[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly watchers = new Set<Watcher>();
  controller: "ready" | "manual" = "ready";
  private readonly historyLimit: number;
  constructor(historyLimit: number) { this.historyLimit = historyLimit; }

  get resourceVersion(): string { return String(this.rv); }
  find(type: ResourceType, ns: string | undefined, name: string): any { return this.objects.get(keyOf(type.kind, ns, name)); }
  all(type: ResourceType, ns?: string): any[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === type.kind && (ns === undefined || o.metadata.namespace === ns))
      .sort((a, b) => keyOf("", a.metadata.namespace, a.metadata.name).localeCompare(keyOf("", b.metadata.namespace, b.metadata.name)));
  }
  ensureNamespace(name: string): void {
    if (!this.find(NAMESPACE, undefined, name)) this.commit(NAMESPACE, { metadata: { name } }, undefined);
  }

  /** Stores `obj` (a new copy owned by the state) with server-managed metadata and emits a watch event. */
  commit(type: ResourceType, obj: any, prev: any, runController = true): any {
    const rv = ++this.rv;
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    const meta = obj.metadata;
    if (!type.namespaced) delete meta.namespace;
    normalize(type, obj);
    meta.uid = prev?.metadata.uid ?? randomUUID();
    meta.creationTimestamp = prev?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, "Z");
    if (type.generation) meta.generation = prev ? prev.metadata.generation + (isDeepStrictEqual(prev.spec, obj.spec) ? 0 : 1) : 1;
    else delete meta.generation;
    meta.resourceVersion = String(rv);
    this.objects.set(keyOf(type.kind, meta.namespace, meta.name), obj);
    this.emit({ rv, type: prev ? "MODIFIED" : "ADDED", object: obj });
    if (runController) this.scheduleController(type, meta.namespace, meta.name);
    return obj;
  }

  delete(type: ResourceType, obj: any): void {
    if (type.kind === "Namespace") {
      for (const o of [...this.objects.values()]) if (o.metadata.namespace === obj.metadata.name) this.delete(typeOfKind(o.kind), o);
    }
    const rv = ++this.rv;
    this.objects.delete(keyOf(type.kind, obj.metadata.namespace, obj.metadata.name));
    this.emit({ rv, type: "DELETED", object: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } } });
  }

  /** Events after `from`, or "expired" when the history no longer reaches back that far. */
  eventsSince(from: number): StoredEvent[] | "expired" {
    if (from < this.compactedRv) return "expired";
    return this.history.filter((e) => e.rv > from);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private emit(event: StoredEvent): void {
    const stored = { ...event, object: clone(event.object) };
    this.history.push(stored);
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const w of this.watchers) if (w.matches(stored.object)) writeEvent(w.res, stored);
  }

  private scheduleController(type: ResourceType, ns: string | undefined, name: string): void {
    if (this.controller !== "ready" || !type.scale) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const prev = this.find(type, ns, name);
      if (!prev || this.controller !== "ready") return;
      const next = clone(prev);
      next.status = { ...prev.status, ...readyStatus(type, prev) };
      this.commit(type, next, prev, false);
    }, 20);
    this.timers.add(timer);
  }
}

function writeEvent(res: ServerResponse, event: { type: string; object: unknown }): void {
  res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
}

// ---- patches and selectors -------------------------------------------------------------------

function mergePatch(target: unknown, patch: unknown): any {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, any> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function jsonPatch(doc: any, ops: unknown): any {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  const invalid = (op: any): ApiError => new ApiError(422, "Invalid", `json patch ${String(op?.op)} operation failed at ${String(op?.path)}`);
  const pointer = (p: unknown): string[] => {
    if (p === "") return [];
    if (typeof p !== "string" || !p.startsWith("/")) throw badRequest(`invalid json pointer ${String(p)}`);
    return p.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  };
  const parentOf = (root: any, path: string[], op: unknown): [any, string] => {
    let node = root;
    for (const seg of path.slice(0, -1)) node = node?.[seg];
    if (typeof node !== "object" || node === null) throw invalid(op);
    return [node, path.at(-1)!];
  };
  const getAt = (root: any, path: string[], op: unknown): any => {
    const value = path.reduce((node, seg) => node?.[seg], root);
    if (value === undefined) throw invalid(op);
    return value;
  };
  const setAt = (root: any, path: string[], value: unknown, mode: "add" | "replace", op: unknown): any => {
    if (path.length === 0) return value;
    const [parent, last] = parentOf(root, path, op);
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length - (mode === "replace" ? 1 : 0)) throw invalid(op);
      parent.splice(i, mode === "replace" ? 1 : 0, value);
    } else {
      if (mode === "replace" && !(last in parent)) throw invalid(op);
      parent[last] = value;
    }
    return root;
  };
  const removeAt = (root: any, path: string[], op: unknown): any => {
    const [parent, last] = parentOf(root, path, op);
    if (!(last in parent)) throw invalid(op);
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
    return root;
  };
  for (const op of ops) {
    const path = pointer(op?.path);
    switch (op?.op) {
      case "add": doc = setAt(doc, path, clone(op.value), "add", op); break;
      case "replace": doc = setAt(doc, path, clone(op.value), "replace", op); break;
      case "remove": doc = removeAt(doc, path, op); break;
      case "test": if (!isDeepStrictEqual(getAt(doc, path, op), op.value)) throw invalid(op); break;
      case "move": { const from = pointer(op.from); const v = getAt(doc, from, op); doc = setAt(removeAt(doc, from, op), path, v, "add", op); break; }
      case "copy": doc = setAt(doc, path, clone(getAt(doc, pointer(op.from), op)), "add", op); break;
      default: throw badRequest(`unknown json patch operation ${String(op?.op)}`);
    }
  }
  return doc;
}

function applyPatch(doc: any, patch: unknown, contentType: string | undefined): any {
  if (contentType === "application/json-patch+json") return jsonPatch(doc, patch);
  if (contentType === "application/merge-patch+json" || contentType === "application/strategic-merge-patch+json") {
    if (!isObject(patch)) throw badRequest("a merge patch must be a JSON object");
    return mergePatch(doc, patch);
  }
  throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${String(contentType)}; server-side apply is not faked)`);
}

function labelMatcher(selector: string | undefined): (labels: Record<string, string> | undefined) => boolean {
  if (!selector?.trim()) return () => true;
  const tests = selector.split(/,(?![^(]*\))/).map((raw) => {
    const req = raw.trim();
    let m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(req);
    if (m) {
      const [, key, op, values] = m as unknown as [string, string, string, string];
      const set = values.split(",").map((v) => v.trim());
      return (l: Record<string, string>) => (op === "in" ? key in l && set.includes(l[key]!) : !(key in l) || !set.includes(l[key]!));
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(req);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return (l: Record<string, string>) => (op === "!=" ? l[key] !== value : l[key] === value);
    }
    const exists = /^(!?)([\w./-]+)$/.exec(req);
    if (exists) {
      const [, not, key] = exists as unknown as [string, string, string];
      return (l: Record<string, string>) => (not === "!") !== key in l;
    }
    throw badRequest(`unable to parse requirement: ${req}`);
  });
  return (labels) => tests.every((t) => t(labels ?? {}));
}

function fieldMatcher(selector: string | undefined): (obj: any) => boolean {
  if (!selector?.trim()) return () => true;
  const tests = selector.split(",").map((raw) => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(raw.trim());
    if (!m) throw badRequest(`field label not supported: ${raw.trim()}`);
    const [, field, op, value] = m as unknown as [string, "metadata.name" | "metadata.namespace", string, string];
    const prop = field === "metadata.name" ? "name" : "namespace";
    return (obj: any) => (op === "!=") !== (obj.metadata[prop] === value);
  });
  return (obj) => tests.every((t) => t(obj));
}

// ---- discovery -------------------------------------------------------------------------------

function resourceEntries(t: ResourceType): object[] {
  const verbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
  const sub = (name: string, extra: object): object => ({ name: `${t.plural}/${name}`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: ["get", "patch", "update"], ...extra });
  return [
    { name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs, ...(t.shortNames.length ? { shortNames: t.shortNames } : {}) },
    ...(t.status ? [sub("status", {})] : []),
    ...(t.scale ? [sub("scale", { group: "autoscaling", version: "v1", kind: "Scale" })] : []),
  ];
}

function discovery(path: string, port: number): object | undefined {
  if (path === "/version") {
    return { major: "1", minor: "32", gitVersion: "v1.32.0-kube-api-double", gitCommit: "0000000000000000000000000000000000000000", gitTreeState: "clean", buildDate: "2026-01-01T00:00:00Z", goVersion: "go1.23.0", compiler: "gc", platform: "linux/amd64" };
  }
  if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: `127.0.0.1:${port}` }] };
  const groups = [...new Set(TYPES.map((t) => t.group).filter(Boolean))];
  const apiGroup = (name: string): object => {
    const version = { groupVersion: `${name}/v1`, version: "v1" };
    return { name, versions: [version], preferredVersion: version };
  };
  if (path === "/apis") return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(apiGroup) };
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group && groups.includes(group)) return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group) };
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1)$/.exec(path);
  const types = m ? TYPES.filter((t) => t.group === (m[1] ?? "")) : [];
  if (!m || types.length === 0) return undefined;
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: m[1] ? `${m[1]}/v1` : "v1", resources: types.flatMap(resourceEntries) };
}

// ---- resource handlers -----------------------------------------------------------------------

interface Call { method: string; type: ResourceType; ns: string | undefined; name: string | undefined; sub: string | undefined; query: Record<string, string>; body: unknown; contentType: string | undefined }
const RESOURCE_PATH = /^\/(?:api\/v1|apis\/([^/]+)\/v1)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

function resolveResource(path: string): Pick<Call, "type" | "ns" | "name" | "sub"> | undefined {
  const m = RESOURCE_PATH.exec(path);
  if (!m) return undefined;
  const [, group = "", ns, plural, name, sub] = m;
  const type = TYPES.find((t) => t.group === group && t.plural === plural);
  if (!type || (type.namespaced ? ns === undefined && name !== undefined : ns !== undefined)) return undefined;
  return { type, ns: ns && decodeURIComponent(ns), name: name && decodeURIComponent(name), sub };
}

const methodNotAllowed = (c: Call): ApiError => new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${c.method})`);

function objectMatcher(c: Call): (obj: any) => boolean {
  const labels = labelMatcher(c.query.labelSelector);
  const fields = fieldMatcher(c.query.fieldSelector);
  return (obj) => obj.kind === c.type.kind && (c.ns === undefined || obj.metadata.namespace === c.ns) && labels(obj.metadata.labels) && fields(obj);
}

function checkVersion(type: ResourceType, prev: any, rv: unknown): void {
  if (rv === undefined || rv === "" || rv === prev.metadata.resourceVersion) return;
  throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(type)} "${prev.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: prev.metadata.name, group: type.group, kind: type.plural });
}

function create(state: ApiState, c: Call): any {
  const obj = clone(c.body) as any;
  if (!isObject(obj)) throw badRequest("the body of the request must be a JSON object");
  if (obj.kind !== undefined && obj.kind !== c.type.kind) throw badRequest(`the kind of the object (${String(obj.kind)}) does not match the resource (${c.type.kind})`);
  const meta = (obj.metadata = isObject(obj.metadata) ? obj.metadata : {});
  if (meta.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
  if (c.type.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== c.ns) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (!state.find(NAMESPACE, undefined, c.ns!)) throw new ApiError(404, "NotFound", `namespaces "${c.ns}" not found`, { name: c.ns, kind: "namespaces" });
    meta.namespace = c.ns;
  }
  if (!meta.name && typeof meta.generateName === "string") meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
  if (typeof meta.name !== "string" || !meta.name) throw new ApiError(422, "Invalid", `${c.type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
  if (state.find(c.type, c.ns, meta.name)) {
    throw new ApiError(409, "AlreadyExists", `${qualified(c.type)} "${meta.name}" already exists`, { name: meta.name, group: c.type.group, kind: c.type.plural });
  }
  if (c.type.status && c.type.kind !== "Namespace") obj.status = {};
  return state.commit(c.type, obj, undefined);
}

function update(state: ApiState, type: ResourceType, prev: any, next: unknown): any {
  if (!isObject(next) || !isObject(next.metadata)) throw badRequest("the body of the request must be an object with metadata");
  if (next.metadata.name !== prev.metadata.name) throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${prev.metadata.name})`);
  if (type.namespaced && next.metadata.namespace !== undefined && next.metadata.namespace !== prev.metadata.namespace) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  checkVersion(type, prev, next.metadata.resourceVersion);
  const obj = clone(next);
  obj.metadata.namespace = prev.metadata.namespace;
  if (type.status) obj.status = clone(prev.status);
  return state.commit(type, obj, prev);
}

function scaleOf(obj: any): object {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  const selector = Object.entries(obj.spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(",");
  return {
    kind: "Scale", apiVersion: "autoscaling/v1", metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: obj.spec.replicas ? { replicas: obj.spec.replicas } : {},
    status: { replicas: obj.status?.replicas ?? 0, ...(selector ? { selector } : {}) },
  };
}

function handleSubresource(state: ApiState, c: Call, prev: any): any {
  const { method, type } = c;
  if (method === "GET") return c.sub === "scale" ? scaleOf(prev) : prev;
  if (method !== "PUT" && method !== "PATCH") throw methodNotAllowed(c);
  const view = c.sub === "scale" ? scaleOf(prev) : clone(prev);
  const changed: any = method === "PUT" ? c.body : applyPatch(view, c.body, c.contentType);
  if (!isObject(changed)) throw badRequest("the body of the request must be a JSON object");
  checkVersion(type, prev, changed.metadata?.resourceVersion);
  const next = clone(prev);
  if (c.sub === "status") {
    next.status = clone(changed.status);
    return state.commit(type, next, prev, false);
  }
  const replicas: unknown = changed.spec?.replicas ?? 0;
  if (!Number.isInteger(replicas) || (replicas as number) < 0) throw new ApiError(422, "Invalid", `Scale.autoscaling "${prev.metadata.name}" is invalid: spec.replicas: Invalid value: ${String(replicas)}`);
  next.spec.replicas = replicas;
  return scaleOf(state.commit(type, next, prev));
}

function remove(state: ApiState, type: ResourceType, prev: any): object {
  state.delete(type, prev);
  if (type.kind === "Pod") return prev;
  if (type.kind === "Namespace") return { ...prev, metadata: { ...prev.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z") }, status: { phase: "Terminating" } };
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name: prev.metadata.name, group: type.group, kind: type.plural, uid: prev.metadata.uid } };
}

function startWatch(state: ApiState, c: Call, res: ServerResponse): void {
  const matches = objectMatcher(c);
  const rv = c.query.resourceVersion;
  let backlog: Pick<StoredEvent, "type" | "object">[] | "expired";
  if (!rv || rv === "0") backlog = state.all(c.type, c.ns).filter(matches).map((object) => ({ type: "ADDED", object }));
  else {
    if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${rv}`);
    const events = state.eventsSince(Number(rv));
    backlog = events === "expired" ? events : events.filter((e) => matches(e.object));
  }
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
  if (backlog === "expired") {
    writeEvent(res, { type: "ERROR", object: statusBody(410, "Expired", `too old resource version: ${rv}`) });
    res.end();
    return;
  }
  res.flushHeaders();
  for (const event of backlog) writeEvent(res, event);
  const watcher: Watcher = { res, matches };
  state.watchers.add(watcher);
  const seconds = Number(c.query.timeoutSeconds);
  const timer = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
  res.on("close", () => {
    state.watchers.delete(watcher);
    clearTimeout(timer);
  });
}

/**
 * `limit` and `continue`: pages in key order (namespace/name). The continue token holds the
 * first page's resourceVersion and the last key served; a continued page lists the objects as
 * they are now, where a real server serves the snapshot of the first page (and expires tokens).
 */
function listPage(all: any[], query: Record<string, string>, resourceVersion: string): { items: any[]; metadata: Record<string, unknown> } {
  const limit = query.limit ? Number(query.limit) : 0;
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${query.limit}`);
  let rv = resourceVersion;
  let from = 0;
  if (query.continue) {
    let token: { rv: string; after: string };
    try {
      token = JSON.parse(Buffer.from(query.continue, "base64url").toString("utf8")) as { rv: string; after: string };
    } catch {
      throw badRequest("continue key is not valid");
    }
    rv = token.rv;
    from = all.findIndex((o) => keyOf("", o.metadata.namespace, o.metadata.name).localeCompare(token.after) > 0);
    if (from < 0) from = all.length;
  }
  const items = limit > 0 ? all.slice(from, from + limit) : all.slice(from);
  const rest = all.length - from - items.length;
  if (limit === 0 || rest <= 0) return { items, metadata: { resourceVersion: rv } };
  const last = items.at(-1);
  const token = Buffer.from(JSON.stringify({ rv, after: keyOf("", last.metadata.namespace, last.metadata.name) })).toString("base64url");
  return { items, metadata: { resourceVersion: rv, continue: token, remainingItemCount: rest } };
}

/** Answers one resource request; returns [status, body], or undefined once a watch stream has started. */
function handleResource(state: ApiState, c: Call, res: ServerResponse): [number, unknown] | undefined {
  const { method, type, name } = c;
  if (name === undefined) {
    if (method === "GET" && (c.query.watch === "true" || c.query.watch === "1")) {
      startWatch(state, c, res);
      return undefined;
    }
    if (method === "GET") {
      const { items, metadata } = listPage(state.all(type, c.ns).filter(objectMatcher(c)), c.query, state.resourceVersion);
      return [200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items: items.map(({ kind: _k, apiVersion: _a, ...item }) => item) }];
    }
    if (method === "POST" && (c.ns !== undefined || !type.namespaced)) return [201, create(state, c)];
    throw methodNotAllowed(c);
  }
  const prev = state.find(type, c.ns, name);
  if (c.sub === undefined) {
    if (!["GET", "PUT", "PATCH", "DELETE"].includes(method)) throw methodNotAllowed(c);
    if (!prev) throw notFound(type, name);
    if (method === "GET") return [200, prev];
    if (method === "DELETE") return [200, remove(state, type, prev)];
    return [200, update(state, type, prev, method === "PUT" ? c.body : applyPatch(clone(prev), c.body, c.contentType))];
  }
  if ((c.sub === "status" && type.status) || (c.sub === "scale" && type.scale)) {
    if (!prev) throw notFound(type, name);
    return [200, handleSubresource(state, c, prev)];
  }
  throw new ApiError(404, "NotFound", "the server could not find the requested resource");
}

// ---- server ----------------------------------------------------------------------------------

function reply(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function kubeconfigYaml(url: string): string {
  return [
    "apiVersion: v1", "kind: Config", "preferences: {}", "current-context: kube-api-double",
    "clusters:", "- name: kube-api-double", "  cluster:", `    server: ${url}`, "    insecure-skip-tls-verify: true",
    "users:", "- name: kube-api-double", "  user:", "    token: kube-api-double-token",
    "contexts:", "- name: kube-api-double", "  context:", "    cluster: kube-api-double", "    user: kube-api-double", "    namespace: default", "",
  ].join("\n");
}

export async function startKubeApiDouble(options: KubeApiDoubleOptions = {}): Promise<KubeApiDouble> {
  const state = new ApiState(options.historyLimit ?? 1000);
  const requests: RecordedKubeRequest[] = [];
  const failures: { method: string; pattern: RegExp; status: number; remaining: number }[] = [];
  let port = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const body = await readBody(req);
    const contentType = req.headers["content-type"]?.split(";")[0]?.trim();
    const query = Object.fromEntries(url.searchParams);
    requests.push({ method, path: url.pathname, query, ...(contentType ? { contentType } : {}), ...(body !== undefined ? { body } : {}) });
    const failure = failures.find((f) => f.remaining > 0 && f.method === method && ((f.pattern.lastIndex = 0), f.pattern.test(url.pathname)));
    if (failure) {
      failure.remaining -= 1;
      return reply(res, failure.status, statusBody(failure.status, REASONS[failure.status] ?? "Unknown", `injected failure: failNext(${method}, ${String(failure.pattern)})`));
    }
    try {
      const doc = discovery(url.pathname, port);
      if (doc && method !== "GET") throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
      if (doc) return reply(res, 200, doc);
      const target = resolveResource(url.pathname);
      if (!target) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      const answer = handleResource(state, { ...target, method, query, body, contentType }, res);
      if (answer) reply(res, answer[0], answer[1]);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      reply(res, err.code, statusBody(err.code, err.reason, err.message, err.details));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else reply(res, 500, statusBody(500, "InternalError", `kube-api-double: ${String(err)}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), "kube-api-double-"));
  const kubeconfigPath = join(dir, "kubeconfig");
  await writeFile(kubeconfigPath, kubeconfigYaml(url));

  const find = (kind: KubeKind, ns: string | undefined, name: string): [ResourceType, any] => {
    const type = typeOfKind(kind);
    return [type, state.find(type, type.namespaced ? ns : undefined, name)];
  };
  return {
    url,
    kubeconfigPath,
    requests,
    get: (kind, ns, name) => clone(find(kind, ns, name)[1]),
    list: (kind, ns) => state.all(typeOfKind(kind), ns).map(clone),
    put(obj) {
      const type = typeOfKind(obj?.kind);
      const next = clone(obj);
      next.metadata = { ...next.metadata };
      const ns: string | undefined = type.namespaced ? next.metadata.namespace : undefined;
      if (typeof next.metadata.name !== "string") throw new Error("kube-api-double put: metadata.name is required");
      if (type.namespaced && !ns) throw new Error(`kube-api-double put: metadata.namespace is required for a ${type.kind}`);
      if (ns) state.ensureNamespace(ns);
      return clone(state.commit(type, next, state.find(type, ns, next.metadata.name)));
    },
    patchStatus(kind, ns, name, status) {
      const [type, prev] = find(kind, ns, name);
      if (!prev) throw new Error(`kube-api-double patchStatus: no ${kind} ${ns}/${name}`);
      const next = clone(prev);
      next.status = mergePatch(prev.status ?? {}, status);
      state.commit(type, next, prev, false);
    },
    remove(kind, ns, name) {
      const [type, prev] = find(kind, ns, name);
      if (prev) state.delete(type, prev);
    },
    failNext(method, pathPattern, status, count = 1) {
      failures.push({ method: method.toUpperCase(), pattern: pathPattern, status, remaining: count });
    },
    dropWatches(how = "end") {
      for (const watcher of [...state.watchers]) {
        state.watchers.delete(watcher);
        if (how === "destroy") watcher.res.destroy();
        else watcher.res.end();
      }
    },
    setController(mode) {
      state.controller = mode;
    },
    async close() {
      state.close();
      for (const watcher of state.watchers) watcher.res.destroy();
      state.watchers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
