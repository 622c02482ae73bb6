// Observation scoped to stagings (issue 14): the informers keep and report only objects of
// namespaces Octostage labelled; another team's objects are dropped before they are parsed; a
// namespace that enters the scope after its objects were dropped is caught up, and nothing that
// changed meanwhile is lost. Every wait below is for a condition (an event seen, a request
// made); where a test must know that an event was dropped, it waits for a later event of the
// same watch stream, which the API server sends in order.
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { createKubeTransport, type KubeTransport } from "../../src/adapters/kube/kube-transport.ts";
import type { NamespaceScope } from "../../src/adapters/kube/namespace-scope.ts";
import { podSnapshot, trimPod } from "../../src/adapters/kube/pod-snapshot.ts";
import type { ResilientInformer } from "../../src/adapters/kube/resilient-informer.ts";
import { startScopedInformer } from "../../src/adapters/kube/scoped-informer.ts";
import type { Logger } from "../../src/ports/logger.ts";
import type { WorkloadEvent, WorkloadWatch } from "../../src/ports/cluster.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api-double.ts";
import { installOctostageRbac } from "../support/octostage-rbac.ts";
import { realisticPod } from "../support/realistic-pod.ts";

const MANAGED = { "app.kubernetes.io/managed-by": "octostage" };
let kube: KubeApiDouble;
let watch: WorkloadWatch | undefined;
let informer: ResilientInformer<V1Pod> | undefined;
const events: WorkloadEvent[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await watch?.stop();
  await informer?.stop();
  watch = undefined;
  informer = undefined;
  events.length = 0;
  await kube.close();
});

function namespace(name: string, labels: Record<string, string> = {}): void {
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
}
function deployment(ns: string, name: string): object {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: ns }, spec: { replicas: 1, selector: { matchLabels: { app: name } } } };
}
function job(ns: string, name: string): object {
  return { apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: ns }, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "j", image: "j" }] } } } };
}
const namespacesOf = (list: WorkloadEvent[]): string[] => [...new Set(list.map((e) => (e.type === "pod" || e.type === "job" ? e.namespace : e.workload.namespace)))].sort();
const sawPod = (ns: string, name: string): boolean => events.some((e) => e.type === "pod" && e.namespace === ns && e.name === name);
const perNamespaceRequests = (ns: string): string[] => kube.requests.filter((r) => r.path.includes(`/namespaces/${ns}/`)).map((r) => `${r.method} ${r.path}`);

async function startWatch(): Promise<WorkloadWatch> {
  const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), delay: () => sleep(5) });
  watch = cluster.watchWorkloads((e) => events.push(e));
  await watch.ready();
  return watch;
}

/** Counts JSON.parse calls on text that holds each needle (a namespace name). */
function countParses(...needles: string[]): () => Record<string, number> {
  const parse = JSON.parse.bind(JSON);
  const counts = Object.fromEntries(needles.map((n) => [n, 0]));
  vi.spyOn(JSON, "parse").mockImplementation((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    for (const n of needles) if (typeof text === "string" && text.includes(`"${n}"`)) counts[n]!++;
    return parse(text, reviver) as unknown;
  });
  return () => counts;
}

describe("watchWorkloads, scoped to staging namespaces", () => {
  it("keeps and reports only objects of namespaces Octostage labelled; another team's are never parsed, cached or reported", async () => {
    kube = await startKubeApiDouble();
    kube.setController("manual");
    namespace("pr-1", MANAGED);
    namespace("team-payments");
    for (const ns of ["pr-1", "team-payments"]) {
      kube.put(realisticPod(ns, "web-7f9c5d8b6-aaaaa"));
      kube.put(deployment(ns, "web"));
      kube.put(job(ns, "migrate"));
    }
    const parses = countParses("team-payments", "pr-1");
    const w = await startWatch();
    expect(w.podsIn("pr-1").map((p) => p.name)).toEqual(["web-7f9c5d8b6-aaaaa"]);
    expect([w.podsIn("team-payments"), w.workloadsIn("team-payments"), w.jobsIn("team-payments")]).toEqual([[], [], []]);

    // Changes to the other team's objects, then one to the staging's: once that one is seen, the
    // others (earlier on the same streams) have been dropped.
    kube.put(realisticPod("team-payments", "web-7f9c5d8b6-bbbbb", { ready: false }));
    kube.put(realisticPod("team-payments", "web-7f9c5d8b6-aaaaa", { ready: false }));
    kube.remove("Pod", "team-payments", "web-7f9c5d8b6-bbbbb");
    kube.put({ ...(deployment("team-payments", "web") as Record<string, unknown>), spec: { replicas: 3, selector: { matchLabels: { app: "web" } } } });
    kube.put(job("team-payments", "nightly"));
    kube.put(realisticPod("pr-1", "web-7f9c5d8b6-ccccc"));
    kube.put(deployment("pr-1", "api"));
    kube.put(job("pr-1", "seed"));
    await expect.poll(() => sawPod("pr-1", "web-7f9c5d8b6-ccccc") && events.some((e) => e.type === "upsert" && e.workload.name === "api") && events.some((e) => e.type === "job" && e.name === "seed")).toBe(true);

    expect(namespacesOf(events)).toEqual(["pr-1"]);
    expect([w.podsIn("team-payments"), w.workloadsIn("team-payments"), w.jobsIn("team-payments")]).toEqual([[], [], []]);
    expect(parses()["team-payments"]).toBe(0);
    expect(parses()["pr-1"]).toBeGreaterThan(0);
    // Nothing of pr-1 was dropped: no request for it alone.
    expect(perNamespaceRequests("pr-1")).toEqual([]);
  });

  it("a namespace labelled after its pods exist gets them observed (one list for it per kind it had), and loses them when unlabelled", async () => {
    kube = await startKubeApiDouble();
    kube.setController("manual");
    namespace("pr-7");
    kube.put(realisticPod("pr-7", "web-7f9c5d8b6-aaaaa"));
    kube.put(deployment("pr-7", "web"));
    const w = await startWatch();
    expect(w.podsIn("pr-7")).toEqual([]);

    namespace("pr-7", MANAGED);
    await expect.poll(() => w.podsIn("pr-7").map((p) => p.name)).toEqual(["web-7f9c5d8b6-aaaaa"]);
    await expect.poll(() => w.workloadsIn("pr-7").map((d) => d.name)).toEqual(["web"]);
    expect(sawPod("pr-7", "web-7f9c5d8b6-aaaaa")).toBe(true);
    // Listed for the kinds of which something was dropped (no StatefulSet or Job was).
    expect(perNamespaceRequests("pr-7").sort()).toEqual(["GET /api/v1/namespaces/pr-7/pods", "GET /apis/apps/v1/namespaces/pr-7/deployments"]);
    kube.put(realisticPod("pr-7", "web-7f9c5d8b6-bbbbb", { ready: false }));
    await expect.poll(() => w.podsIn("pr-7").length).toBe(2);
    expect(w.podsIn("pr-7").find((p) => p.name.endsWith("bbbbb"))!.containers[0]!.ready).toBe(false);

    // Unlabelled: the API server says DELETED to the namespace watch; the objects leave the caches.
    events.length = 0;
    namespace("pr-7");
    await expect.poll(() => [w.podsIn("pr-7").length, w.workloadsIn("pr-7").length]).toEqual([0, 0]);
    expect(events.filter((e) => e.type === "delete").map((e) => e.type === "delete" && e.workload.name)).toEqual(["web"]);
    expect(events.filter((e) => e.type === "pod").map((e) => e.type === "pod" && e.name).sort()).toEqual(["web-7f9c5d8b6-aaaaa", "web-7f9c5d8b6-bbbbb"]);
  });

  it("a staging namespace created after the start, as ensureNamespace creates it, costs no extra request", async () => {
    kube = await startKubeApiDouble();
    const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), delay: () => sleep(5) });
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    await cluster.ensureNamespace("pr-3", "staging-3");
    kube.put(deployment("pr-3", "web"));
    kube.put(realisticPod("pr-3", "web-7f9c5d8b6-aaaaa"));
    await expect.poll(() => sawPod("pr-3", "web-7f9c5d8b6-aaaaa")).toBe(true);
    await expect.poll(() => watch!.workloadsIn("pr-3").map((d) => d.readyReplicas)).toEqual([1]);
    expect(perNamespaceRequests("pr-3").filter((r) => r.startsWith("GET"))).toEqual([]);
  });

  it("without the right to watch namespaces (a ClusterRole from before), observes every namespace and says what to grant", async () => {
    kube = await startKubeApiDouble({ rbac: true });
    const kubeconfig = await installOctostageRbac(kube);
    const role = kube.get("ClusterRole", undefined, "octostage");
    kube.put({ ...role, rules: role.rules.map((r: { resources: string[]; verbs: string[] }) => (r.resources.includes("namespaces") ? { ...r, verbs: r.verbs.filter((v) => v !== "watch") } : r)) });
    namespace("team-payments");
    kube.put(realisticPod("team-payments", "api-7f9c5d8b6-aaaaa"));
    const errors: string[] = [];
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_meta, msg) => void errors.push(msg), child: () => logger };
    const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(kubeconfig), delay: () => sleep(5), logger });
    watch = cluster.watchWorkloads((e) => events.push(e));
    await watch.ready();
    expect(watch.podsIn("team-payments").map((p) => p.name)).toEqual(["api-7f9c5d8b6-aaaaa"]);
    expect(errors).toEqual([expect.stringContaining("Grant the worker list and watch on namespaces")]);
    expect(kube.denials.map((d) => `${d.verb} ${d.resource}`)).toContain("watch namespaces");
  });
});

/** A namespace scope the test moves by hand. */
function manualScope(initial: string[]): NamespaceScope & { enter(ns: string): void; leave(ns: string): void } {
  const members = new Set(initial);
  const listeners: ((ns: string, entered: boolean) => void)[] = [];
  return {
    has: (ns) => members.has(ns),
    subscribe: (l) => void listeners.push(l),
    ready: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    enter(ns) {
      members.add(ns);
      for (const l of listeners) l(ns, true);
    },
    leave(ns) {
      members.delete(ns);
      for (const l of listeners) l(ns, false);
    },
  };
}

interface Gate {
  /** Resolves when a request matching the gate is waiting on it. */
  reached: Promise<void>;
  open(): void;
}

/**
 * The real transport, with the GETs `held` picks held back: the request is sent and answered,
 * and its answer handed over only once the gate opens (a slow answer). Also counts watch lines.
 */
function gatedTransport(held: (path: string, query: Record<string, unknown>) => boolean): { transport: KubeTransport; gate: Gate; lines: () => number; calls: string[] } {
  const real = createKubeTransport(loadKubeConfig(kube.kubeconfigPath));
  let lines = 0;
  /** GETs as the informer makes them, and held answers as they are handed over. */
  const calls: string[] = [];
  let reached!: () => void;
  let open!: () => void;
  const gate: Gate = { reached: new Promise((r) => (reached = r)), open: () => open() };
  const opened = new Promise<void>((r) => (open = r));
  return {
    transport: {
      request: (request) => real.request(request),
      async get(path, query, read) {
        calls.push(`get ${path}`);
        // The answer is read off the wire now, and handed over once the gate opens.
        const body = await real.get(path, query, (b) => Buffer.from(b));
        if (held(path, query)) {
          reached();
          await opened;
          calls.push(`answer ${path}`);
        }
        return read(body);
      },
      watch: (path, query, line, done) =>
        real.watch(
          path,
          query,
          (l) => {
            lines++;
            line(l);
          },
          done,
        ),
    },
    gate,
    lines: () => lines,
    calls,
  };
}

function startPods(transport: KubeTransport, scope: NamespaceScope, seen: string[], pageSize?: number, delay: (ms: number) => Promise<void> = () => sleep(2)): ResilientInformer<V1Pod> {
  informer = startScopedInformer<V1Pod>({
    name: "pods",
    path: "/api/v1/pods",
    transport,
    scope,
    trim: trimPod,
    onEvent: (type, pod) => seen.push(`${type} ${pod.metadata?.namespace}/${pod.metadata?.name}`),
    delay,
    random: () => 0.5,
    ...(pageSize ? { pageSize } : {}),
  });
  return informer;
}
const cached = (i: ResilientInformer<V1Pod>, ns?: string): string[] => i.list(ns).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}:${podSnapshot(p).containers[0]?.ready}`).sort();
const apiServer = (ns: string): string[] => kube.list("Pod", ns).map((p) => `${ns}/${p.metadata.name}:${p.status.containerStatuses[0].ready}`).sort();

describe("startScopedInformer: a namespace entering the scope is caught up", () => {
  it("lists it once; what changes in it meanwhile (adds, changes, deletes) is held and applied after the list, however old the list is", async () => {
    kube = await startKubeApiDouble();
    kube.put(realisticPod("pr-1", "a"));
    kube.put(realisticPod("pr-2", "b"));
    kube.put(realisticPod("pr-2", "c"));
    const scope = manualScope(["pr-1"]);
    const { transport, gate } = gatedTransport((path) => path === "/api/v1/namespaces/pr-2/pods");
    const seen: string[] = [];
    const i = startPods(transport, scope, seen);
    await i.ready();
    expect(cached(i)).toEqual(["pr-1/a:true"]);

    scope.enter("pr-2");
    await gate.reached; // the list of pr-2 is answered (b and c, ready) but not yet handed over
    kube.put(realisticPod("pr-2", "b", { ready: false }));
    kube.remove("Pod", "pr-2", "c");
    kube.put(realisticPod("pr-2", "d"));
    kube.put(realisticPod("pr-1", "barrier"));
    await expect.poll(() => cached(i, "pr-1")).toContain("pr-1/barrier:true");
    expect(cached(i, "pr-2")).toEqual([]); // held while the list is out

    gate.open();
    await expect.poll(() => cached(i, "pr-2")).toEqual(apiServer("pr-2"));
    expect(cached(i, "pr-2")).toEqual(["pr-2/b:false", "pr-2/d:true"]);
    expect(seen.filter((s) => s.includes("pr-2/"))).toEqual(["add pr-2/b", "add pr-2/c", "update pr-2/b", "delete pr-2/c", "add pr-2/d"]);
    // Afterwards its events go straight through.
    kube.put(realisticPod("pr-2", "e"));
    await expect.poll(() => cached(i, "pr-2")).toContain("pr-2/e:true");
    expect(kube.requests.filter((r) => r.path === "/api/v1/namespaces/pr-2/pods")).toHaveLength(1);
  });

  it("a namespace entering while the informer lists is caught up once the list is in the cache", async () => {
    kube = await startKubeApiDouble();
    kube.put(realisticPod("pr-2", "b"));
    kube.put(realisticPod("pr-3", "z"));
    const scope = manualScope(["pr-3"]);
    // Pages of one pod: pr-2/b (dropped), then pr-3/z, whose answer waits on the gate.
    const { transport, gate, calls } = gatedTransport((path, query) => path === "/api/v1/pods" && query.continue !== undefined);
    const seen: string[] = [];
    const i = startPods(transport, scope, seen, 1);
    await gate.reached;
    scope.enter("pr-2");
    gate.open();
    await i.ready();
    await expect.poll(() => cached(i)).toEqual(["pr-2/b:true", "pr-3/z:true"]);
    expect(kube.requests.filter((r) => r.path === "/api/v1/namespaces/pr-2/pods")).toHaveLength(1);
    // Listed only after the informer's list was done (a catch-up cannot add to a cache that the list will replace).
    expect(calls).toEqual(["get /api/v1/pods", "get /api/v1/pods", "answer /api/v1/pods", "get /api/v1/namespaces/pr-2/pods"]);
    expect(seen).toEqual(["add pr-3/z", "add pr-2/b"]);
    // Its later events go straight through (nothing is left holding them).
    kube.put(realisticPod("pr-2", "c"));
    await expect.poll(() => cached(i, "pr-2")).toEqual(["pr-2/b:true", "pr-2/c:true"]);
  });

  it("a catch-up still out when the watch's resourceVersion expires (ERROR 410) is covered by the list that follows", async () => {
    kube = await startKubeApiDouble({ historyLimit: 5 });
    kube.put(realisticPod("pr-1", "a"));
    kube.put(realisticPod("pr-2", "b"));
    const scope = manualScope(["pr-1"]);
    const { transport, gate } = gatedTransport((path) => path === "/api/v1/namespaces/pr-2/pods");
    let restart!: () => void;
    let restarting: Promise<void> | undefined = undefined;
    const delays: number[] = [];
    const delay = async (ms: number): Promise<void> => {
      delays.push(ms);
      await restarting;
    };
    const i = startPods(transport, scope, [], undefined, delay);
    await i.ready();
    scope.enter("pr-2");
    await gate.reached;
    // The watch fails and its restart waits, while more happens than the server's history keeps.
    restarting = new Promise((r) => (restart = r));
    kube.failNext("GET", /^\/api\/v1\/pods$/, 500);
    kube.dropWatches();
    await expect.poll(() => delays.length).toBeGreaterThan(0);
    kube.put(realisticPod("pr-2", "b", { ready: false }));
    kube.put(realisticPod("pr-2", "c"));
    for (let n = 0; n < 10; n++) kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${n}`, namespace: "pr-1" } });
    restart();
    const lists = (): number => kube.requests.filter((r) => r.path === "/api/v1/pods" && !r.query.watch).length;
    await expect.poll(lists).toBe(2); // the watch from the old version got ERROR 410, and the informer listed again
    gate.open(); // the old catch-up's answer comes back now: too late to matter
    await expect.poll(() => cached(i)).toEqual([...apiServer("pr-1"), ...apiServer("pr-2")]);
    kube.put(realisticPod("pr-2", "d"));
    await expect.poll(() => cached(i, "pr-2")).toEqual(["pr-2/b:false", "pr-2/c:true", "pr-2/d:true"]);
  });

  it("a namespace leaving the scope leaves the cache, reported as deletes", async () => {
    kube = await startKubeApiDouble();
    kube.put(realisticPod("pr-1", "a"));
    kube.put(realisticPod("pr-2", "b"));
    const scope = manualScope(["pr-1", "pr-2"]);
    const seen: string[] = [];
    const i = startPods(createKubeTransport(loadKubeConfig(kube.kubeconfigPath)), scope, seen);
    await i.ready();
    scope.leave("pr-2");
    expect(cached(i)).toEqual(["pr-1/a:true"]);
    expect(seen).toEqual(["add pr-1/a", "add pr-2/b", "delete pr-2/b"]);
    kube.put(realisticPod("pr-2", "c"));
    kube.put(realisticPod("pr-1", "barrier"));
    await expect.poll(() => cached(i)).toEqual(["pr-1/a:true", "pr-1/barrier:true"]);
  });

  it("resumes a watch after the events it dropped, not before them", async () => {
    kube = await startKubeApiDouble();
    const scope = manualScope(["pr-1"]);
    const { transport, lines } = gatedTransport(() => false);
    const i = startPods(transport, scope, []);
    await i.ready();
    for (const name of ["a", "b", "c"]) kube.put(realisticPod("team-payments", name));
    await expect.poll(lines).toBe(3);
    const last = kube.get("Pod", "team-payments", "c").metadata.resourceVersion as string;
    kube.dropWatches();
    await expect.poll(() => kube.requests.filter((r) => r.path === "/api/v1/pods" && r.query.watch).length).toBe(2);
    expect(kube.requests.filter((r) => r.path === "/api/v1/pods" && r.query.watch).map((r) => r.query.resourceVersion).at(-1)).toBe(last);
    expect(cached(i)).toEqual([]);
  });
});
