/**
 * Kubernetes API server double: a node:http server on 127.0.0.1 that speaks enough of the real
 * REST protocol for @kubernetes/client-node and `kubectl --kubeconfig <kubeconfigPath>` to work.
 * The modules are in ./kube-api-double/ (types, patch, state, handlers, rbac, pod-security).
 *
 * FAKES, as a real kube-apiserver does:
 * - discovery (/api, /apis, /api/v1, /apis/<group>/<version>, /version) for namespaces (with
 *   /status and /finalize), pods, services, configmaps, secrets, persistentvolumeclaims,
 *   resourcequotas, serviceaccounts (with /token), limitranges, apps/v1 deployments and
 *   statefulsets (with /scale and /status), networking.k8s.io/v1 ingresses, batch/v1 jobs and
 *   rbac.authorization.k8s.io/v1 roles, rolebindings, clusterroles and clusterrolebindings;
 * - list (namespaced and cluster-wide; pages with limit/continue, see listPage), get, create (409
 *   AlreadyExists, 404 if the namespace is missing), replace (409 Conflict on a stale
 *   metadata.resourceVersion), patch (merge, strategic-merge treated as merge, json-patch), delete
 *   and deletecollection (with label/field selectors);
 * - finalizers and namespace termination: deleting an object with metadata.finalizers sets
 *   deletionTimestamp (MODIFIED) and the object stays until an update empties its finalizers
 *   (then DELETED); new finalizers are refused on an object being deleted. Deleting a namespace
 *   sets deletionTimestamp and phase Terminating, and the namespace controller (on a timer,
 *   `namespaceDeletionDelayMs`, default 10 ms) deletes its contents, keeps status.conditions as the
 *   real one does (NamespaceContentRemaining "Some resources are remaining: ...",
 *   NamespaceFinalizersRemaining "Some content in the namespace has finalizers remaining: ...",
 *   and the three ...Failure conditions), removes its "kubernetes" finalizer once it is empty,
 *   and the namespace goes unless other spec.finalizers (PUT /finalize) or metadata.finalizers
 *   hold it. A second DELETE of a terminating namespace is 409 Conflict; creating anything in it is
 *   403 Forbidden with the NamespaceTerminating cause. PVCs created through the API get
 *   kubernetes.io/pvc-protection, which the PVC protection controller removes once a deleted claim
 *   is used by no running pod (unless a test holds it: holdFinalizer);
 * - watch (?watch=true|1): newline-delimited `{type, object}` events, replay after a given
 *   resourceVersion from a bounded history, an `ERROR` event with a 410 Expired Status when the
 *   version is older than that history; label selectors (=, ==, !=, in, notin, exists, !exists)
 *   and fieldSelector metadata.name / metadata.namespace on list and watch; on a watch, an object
 *   that starts to match its selectors arrives as ADDED and one that stops matching as DELETED, as
 *   the API server's watch cache sends them;
 * - server-managed metadata (uid, creationTimestamp, generation bumped on spec changes and on
 *   deletion, a global resourceVersion), spec.replicas defaulted to 1, status ignored on the main
 *   resource of kinds with a status subresource, zero status counts omitted; LIST items carry no
 *   kind/apiVersion; errors are `Status` objects;
 * - with `rbac: true`: bearer-token authentication (the kubeconfig's token is a system:masters
 *   admin, `addToken` adds users, TokenRequest issues ServiceAccount tokens; unknown token 401, no
 *   token system:anonymous), Impersonate-User/-Group/-Uid, the RBAC authorizer (Roles,
 *   ClusterRoles, their bindings, wildcards, subresources, resourceNames, nonResourceURLs) with the
 *   real 403 messages, every refusal recorded in `denials`, and the escalation check on
 *   Roles/ClusterRoles/bindings (escalate/bind verbs). See kube-api-double/rbac.ts;
 * - Pod Security admission (always on) from the namespace's pod-security.kubernetes.io/enforce
 *   (and warn) labels: a violating Pod is refused with the real message, workloads are admitted
 *   with a `Warning: 299 - "would violate PodSecurity ..."` header; see kube-api-double/pod-security.ts
 *   for the checks;
 * - an optional controller that marks Deployments/StatefulSets fully ready ~20 ms after a change,
 *   or, when Pod Security admission would refuse their pods, gives them a ReplicaFailure/FailedCreate
 *   condition with the admission message (recorded in `podSecurityDenials` with the refused pods).
 *
 * DOES NOT FAKE: TLS, client certificates, OIDC/webhook authentication, admission other than
 * NamespaceLifecycle, StorageObjectInUseProtection and PodSecurity (no ResourceQuota or LimitRange
 * enforcement, no mutating/validating webhooks), schema validation, ReplicaSets/Pods (no pods are
 * created for workloads)/garbage collection of owned objects (ownerReferences, propagationPolicy)
 * and any other controller (no "default" ServiceAccount, no kube-root-ca.crt ConfigMap), graceful
 * pod termination (pods go at once), server-side apply (415), strategic-merge list merging (lists
 * are replaced), dry-run, consistent snapshots across list pages and expired continue tokens, Table
 * output, protobuf, aggregated discovery, OpenAPI (404), the legacy /api/v1/watch/ paths, watch
 * bookmarks, RBAC role aggregation and bootstrap roles other
 * than cluster-admin, SubjectAccessReviews, Events (no FailedCreate events), Pod Security on pod
 * updates, its audit mode, exemptions and the warnings for existing pods when a namespace's level
 * is raised. A real StatefulSet controller reports refused pods as events only; here the
 * StatefulSet gets the ReplicaFailure condition too. Watch history is global, not per type.
 * With `rbac: true`, kubectl acts as system:anonymous: client-go sends no bearer token to a
 * plain http:// server (use client-node or fetch for identities).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { discovery, handleResource, resolveResource } from "./kube-api-double/handlers.ts";
import { mergePatch } from "./kube-api-double/patch.ts";
import { warningHeader } from "./kube-api-double/pod-security.ts";
import type { Attributes, Denial, UserInfo } from "./kube-api-double/rbac.ts";
import { ANONYMOUS, authorize, bootstrapPolicy, denialOf, forbiddenError, impersonate, requestAttributes, Tokens } from "./kube-api-double/rbac.ts";
import type { PodSecurityDenial } from "./kube-api-double/state.ts";
import { ApiState } from "./kube-api-double/state.ts";
import type { KubeKind, ResourceType } from "./kube-api-double/types.ts";
import { ApiError, clone, REASONS, statusBody, typeOfKind } from "./kube-api-double/types.ts";


interface RecordedKubeRequest { method: string; path: string; query: Record<string, string>; contentType?: string; body?: unknown }
export interface KubeApiDouble {
  url: string;
  kubeconfigPath: string;
  requests: RecordedKubeRequest[];
  /** With `rbac: true`: every request the authorizer refused (impersonation refusals included), in order. */
  denials: Denial[];
  /** Pods Pod Security admission refused: Pod creates (source "api") and the pods of violating workloads (source "controller"). */
  podSecurityDenials: PodSecurityDenial[];
  /** A copy of the stored object, or undefined. */
  get(kind: KubeKind, namespace: string | undefined, name: string): any;
  list(kind: KubeKind, namespace?: string): any[];
  /** Create or replace an object from a test (no admission, no authorization); emits ADDED/MODIFIED watch events. Returns the stored object. */
  put(obj: any): any;
  /** Deep-merge into .status (like the status subresource), bump resourceVersion, emit MODIFIED. */
  patchStatus(kind: KubeKind, namespace: string, name: string, status: Record<string, unknown>): void;
  /** Removes the object at once, finalizers or not (a namespace with all its contents): a test backdoor, not a DELETE. */
  remove(kind: KubeKind, namespace: string, name: string): void;
  /** Adds `finalizer` to the object (MODIFIED); only releaseFinalizer (or a client's update) removes it, the double's controllers leave it. */
  holdFinalizer(kind: KubeKind, namespace: string | undefined, name: string, finalizer: string): void;
  /** Removes `finalizer` from the object; an object being deleted whose last finalizer goes is deleted (DELETED). */
  releaseFinalizer(kind: KubeKind, namespace: string | undefined, name: string, finalizer: string): void;
  /** How long the namespace and PVC protection controllers take to act on a deletion (default 10 ms); 0 acts within the DELETE request. */
  setNamespaceDeletionDelay(ms: number): void;
  /** With `rbac: true`: a bearer token for this user (system:authenticated is added to its groups). */
  addToken(token: string, user: { user: string; groups?: string[] }): void;
  /** Writes a kubeconfig for this server that authenticates with `token`; returns its path (removed on close). */
  writeKubeconfig(token: string): Promise<string>;
  /** Makes the next N requests matching method+path regex answer with this HTTP status (for informer-restart tests). */
  failNext(method: string, pathPattern: RegExp, status: number, count?: number): void;
  /** Ends every open watch stream (like an API server restart); informers must reconnect. "destroy" resets the connections instead. */
  dropWatches(how?: "end" | "destroy"): void;
  /** Simulated controller: "ready" (default) marks Deployments/StatefulSets ready ~20 ms after create/update/scale; "manual" leaves status to patchStatus. */
  setController(mode: "ready" | "manual"): void;
  close(): Promise<void>;
}
export interface KubeApiDoubleOptions {
  /** Watch events kept for replay; older resourceVersions get 410 Expired. */
  historyLimit?: number;
  /** Authentication, impersonation and the RBAC authorizer (default off: any or no token is an admin). */
  rbac?: boolean;
  /**
   * Milliseconds before the namespace controller (and the PVC protection controller) acts on a
   * deletion, on a timer like the real controllers (default 10): a deleted namespace is still
   * Terminating when the DELETE answers. 0 makes them act within the DELETE request, so a
   * namespace without finalizers held is gone when the DELETE answers (watchers still see
   * MODIFIED Terminating before DELETED).
   */
  namespaceDeletionDelayMs?: number;
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

function kubeconfigYaml(url: string, token: string): string {
  return [
    "apiVersion: v1", "kind: Config", "preferences: {}", "current-context: kube-api-double",
    "clusters:", "- name: kube-api-double", "  cluster:", `    server: ${url}`, "    insecure-skip-tls-verify: true",
    "users:", "- name: kube-api-double", "  user:", `    token: ${token}`,
    "contexts:", "- name: kube-api-double", "  context:", "    cluster: kube-api-double", "    user: kube-api-double", "    namespace: default", "",
  ].join("\n");
}

/** The identity of a request when RBAC is on: bearer token (401 if unknown), anonymous without one, then impersonation. */
function identify(state: ApiState, tokens: Tokens, req: IncomingMessage, deny: (a: Attributes, err: ApiError) => void): UserInfo {
  const auth = req.headers.authorization;
  let user = ANONYMOUS;
  if (auth !== undefined) {
    const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
    const known = token ? tokens.authenticate(state, token) : undefined;
    if (!known) throw new ApiError(401, "Unauthorized", "Unauthorized");
    user = known;
  }
  const headers = req.headersDistinct;
  const impersonateUser = headers["impersonate-user"]?.[0];
  const impersonateUid = headers["impersonate-uid"]?.[0];
  const groups = headers["impersonate-group"] ?? [];
  if (impersonateUser === undefined && groups.length === 0 && impersonateUid === undefined) return user;
  return impersonate(state, user, { ...(impersonateUser !== undefined ? { user: impersonateUser } : {}), groups, ...(impersonateUid !== undefined ? { uid: impersonateUid } : {}) }, deny);
}

const DEFAULT_DELETION_DELAY_MS = 10;

export async function startKubeApiDouble(options: KubeApiDoubleOptions = {}): Promise<KubeApiDouble> {
  const state = new ApiState(options.historyLimit ?? 1000, options.namespaceDeletionDelayMs ?? DEFAULT_DELETION_DELAY_MS);
  const tokens = new Tokens();
  const rbac = options.rbac === true;
  const requests: RecordedKubeRequest[] = [];
  const denials: Denial[] = [];
  const failures: { method: string; pattern: RegExp; status: number; remaining: number }[] = [];
  let port = 0;
  if (rbac) for (const obj of bootstrapPolicy()) state.commit(typeOfKind(obj.kind), obj, undefined);
  const deny = (a: Attributes, err: ApiError): void => {
    denials.push(denialOf(a, err));
  };

  function reply(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
    res.setHeader("content-type", "application/json");
    if (warnings.length) res.setHeader("warning", warnings.map(warningHeader));
    res.writeHead(code);
    res.end(JSON.stringify(body));
  }

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
    const warnings: string[] = [];
    try {
      let user: UserInfo | undefined;
      if (rbac) {
        user = identify(state, tokens, req, deny);
        const attributes = requestAttributes(user, method, url.pathname, query);
        const decision = authorize(state, attributes);
        if (!decision.allowed) {
          const err = forbiddenError(attributes, decision.reason);
          deny(attributes, err);
          throw err;
        }
      }
      const doc = discovery(url.pathname, port);
      if (doc && method !== "GET") throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
      if (doc) return reply(res, 200, doc);
      const target = resolveResource(url.pathname);
      if (!target) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      const answer = handleResource(state, { ...target, method, query, body, contentType, user, tokens, warnings }, res);
      if (answer) reply(res, answer[0], answer[1], warnings);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      reply(res, err.code, statusBody(err.code, err.reason, err.message, err.details), warnings);
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
  await writeFile(kubeconfigPath, kubeconfigYaml(url, "kube-api-double-token"));
  let kubeconfigs = 0;

  const find = (kind: KubeKind, ns: string | undefined, name: string): [ResourceType, any] => {
    const type = typeOfKind(kind);
    return [type, state.find(type, type.namespaced ? ns : undefined, name)];
  };
  return {
    url,
    kubeconfigPath,
    requests,
    denials,
    podSecurityDenials: state.podSecurityDenials,
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
      if (prev) state.purge(type, prev);
    },
    holdFinalizer(kind, ns, name, finalizer) {
      const type = typeOfKind(kind);
      state.hold(type, type.namespaced ? ns : undefined, name, finalizer);
    },
    releaseFinalizer(kind, ns, name, finalizer) {
      const type = typeOfKind(kind);
      state.release(type, type.namespaced ? ns : undefined, name, finalizer);
    },
    setNamespaceDeletionDelay(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`kube-api-double setNamespaceDeletionDelay: ${ms} is not a delay`);
      state.deletionDelayMs = ms;
    },
    addToken(token, user) {
      tokens.add(token, { name: user.user, groups: user.groups ?? [] });
    },
    async writeKubeconfig(token) {
      const path = join(dir, `kubeconfig-${++kubeconfigs}`);
      await writeFile(path, kubeconfigYaml(url, token), { mode: 0o600 });
      return path;
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
