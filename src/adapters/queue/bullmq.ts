import { randomUUID } from "node:crypto";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import type { Job } from "bullmq";
import { Redis } from "ioredis";
import type { RedisOptions } from "ioredis";
import { z } from "zod";
import { statusChangeIntervalMs } from "../../domain/report-pacing.ts";
import type { Logger } from "../../ports/logger.ts";
import type { WorkQueue } from "../../ports/queue.ts";

const queueNames = { deploy: "deploy", report: "report", reconcile: "reconcile", commands: "commands" } as const;

const stagingJob = z.object({ stagingId: z.uuid(), generation: z.number().int().optional(), version: z.number().int().optional() });
const commandJob = z.object({ commandId: z.uuid() });

export interface QueueOptions {
  redisUrl: string;
  /** Redis key prefix: separates installations (and test runs) sharing one Redis. */
  prefix: string;
  logger: Logger;
  /** An enqueue that Redis has not acknowledged after this long fails (intake answers anyway). Default 2 s. */
  enqueueTimeoutMs?: number;
}

function errorMeta(err: unknown): { message: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown };
  return { message: typeof e?.message === "string" ? e.message : String(err), ...(typeof e?.code === "string" ? { code: e.code } : {}) };
}

/**
 * A Redis connection whose errors go to the structured log (ioredis prints to the console
 * without a listener). `role: "producer"` fails fast while Redis is down (no offline queue, one
 * try per command): intent is in Postgres already, the reconciler re-enqueues. Workers' blocking
 * connections retry for ever, as BullMQ requires.
 */
function redisConnection(url: string, role: "producer" | "worker", logger: Logger): Redis {
  const options: RedisOptions =
    role === "producer"
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, enableReadyCheck: true }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  const redis = new Redis(url, { ...options, retryStrategy: (times) => Math.min(200 * times, 2_000) });
  let down = false;
  redis.on("error", (err: unknown) => {
    if (!down) logger.warn({ role, err: errorMeta(err) }, "Redis connection error; retrying");
    down = true;
  });
  redis.on("ready", () => {
    if (down) logger.info({ role }, "Redis connection restored");
    down = false;
  });
  return redis;
}

function withTimeout<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface BullQueues {
  workQueue: WorkQueue;
  deploy: Queue;
  report: Queue;
  reconcile: Queue;
  commands: Queue;
  /**
   * Installs the repeatable reconcile job (one scheduler, whatever the number of processes) and
   * asserts it again every `reassertEveryMs` and whenever Redis reconnects, so a Redis that was
   * flushed or replaced heals itself. Returns a function that stops re-asserting.
   */
  keepReconcileScheduled(everyMs: number, reassertEveryMs?: number, lifecycleEveryMs?: number): Promise<() => void>;
  /** Readiness: Redis answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createQueues(opts: QueueOptions): BullQueues {
  const connection = redisConnection(opts.redisUrl, "producer", opts.logger);
  const common = { connection, prefix: opts.prefix };
  const timeoutMs = opts.enqueueTimeoutMs ?? 2_000;
  const removal = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };
  // A deploy's own failures are retried from Postgres (attempts and retryAt on the staging); job
  // retries only cover a failure to run at all (Postgres unreachable, a crash).
  const deploy = new Queue(queueNames.deploy, { ...common, defaultJobOptions: { attempts: 3, backoff: { type: "exponential", delay: 2_000 }, ...removal } });
  const report = new Queue(queueNames.report, { ...common, defaultJobOptions: { attempts: 8, backoff: { type: "exponential", delay: 1_000 }, ...removal } });
  const reconcile = new Queue(queueNames.reconcile, { ...common, defaultJobOptions: { removeOnComplete: { count: 10 }, removeOnFail: { count: 100 } } });
  const commands = new Queue(queueNames.commands, { ...common, defaultJobOptions: { attempts: 5, backoff: { type: "exponential", delay: 1_000 }, ...removal } });
  for (const q of [deploy, report, reconcile, commands]) {
    q.on("error", (err) => opts.logger.warn({ queue: q.name, err: errorMeta(err) }, "queue error"));
  }
  const workQueue: WorkQueue = {
    async enqueueCommand(commandId) {
      // Deduplicated while queued or running; once done, the row in Postgres says it was replied.
      await withTimeout("enqueue command", timeoutMs, commands.add("command", { commandId }, { deduplication: { id: `command-${commandId}` } }));
    },
    // One job per staging at a time, plus at most one waiting: a burst of pushes coalesces, and
    // the worker always reads the latest spec anyway. A recovery job (from the reconciler, for
    // work with no live lease) has a key of its own: the job it would merge with may be the
    // active job of a worker that died, which BullMQ only notices after its lock expires; and one
    // per lost run (the last lease's token), since an earlier recovery's job may be a dead one too.
    async enqueueDeploy(stagingId, generation, options = {}) {
      const id = options.recovery ? `recover-${stagingId}-${options.recoveryOf ?? 0}` : `deploy-${stagingId}`;
      await withTimeout(
        "enqueue deploy",
        timeoutMs,
        deploy.add("deploy", { stagingId, generation }, { ...(options.delayMs ? { delay: options.delayMs } : {}), deduplication: { id, ...(options.recovery ? {} : { keepLastIfActive: true }) } }),
      );
    },
    async enqueueReport(stagingId, version, delayMs = 0, options = {}) {
      // A prompt report (a new status) replaces a waiting slow one (a reason-only change paced
      // to 30 s) instead of queueing behind it; a slow one never replaces a prompt one.
      const prompt = delayMs <= statusChangeIntervalMs;
      await withTimeout(
        "enqueue report",
        timeoutMs,
        report.add("report", { stagingId, version }, {
          delay: delayMs,
          deduplication: { id: options.recoveryOf == null ? `report-${stagingId}` : `report-${stagingId}-recover-${options.recoveryOf}`, keepLastIfActive: true, ...(prompt ? { replace: true } : {}) },
        }),
      );
    },
  };
  // Two job schedulers on the reconcile queue: the reconcile, and the lifecycle sweep with
  // housekeeping (docs/users/lifecycle.md). Each runs once per period whatever the number of processes.
  async function schedule(everyMs: number, lifecycleEveryMs: number): Promise<void> {
    await reconcile.upsertJobScheduler("reconcile", { every: everyMs }, { name: "reconcile" });
    await reconcile.upsertJobScheduler("lifecycle", { every: lifecycleEveryMs }, { name: "lifecycle" });
  }
  return {
    workQueue,
    deploy,
    report,
    reconcile,
    commands,
    async ping() {
      await withTimeout("ping", timeoutMs, connection.ping());
    },
    async keepReconcileScheduled(everyMs, reassertEveryMs = 30_000, lifecycleEveryMs = 5 * 60_000) {
      const assert = (): void => {
        schedule(everyMs, lifecycleEveryMs).catch((err: unknown) => opts.logger.warn({ err: errorMeta(err) }, "could not assert the reconcile schedule; retrying"));
      };
      await schedule(everyMs, lifecycleEveryMs).catch((err: unknown) => opts.logger.warn({ err: errorMeta(err) }, "could not install the reconcile schedule; retrying"));
      const timer = setInterval(assert, reassertEveryMs);
      connection.on("ready", assert);
      return () => {
        clearInterval(timer);
        connection.off("ready", assert);
      };
    },
    async close() {
      // With Redis down, BullMQ's close waits for a connection that never comes: give up after a while.
      await withTimeout("close queues", 3_000, Promise.all([deploy.close(), report.close(), reconcile.close(), commands.close()])).catch((err: unknown) =>
        opts.logger.warn({ err: errorMeta(err) }, "queues did not close cleanly"),
      );
      connection.disconnect();
    },
  };
}

const releaseLock = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const renewLock = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

export interface JobHandlers {
  deploy(stagingId: string, log: Logger): Promise<{ permanentError?: string }>;
  report(stagingId: string, log: Logger): Promise<void>;
  reconcile(log: Logger): Promise<void>;
  /** The lifecycle sweep and housekeeping. */
  lifecycle(log: Logger): Promise<void>;
  command(commandId: string, log: Logger): Promise<void>;
}

/** The deploy lease of src/app/timing.ts (`deployLeaseMs`): adapters do not import the use cases' timing; test/integration/queue-recovery.test.ts checks they agree. */
export const defaultDeployLeaseMs = 8_000;

export interface DeployLock {
  /** BullMQ's job lock: a job whose lock expired is "stalled" (its worker died or froze). */
  lockDuration: number;
  lockRenewTime: number;
  /** How often BullMQ looks for stalled jobs (and gives them back to the queue). */
  stalledInterval: number;
  /** A job given back after a stall runs the deploy again this often… */
  retryEveryMs: number;
  /** …for this long: until the lease its dead worker may have held has expired, whenever it died. */
  retryForMs: number;
}

/**
 * How the deploy queue recovers the job of a worker that died mid-deploy (issue 14, "Fast
 * recovery"). The job stays "active" with a lock nobody renews; BullMQ's stalled-job check gives
 * it back once the lock has expired. With BullMQ's defaults (a 30 s lock, checked every 30 s)
 * that took 30–60 s, and meanwhile the dead job held the staging's deduplication key; recovery
 * waited for the reconciler's next tick after the dead worker's deploy lease expired.
 *
 * Here the lock is short and renewed often, so the job is back at most `lockDuration +
 * stalledInterval` (4 s by default) after the death, usually before the dead worker's lease has
 * expired (that lease was renewed before the death and lasts `deployLeaseMs`). The job then runs
 * the deploy every `retryEveryMs` (each try ends at once, "busy", while the lease is held) until
 * `retryForMs` after it came back: the lease expired by then at the latest (it was renewed
 * before the death, at most `lockDuration − lockRenewTime` before the lock expired), so the
 * staging is redeployed within `retryEveryMs` of the lease expiring, or at once if it already
 * has. Fencing is untouched: a try takes the staging only through its expired lease.
 * A worker that only froze for `lockDuration` gets its job duplicated the same way: the copy
 * finds the lease held, tries for `retryForMs` and ends (and the frozen worker's completion of the
 * job fails: it lost the lock).
 */
export function deployLockOptions(deployLeaseMs: number): DeployLock {
  const lockDuration = Math.min(3_000, Math.round((deployLeaseMs * 3) / 8));
  const lockRenewTime = Math.round(lockDuration / 6);
  const retryEveryMs = lockRenewTime;
  return {
    lockDuration,
    lockRenewTime,
    stalledInterval: Math.round(lockDuration / 3),
    retryEveryMs,
    retryForMs: deployLeaseMs - (lockDuration - lockRenewTime) + retryEveryMs,
  };
}

export interface BullWorkers {
  /** Stops taking new jobs (those running go on). */
  pause(): Promise<void>;
  resume(): void;
  close(): Promise<void>;
}

export function startWorkers(
  opts: QueueOptions & { concurrency: number; reportConcurrency?: number; reconcileLockMs?: number; /** Default `defaultDeployLeaseMs`. */ deployLeaseMs?: number },
  handlers: JobHandlers,
): BullWorkers {
  const connection = redisConnection(opts.redisUrl, "worker", opts.logger);
  const common = { connection, prefix: opts.prefix };
  const childLog = (job: Job) => opts.logger.child({ queue: job.queueName, jobId: job.id });
  const lock = deployLockOptions(opts.deployLeaseMs ?? defaultDeployLeaseMs);
  let closing = false;
  const deploy = new Worker(
    queueNames.deploy,
    async (job) => {
      const data = stagingJob.parse(job.data);
      const log = childLog(job);
      // Given back by the stalled-job check: its worker died (see deployLockOptions).
      const until = job.stalledCounter > 0 ? Date.now() + lock.retryForMs : 0;
      if (until) log.info({ stagingId: data.stagingId, retryForMs: lock.retryForMs }, "deploy job given back after its worker stopped: trying until that worker's deploy lease has expired");
      for (;;) {
        const out = await handlers.deploy(data.stagingId, log);
        // Permanent failures fail the job at once (no retries) so operators see them.
        if (out.permanentError) throw new UnrecoverableError(out.permanentError);
        if (closing || Date.now() + lock.retryEveryMs > until) return;
        await new Promise((r) => setTimeout(r, lock.retryEveryMs));
      }
    },
    { ...common, concurrency: opts.concurrency, lockDuration: lock.lockDuration, lockRenewTime: lock.lockRenewTime, stalledInterval: lock.stalledInterval },
  );
  const report = new Worker(
    queueNames.report,
    async (job) => handlers.report(stagingJob.parse(job.data).stagingId, childLog(job)),
    // Reports mostly wait for GitHub's write pacing: more of them at once means every
    // staging's check run (the first write of each) is queued before the comments.
    // A short job lock (renewed every 4 s while a report runs): the job of a worker that was
    // killed holds its deduplication key, so the staging's next reports wait behind it until
    // BullMQ's stalled check gives it back; with the default 30 s lock that was up to ~40 s of
    // silence on GitHub after a kill (test/fault: "kill -9 of a worker in the middle of a reconcile run").
    { ...common, concurrency: opts.reportConcurrency ?? opts.concurrency, lockDuration: 8_000, stalledInterval: 4_000 },
  );
  // One reconcile (and one lifecycle sweep) at a time across all processes: a Redis lock per job
  // name with a short expiry, renewed while the run lasts and released by its holder only, so a
  // worker killed mid-run holds it briefly.
  const lockClient = redisConnection(opts.redisUrl, "producer", opts.logger);
  const lockMs = opts.reconcileLockMs ?? 10_000;
  const reconcile = new Worker(
    queueNames.reconcile,
    async (job) => {
      const lifecycle = job.name === "lifecycle";
      const lockKey = `${opts.prefix}:${lifecycle ? "lifecycle" : "reconcile"}:lock`;
      const token = randomUUID();
      if ((await lockClient.set(lockKey, token, "PX", lockMs, "NX")) !== "OK") return;
      const renew = setInterval(() => {
        lockClient.eval(renewLock, 1, lockKey, token, String(lockMs)).catch(() => undefined);
      }, Math.max(100, Math.floor(lockMs / 3)));
      try {
        await (lifecycle ? handlers.lifecycle(childLog(job)) : handlers.reconcile(childLog(job)));
      } finally {
        clearInterval(renew);
        await lockClient.eval(releaseLock, 1, lockKey, token);
      }
    },
    { ...common, concurrency: 1 },
  );
  const commands = new Worker(queueNames.commands, async (job) => handlers.command(commandJob.parse(job.data).commandId, childLog(job)), { ...common, concurrency: opts.concurrency });
  const all = [deploy, report, reconcile, commands];
  for (const w of all) {
    w.on("failed", (job, err) => opts.logger.warn({ queue: w.name, jobId: job?.id, attempt: job?.attemptsMade, err: errorMeta(err) }, "job failed"));
    w.on("error", (err) => opts.logger.warn({ queue: w.name, err: errorMeta(err) }, "worker error"));
  }
  return {
    async pause() {
      await Promise.all(all.map((w) => w.pause(true)));
    },
    resume() {
      for (const w of all) void w.resume();
    },
    async close() {
      closing = true;
      // Waits for running jobs (they stop quickly: helm is aborted on shutdown), not for a Redis that is down.
      await withTimeout("close workers", 30_000, Promise.all(all.map((w) => w.close()))).catch((err: unknown) =>
        opts.logger.warn({ err: errorMeta(err) }, "workers did not close cleanly"),
      );
      connection.disconnect();
      lockClient.disconnect();
    },
  };
}
