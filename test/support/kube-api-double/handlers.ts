/** Discovery and the REST handlers of the double: list, get, create, update, patch, delete, deletecollection, watch and subresources. */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { applyPatch, fieldMatcher, labelMatcher } from "./patch.ts";
import { levelString, namespacePodSecurity, podSecurityViolations, violatesMessage, wouldViolateMessage } from "./pod-security.ts";
import type { Tokens, UserInfo } from "./rbac.ts";
import { checkEscalation, validateRbacObject } from "./rbac.ts";
import type { ApiState, StoredEvent, Watcher } from "./state.ts";
import { eventFor, writeEvent } from "./state.ts";
import type { ResourceType } from "./types.ts";
import { ApiError, apiVersionOf, badRequest, clone, finalizersOf, forbidden, invalid, isObject, keyOf, NAMESPACE, notFound, PVC_PROTECTION, qualified, statusBody, TYPES } from "./types.ts";

// ---- discovery -------------------------------------------------------------------------------

function resourceEntries(t: ResourceType): object[] {
  const verbs = ["create", "delete", ...(t.kind === "Namespace" ? [] : ["deletecollection"]), "get", "list", "patch", "update", "watch"];
  const sub = (name: string, extra: object): object => ({ name: `${t.plural}/${name}`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: ["get", "patch", "update"], ...extra });
  return [
    { name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs, ...(t.shortNames.length ? { shortNames: t.shortNames } : {}) },
    ...(t.kind === "Namespace" ? [sub("finalize", { verbs: ["update"] })] : []),
    ...(t.status ? [sub("status", {})] : []),
    ...(t.scale ? [sub("scale", { group: "autoscaling", version: "v1", kind: "Scale" })] : []),
    ...(t.kind === "ServiceAccount" ? [sub("token", { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: ["create"] })] : []),
  ];
}

export function discovery(path: string, port: number): object | undefined {
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

// ---- requests --------------------------------------------------------------------------------

export interface Call {
  method: string;
  type: ResourceType;
  ns: string | undefined;
  name: string | undefined;
  sub: string | undefined;
  query: Record<string, string>;
  body: unknown;
  contentType: string | undefined;
  /** The authenticated (or impersonated) user; undefined when RBAC is off. */
  user: UserInfo | undefined;
  tokens: Tokens;
  /** Warning headers for the answer (Pod Security "would violate ..."). */
  warnings: string[];
}
const RESOURCE_PATH = /^\/(?:api\/v1|apis\/([^/]+)\/v1)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

export function resolveResource(path: string): Pick<Call, "type" | "ns" | "name" | "sub"> | undefined {
  const nsSub = /^\/api\/v1\/namespaces\/([^/]+)\/(status|finalize)$/.exec(path);
  if (nsSub) return { type: NAMESPACE, ns: undefined, name: decodeURIComponent(nsSub[1]!), sub: nsSub[2] };
  const m = RESOURCE_PATH.exec(path);
  if (!m) return undefined;
  const [, group = "", ns, plural, name, sub] = m;
  const type = TYPES.find((t) => t.group === group && t.plural === plural);
  if (!type || (type.namespaced ? ns === undefined && name !== undefined : ns !== undefined)) return undefined;
  return { type, ns: ns && decodeURIComponent(ns), name: name && decodeURIComponent(name), sub };
}

const methodNotAllowed = (c: Call): ApiError => new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${c.method})`);

function objectMatcher(c: Pick<Call, "type" | "ns" | "query">): (obj: any) => boolean {
  const labels = labelMatcher(c.query.labelSelector);
  const fields = fieldMatcher(c.query.fieldSelector);
  return (obj) => obj.kind === c.type.kind && (c.ns === undefined || obj.metadata.namespace === c.ns) && labels(obj.metadata.labels) && fields(obj);
}

function checkVersion(type: ResourceType, prev: any, rv: unknown): void {
  if (rv === undefined || rv === "" || rv === prev.metadata.resourceVersion) return;
  throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(type)} "${prev.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: prev.metadata.name, group: type.group, kind: type.plural });
}

// ---- admission -------------------------------------------------------------------------------

const POD_CONTROLLERS = new Set(["Deployment", "StatefulSet", "Job"]);

/**
 * Pod Security admission: a Pod violating the namespace's enforce level is refused (and
 * recorded); Pods and pod controllers violating its warn level (enforce by default) get a
 * "would violate PodSecurity" warning, as the built-in plugin answers.
 */
function admitPodSecurity(state: ApiState, c: Call, obj: any, prev: any): void {
  const isPod = c.type.kind === "Pod";
  if (!isPod && !POD_CONTROLLERS.has(c.type.kind)) return;
  if (prev && (isPod || isDeepStrictEqual(prev.spec?.template, obj.spec?.template))) return;
  const spec: unknown = isPod ? obj.spec : obj.spec?.template?.spec;
  const policy = namespacePodSecurity(state.find(NAMESPACE, undefined, obj.metadata.namespace)?.metadata.labels);
  const refused = isPod ? podSecurityViolations(policy.enforce.level, spec) : [];
  // The plugin warns at the warn level, unless that is the enforce level that refuses the pod anyway.
  if (!refused.length || !isDeepStrictEqual(policy.warn, policy.enforce)) {
    const violations = podSecurityViolations(policy.warn.level, spec);
    if (violations.length) c.warnings.push(wouldViolateMessage(policy.warn, violations));
  }
  if (!refused.length) return;
  const err = forbidden("", "pods", obj.metadata.name, violatesMessage(policy.enforce, refused));
  state.podSecurityDenials.push({ namespace: obj.metadata.namespace, name: obj.metadata.name, level: levelString(policy.enforce), violations: refused, message: err.message, source: "api" });
  throw err;
}

// ---- handlers --------------------------------------------------------------------------------

function create(state: ApiState, c: Call): any {
  const obj = clone(c.body) as any;
  if (!isObject(obj)) throw badRequest("the body of the request must be a JSON object");
  if (obj.kind !== undefined && obj.kind !== c.type.kind) throw badRequest(`the kind of the object (${String(obj.kind)}) does not match the resource (${c.type.kind})`);
  const meta = (obj.metadata = isObject(obj.metadata) ? obj.metadata : {});
  if (meta.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  if (c.type.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== c.ns) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (!state.find(NAMESPACE, undefined, c.ns!)) throw new ApiError(404, "NotFound", `namespaces "${c.ns}" not found`, { name: c.ns, kind: "namespaces" });
    meta.namespace = c.ns;
  }
  if (!meta.name && typeof meta.generateName === "string") meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
  if (typeof meta.name !== "string" || !meta.name) throw new ApiError(422, "Invalid", `${c.type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
  // NamespaceLifecycle admission: nothing new in a namespace that is being terminated.
  if (c.type.namespaced && state.isTerminating(c.ns)) {
    throw forbidden(c.type.group, c.type.plural, meta.name, `unable to create new content in namespace ${c.ns} because it is being terminated`, [
      { reason: "NamespaceTerminating", message: `namespace ${c.ns} is being terminated`, field: "metadata.namespace" },
    ]);
  }
  // StorageObjectInUseProtection admission.
  if (c.type.kind === "PersistentVolumeClaim" && !finalizersOf(obj).includes(PVC_PROTECTION)) meta.finalizers = [...finalizersOf(obj), PVC_PROTECTION];
  admitPodSecurity(state, c, obj, undefined);
  admitRbac(state, c, obj, undefined);
  if (state.find(c.type, c.ns, meta.name)) {
    throw new ApiError(409, "AlreadyExists", `${qualified(c.type)} "${meta.name}" already exists`, { name: meta.name, group: c.type.group, kind: c.type.plural });
  }
  if (c.type.status && c.type.kind !== "Namespace") obj.status = {};
  if (c.type.kind === "Namespace") {
    // The registry starts every namespace Active with the "kubernetes" finalizer (and any others asked for).
    const asked: unknown = obj.spec?.finalizers;
    const finalizers = Array.isArray(asked) ? asked.filter((f): f is string => typeof f === "string") : [];
    obj.spec = { ...obj.spec, finalizers: finalizers.includes("kubernetes") ? finalizers : [...finalizers, "kubernetes"] };
    obj.status = { phase: "Active" };
  }
  return state.commit(c.type, obj, undefined);
}

function admitRbac(state: ApiState, c: Call, obj: any, prev: any): void {
  if (!["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].includes(c.type.kind)) return;
  const problem = validateRbacObject(c.type.kind, obj, prev);
  if (problem) {
    const [field, ...rest] = problem.split(": ");
    throw invalid(c.type, obj.metadata.name, field!, rest.join(": "));
  }
  if (c.user) checkEscalation(state, c.user, c.type.kind, obj, c.ns ?? "");
}

function update(state: ApiState, c: Call, prev: any, next: unknown): any {
  const { type } = c;
  if (!isObject(next) || !isObject(next.metadata)) throw badRequest("the body of the request must be an object with metadata");
  if (next.metadata.name !== prev.metadata.name) throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${prev.metadata.name})`);
  if (type.namespaced && next.metadata.namespace !== undefined && next.metadata.namespace !== prev.metadata.namespace) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  checkVersion(type, prev, next.metadata.resourceVersion);
  const obj = clone(next);
  obj.metadata.namespace = prev.metadata.namespace;
  if (type.status) obj.status = clone(prev.status);
  // deletionTimestamp is set by DELETE only, and a deleted object takes no new finalizers.
  delete obj.metadata.deletionTimestamp;
  delete obj.metadata.deletionGracePeriodSeconds;
  if (prev.metadata.deletionTimestamp) {
    obj.metadata.deletionTimestamp = prev.metadata.deletionTimestamp;
    obj.metadata.deletionGracePeriodSeconds = prev.metadata.deletionGracePeriodSeconds;
    const added = finalizersOf(obj).filter((f) => !finalizersOf(prev).includes(f));
    if (added.length) {
      throw invalid(type, prev.metadata.name, "metadata.finalizers", `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(", ")}}`);
    }
  }
  // A namespace's spec.finalizers change through /finalize only.
  if (type.kind === "Namespace") obj.spec = { ...obj.spec, finalizers: clone(prev.spec?.finalizers ?? []) };
  admitPodSecurity(state, c, obj, prev);
  admitRbac(state, c, obj, prev);
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

/** POST serviceaccounts/<name>/token: a TokenRequest for the ServiceAccount. */
function tokenRequest(c: Call, sa: any): object {
  const body = (isObject(c.body) ? c.body : {}) as any;
  const seconds: unknown = body.spec?.expirationSeconds ?? 3600;
  const invalidToken = (detail: string): ApiError =>
    new ApiError(422, "Invalid", `TokenRequest.authentication.k8s.io "${sa.metadata.name}" is invalid: spec.expirationSeconds: Invalid value: ${String(seconds)}: ${detail}`, { name: sa.metadata.name, group: "authentication.k8s.io", kind: "TokenRequest" });
  if (!Number.isInteger(seconds)) throw invalidToken("must be an integer");
  if ((seconds as number) < 600) throw invalidToken("may not specify a duration less than 10 minutes");
  if ((seconds as number) > 2 ** 32) throw invalidToken("may not specify a duration larger than 2^32 seconds");
  const audiences: string[] = Array.isArray(body.spec?.audiences) && body.spec.audiences.length ? body.spec.audiences : ["https://kubernetes.default.svc.cluster.local"];
  const status = c.tokens.issue(c.ns!, sa, seconds as number, audiences);
  return {
    kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1",
    metadata: { name: sa.metadata.name, namespace: c.ns, creationTimestamp: null },
    spec: { audiences, expirationSeconds: seconds, boundObjectRef: body.spec?.boundObjectRef ?? null },
    status,
  };
}

function handleSubresource(state: ApiState, c: Call, prev: any): [number, unknown] {
  const { method, type } = c;
  if (c.sub === "token") {
    if (method !== "POST") throw methodNotAllowed(c);
    return [201, tokenRequest(c, prev)];
  }
  if (c.sub === "finalize") {
    if (method !== "PUT") throw methodNotAllowed(c);
    const body = c.body as any;
    if (!isObject(body)) throw badRequest("the body of the request must be a JSON object");
    checkVersion(type, prev, body.metadata?.resourceVersion);
    const next = clone(prev);
    next.spec = { ...next.spec, finalizers: Array.isArray(body.spec?.finalizers) ? clone(body.spec.finalizers) : [] };
    return [200, state.commit(type, next, prev, false)];
  }
  if (method === "GET") return [200, c.sub === "scale" ? scaleOf(prev) : prev];
  if (method !== "PUT" && method !== "PATCH") throw methodNotAllowed(c);
  const view = c.sub === "scale" ? scaleOf(prev) : clone(prev);
  const changed: any = method === "PUT" ? c.body : applyPatch(view, c.body, c.contentType);
  if (!isObject(changed)) throw badRequest("the body of the request must be a JSON object");
  checkVersion(type, prev, changed.metadata?.resourceVersion);
  const next = clone(prev);
  if (c.sub === "status") {
    next.status = clone(changed.status);
    return [200, state.commit(type, next, prev, false)];
  }
  const replicas: unknown = changed.spec?.replicas ?? 0;
  if (!Number.isInteger(replicas) || (replicas as number) < 0) throw new ApiError(422, "Invalid", `Scale.autoscaling "${prev.metadata.name}" is invalid: spec.replicas: Invalid value: ${String(replicas)}`);
  next.spec.replicas = replicas;
  return [200, scaleOf(state.commit(type, next, prev))];
}

function remove(state: ApiState, type: ResourceType, prev: any): object {
  if (type.kind === "Namespace") {
    const { conflict, object } = state.deleteNamespace(prev);
    if (conflict) {
      throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on namespaces "${prev.metadata.name}": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.`, { name: prev.metadata.name, kind: "namespaces" });
    }
    return object;
  }
  const { gone, object } = state.deleteObject(type, prev);
  if (!gone || type.kind === "Pod") return object;
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
    backlog = events === "expired" ? events : events.flatMap((e) => eventFor(matches, e) ?? []);
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

const withoutTypeMeta = ({ kind: _k, apiVersion: _a, ...item }: any): any => item;

/** Answers one resource request; returns [status, body], or undefined once a watch stream has started. */
export function handleResource(state: ApiState, c: Call, res: ServerResponse): [number, unknown] | undefined {
  const { method, type, name } = c;
  if (name === undefined) {
    if (method === "GET" && (c.query.watch === "true" || c.query.watch === "1")) {
      startWatch(state, c, res);
      return undefined;
    }
    if (method === "GET") {
      const { items, metadata } = listPage(state.all(type, c.ns).filter(objectMatcher(c)), c.query, state.resourceVersion);
      return [200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items: items.map(withoutTypeMeta) }];
    }
    if (method === "POST" && (c.ns !== undefined || !type.namespaced)) return [201, create(state, c)];
    if (method === "DELETE" && type.kind !== "Namespace" && (c.ns !== undefined || !type.namespaced)) {
      const deleted = state.all(type, c.ns).filter(objectMatcher(c)).map((obj) => state.deleteObject(type, obj).object);
      return [200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: state.resourceVersion }, items: deleted.map(withoutTypeMeta) }];
    }
    throw methodNotAllowed(c);
  }
  const prev = state.find(type, c.ns, name);
  if (c.sub === undefined) {
    if (!["GET", "PUT", "PATCH", "DELETE"].includes(method)) throw methodNotAllowed(c);
    if (!prev) throw notFound(type, name);
    if (method === "GET") return [200, prev];
    if (method === "DELETE") return [200, remove(state, type, prev)];
    return [200, update(state, c, prev, method === "PUT" ? c.body : applyPatch(clone(prev), c.body, c.contentType))];
  }
  const known = (c.sub === "status" && type.status) || (c.sub === "scale" && type.scale) || (c.sub === "finalize" && type.kind === "Namespace") || (c.sub === "token" && type.kind === "ServiceAccount");
  if (!known) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  if (!prev) throw notFound(type, name);
  return handleSubresource(state, c, prev);
}

