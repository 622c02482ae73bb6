// The lifecycle sweep as BullMQ runs it: a job scheduler of its own next to the reconcile's, and
// one run at a time across processes (a Redis lock per job name), while a reconcile may run
// beside it. Real BullMQ on the real Redis; the interleaving is driven by a barrier.
import { randomBytes } from "node:crypto";
import { QueueEvents } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { createQueues, startWorkers } from "../../src/adapters/queue/bullmq.ts";
import type { BullQueues, BullWorkers } from "../../src/adapters/queue/bullmq.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { barrier } from "../support/interleave.ts";

const redisUrl = "redis://127.0.0.1:6379";
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe("the lifecycle job", () => {
  it("runs once at a time across two worker processes' queues, and never blocks the reconcile", async () => {
    const prefix = `lifecycle-${randomBytes(4).toString("hex")}`;
    const queues: BullQueues = createQueues({ redisUrl, prefix, logger: silentLogger });
    closers.push(() => queues.close());
    const events = new QueueEvents("reconcile", { connection: { url: redisUrl }, prefix });
    closers.push(() => events.close());
    await events.waitUntilReady();
    const gate = barrier();
    let running = 0;
    let most = 0;
    let runs = 0;
    let reconciles = 0;
    const handlers = {
      deploy: async () => ({}),
      report: async () => undefined,
      command: async () => undefined,
      reconcile: async () => void reconciles++,
      lifecycle: async () => {
        running++;
        runs++;
        most = Math.max(most, running);
        if (runs === 1) await gate.wait();
        running--;
      },
    };
    // Two "processes": each its own BullMQ workers and Redis connections.
    const workers: BullWorkers[] = [startWorkers({ redisUrl, prefix, logger: silentLogger, concurrency: 1 }, handlers), startWorkers({ redisUrl, prefix, logger: silentLogger, concurrency: 1 }, handlers)];
    closers.push(async () => void (await Promise.all(workers.map((w) => w.close()))));

    const first = await queues.reconcile.add("lifecycle", {});
    await gate.reached();
    // While the first sweep holds the lock, a second one (the other process) finds it held and does nothing.
    const second = await queues.reconcile.add("lifecycle", {});
    await second.waitUntilFinished(events, 10_000);
    expect(runs).toBe(1);
    // A reconcile is not held up by a sweep.
    const reconcile = await queues.reconcile.add("reconcile", {});
    await reconcile.waitUntilFinished(events, 10_000);
    expect(reconciles).toBe(1);
    gate.release();
    await first.waitUntilFinished(events, 10_000);
    // The lock is released: the next sweep runs.
    const third = await queues.reconcile.add("lifecycle", {});
    await third.waitUntilFinished(events, 10_000);
    expect(runs).toBe(2);
    expect(most).toBe(1);
  });

  it("is scheduled by its own job scheduler (every OCTOSTAGE_LIFECYCLE_SECONDS), beside the reconcile's", async () => {
    const queues = createQueues({ redisUrl, prefix: `lifecycle-${randomBytes(4).toString("hex")}`, logger: silentLogger });
    closers.push(() => queues.close());
    const stop = await queues.keepReconcileScheduled(5_000, 60_000, 120_000);
    closers.push(async () => stop());
    const schedulers = await queues.reconcile.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every])).toEqual(expect.arrayContaining([["reconcile", 5_000], ["lifecycle", 120_000]]));
  });
});
