// The informers' raw transport: GETs and watch streams with the kubeconfig's authentication,
// errors as client-node reports them (so ListWatch and toKubeError understand them), and watch
// lines split exactly as sent, however TCP cuts them.
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { toKubeError } from "../../src/adapters/kube/kube-error.ts";
import { kubeConnectionFromString, loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { createKubeTransport, getList } from "../../src/adapters/kube/kube-transport.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api-double.ts";
import { realisticPod } from "../support/realistic-pod.ts";

let kube: KubeApiDouble | undefined;
let server: Server | undefined;
afterEach(async () => {
  await kube?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  kube = undefined;
  server = undefined;
});

function watchUntilDone(transport: ReturnType<typeof createKubeTransport>, path: string, query: Record<string, string> = {}) {
  const lines: string[] = [];
  let resolvedBeforeDone: boolean | undefined;
  let settled = false;
  const done = new Promise<unknown>((resolve) => {
    const controller = transport.watch(path, query, (l) => lines.push(l.toString("utf8")), (err) => {
      resolvedBeforeDone ??= settled;
      resolve(err);
    });
    void controller.then(() => (settled = true));
  });
  return { lines, done, resolvedBeforeDone: () => resolvedBeforeDone };
}

describe("kube transport", () => {
  it("GETs a list with the kubeconfig's token, and turns an error answer into a KubeApiError (status and Status body)", async () => {
    kube = await startKubeApiDouble({ rbac: true });
    kube.addToken("reader", { user: "reader" });
    kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pr-1", labels: { a: "b" } } });
    const anonymous = createKubeTransport(loadKubeConfig(await kube.writeKubeconfig("nobody-knows-this")));
    const refused = await anonymous.get("/api/v1/namespaces", {}, () => undefined).catch((e: unknown) => e);
    expect(toKubeError(refused, "list namespaces")).toMatchObject({ code: "forbidden", status: 401 });

    const admin = createKubeTransport(loadKubeConfig(kube.kubeconfigPath));
    const list = await getList(admin, "/api/v1/namespaces", { labelSelector: "a=b", limit: 1 });
    expect(list.items.map((n) => n.metadata?.name)).toEqual(["pr-1"]);
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
    const user = createKubeTransport(loadKubeConfig(await kube.writeKubeconfig("reader")));
    const forbidden = toKubeError(await user.get("/api/v1/pods", {}, () => undefined).catch((e: unknown) => e), "list pods");
    expect(forbidden).toMatchObject({ code: "forbidden", status: 403 });
    expect(forbidden.message).toContain('User "reader" cannot list resource "pods"');
  });

  it("reads list pages into reused buffers: large, small and concurrent answers come out whole, and a failing reader does not lose the buffer", async () => {
    kube = await startKubeApiDouble();
    for (let i = 0; i < 300; i++) kube.put(realisticPod(`team-${i % 3}`, `api-${i}-7f9c5d8b6-x2k4p`)); // about 2 MB of JSON
    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "small", namespace: "pr-1" } });
    const transport = createKubeTransport(loadKubeConfig(kube.kubeconfigPath));
    const names = (body: Buffer): string[] => (JSON.parse(body.toString("utf8")) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);
    for (let round = 0; round < 2; round++) {
      expect(await transport.get("/api/v1/pods", {}, names)).toHaveLength(300);
      expect(await transport.get("/api/v1/configmaps", {}, names)).toEqual(["small"]);
    }
    const both = await Promise.all([transport.get("/api/v1/pods", { limit: 200 }, names), transport.get("/api/v1/namespaces/team-1/pods", {}, names), transport.get("/api/v1/configmaps", {}, names)]);
    expect(both.map((b) => b.length)).toEqual([200, 100, 1]);
    await expect(transport.get("/api/v1/configmaps", {}, () => JSON.parse("{"))).rejects.toThrow(SyntaxError);
    expect(await transport.get("/api/v1/configmaps", {}, names)).toEqual(["small"]);
  });

  it("streams watch events line by line, and reports a refused watch before watch() resolves, as client-node's Watch does", async () => {
    kube = await startKubeApiDouble();
    const transport = createKubeTransport(loadKubeConfig(kube.kubeconfigPath));
    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "pr-1" } });
    const ok = watchUntilDone(transport, "/api/v1/configmaps");
    await expect.poll(() => ok.lines.length).toBe(1);
    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b", namespace: "pr-1" } });
    await expect.poll(() => ok.lines.length).toBe(2);
    expect(ok.lines.map((l) => (JSON.parse(l) as { type: string; object: { metadata: { name: string } } }).object.metadata.name)).toEqual(["a", "b"]);
    kube.dropWatches();
    expect(await ok.done).toBeNull();

    kube.failNext("GET", /configmaps/, 410);
    const gone = watchUntilDone(transport, "/api/v1/configmaps", { resourceVersion: "1" });
    expect(await gone.done).toMatchObject({ code: 410 });
    expect(gone.resolvedBeforeDone()).toBe(false);
  });

  it("splits lines however they arrive (CRLF, cut mid-line, several per chunk), and gives up on a silent stream with a TimeoutError", async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      if (req.url?.startsWith("/quiet")) return;
      res.write('{"type":"ADDED","object":{"metadata":{"na');
      setImmediate(() => {
        res.write('me":"a"}}}\r\n{"type":"ADDED","object":{"metadata":{"name":"b"}}}\n{"type":"MODI');
        setImmediate(() => res.end('FIED","object":{"metadata":{"name":"b"}}}\n'));
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const kc = kubeConnectionFromString(stringify({
      clusters: [{ name: "c", cluster: { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      "current-context": "c",
    }));
    const transport = createKubeTransport(kc, { inactivityMs: 50, requestInactivityMs: 50 });
    const cut = watchUntilDone(transport, "/cut");
    expect(await cut.done).toBeNull();
    expect(cut.lines).toEqual(['{"type":"ADDED","object":{"metadata":{"name":"a"}}}', '{"type":"ADDED","object":{"metadata":{"name":"b"}}}', '{"type":"MODIFIED","object":{"metadata":{"name":"b"}}}']);
    const quiet = watchUntilDone(transport, "/quiet");
    expect(await quiet.done).toMatchObject({ name: "TimeoutError" });
    await expect(transport.get("/quiet", {}, () => undefined)).rejects.toMatchObject({ name: "TimeoutError" });
    await expect(transport.request({ method: "DELETE", path: "/quiet" })).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("gives up on an API server that accepts the connection but never completes the TLS handshake", async () => {
    const silent = createNetServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const kc = kubeConnectionFromString(stringify({
        clusters: [{ name: "c", cluster: { server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}` } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        "current-context": "c",
      }));
      // The inactivity timeouts are far away: only the connect timeout can end these.
      const transport = createKubeTransport(kc, { inactivityMs: 60_000, requestInactivityMs: 60_000, connectTimeoutMs: 100 });
      await expect(transport.request({ method: "GET", path: "/api/v1/namespaces/pr-1" })).rejects.toMatchObject({ name: "TimeoutError" });
      await expect(transport.get("/api/v1/pods", {}, () => undefined)).rejects.toMatchObject({ name: "TimeoutError" });
      expect(toKubeError(await transport.request({ method: "GET", path: "/api/v1/namespaces/pr-1" }).catch((e: unknown) => e), "read Namespace pr-1").code).toBe("unreachable");
    } finally {
      silent.close();
    }
  }, 10_000);

  it("ends a stream with the handler's error when the handler throws, and once with AbortError when aborted", async () => {
    kube = await startKubeApiDouble();
    const transport = createKubeTransport(loadKubeConfig(kube.kubeconfigPath));
    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "pr-1" } });
    const boom = new Error("boom");
    const thrown = await new Promise((resolve) => void transport.watch("/api/v1/configmaps", {}, () => { throw boom; }, resolve));
    expect(thrown).toBe(boom);
    const ends: unknown[] = [];
    const controller = await transport.watch("/api/v1/configmaps", {}, () => undefined, (err) => ends.push(err));
    controller.abort();
    await expect.poll(() => ends.length).toBe(1);
    expect(ends[0]).toMatchObject({ name: "AbortError" });
  });
});
