import { eventNamespace } from "../ports/cluster.ts";
import type { WorkloadEvent, WorkloadWatch } from "../ports/cluster.ts";
import type { AppDeps } from "./deps.ts";
import { evaluateHealth } from "./evaluate-health.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "cluster" | "logger" | "clock">;

export interface WorkloadObserver {
  watch: WorkloadWatch;
  /** True once every informer has listed (or the wait for them ran out): the cache is worth reading. */
  listed(): boolean;
  /** Resolves when every namespace touched so far has been evaluated. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Namespaces evaluated at the same time. */
const EVALUATION_CONCURRENCY = 8;

/**
 * One watch per workload kind for the whole cluster (never a loop per staging). Each event
 * marks its namespace dirty; a namespace is evaluated at most once at a time, with the latest
 * cached objects, so a burst of events costs one evaluation. At most EVALUATION_CONCURRENCY
 * namespaces are evaluated at once, the rest wait in arrival order: the first list after a
 * start touches every staging namespace, and evaluating 1,000 of them at once would hold
 * 1,000 queries and their results in memory together (a peak the process keeps as RSS).
 */
export function observeWorkloads(deps: Deps, options: { concurrency?: number; listWaitMs?: number } = {}): WorkloadObserver {
  const concurrency = Math.max(1, options.concurrency ?? EVALUATION_CONCURRENCY);
  // No evaluation before every informer has listed: with Deployments listed and Jobs not yet,
  // a staging waiting for its migration Job would read as running.
  let listed = false;
  let stopped = false;
  const dirty = new Set<string>();
  const waiting = new Set<string>(); // dirty namespaces waiting for a slot, in arrival order
  const running = new Map<string, Promise<void>>();
  let watch: WorkloadWatch | undefined = undefined;

  async function evaluate(namespace: string): Promise<void> {
    while (dirty.delete(namespace)) {
      try {
        const staging = await deps.store.findByNamespace(namespace);
        if (staging && watch) await evaluateHealth(deps, staging, watch.workloadsIn(namespace), watch.podsIn(namespace), watch.jobsIn(namespace));
      } catch (err) {
        deps.logger.warn({ err, namespace }, "health evaluation failed");
      }
    }
  }

  function pump(): void {
    if (!listed || stopped) return;
    for (const ns of waiting) {
      if (running.size >= concurrency) return;
      waiting.delete(ns);
      const p = evaluate(ns).finally(() => {
        running.delete(ns);
        if (dirty.has(ns)) waiting.add(ns);
        pump();
      });
      running.set(ns, p);
    }
  }

  function onEvent(event: WorkloadEvent): void {
    const namespace = eventNamespace(event);
    dirty.add(namespace);
    if (!running.has(namespace)) waiting.add(namespace);
    pump();
  }

  watch = deps.cluster.watchWorkloads(onEvent);
  const w = watch;
  // An informer that cannot list (missing RBAC on Jobs, say) is retried forever: after
  // listWaitMs, health is evaluated with what the others hold rather than not at all.
  const listWaitMs = options.listWaitMs ?? 30_000;
  let release: (outcome: "listed" | "timeout" | "stopped") => void = () => undefined;
  const waited = new Promise<"listed" | "timeout" | "stopped">((resolve) => (release = resolve));
  const timer = setTimeout(() => release("timeout"), listWaitMs);
  timer.unref();
  w.ready().then(
    () => release("listed"),
    () => undefined,
  );
  const gate = waited.then((outcome) => {
    clearTimeout(timer);
    if (outcome === "timeout") deps.logger.warn({ waitedMs: listWaitMs }, "not every workload informer has listed yet (see the kube informer warnings; RBAC?): evaluating health with what is cached");
    listed = true;
    pump();
  });
  return {
    watch: w,
    listed: () => listed && !stopped,
    async idle() {
      await gate;
      while (running.size || waiting.size) await Promise.all([...running.values()]);
    },
    async stop() {
      stopped = true;
      waiting.clear();
      release("stopped");
      await w.stop();
      while (running.size) await Promise.all([...running.values()]);
    },
  };
}
