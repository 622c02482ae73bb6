import { observeWorkloads } from "../app/observe-workloads.ts";
import type { WorkloadObserver } from "../app/observe-workloads.ts";
import { pruneHistory, sweepLifecycle } from "../app/lifecycle/sweep.ts";
import { enforceLimits } from "../app/lifecycle/running-limit.ts";
import { reconcile } from "../app/reconcile.ts";
import type { ReconcileOptions } from "../app/reconcile.ts";
import { reportStatus } from "../app/report-status.ts";
import { reportJira } from "../app/jira/report-jira.ts";
import { reportSlack } from "../app/slack/report-slack.ts";
import { runDeploy } from "../app/run-deploy.ts";
import { runCommentCommands } from "../app/run-comment-commands.ts";
import type { AppDeps } from "../app/deps.ts";
import { errorSummary } from "../app/change-staging.ts";
import { startWorkers } from "../adapters/queue/bullmq.ts";
import type { BullQueues } from "../adapters/queue/bullmq.ts";
import { StoreUnavailableError } from "../ports/store.ts";

export interface WorkerOptions {
  redisUrl: string;
  prefix: string;
  concurrency: number;
  /** Report jobs one process runs at once (default: `concurrency`). */
  reportConcurrency?: number;
  reconcileEveryMs: number;
  /** How often a reconcile also recomputes every staging's health from the cache (default 5 min). */
  healthSweepEveryMs?: number;
  /** How often the reconcile schedule is asserted again (a flushed Redis heals itself). Default 30 s. */
  scheduleReassertEveryMs?: number;
  /** Answers when Postgres is reachable again (the worker pauses while it is not). */
  probeStore(): Promise<void>;
  pullRequestSync?: ReconcileOptions["pullRequestSync"];
  /** How often the lifecycle sweep and housekeeping run (default 5 min). */
  lifecycleEveryMs?: number;
}

const DEFAULT_HEALTH_SWEEP_EVERY_MS = 5 * 60_000;

export interface RunningWorker {
  observer: WorkloadObserver;
  close(): Promise<void>;
}

/**
 * Execution and observation: BullMQ workers, the workload informers, the reconcile schedule.
 * While Postgres is unreachable the workers pause (jobs would only fail) and resume by
 * themselves once it answers. Closing stops helm runs in progress (their work is handed on:
 * the lease is released and the reconciler re-enqueues it).
 */
export async function startWorker(deps: AppDeps, queues: BullQueues, opts: WorkerOptions): Promise<RunningWorker> {
  const observer = observeWorkloads(deps);
  const shutdown = new AbortController();
  // Informer events keep health current; the first reconcile after the cache is listed sweeps
  // every staging (status recomputed from the cluster after a restart), later ones now and then.
  let lastSweepAt: number | undefined = undefined;
  const sweepEveryMs = opts.healthSweepEveryMs ?? DEFAULT_HEALTH_SWEEP_EVERY_MS;
  let paused = false;
  // Set once the queue workers exist (the handlers below pause them).
  const control: { workers?: { pause(): Promise<void>; resume(): void } } = {};

  async function pauseUntilStoreAnswers(): Promise<void> {
    const workers = control.workers;
    if (paused || !workers || shutdown.signal.aborted) return;
    paused = true;
    deps.logger.warn({}, "PostgreSQL is unavailable: pausing the workers until it answers");
    await workers.pause().catch(() => undefined);
    for (let wait = 500; !shutdown.signal.aborted; wait = Math.min(wait * 2, 5_000)) {
      await new Promise((r) => setTimeout(r, wait));
      try {
        await opts.probeStore();
        break;
      } catch {
        // still down
      }
    }
    paused = false;
    if (shutdown.signal.aborted) return;
    deps.logger.info({}, "PostgreSQL answers again: workers resumed");
    workers.resume();
  }

  async function guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreUnavailableError) void pauseUntilStoreAnswers();
      throw err;
    }
  }

  const workers = startWorkers(
    {
      redisUrl: opts.redisUrl,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      logger: deps.logger,
      ...(opts.reportConcurrency ? { reportConcurrency: opts.reportConcurrency } : {}),
      // Renewed while a reconcile runs: a worker killed mid-run holds up the others this long at most.
      reconcileLockMs: Math.max(10_000, opts.reconcileEveryMs * 2),
      // The deploy jobs' lock and retries follow the lease this process takes (tests shorten it).
      deployLeaseMs: deps.timing.deployLeaseMs,
    },
    {
      deploy: (stagingId, log) =>
        guarded(async () => {
          const out = await runDeploy({ ...deps, logger: log }, stagingId, shutdown.signal);
          return out.outcome === "permanent_failure" ? { permanentError: out.error.message } : {};
        }),
      report: (stagingId, log) =>
        guarded(async () => {
          await reportStatus({ ...deps, logger: log }, stagingId);
          await reportJira({ ...deps, logger: log }, stagingId);
          await reportSlack({ ...deps, logger: log }, stagingId);
        }),
      command: (commandId, log) => guarded(() => runCommentCommands({ ...deps, logger: log }, commandId)),
      reconcile: (log) =>
        guarded(async () => {
          const now = deps.clock.now().getTime();
          const cacheReady = observer.listed();
          const healthSweep = cacheReady && (lastSweepAt === undefined || now - lastSweepAt >= sweepEveryMs);
          await reconcile({ ...deps, logger: log }, cacheReady ? observer.watch : undefined, {
            healthSweep,
            ...(opts.pullRequestSync === undefined ? {} : { pullRequestSync: opts.pullRequestSync }),
          });
          if (healthSweep) lastSweepAt = now;
        }),
      lifecycle: (log) =>
        guarded(async () => {
          await sweepLifecycle({ ...deps, logger: log });
          await enforceLimits({ ...deps, logger: log });
          await pruneHistory({ ...deps, logger: log });
        }),
    },
  );
  control.workers = workers;
  const stopScheduling = await queues.keepReconcileScheduled(opts.reconcileEveryMs, opts.scheduleReassertEveryMs, opts.lifecycleEveryMs);
  return {
    observer,
    async close() {
      shutdown.abort();
      stopScheduling();
      await workers.close().catch((err: unknown) => deps.logger.warn({ err: errorSummary(err) }, "closing the queue workers failed"));
      await observer.stop();
    },
  };
}
