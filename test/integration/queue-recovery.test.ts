// A worker killed mid-deploy leaves its deploy job "active" with a lock nobody renews. The deploy
// worker's lock is short, so BullMQ's stalled-job check gives the job back within seconds; the
// job then runs the deploy again and again until the lease its dead worker may have held has
// expired (each try is "busy" until then), so the staging is redeployed as soon as the lease
// allows (issue 14, "Fast recovery"). Real BullMQ on the real Redis; the dying worker is a child
// process killed with SIGKILL.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createQueues, defaultDeployLeaseMs, deployLockOptions, startWorkers } from "../../src/adapters/queue/bullmq.ts";
import type { BullQueues, BullWorkers, JobHandlers } from "../../src/adapters/queue/bullmq.ts";
import { defaultTiming } from "../../src/app/timing.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { waitFor } from "../support/wait.ts";

const redisUrl = "redis://127.0.0.1:6379";
const bullmq = resolve(import.meta.dirname, "../../src/adapters/queue/bullmq.ts");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

function handlers(deploy: JobHandlers["deploy"]): JobHandlers {
  return { deploy, report: async () => undefined, reconcile: async () => undefined, lifecycle: async () => undefined, command: async () => undefined };
}

/** A queue of the test's own, and a worker process that takes deploy jobs and never finishes them. */
async function doomedWorker(leaseMs: number): Promise<{ queues: BullQueues; prefix: string; took: (id: string) => boolean; kill: () => Promise<number> }> {
  const prefix = `recover-${randomBytes(4).toString("hex")}`;
  const queues = createQueues({ redisUrl, prefix, logger: silentLogger });
  closers.push(async () => {
    await queues.deploy.obliterate({ force: true }).catch(() => undefined);
    await queues.close();
  });
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { startWorkers } = await import(${JSON.stringify(bullmq)});
       const logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return logger; } };
       startWorkers({ redisUrl: ${JSON.stringify(redisUrl)}, prefix: ${JSON.stringify(prefix)}, logger, concurrency: 1, deployLeaseMs: ${leaseMs} }, {
         deploy: (id) => { console.log("took " + id); return new Promise(() => {}); },
         report: async () => {}, reconcile: async () => {}, lifecycle: async () => {}, command: async () => {},
       });`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  closers.push(async () => void child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return {
    queues,
    prefix,
    took: (id) => out.includes(`took ${id}`),
    async kill() {
      child.kill("SIGKILL");
      const at = Date.now();
      await new Promise((r) => child.once("exit", r));
      return at;
    },
  };
}

describe("the deploy job of a worker that died", () => {
  it("the settings: given back within 4 s, then tried until the dead worker's lease has expired", () => {
    expect(defaultDeployLeaseMs).toBe(defaultTiming.deployLeaseMs);
    const lease = defaultTiming.deployLeaseMs;
    const l = deployLockOptions(lease);
    expect(l).toEqual({ lockDuration: 3_000, lockRenewTime: 500, stalledInterval: 1_000, retryEveryMs: 500, retryForMs: 6_000 });
    // Back at the first stalled-job check after the lock expired.
    expect(l.lockDuration + l.stalledInterval).toBeLessThanOrEqual(4_000);
    // The lock was renewed at most lockRenewTime before the death and the lease before it: from the
    // lock's expiry, the lease lasts at most lease − (lockDuration − lockRenewTime), and the tries cover that.
    expect(l.lockDuration - l.lockRenewTime + l.retryForMs).toBeGreaterThanOrEqual(lease + l.retryEveryMs);
    // A short lease scales the settings down (the next test uses one).
    expect(deployLockOptions(1_600)).toEqual({ lockDuration: 600, lockRenewTime: 100, stalledInterval: 200, retryEveryMs: 100, retryForMs: 1_200 });
  });

  it("a worker killed with SIGKILL mid-job: another worker gets the job back after its lock expired and tries until the lease has expired", { timeout: 30_000 }, async () => {
    // A short lease, so the test does not wait seconds: the settings scale with it.
    const leaseMs = 1_600;
    const { lockDuration, lockRenewTime, stalledInterval, retryEveryMs } = deployLockOptions(leaseMs);
    const doomed = await doomedWorker(leaseMs);
    const stagingId = randomUUID();
    await doomed.queues.workQueue.enqueueDeploy(stagingId, 1);
    await waitFor("the doomed worker took the job", () => doomed.took(stagingId), 15_000);
    await sleep(3 * lockRenewTime); // its lock renewed a few times
    const killedAt = await doomed.kill();

    // The dead worker's "lease": held until killedAt + leaseMs (renewed up to its death).
    const leaseExpiresAt = killedAt + leaseMs;
    const calls: number[] = [];
    let deployedAt: number | undefined;
    const survivor: BullWorkers = startWorkers(
      { redisUrl, prefix: doomed.prefix, logger: silentLogger, concurrency: 1, deployLeaseMs: leaseMs },
      handlers(async (id) => {
        if (id !== stagingId) return {};
        const now = Date.now();
        calls.push(now);
        if (now >= leaseExpiresAt) deployedAt ??= now; // "busy" before that
        return {};
      }),
    );
    closers.push(() => survivor.close());
    await waitFor("the deploy done once the lease expired", () => deployedAt, 15_000, 20);
    await sleep(retryForMsOf(leaseMs) + 500); // the job's tries are over
    const first = calls[0]! - killedAt;
    // Given back no earlier than its lock (renewed at most lockRenewTime before the kill) expired, and
    // at the first stalled-job check after that (the slack is for a loaded machine).
    expect(first).toBeGreaterThanOrEqual(lockDuration - lockRenewTime);
    expect(first).toBeLessThan(lockDuration + stalledInterval + 1_000);
    // Tried while "busy", and deployed within a try's interval of the lease expiring.
    expect(calls.length).toBeGreaterThan(1);
    expect(deployedAt! - leaseExpiresAt).toBeLessThan(retryEveryMs + 500);
    // Then it stopped: the job is done.
    expect(calls.at(-1)! - calls[0]!).toBeLessThanOrEqual(retryForMsOf(leaseMs) + 500);
    expect(await doomed.queues.deploy.getActiveCount()).toBe(0);
  });

  it("a job whose worker did not die runs the deploy once", { timeout: 30_000 }, async () => {
    const prefix = `recover-${randomBytes(4).toString("hex")}`;
    const queues = createQueues({ redisUrl, prefix, logger: silentLogger });
    closers.push(async () => {
      await queues.deploy.obliterate({ force: true }).catch(() => undefined);
      await queues.close();
    });
    let calls = 0;
    const worker = startWorkers({ redisUrl, prefix, logger: silentLogger, concurrency: 1, deployLeaseMs: 1_600 }, handlers(async () => ((calls += 1), {})));
    closers.push(() => worker.close());
    await queues.workQueue.enqueueDeploy(randomUUID(), 1);
    await waitFor("the job done", async () => (await queues.deploy.getCompletedCount()) === 1, 15_000);
    await sleep(500);
    expect(calls).toBe(1);
  });
});

const retryForMsOf = (leaseMs: number): number => deployLockOptions(leaseMs).retryForMs;
