import { eventNamespace } from "../ports/cluster.ts";
import type { WorkloadEvent, WorkloadWatch } from "../ports/cluster.ts";
import type { AppDeps } from "./deps.ts";
import { evaluateHealth } from "./evaluate-health.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "cluster" | "logger" | "clock">;

export interface WorkloadObserver {
  watch: WorkloadWatch;
  /** Resolves when every namespace touched so far has been evaluated. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One watch per workload kind for the whole cluster (never a loop per staging). Each event
 * marks its namespace dirty; a namespace is evaluated at most once at a time, with the latest
 * cached objects, so a burst of events costs one evaluation.
 */
export function observeWorkloads(deps: Deps): WorkloadObserver {
  const dirty = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let watch: WorkloadWatch | undefined = undefined;

  async function evaluate(namespace: string): Promise<void> {
    while (dirty.delete(namespace)) {
      try {
        const staging = await deps.store.findByNamespace(namespace);
        if (staging && watch) await evaluateHealth(deps, staging, watch.workloadsIn(namespace), watch.podsIn(namespace));
      } catch (err) {
        deps.logger.warn({ err, namespace }, "health evaluation failed");
      }
    }
  }

  function schedule(ns: string): void {
    if (running.has(ns)) return;
    const p = evaluate(ns).finally(() => {
      running.delete(ns);
      if (dirty.has(ns)) schedule(ns);
    });
    running.set(ns, p);
  }

  function onEvent(event: WorkloadEvent): void {
    const namespace = eventNamespace(event);
    dirty.add(namespace);
    schedule(namespace);
  }

  watch = deps.cluster.watchWorkloads(onEvent);
  const w = watch;
  return {
    watch: w,
    async idle() {
      while (running.size) await Promise.all([...running.values()]);
    },
    async stop() {
      await w.stop();
      await Promise.all([...running.values()]);
    },
  };
}
