// The Kubernetes API server double speaks the real protocol: checked with kubectl and raw HTTP.
 
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api-double.ts";

const run = promisify(execFile);
let kube: KubeApiDouble;
let cacheDir: string;

beforeEach(async () => {
  kube = await startKubeApiDouble({ historyLimit: 20 });
  cacheDir = await mkdtemp(join(tmpdir(), "kubectl-cache-"));
});
afterEach(async () => {
  await kube.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function deployment(namespace: string, name: string, extra: Record<string, unknown> = {}): object {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace, labels: { app: name, tier: "web" } }, spec: { selector: { matchLabels: { app: name } }, template: {} }, ...extra };
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run("kubectl", ["--kubeconfig", kube.kubeconfigPath, "--cache-dir", cacheDir, ...args], { timeout: 20_000 });
  return stdout;
}

async function api(method: string, path: string, body?: unknown, contentType = "application/json", headers: Record<string, string> = {}): Promise<{ status: number; body: any; warnings: string[] }> {
  const res = await fetch(kube.url + path, { method, headers: { ...headers, ...(body === undefined ? {} : { "content-type": contentType }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: await res.json(), warnings: res.headers.get("warning") === null ? [] : [res.headers.get("warning")!] };
}

/** Opens a watch and collects events until `count` arrived or the server ended the stream. */
async function watchEvents(path: string, count: number): Promise<any[]> {
  const controller = new AbortController();
  const res = await fetch(kube.url + path, { signal: controller.signal });
  expect(res.status).toBe(200);
  const events: any[] = [];
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    events.push(...lines.filter(Boolean).map((l) => JSON.parse(l)));
    if (events.length >= count) break;
  }
  controller.abort();
  return events;
}

describe("kubectl against the double", () => {
  it("lists deployments across namespaces with kubectl get -A -o json", async () => {
    kube.put(deployment("pr-1", "web"));
    kube.put(deployment("pr-2", "api"));
    const out = JSON.parse(await kubectl("get", "deployments", "-A", "-o", "json"));
    expect(out.items.map((d: any) => `${d.metadata.namespace}/${d.metadata.name}`)).toEqual(["pr-1/web", "pr-2/api"]);
    expect(kube.requests.some((r) => r.path === "/apis/apps/v1")).toBe(true);
  });

  it("works with --server and --insecure-skip-tls-verify, scales and deletes a namespace", async () => {
    kube.put(deployment("pr-3", "web"));
    const flags = ["--server", kube.url, "--insecure-skip-tls-verify", "--cache-dir", cacheDir];
    const { stdout } = await run("kubectl", [...flags, "get", "namespaces", "-o", "name"]);
    expect(stdout.trim().split("\n")).toEqual(["namespace/pr-3"]);
    await kubectl("scale", "deployment/web", "-n", "pr-3", "--replicas=4");
    expect(kube.get("Deployment", "pr-3", "web").spec.replicas).toBe(4);
    await kubectl("delete", "namespace", "pr-3", "--wait=false");
    await expect.poll(() => kube.get("Namespace", undefined, "pr-3")).toBeUndefined();
    expect(kube.list("Deployment")).toEqual([]);
  });
});

describe("REST protocol", () => {
  it("creates, refuses duplicates and missing namespaces with Status objects", async () => {
    await api("POST", "/api/v1/namespaces", { metadata: { name: "pr-1" } });
    const created = await api("POST", "/apis/apps/v1/namespaces/pr-1/deployments", deployment("pr-1", "web"));
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ generation: 1, namespace: "pr-1" });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.spec.replicas).toBe(1);
    const duplicate = await api("POST", "/apis/apps/v1/namespaces/pr-1/deployments", deployment("pr-1", "web"));
    expect(duplicate).toMatchObject({ status: 409, body: { kind: "Status", reason: "AlreadyExists", code: 409 } });
    const orphan = await api("POST", "/apis/apps/v1/namespaces/nope/deployments", deployment("nope", "web"));
    expect(orphan).toMatchObject({ status: 404, body: { kind: "Status", reason: "NotFound" } });
    const missing = await api("GET", "/apis/apps/v1/namespaces/pr-1/deployments/other");
    expect(missing.body.message).toBe('deployments.apps "other" not found');
  });

  it("lists without kind/apiVersion on items, filters by label and field selectors", async () => {
    kube.put(deployment("pr-1", "web"));
    kube.put(deployment("pr-2", "api"));
    const all = await api("GET", "/apis/apps/v1/deployments");
    expect(all.body).toMatchObject({ kind: "DeploymentList", apiVersion: "apps/v1" });
    expect(Number(all.body.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(all.body.items[0].kind).toBeUndefined();
    const byLabel = await api("GET", "/apis/apps/v1/deployments?labelSelector=" + encodeURIComponent("tier=web,app in (api,db),!gone"));
    expect(byLabel.body.items.map((d: any) => d.metadata.name)).toEqual(["api"]);
    const byField = await api("GET", "/apis/apps/v1/deployments?fieldSelector=metadata.name%3Dweb");
    expect(byField.body.items.map((d: any) => d.metadata.name)).toEqual(["web"]);
    const namespaced = await api("GET", "/apis/apps/v1/namespaces/pr-2/deployments");
    expect(namespaced.body.items.map((d: any) => d.metadata.name)).toEqual(["api"]);
  });

  it("lists in pages with limit and continue, in key order, and refuses a bad continue token", async () => {
    for (const [ns, name] of [["b", "web"], ["a", "web"], ["a", "api"], ["c", "web"], ["b", "api"]]) kube.put(deployment(ns!, name!));
    const names: string[] = [];
    const first = await api("GET", "/apis/apps/v1/deployments?limit=2");
    expect(first.body.metadata.remainingItemCount).toBe(3);
    names.push(...first.body.items.map((d: any) => `${d.metadata.namespace}/${d.metadata.name}`));
    let token: string | undefined = first.body.metadata.continue;
    while (token) {
      const page = await api("GET", `/apis/apps/v1/deployments?limit=2&continue=${token}`);
      expect(page.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
      names.push(...page.body.items.map((d: any) => `${d.metadata.namespace}/${d.metadata.name}`));
      token = page.body.metadata.continue;
    }
    expect(names).toEqual(["a/api", "a/web", "b/api", "b/web", "c/web"]);
    expect((await api("GET", "/apis/apps/v1/deployments")).body.items).toHaveLength(5);
    expect(await api("GET", "/apis/apps/v1/deployments?limit=2&continue=bm9wZQ")).toMatchObject({ status: 400, body: { kind: "Status", reason: "BadRequest" } });
  });

  it("patches with merge and json patches, bumps generation only on spec changes, rejects stale updates", async () => {
    kube.setController("manual");
    const stored = kube.put(deployment("pr-1", "web"));
    const path = "/apis/apps/v1/namespaces/pr-1/deployments/web";
    const merged = await api("PATCH", path, { metadata: { labels: { extra: "yes" } } }, "application/merge-patch+json");
    expect(merged.body.metadata).toMatchObject({ generation: 1, labels: { extra: "yes", app: "web" } });
    const patched = await api("PATCH", path, [{ op: "replace", path: "/spec/replicas", value: 5 }], "application/json-patch+json");
    expect(patched.body.spec.replicas).toBe(5);
    expect(patched.body.metadata.generation).toBe(2);
    const stale = await api("PUT", path, { ...stored, spec: { ...stored.spec, replicas: 2 } });
    expect(stale).toMatchObject({ status: 409, body: { reason: "Conflict" } });
    const statusViaMain = await api("PATCH", path, { status: { readyReplicas: 9 } }, "application/merge-patch+json");
    expect(statusViaMain.body.status.readyReplicas).toBeUndefined();
    const apply = await api("PATCH", path, { spec: {} }, "application/apply-patch+yaml");
    expect(apply.status).toBe(415);
  });

  it("omits zero status counts and serves the scale subresource", async () => {
    kube.setController("manual");
    kube.put(deployment("pr-1", "web", { status: { replicas: 1, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 1 } }));
    expect(kube.get("Deployment", "pr-1", "web").status).toEqual({ replicas: 1, updatedReplicas: 1 });
    const path = "/apis/apps/v1/namespaces/pr-1/deployments/web/scale";
    expect((await api("GET", path)).body).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 1 }, status: { replicas: 1, selector: "app=web" } });
    const scaled = await api("PATCH", path, { spec: { replicas: 0 } }, "application/merge-patch+json");
    expect(scaled.body.spec).toEqual({});
    expect(kube.get("Deployment", "pr-1", "web").spec.replicas).toBe(0);
  });

  it("marks workloads ready shortly after a change when the controller is on", async () => {
    kube.put({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: "pr-1" }, spec: { replicas: 2 } });
    expect(kube.get("StatefulSet", "pr-1", "db").status).toEqual({ replicas: 0, availableReplicas: 0 });
    await expect.poll(() => kube.get("StatefulSet", "pr-1", "db").status.readyReplicas).toBe(2);
    expect(kube.get("StatefulSet", "pr-1", "db").status.observedGeneration).toBe(1);
  });

  it("watches: initial ADDED events, replay after a resourceVersion, 410 Expired when too old", async () => {
    kube.setController("manual");
    const first = kube.put(deployment("pr-1", "web"));
    const initial = await watchEvents("/apis/apps/v1/deployments?watch=true", 1);
    expect(initial[0]).toMatchObject({ type: "ADDED", object: { kind: "Deployment", apiVersion: "apps/v1", metadata: { name: "web" } } });
    kube.patchStatus("Deployment", "pr-1", "web", { readyReplicas: 1 });
    kube.remove("Deployment", "pr-1", "web");
    const replay = await watchEvents(`/apis/apps/v1/deployments?watch=1&resourceVersion=${first.metadata.resourceVersion}`, 2);
    expect(replay.map((e) => e.type)).toEqual(["MODIFIED", "DELETED"]);
    expect(Number(replay[1].object.metadata.resourceVersion)).toBeGreaterThan(Number(replay[0].object.metadata.resourceVersion));
    for (let i = 0; i < 25; i++) kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${i}`, namespace: "pr-1" } });
    const expired = await watchEvents(`/apis/apps/v1/deployments?watch=true&resourceVersion=${first.metadata.resourceVersion}`, 1);
    expect(expired).toEqual([{ type: "ERROR", object: expect.objectContaining({ kind: "Status", code: 410, reason: "Expired" }) }]);
  });

  it("live watch sees changes; failNext answers with the status; deleting a namespace deletes its contents", async () => {
    kube.setController("manual");
    kube.put(deployment("pr-1", "web"));
    kube.put(deployment("pr-1", "other"));
    const events = watchEvents("/apis/apps/v1/namespaces/pr-1/deployments?watch=true&labelSelector=app%3Dweb", 2);
    await expect.poll(() => kube.requests.filter((r) => r.query.watch).length).toBe(1);
    kube.failNext("DELETE", /\/namespaces\/pr-1$/, 503);
    expect((await api("DELETE", "/api/v1/namespaces/pr-1")).body).toMatchObject({ kind: "Status", code: 503 });
    const deleted = await api("DELETE", "/api/v1/namespaces/pr-1");
    expect(deleted.body).toMatchObject({ kind: "Namespace", status: { phase: "Terminating" } });
    expect((await events).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED web", "DELETED web"]);
    expect(kube.list("Deployment")).toEqual([]);
    expect((await api("DELETE", "/api/v1/namespaces/pr-1")).status).toBe(404);
  });

  it("a label-selected watch sees an object that gains the label as ADDED and one that loses it as DELETED, live and replayed", async () => {
    const selector = `labelSelector=${encodeURIComponent("app.kubernetes.io/managed-by=octostage")}`;
    const ns = (labels: Record<string, string>): object => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pr-1", labels } });
    const start = kube.put(ns({}));
    const live = watchEvents(`/api/v1/namespaces?watch=true&resourceVersion=${start.metadata.resourceVersion}&${selector}`, 3);
    await expect.poll(() => kube.requests.filter((r) => r.query.watch).length).toBe(1);
    kube.put(ns({ team: "a" })); // matches neither before nor after: not sent
    kube.put(ns({ team: "a", "app.kubernetes.io/managed-by": "octostage" }));
    kube.put(ns({ team: "b", "app.kubernetes.io/managed-by": "octostage" }));
    const left = kube.put(ns({ team: "b" }));
    const seen = (events: any[]) => events.map((e) => `${e.type} ${e.object.metadata.labels.team} ${e.object.metadata.resourceVersion}`);
    const rv = (n: number) => Number(start.metadata.resourceVersion) + n;
    // DELETED carries the object as it was when it last matched, with the change's resourceVersion (as the watch cache sends it).
    const expected = [`ADDED a ${rv(2)}`, `MODIFIED b ${rv(3)}`, `DELETED b ${left.metadata.resourceVersion}`];
    expect(seen(await live)).toEqual(expected);
    expect(seen(await watchEvents(`/api/v1/namespaces?watch=true&resourceVersion=${start.metadata.resourceVersion}&${selector}`, 3))).toEqual(expected);
  });

  it("answers discovery, version and unknown paths like an API server", async () => {
    expect((await api("GET", "/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const groups = (await api("GET", "/apis")).body.groups.map((g: any) => g.name);
    expect(groups).toEqual(["apps", "networking.k8s.io", "batch", "rbac.authorization.k8s.io"]);
    const apps = (await api("GET", "/apis/apps/v1")).body.resources.map((r: any) => r.name);
    expect(apps).toEqual(["deployments", "deployments/status", "deployments/scale", "statefulsets", "statefulsets/status", "statefulsets/scale"]);
    expect((await api("GET", "/version")).body.minor).toBe("32");
    expect(await api("GET", "/openapi/v3")).toMatchObject({ status: 404, body: { kind: "Status", reason: "NotFound" } });
    expect((await api("GET", "/apis/apps/v1/namespaces/x/daemonsets")).status).toBe(404);
  });
});

// ---- namespace termination and finalizers ---------------------------------------------------

/** Client-node API clients on the double, as the admin of the kubeconfig or with another bearer token. */
async function clients(token?: string): Promise<{ core: CoreV1Api; apps: AppsV1Api; rbac: RbacAuthorizationV1Api }> {
  const kc = new KubeConfig();
  kc.loadFromFile(token === undefined ? kube.kubeconfigPath : await kube.writeKubeconfig(token));
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), rbac: kc.makeApiClient(RbacAuthorizationV1Api) };
}

/** The HTTP status and Status body of a client-node call that must fail. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, body: typeof err.body === "string" ? JSON.parse(err.body) : err.body };
    throw err;
  }
  throw new Error("the call succeeded");
}

/** Collects the events of a watch in the background; `stop()` ends it. */
function collectEvents(path: string): { events: any[]; stop: () => void } {
  const controller = new AbortController();
  const events: any[] = [];
  void (async () => {
    const res = await fetch(kube.url + path, { signal: controller.signal });
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      events.push(...lines.filter(Boolean).map((l) => JSON.parse(l)));
    }
  })().catch(() => undefined);
  return { events, stop: () => controller.abort() };
}

const condition = (ns: any, type: string): any => ns?.status?.conditions?.find((c: any) => c.type === type);

describe("namespace termination and finalizers", () => {
  it("a deleted namespace goes Terminating, its contents go, then it disappears; kubectl delete waits for that", async () => {
    kube.setNamespaceDeletionDelay(10);
    kube.setController("manual");
    const { core, apps } = await clients();
    await core.createNamespace({ body: { metadata: { name: "pr-1" } } });
    await core.createNamespacedConfigMap({ namespace: "pr-1", body: { metadata: { name: "settings" } } });
    await apps.createNamespacedDeployment({ namespace: "pr-1", body: deployment("pr-1", "web") });
    const watch = collectEvents("/api/v1/namespaces?watch=true&fieldSelector=metadata.name%3Dpr-1");
    const contentWatch = collectEvents("/apis/apps/v1/namespaces/pr-1/deployments?watch=true");
    await expect.poll(() => watch.events.length).toBe(1);
    await expect.poll(() => contentWatch.events.length).toBe(1);
    const answer = await api("DELETE", "/api/v1/namespaces/pr-1");
    expect(answer).toMatchObject({ status: 200, body: { kind: "Namespace", metadata: { name: "pr-1", deletionTimestamp: expect.any(String) }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Terminating" } } });
    await expect.poll(() => watch.events.at(-1)?.type).toBe("DELETED");
    watch.stop();
    contentWatch.stop();
    const types = watch.events.map((e) => `${e.type} ${e.object.status.phase}`);
    expect(types[0]).toBe("ADDED Active");
    expect(types[1]).toBe("MODIFIED Terminating");
    expect(types.at(-1)).toBe("DELETED Terminating");
    // The content went before the namespace, and the controller said so in its conditions.
    expect(contentWatch.events.map((e) => e.type)).toEqual(["ADDED", "DELETED"]);
    const last = watch.events.at(-1).object;
    expect(condition(last, "NamespaceContentRemaining")).toMatchObject({ status: "False", reason: "ContentRemoved", message: "All content successfully removed" });
    expect(condition(last, "NamespaceFinalizersRemaining")).toMatchObject({ status: "False", reason: "ContentHasNoFinalizers" });
    expect(last.spec.finalizers ?? []).toEqual([]);
    expect(kube.list("ConfigMap", "pr-1")).toEqual([]);
    expect((await api("DELETE", "/api/v1/namespaces/pr-1")).status).toBe(404);

    // kubectl delete (--wait=true by default) returns once the namespace is really gone.
    kube.setNamespaceDeletionDelay(50);
    kube.put(deployment("pr-2", "web"));
    expect(await kubectl("delete", "namespace", "pr-2")).toContain('namespace "pr-2" deleted');
    expect(kube.get("Namespace", undefined, "pr-2")).toBeUndefined();
    expect(kube.list("Deployment", "pr-2")).toEqual([]);
  });

  it("a PVC finalizer held by the test keeps the namespace Terminating with the controller's conditions; released, it goes", async () => {
    kube.setNamespaceDeletionDelay(5);
    const { core } = await clients();
    await core.createNamespace({ body: { metadata: { name: "staging-7" } } });
    const pvc = await core.createNamespacedPersistentVolumeClaim({ namespace: "staging-7", body: { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } } });
    expect(pvc.metadata?.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    await core.createNamespacedSecret({ namespace: "staging-7", body: { metadata: { name: "key" } } });
    kube.holdFinalizer("PersistentVolumeClaim", "staging-7", "data", "kubernetes.io/pvc-protection");
    await core.deleteNamespace({ name: "staging-7" });

    await expect.poll(() => condition(kube.get("Namespace", undefined, "staging-7"), "NamespaceFinalizersRemaining")?.status).toBe("True");
    const ns = kube.get("Namespace", undefined, "staging-7");
    expect(ns.status.phase).toBe("Terminating");
    expect(ns.status.conditions.map((c: any) => [c.type, c.status, c.reason])).toEqual([
      ["NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered"],
      ["NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions"],
      ["NamespaceDeletionContentFailure", "False", "ContentDeleted"],
      ["NamespaceContentRemaining", "True", "SomeResourcesRemain"],
      ["NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain"],
    ]);
    expect(condition(ns, "NamespaceContentRemaining").message).toBe("Some resources are remaining: persistentvolumeclaims. has 1 resource instances");
    expect(condition(ns, "NamespaceFinalizersRemaining").message).toBe("Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 1 resource instances");
    expect(kube.list("Secret", "staging-7")).toEqual([]);
    expect(kube.get("PersistentVolumeClaim", "staging-7", "data").metadata.deletionTimestamp).toEqual(expect.any(String));
    expect(JSON.parse(await kubectl("get", "namespace", "staging-7", "-o", "json")).status.phase).toBe("Terminating");

    // A second delete: 409 with the registry's words; nothing new may be created in it.
    const again = await refusal(core.deleteNamespace({ name: "staging-7" }));
    expect(again).toMatchObject({ code: 409, body: { reason: "Conflict", details: { name: "staging-7", kind: "namespaces" } } });
    expect(again.body.message).toBe('Operation cannot be fulfilled on namespaces "staging-7": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.');
    const created = await refusal(core.createNamespacedConfigMap({ namespace: "staging-7", body: { metadata: { name: "late" } } }));
    expect(created).toMatchObject({ code: 403, body: { kind: "Status", reason: "Forbidden", message: 'configmaps "late" is forbidden: unable to create new content in namespace staging-7 because it is being terminated' } });
    expect(created.body.details).toEqual({ name: "late", group: "", kind: "configmaps", causes: [{ reason: "NamespaceTerminating", message: "namespace staging-7 is being terminated", field: "metadata.namespace" }] });
    expect((await refusal(core.createNamespace({ body: { metadata: { name: "staging-7" } } }))).body.reason).toBe("AlreadyExists");

    kube.releaseFinalizer("PersistentVolumeClaim", "staging-7", "data", "kubernetes.io/pvc-protection");
    await expect.poll(() => kube.get("Namespace", undefined, "staging-7")).toBeUndefined();
    expect(kube.list("PersistentVolumeClaim")).toEqual([]);
    await core.createNamespace({ body: { metadata: { name: "staging-7" } } });
    expect(kube.get("Namespace", undefined, "staging-7").status).toEqual({ phase: "Active" });
  });

  it("an object with finalizers gets a deletionTimestamp on delete and goes when an update empties them", async () => {
    const path = "/api/v1/namespaces/pr-1/configmaps/settings";
    await api("POST", "/api/v1/namespaces", { metadata: { name: "pr-1" } });
    await api("POST", "/api/v1/namespaces/pr-1/configmaps", { metadata: { name: "settings", finalizers: ["example.com/keep"] } });
    const events = collectEvents("/api/v1/namespaces/pr-1/configmaps?watch=true");
    await expect.poll(() => events.events.length).toBe(1);
    const deleted = await api("DELETE", path);
    expect(deleted).toMatchObject({ status: 200, body: { kind: "ConfigMap", metadata: { finalizers: ["example.com/keep"], deletionTimestamp: expect.any(String), deletionGracePeriodSeconds: 0 } } });
    expect((await api("GET", path)).status).toBe(200);
    const added = await api("PATCH", path, { metadata: { finalizers: ["example.com/keep", "example.com/more"] } }, "application/merge-patch+json");
    expect(added).toMatchObject({ status: 422, body: { reason: "Invalid" } });
    expect(added.body.message).toBe('ConfigMap "settings" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/more"}');
    await api("PATCH", path, { metadata: { finalizers: null } }, "application/merge-patch+json");
    await expect.poll(() => events.events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    events.stop();
    expect((await api("GET", path)).status).toBe(404);
  });

  it("a PVC deleted while a pod uses it keeps kubernetes.io/pvc-protection until the pod goes", async () => {
    kube.setNamespaceDeletionDelay(0); // the PVC protection controller acts within each request: no waiting to prove it waited
    const { core } = await clients();
    await core.createNamespace({ body: { metadata: { name: "pr-1" } } });
    await core.createNamespacedPersistentVolumeClaim({ namespace: "pr-1", body: { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } } });
    await core.createNamespacedPod({ namespace: "pr-1", body: { metadata: { name: "db-0" }, spec: { containers: [{ name: "db", image: "postgres:16" }], volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] } } });
    const answer = await core.deleteNamespacedPersistentVolumeClaim({ name: "data", namespace: "pr-1" });
    expect(answer.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(kube.get("PersistentVolumeClaim", "pr-1", "data").metadata.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    await core.deleteNamespacedPod({ name: "db-0", namespace: "pr-1" });
    expect(kube.get("PersistentVolumeClaim", "pr-1", "data")).toBeUndefined();
  });

  it("other spec.finalizers hold an emptied namespace until PUT /finalize removes them; remove() stays immediate", async () => {
    await api("POST", "/api/v1/namespaces", { metadata: { name: "pr-1" }, spec: { finalizers: ["example.com/cleanup"] } });
    expect(kube.get("Namespace", undefined, "pr-1").spec.finalizers).toEqual(["example.com/cleanup", "kubernetes"]);
    const deleted = await api("DELETE", "/api/v1/namespaces/pr-1");
    expect(deleted.body.status.phase).toBe("Terminating");
    await expect.poll(() => kube.get("Namespace", undefined, "pr-1")?.spec.finalizers).toEqual(["example.com/cleanup"]);
    const ns = kube.get("Namespace", undefined, "pr-1");
    expect((await api("DELETE", "/api/v1/namespaces/pr-1")).status).toBe(409);
    const finalized = await api("PUT", "/api/v1/namespaces/pr-1/finalize", { ...ns, spec: { finalizers: [] } });
    expect(finalized.status).toBe(200);
    expect(kube.get("Namespace", undefined, "pr-1")).toBeUndefined();

    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "pr-2", finalizers: ["example.com/keep"] } });
    kube.remove("Namespace", "", "pr-2");
    expect(kube.get("Namespace", undefined, "pr-2")).toBeUndefined();
    expect(kube.list("ConfigMap", "pr-2")).toEqual([]);
  });
});

// ---- RBAC -------------------------------------------------------------------------------------

describe("RBAC (rbac: true)", () => {
  const helm = "system:serviceaccount:staging-1:octostage-helm";
  let admin: Awaited<ReturnType<typeof clients>>;
  let token: string;

  beforeEach(async () => {
    await kube.close();
    kube = await startKubeApiDouble({ rbac: true });
    admin = await clients();
    for (const name of ["staging-1", "octostage"]) await admin.core.createNamespace({ body: { metadata: { name } } });
    await admin.core.createNamespacedServiceAccount({ namespace: "staging-1", body: { metadata: { name: "octostage-helm" } } });
    await admin.core.createNamespacedSecret({ namespace: "octostage", body: { metadata: { name: "octostage-key" }, stringData: { key: "k" } } });
    await admin.rbac.createNamespacedRole({ namespace: "staging-1", body: { metadata: { name: "pods" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] } });
    await admin.rbac.createNamespacedRoleBinding({
      namespace: "staging-1",
      body: { metadata: { name: "helm-pods" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pods" }, subjects: [{ kind: "ServiceAccount", name: "octostage-helm" }] },
    });
    const request = await admin.core.createNamespacedServiceAccountToken({ name: "octostage-helm", namespace: "staging-1", body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    token = request.status?.token ?? "";
    expect(token).not.toBe("");
  });

  it("issues ServiceAccount tokens with TokenRequest; unknown or revoked tokens are 401", async () => {
    const raw = await api("POST", "/api/v1/namespaces/staging-1/serviceaccounts/octostage-helm/token", { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} }, "application/json", { authorization: "Bearer kube-api-double-token" });
    expect(raw).toMatchObject({ status: 201, body: { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", spec: { expirationSeconds: 3600 }, status: { token: expect.any(String), expirationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) } } });
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ sub: helm, "kubernetes.io": { namespace: "staging-1", serviceaccount: { name: "octostage-helm" } } });
    expect((await refusal(admin.core.createNamespacedServiceAccountToken({ name: "nobody", namespace: "staging-1", body: { spec: { audiences: [] } } }))).code).toBe(404);
    const short = await refusal(admin.core.createNamespacedServiceAccountToken({ name: "octostage-helm", namespace: "staging-1", body: { spec: { audiences: [], expirationSeconds: 60 } } }));
    expect(short).toMatchObject({ code: 422, body: { reason: "Invalid" } });

    expect(await api("GET", "/api/v1/namespaces/staging-1/pods", undefined, undefined, { authorization: "Bearer nope" })).toMatchObject({ status: 401, body: { kind: "Status", reason: "Unauthorized", code: 401 } });
    const anonymous = await api("GET", "/api/v1/namespaces");
    expect(anonymous).toMatchObject({ status: 403, body: { message: 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope' } });
    expect((await api("GET", "/version")).status).toBe(200);
    await admin.core.deleteNamespacedServiceAccount({ name: "octostage-helm", namespace: "staging-1" });
    const { core } = await clients(token);
    expect((await refusal(core.listNamespacedPod({ namespace: "staging-1" }))).code).toBe(401);
  });

  it("a ServiceAccount bound to a Role lists pods in its namespace, and is refused secrets elsewhere and the cluster scope", async () => {
    const { core } = await clients(token);
    expect((await core.listNamespacedPod({ namespace: "staging-1" })).items).toEqual([]);
    const secret = await refusal(core.readNamespacedSecret({ name: "octostage-key", namespace: "octostage" }));
    expect(secret).toMatchObject({ code: 403, body: { kind: "Status", reason: "Forbidden", details: { name: "octostage-key", group: "", kind: "secrets" } } });
    expect(secret.body.message).toBe(`secrets "octostage-key" is forbidden: User "${helm}" cannot get resource "secrets" in API group "" in the namespace "octostage"`);
    const namespaces = await refusal(core.listNamespace());
    expect(namespaces.body.message).toBe(`namespaces is forbidden: User "${helm}" cannot list resource "namespaces" in API group "" at the cluster scope`);
    expect((await refusal(core.listNamespacedPod({ namespace: "octostage" }))).code).toBe(403);
    expect(kube.denials.map(({ user, verb, resource, namespace, name }) => ({ user, verb, resource, namespace, name }))).toEqual([
      { user: helm, verb: "get", resource: "secrets", namespace: "octostage", name: "octostage-key" },
      { user: helm, verb: "list", resource: "namespaces", namespace: "", name: "" },
      { user: helm, verb: "list", resource: "pods", namespace: "octostage", name: "" },
    ]);
    // kubectl (client-go) sends no bearer token to a plain http:// server: it is system:anonymous here, as on a real cluster.
    const anonymous = await kubectl("get", "--raw", "/version");
    expect(JSON.parse(anonymous).minor).toBe("32");
    await expect(kubectl("get", "namespaces")).rejects.toThrow(/Forbidden/);
    expect(kube.denials.at(-1)).toMatchObject({ user: "system:anonymous", verb: "get", path: "/api" });
  });

  it("matches subresources, resourceNames, wildcards and ClusterRoles bound in one namespace", async () => {
    kube.setController("manual");
    await admin.apps.createNamespacedDeployment({ namespace: "staging-1", body: deployment("staging-1", "web") });
    await admin.rbac.createClusterRole({ body: { metadata: { name: "scaler" }, rules: [{ apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["patch", "get"] }] } });
    await admin.rbac.createClusterRole({ body: { metadata: { name: "key-reader" }, rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: ["octostage-key"], verbs: ["get"] }] } });
    await admin.rbac.createNamespacedRoleBinding({ namespace: "octostage", body: { metadata: { name: "key-reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "key-reader" }, subjects: [{ kind: "ServiceAccount", name: "octostage-helm", namespace: "staging-1" }] } });
    await admin.rbac.createNamespacedRoleBinding({ namespace: "staging-1", body: { metadata: { name: "scaler" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "scaler" }, subjects: [{ kind: "ServiceAccount", name: "octostage-helm" }] } });
    const { core, apps } = await clients(token);
    // A ClusterRole bound by a RoleBinding grants in that namespace only; resourceNames limit it to one secret.
    expect((await core.readNamespacedSecret({ name: "octostage-key", namespace: "octostage" })).metadata?.name).toBe("octostage-key");
    expect((await refusal(core.readNamespacedSecret({ name: "octostage-key", namespace: "staging-1" }))).code).toBe(403);
    expect((await refusal(core.listNamespacedSecret({ namespace: "octostage" }))).code).toBe(403);
    // deployments/scale is not deployments.
    await apps.patchNamespacedDeploymentScale({ name: "web", namespace: "staging-1", body: [{ op: "replace", path: "/spec/replicas", value: 3 }] });
    expect(kube.get("Deployment", "staging-1", "web").spec.replicas).toBe(3);
    const patch = await refusal(apps.patchNamespacedDeployment({ name: "web", namespace: "staging-1", body: [{ op: "replace", path: "/spec/replicas", value: 1 }] }));
    expect(patch.body.message).toBe(`deployments.apps "web" is forbidden: User "${helm}" cannot patch resource "deployments" in API group "apps" in the namespace "staging-1"`);
    // Wildcards, and a binding to a role that does not exist says so in the refusal.
    await admin.rbac.createClusterRoleBinding({ body: { metadata: { name: "ghost" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "ghost" }, subjects: [{ kind: "Group", name: "system:serviceaccounts:staging-1" }] } });
    const ghost = await refusal(core.listNamespace());
    expect(ghost.body.message).toBe(`namespaces is forbidden: User "${helm}" cannot list resource "namespaces" in API group "" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found`);
    await admin.rbac.createClusterRole({ body: { metadata: { name: "ghost" }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["list"] }] } });
    expect((await core.listNamespace()).items.map((n) => n.metadata?.name)).toEqual(["octostage", "staging-1"]);
  });

  it("honours impersonation only for those allowed to impersonate, and authorizes as the impersonated user", async () => {
    const asHelm = { authorization: "Bearer kube-api-double-token", "impersonate-user": helm };
    expect((await api("GET", "/api/v1/namespaces/staging-1/pods", undefined, undefined, asHelm)).status).toBe(200);
    const secret = await api("GET", "/api/v1/namespaces/octostage/secrets/octostage-key", undefined, undefined, asHelm);
    expect(secret.body.message).toBe(`secrets "octostage-key" is forbidden: User "${helm}" cannot get resource "secrets" in API group "" in the namespace "octostage"`);
    const asJaneAdmin = await api("GET", "/api/v1/namespaces/octostage/secrets", undefined, undefined, { authorization: "Bearer kube-api-double-token", "impersonate-user": "jane", "impersonate-group": "developers" });
    expect(asJaneAdmin.body.message).toBe('secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "octostage"');
    expect(kube.denials.at(-1)).toMatchObject({ user: "jane", groups: ["developers", "system:authenticated"] });

    const sa = { authorization: `Bearer ${token}`, "impersonate-user": "jane" };
    const refused = await api("GET", "/api/v1/namespaces/staging-1/pods", undefined, undefined, sa);
    expect(refused).toMatchObject({ status: 403, body: { reason: "Forbidden", message: `users "jane" is forbidden: User "${helm}" cannot impersonate resource "users" in API group "" at the cluster scope` } });
    expect(kube.denials.at(-1)).toMatchObject({ user: helm, verb: "impersonate", resource: "users", name: "jane" });
    await admin.rbac.createClusterRole({ body: { metadata: { name: "impersonator" }, rules: [{ apiGroups: [""], resources: ["users"], verbs: ["impersonate"], resourceNames: ["jane"] }] } });
    await admin.rbac.createClusterRoleBinding({ body: { metadata: { name: "impersonator" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "impersonator" }, subjects: [{ kind: "ServiceAccount", name: "octostage-helm", namespace: "staging-1" }] } });
    const asJane = await api("GET", "/api/v1/namespaces/staging-1/pods", undefined, undefined, sa);
    expect(asJane.body.message).toBe('pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "staging-1"');
    const withGroup = await api("GET", "/api/v1/namespaces/staging-1/pods", undefined, undefined, { ...sa, "impersonate-group": "admins" });
    expect(withGroup.body.message).toBe(`groups "admins" is forbidden: User "${helm}" cannot impersonate resource "groups" in API group "" at the cluster scope`);
  });

  it("refuses Roles and RoleBindings that grant what the requester does not hold, unless it may escalate or bind", async () => {
    await admin.rbac.createNamespacedRole({ namespace: "staging-1", body: { metadata: { name: "rbac-manager" }, rules: [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: ["create", "update", "get"] }] } });
    await admin.rbac.createNamespacedRoleBinding({ namespace: "staging-1", body: { metadata: { name: "rbac-manager" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "rbac-manager" }, subjects: [{ kind: "ServiceAccount", name: "octostage-helm" }] } });
    const { rbac } = await clients(token);
    const wanted = { metadata: { name: "secrets" }, rules: [{ apiGroups: [""], resources: ["secrets", "pods"], verbs: ["get", "list"] }] };
    const escalation = await refusal(rbac.createNamespacedRole({ namespace: "staging-1", body: wanted }));
    expect(escalation).toMatchObject({ code: 403, body: { reason: "Forbidden", details: { name: "secrets", group: "rbac.authorization.k8s.io", kind: "roles" } } });
    expect(escalation.body.message).toBe(
      `roles.rbac.authorization.k8s.io "secrets" is forbidden: user "${helm}" (groups=["system:serviceaccounts" "system:serviceaccounts:staging-1" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`,
    );
    // What it holds itself, it may grant.
    await rbac.createNamespacedRole({ namespace: "staging-1", body: { metadata: { name: "pod-reader" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] } });
    const bind = (role: string): Promise<unknown> => rbac.createNamespacedRoleBinding({ namespace: "staging-1", body: { metadata: { name: `to-${role}` }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [{ kind: "User", name: "jane" }] } });
    expect((await refusal(bind("cluster-admin"))).body.message).toContain("is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}");
    // With "bind" on that ClusterRole, the binding is allowed; "escalate" allows the Role.
    await admin.rbac.createNamespacedRole({ namespace: "staging-1", body: { metadata: { name: "binder" }, rules: [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], verbs: ["bind"], resourceNames: ["cluster-admin"] }, { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["escalate"] }] } });
    await admin.rbac.createNamespacedRoleBinding({ namespace: "staging-1", body: { metadata: { name: "binder" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "binder" }, subjects: [{ kind: "ServiceAccount", name: "octostage-helm" }] } });
    await bind("cluster-admin");
    await rbac.createNamespacedRole({ namespace: "staging-1", body: wanted });
    expect(kube.get("Role", "staging-1", "secrets").rules).toEqual(wanted.rules);
    // The roleRef of a binding cannot change.
    const rb = kube.get("RoleBinding", "staging-1", "to-cluster-admin");
    const changed = await refusal(admin.rbac.replaceNamespacedRoleBinding({ name: "to-cluster-admin", namespace: "staging-1", body: { ...rb, roleRef: { ...rb.roleRef, name: "scaler" } } }));
    expect(changed).toMatchObject({ code: 422, body: { reason: "Invalid" } });
  });
});

// ---- Pod Security admission ---------------------------------------------------------------------

describe("Pod Security admission", () => {
  const namespace = (name: string, level: string): object => ({ metadata: { name, labels: { "pod-security.kubernetes.io/enforce": level } } });
  const rootPod = (name: string): object => ({
    metadata: { name },
    spec: { containers: [{ name: "web", image: "nginx", securityContext: { privileged: true } }], volumes: [{ name: "root", hostPath: { path: "/" } }] },
  });

  it("refuses a privileged pod in a baseline namespace with the plugin's message, and admits it in a privileged one", async () => {
    const { core } = await clients();
    await core.createNamespace({ body: namespace("web-1", "baseline") });
    await core.createNamespace({ body: namespace("tools", "privileged") });
    await core.createNamespace({ body: { metadata: { name: "plain" } } });
    const refused = await refusal(core.createNamespacedPod({ namespace: "web-1", body: rootPod("x") }));
    expect(refused).toMatchObject({ code: 403, body: { kind: "Status", reason: "Forbidden", details: { name: "x", kind: "pods" } } });
    expect(refused.body.message).toBe('pods "x" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "root"), privileged (container "web" must not set securityContext.privileged=true)');
    expect(kube.podSecurityDenials).toEqual([expect.objectContaining({ namespace: "web-1", name: "x", level: "baseline:latest", source: "api", message: refused.body.message })]);
    expect(kube.get("Pod", "web-1", "x")).toBeUndefined();
    await core.createNamespacedPod({ namespace: "tools", body: rootPod("x") });
    await core.createNamespacedPod({ namespace: "plain", body: rootPod("x") });
    // Host namespaces, host ports and added capabilities are baseline violations too.
    const host = await api("POST", "/api/v1/namespaces/web-1/pods", {
      metadata: { name: "host" },
      spec: { hostNetwork: true, hostPID: true, containers: [{ name: "a", image: "x", ports: [{ containerPort: 80, hostPort: 8080 }], securityContext: { capabilities: { add: ["NET_ADMIN", "CHOWN"] } } }] },
    });
    expect(host.body.message).toBe('pods "host" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "a" must not include "NET_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true), hostPort (container "a" uses hostPort 8080)');
  });

  it("restricted asks for runAsNonRoot, allowPrivilegeEscalation=false, dropped capabilities and a seccomp profile", async () => {
    await api("POST", "/api/v1/namespaces", namespace("locked", "restricted"));
    const plain = await api("POST", "/api/v1/namespaces/locked/pods", { metadata: { name: "plain" }, spec: { containers: [{ name: "app", image: "x" }] } });
    expect(plain.body.message).toBe(
      'pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    const compliant = await api("POST", "/api/v1/namespaces/locked/pods", {
      metadata: { name: "ok" },
      spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [{ name: "app", image: "x", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }] },
    });
    expect(compliant.status).toBe(201);
  });

  it("admits a violating Deployment with a Warning header; the controller reports ReplicaFailure with the admission message", async () => {
    const { core } = await clients();
    await core.createNamespace({ body: namespace("web-2", "baseline") });
    const web = {
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "web-2" },
      spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }], volumes: [{ name: "root", hostPath: { path: "/" } }] } } },
    };
    const created = await api("POST", "/apis/apps/v1/namespaces/web-2/deployments", web);
    expect(created.status).toBe(201);
    expect(created.warnings).toEqual(['299 - "would violate PodSecurity \\"baseline:latest\\": hostPath volumes (volume \\"root\\")"']);
    await expect.poll(() => kube.get("Deployment", "web-2", "web").status.observedGeneration).toBe(1);
    const status = kube.get("Deployment", "web-2", "web").status;
    const failure = status.conditions.find((c: any) => c.type === "ReplicaFailure");
    expect(failure).toMatchObject({ status: "True", reason: "FailedCreate" });
    expect(failure.message).toMatch(/^pods "web-[b-z2-9]+-[b-z2-9]{5}" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes \(volume "root"\)$/);
    expect(status.readyReplicas).toBeUndefined();
    expect(status.conditions.find((c: any) => c.type === "Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable" });
    expect(kube.podSecurityDenials.at(-1)).toMatchObject({ namespace: "web-2", source: "controller", owner: { kind: "ReplicaSet" }, message: failure.message });
    // kubectl shows the warning as the API server sends it.
    const sts = { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: "web-2" }, spec: { selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } }, spec: { hostNetwork: true, containers: [{ name: "db", image: "postgres" }] } } } };
    const child = run("kubectl", ["--kubeconfig", kube.kubeconfigPath, "--cache-dir", cacheDir, "create", "--validate=false", "-f", "-"], { timeout: 20_000 });
    child.child.stdin!.end(JSON.stringify(sts));
    expect((await child.catch((e: unknown) => e as { stderr: string })).stderr).toContain('Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)');
    await expect.poll(() => kube.get("StatefulSet", "web-2", "db").status.conditions?.[0]?.message).toBe('pods "db-0" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)');

    // Relaxing the namespace's level lets the controller create the pods.
    await core.patchNamespace({ name: "web-2", body: [{ op: "replace", path: "/metadata/labels/pod-security.kubernetes.io~1enforce", value: "privileged" }] });
    await expect.poll(() => kube.get("Deployment", "web-2", "web").status.readyReplicas).toBe(2);
    expect(kube.get("Deployment", "web-2", "web").status.conditions.map((c: any) => c.type)).toEqual(["Available", "Progressing"]);
    await expect.poll(() => kube.get("StatefulSet", "web-2", "db").status.readyReplicas).toBe(1);
    expect(kube.get("StatefulSet", "web-2", "db").status.conditions).toBeUndefined();
  });
});
