import { observeWorkloads } from "../app/observe-workloads.ts";
import type { WorkloadObserver } from "../app/observe-workloads.ts";
import { reconcile } from "../app/reconcile.ts";
import { reportStatus } from "../app/report-status.ts";
import { runDeploy } from "../app/run-deploy.ts";
import { runCommentCommands } from "../app/run-comment-commands.ts";
import type { AppDeps } from "../app/deps.ts";
import { startWorkers } from "../adapters/queue/bullmq.ts";
import type { BullQueues } from "../adapters/queue/bullmq.ts";

export interface WorkerOptions {
  redisUrl: string;
  prefix: string;
  concurrency: number;
  /** Report jobs one process runs at once (default: `concurrency`). */
  reportConcurrency?: number;
  reconcileEveryMs: number;
  /** How often a reconcile also recomputes every staging's health from the cache (default 5 min). */
  healthSweepEveryMs?: number;
}

export const DEFAULT_HEALTH_SWEEP_EVERY_MS = 5 * 60_000;

export interface RunningWorker {
  observer: WorkloadObserver;
  close(): Promise<void>;
}

/** Execution and observation: BullMQ workers, the workload informers, the reconcile schedule. */
export async function startWorker(deps: AppDeps, queues: BullQueues, opts: WorkerOptions): Promise<RunningWorker> {
  const observer = observeWorkloads(deps);
  // Informer events keep health current; the first reconcile after the cache is listed sweeps
  // every staging (status recomputed from the cluster after a restart), later ones now and then.
  let lastSweepAt: number | undefined = undefined;
  const sweepEveryMs = opts.healthSweepEveryMs ?? DEFAULT_HEALTH_SWEEP_EVERY_MS;
  const workers = startWorkers(
    { redisUrl: opts.redisUrl, prefix: opts.prefix, concurrency: opts.concurrency, ...(opts.reportConcurrency ? { reportConcurrency: opts.reportConcurrency } : {}), logger: deps.logger },
    {
      async deploy(stagingId, attempt, log) {
        const out = await runDeploy({ ...deps, logger: log }, stagingId, attempt);
        return out.outcome === "permanent_failure" ? { permanentError: out.error.message } : {};
      },
      async report(stagingId, log) {
        await reportStatus({ ...deps, logger: log }, stagingId);
      },
      async commands(job, log) {
        await runCommentCommands({ ...deps, logger: log }, job);
      },
      async reconcile(log) {
        const now = deps.clock.now().getTime();
        const cacheReady = observer.listed();
        const healthSweep = cacheReady && (lastSweepAt === undefined || now - lastSweepAt >= sweepEveryMs);
        await reconcile({ ...deps, logger: log }, cacheReady ? observer.watch : undefined, { healthSweep });
        if (healthSweep) lastSweepAt = now;
      },
    },
  );
  await queues.scheduleReconcile(opts.reconcileEveryMs);
  return {
    observer,
    async close() {
      await workers.close();
      await observer.stop();
    },
  };
}
