// The Kubernetes API server double speaks the real protocol: checked with kubectl and raw HTTP.
 
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

async function api(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: any }> {
  const res = await fetch(kube.url + path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": contentType } }) });
  return { status: res.status, body: await res.json() };
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
    expect(kube.list("Deployment")).toEqual([]);
    expect(kube.get("Namespace", undefined, "pr-3")).toBeUndefined();
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

  it("answers discovery, version and unknown paths like an API server", async () => {
    expect((await api("GET", "/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const groups = (await api("GET", "/apis")).body.groups.map((g: any) => g.name);
    expect(groups).toEqual(["apps", "networking.k8s.io", "batch"]);
    const apps = (await api("GET", "/apis/apps/v1")).body.resources.map((r: any) => r.name);
    expect(apps).toEqual(["deployments", "deployments/status", "deployments/scale", "statefulsets", "statefulsets/status", "statefulsets/scale"]);
    expect((await api("GET", "/version")).body.minor).toBe("32");
    expect(await api("GET", "/openapi/v3")).toMatchObject({ status: 404, body: { kind: "Status", reason: "NotFound" } });
    expect((await api("GET", "/apis/apps/v1/namespaces/x/daemonsets")).status).toBe(404);
  });
});
