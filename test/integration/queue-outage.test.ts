// Queues are hints: with Redis down an enqueue fails fast (the caller's intent is in Postgres
// already and the reconciler re-enqueues), connection errors go to the structured log, and a
// reconcile schedule wiped from Redis (FLUSHALL, a new Redis) is put back by itself.
// Real BullMQ on the real Redis (and on a port where nothing listens).
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createQueues } from "../../src/adapters/queue/bullmq.ts";
import type { BullQueues } from "../../src/adapters/queue/bullmq.ts";
import type { Logger } from "../../src/ports/logger.ts";
import { waitFor } from "../support/wait.ts";

function recordingLogger(): Logger & { lines: { level: string; msg: string; meta: object }[] } {
  const lines: { level: string; msg: string; meta: object }[] = [];
  const logger = {
    lines,
    debug: (meta: object, msg: string) => void lines.push({ level: "debug", msg, meta }),
    info: (meta: object, msg: string) => void lines.push({ level: "info", msg, meta }),
    warn: (meta: object, msg: string) => void lines.push({ level: "warn", msg, meta }),
    error: (meta: object, msg: string) => void lines.push({ level: "error", msg, meta }),
    child: () => logger,
  };
  return logger;
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const opened: BullQueues[] = [];
afterAll(async () => {
  for (const q of opened) await q.close();
});

describe("queues while Redis is down", () => {
  it("an enqueue fails within a couple of seconds instead of waiting for Redis, and the errors are logged, not printed", async () => {
    const logger = recordingLogger();
    const consoleError = vi.spyOn(console, "error");
    const queues = createQueues({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, prefix: "outage", logger, enqueueTimeoutMs: 1_500 });
    opened.push(queues);
    for (const enqueue of [
      () => queues.workQueue.enqueueDeploy("00000000-0000-4000-8000-000000000001", 1),
      () => queues.workQueue.enqueueReport("00000000-0000-4000-8000-000000000001", 1),
      () => queues.workQueue.enqueueCommand("00000000-0000-4000-8000-000000000002"),
    ]) {
      const started = Date.now();
      await expect(enqueue()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_500);
    }
    await waitFor("connection error logged", () => logger.lines.find((l) => l.msg === "Redis connection error; retrying"));
    expect(consoleError).not.toHaveBeenCalled();
    consoleError.mockRestore();
  });
});

describe("the reconcile schedule", () => {
  it("is put back by itself after Redis lost it (FLUSHALL, a new Redis)", async () => {
    const queues = createQueues({ redisUrl: "redis://127.0.0.1:6379", prefix: `schedule-${randomBytes(4).toString("hex")}`, logger: recordingLogger() });
    opened.push(queues);
    const stop = await queues.keepReconcileScheduled(5_000, 200);
    try {
      await queues.reconcile.waitUntilReady();
      expect((await queues.reconcile.getJobSchedulers()).map((s) => s.key)).toEqual(["lifecycle", "reconcile"]);
      // What a FLUSHALL does to this queue's keys.
      await queues.reconcile.obliterate({ force: true });
      expect(await queues.reconcile.getJobSchedulers()).toEqual([]);
      await waitFor("schedule asserted again", async () => (await queues.reconcile.getJobSchedulers()).length === 2);
      const schedulers = await queues.reconcile.getJobSchedulers();
      expect(schedulers.find((s) => s.key === "reconcile")).toMatchObject({ key: "reconcile", every: 5_000 });
      expect(schedulers.find((s) => s.key === "lifecycle")).toMatchObject({ key: "lifecycle", every: 300_000 });
    } finally {
      stop();
      await queues.reconcile.obliterate({ force: true });
    }
  });
});
