// The observer's scheduling: every namespace with events is evaluated, a burst of events for one
// namespace costs one evaluation at a time, and a first list touching many namespaces never
// evaluates more than the concurrency limit at once.
import { describe, expect, it } from "vitest";
import { observeWorkloads } from "../../src/app/observe-workloads.ts";
import type { Cluster, WorkloadEvent } from "../../src/ports/cluster.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import type { StagingStore } from "../../src/ports/store.ts";

function harness(lookupMs: number, ready: Promise<void> = Promise.resolve()) {
  let emit: (event: WorkloadEvent) => void = () => undefined;
  const cluster = {
    watchWorkloads(onEvent: (event: WorkloadEvent) => void) {
      emit = onEvent;
      return { workloadsIn: () => [], podsIn: () => [], jobsIn: () => [], ready: () => ready, stop: async () => undefined };
    },
  } as unknown as Cluster;
  let inFlight = 0;
  let maxInFlight = 0;
  const lookups: string[] = [];
  const store = {
    async findByNamespace(namespace: string) {
      lookups.push(namespace);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, lookupMs));
      inFlight--;
      return null; // not a staging namespace: nothing to evaluate further
    },
  } as unknown as StagingStore;
  const deps = { cluster, store, queue: {} as never, logger: silentLogger, clock: { now: () => new Date() } };
  return { deps, emit: (e: WorkloadEvent) => emit(e), lookups, maxInFlight: () => maxInFlight };
}

const podEvent = (namespace: string): WorkloadEvent => ({ type: "pod", namespace, name: "p" });

describe("observeWorkloads", () => {
  it("evaluates 200 namespaces from a first list, at most `concurrency` at a time, each once", async () => {
    const h = harness(2);
    const observer = observeWorkloads(h.deps, { concurrency: 4 });
    const namespaces = Array.from({ length: 200 }, (_, i) => `web-pr-${i}`);
    for (const ns of namespaces) h.emit(podEvent(ns));
    await observer.idle();
    expect(h.maxInFlight()).toBe(4);
    expect([...h.lookups].sort()).toEqual([...namespaces].sort());
    await observer.stop();
  });

  it("re-evaluates a namespace whose events arrive while it is being evaluated, once more, not once per event", async () => {
    const h = harness(20);
    const observer = observeWorkloads(h.deps, { concurrency: 2 });
    h.emit(podEvent("web-pr-1"));
    await new Promise((r) => setTimeout(r, 5)); // the first evaluation is in flight
    for (let i = 0; i < 10; i++) h.emit(podEvent("web-pr-1"));
    await observer.idle();
    expect(h.lookups).toEqual(["web-pr-1", "web-pr-1"]);
    expect(h.maxInFlight()).toBe(1);
    await observer.stop();
  });

  it("evaluates nothing before every informer has listed (a staging must not look ready without its Jobs)", async () => {
    let listed: () => void = () => undefined;
    const h = harness(1, new Promise<void>((r) => (listed = r)));
    const observer = observeWorkloads(h.deps, { concurrency: 4 });
    h.emit(podEvent("web-pr-1"));
    h.emit(podEvent("web-pr-2"));
    await new Promise((r) => setTimeout(r, 50));
    expect(h.lookups).toEqual([]);
    expect(observer.listed()).toBe(false); // the worker's reconciler does not read the cache yet either
    listed();
    await observer.idle();
    expect(observer.listed()).toBe(true);
    expect([...h.lookups].sort()).toEqual(["web-pr-1", "web-pr-2"]);
    await observer.stop();
  });

  it("evaluates with what is cached when an informer cannot list within listWaitMs", async () => {
    const h = harness(1, new Promise<void>(() => undefined));
    const observer = observeWorkloads(h.deps, { listWaitMs: 50 });
    h.emit(podEvent("web-pr-1"));
    await observer.idle();
    expect(h.lookups).toEqual(["web-pr-1"]);
    await observer.stop();
  });

  it("stop() drops namespaces still waiting: nothing is evaluated after it returns", async () => {
    const h = harness(20);
    const observer = observeWorkloads(h.deps, { concurrency: 2 });
    await observer.idle();
    for (let i = 0; i < 10; i++) h.emit(podEvent(`web-pr-${i}`));
    await new Promise((r) => setTimeout(r, 5));
    await observer.stop();
    const seen = h.lookups.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toBe(2);
    expect(h.lookups).toHaveLength(2);
  });
});
