import { randomUUID } from "node:crypto";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import type { Job } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { statusChangeIntervalMs } from "../../domain/report-pacing.ts";
import type { Logger } from "../../ports/logger.ts";
import type { WorkQueue } from "../../ports/queue.ts";

export const queueNames = { deploy: "deploy", report: "report", reconcile: "reconcile", commands: "commands" } as const;

const stagingJob = z.object({ stagingId: z.uuid(), generation: z.number().int().optional(), version: z.number().int().optional() });
export type StagingJobData = z.infer<typeof stagingJob>;

const commandsJob = z.object({
  deliveryId: z.string().min(1),
  installationId: z.number().int(),
  owner: z.string(),
  repo: z.string(),
  number: z.number().int().positive(),
  commentId: z.number().int(),
  body: z.string().max(65_536),
  actor: z.string(),
});

export interface QueueOptions {
  redisUrl: string;
  /** Redis key prefix: separates installations (and test runs) sharing one Redis. */
  prefix: string;
}

export function redisConnection(url: string): Redis {
  // BullMQ workers block on Redis; they need maxRetriesPerRequest: null.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

export interface BullQueues {
  workQueue: WorkQueue;
  deploy: Queue;
  report: Queue;
  reconcile: Queue;
  commands: Queue;
  /** Installs the repeatable reconcile job (one scheduler, whatever the number of processes). */
  scheduleReconcile(everyMs: number): Promise<void>;
  /** Readiness: Redis answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createQueues(opts: QueueOptions): BullQueues {
  const connection = redisConnection(opts.redisUrl);
  const common = { connection, prefix: opts.prefix };
  const deploy = new Queue(queueNames.deploy, {
    ...common,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: "exponential", delay: 2_000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  });
  const report = new Queue(queueNames.report, {
    ...common,
    defaultJobOptions: {
      attempts: 8,
      backoff: { type: "exponential", delay: 1_000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  });
  const reconcile = new Queue(queueNames.reconcile, {
    ...common,
    defaultJobOptions: { removeOnComplete: { count: 10 }, removeOnFail: { count: 100 } },
  });
  const commands = new Queue(queueNames.commands, {
    ...common,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: "exponential", delay: 1_000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  });
  const workQueue: WorkQueue = {
    async enqueueCommands(job) {
      // The delivery id as job id: a redelivered comment webhook is not run twice.
      await commands.add("commands", job, { jobId: `comment-${job.deliveryId}` });
    },
    // One job per staging at a time, plus at most one waiting with the newest data:
    // a burst of pushes coalesces, and the worker always reads the latest spec anyway.
    async enqueueDeploy(stagingId, generation) {
      await deploy.add("deploy", { stagingId, generation }, { deduplication: { id: `deploy-${stagingId}`, keepLastIfActive: true } });
    },
    async enqueueReport(stagingId, version, delayMs = 0) {
      // A prompt report (a new status) replaces a waiting slow one (a reason-only change paced
      // to 30 s) instead of queueing behind it; a slow one never replaces a prompt one.
      const prompt = delayMs <= statusChangeIntervalMs;
      await report.add(
        "report",
        { stagingId, version },
        { delay: delayMs, deduplication: { id: `report-${stagingId}`, keepLastIfActive: true, ...(prompt ? { replace: true } : {}) } },
      );
    },
  };
  return {
    workQueue,
    deploy,
    report,
    reconcile,
    commands,
    async ping() {
      await connection.ping();
    },
    async scheduleReconcile(everyMs) {
      await reconcile.upsertJobScheduler("reconcile", { every: everyMs }, { name: "reconcile" });
    },
    async close() {
      await Promise.all([deploy.close(), report.close(), reconcile.close(), commands.close()]);
      connection.disconnect();
    },
  };
}

const releaseLock = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export interface JobHandlers {
  deploy(stagingId: string, attempt: { attempt: number; maxAttempts: number }, log: Logger): Promise<{ permanentError?: string }>;
  report(stagingId: string, log: Logger): Promise<void>;
  reconcile(log: Logger): Promise<void>;
  commands(job: z.infer<typeof commandsJob>, log: Logger): Promise<void>;
}

export interface BullWorkers {
  close(): Promise<void>;
}

export function startWorkers(opts: QueueOptions & { concurrency: number; reportConcurrency?: number; logger: Logger }, handlers: JobHandlers): BullWorkers {
  const connection = redisConnection(opts.redisUrl);
  const common = { connection, prefix: opts.prefix };
  const childLog = (job: Job) => opts.logger.child({ queue: job.queueName, jobId: job.id });
  const deploy = new Worker(
    queueNames.deploy,
    async (job) => {
      const data = stagingJob.parse(job.data);
      const out = await handlers.deploy(data.stagingId, { attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 }, childLog(job));
      // Permanent failures fail the job at once (no retries) so operators see them.
      if (out.permanentError) throw new UnrecoverableError(out.permanentError);
    },
    { ...common, concurrency: opts.concurrency },
  );
  const report = new Worker(
    queueNames.report,
    async (job) => handlers.report(stagingJob.parse(job.data).stagingId, childLog(job)),
    // Reports mostly wait for GitHub's write pacing: more of them at once means every
    // staging's check run (the first write of each) is queued before the comments.
    { ...common, concurrency: opts.reportConcurrency ?? opts.concurrency },
  );
  // One reconcile at a time across all processes: a Redis lock with an expiry, released by its holder only.
  const lockClient = new Redis(opts.redisUrl, { maxRetriesPerRequest: 3 });
  const lockKey = `${opts.prefix}:reconcile:lock`;
  const reconcile = new Worker(
    queueNames.reconcile,
    async (job) => {
      const token = randomUUID();
      if ((await lockClient.set(lockKey, token, "PX", 60_000, "NX")) !== "OK") return;
      try {
        await handlers.reconcile(childLog(job));
      } finally {
        await lockClient.eval(releaseLock, 1, lockKey, token);
      }
    },
    { ...common, concurrency: 1 },
  );
  const commands = new Worker(
    queueNames.commands,
    async (job) => handlers.commands(commandsJob.parse(job.data), childLog(job)),
    { ...common, concurrency: opts.concurrency },
  );
  for (const w of [deploy, report, reconcile, commands]) {
    w.on("failed", (job, err) => opts.logger.warn({ queue: w.name, jobId: job?.id, err: err.message }, "job failed"));
    w.on("error", (err) => opts.logger.error({ queue: w.name, err: err.message }, "worker error"));
  }
  return {
    async close() {
      await Promise.all([deploy.close(), report.close(), reconcile.close(), commands.close()]);
      connection.disconnect();
      lockClient.disconnect();
      lockClient.disconnect();
    },
  };
}
