// Reporting is idempotent and rate-aware: no GitHub request when nothing visible changed,
// and a flapping staging coalesces into few reports (real GitHub adapter on the GitHub
// double, real Postgres, real BullMQ deduplication on Redis).
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitHubCodeHost } from "../../src/adapters/github/code-host.ts";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { createQueues } from "../../src/adapters/queue/bullmq.ts";
import type { BullQueues } from "../../src/adapters/queue/bullmq.ts";
import { reportStatus } from "../../src/app/report-status.ts";
import { setStatus } from "../../src/app/set-status.ts";
import { reasonChangeIntervalMs } from "../../src/domain/report-pacing.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { pushed, sha } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../support/github-double.ts";
import type { GitHubDouble } from "../support/github-double.ts";
import { recordingQueue, testTiming } from "../support/worker-deps.ts";

let db: TestDb;
let github: GitHubDouble;
let queues: BullQueues;
let now = new Date("2026-11-22T10:00:00Z");
const clock = { now: () => now };

beforeAll(async () => {
  [db, github] = await Promise.all([createTestDb(), startGitHubDouble()]);
  queues = createQueues({ redisUrl: "redis://127.0.0.1:6379", prefix: `reporting-${randomBytes(4).toString("hex")}`, logger: silentLogger });
});
afterAll(async () => {
  await queues.deploy.obliterate({ force: true });
  await queues.report.obliterate({ force: true });
  await queues.close();
  await Promise.all([db.drop(), github.close()]);
});

function reporterDeps() {
  const probot = new Probot({
    appId: 1,
    privateKey: generateTestPrivateKey(),
    baseUrl: github.apiUrl,
    Octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }),
    log: pino({ level: "silent" }),
  });
  return {
    store: db.store,
    codeHost: createGitHubCodeHost({ getOctokit: (id) => probot.auth(id), logger: silentLogger }),
    logger: silentLogger,
    workerId: "w",
    clock,
    queue: recordingQueue(),
    timing: testTiming,
  };
}

const writes = () => github.requests.filter((r) => r.path.startsWith("/repos/")).length;

describe("reporting", () => {
  it("makes no GitHub request when nothing visible changed", async () => {
    const staging = await pushed(db.store, 60, sha(1), { action: "opened" });
    const out = { staging };
    const deps = reporterDeps();
    await reportStatus(deps, out.staging.id);
    const afterFirst = writes();
    expect(afterFirst).toBeGreaterThan(0);
    // An event that changes nothing anyone can see (e.g. a label on a running staging)
    // still bumps the status version: the reporter runs, and sends nothing.
    await pushed(db.store, 60, sha(1), { action: "labeled", labels: ["x"] });
    const reported = async () => (await db.store.getChannel(out.staging.id, "github"))!.reportedVersion;
    expect(await reported()).toBeLessThan((await db.store.get(out.staging.id))!.statusVersion);
    await reportStatus(deps, out.staging.id);
    expect(writes()).toBe(afterFirst);
    const s = (await db.store.get(out.staging.id))!;
    expect(await reported()).toBe(s.statusVersion);
    // A real change is sent.
    await setStatus({ ...deps, queue: recordingQueue() }, s.id, "deploying", "deploying 0000000", "test");
    await reportStatus(deps, out.staging.id);
    expect(writes()).toBeGreaterThan(afterFirst);
    expect(github.violations).toEqual([]);
  });

  it("a huge reason in multi-byte characters still reaches GitHub: the check run under 65,535 bytes, the comment under 65,536 characters", async () => {
    const out = { staging: await pushed(db.store, 68, sha(68), { action: "opened" }) };
    const deps = reporterDeps();
    // 40,000 × "é🚀" is 240,000 UTF-8 bytes: too long by characters and by bytes.
    const reason = `pods cannot be created: ${"é🚀".repeat(40_000)}`;
    await setStatus({ ...deps, queue: recordingQueue() }, out.staging.id, "failed", reason, "test");
    await reportStatus(deps, out.staging.id);
    expect(github.violations).toEqual([]);
    const check = github.checkRuns.find((c) => c.head_sha === sha(68))!;
    expect(check.conclusion).toBe("failure");
    const summary = check.output!.summary!;
    expect(Buffer.byteLength(summary, "utf8")).toBeLessThanOrEqual(65_535);
    // Cut between characters, never inside one (a lone surrogate would not survive UTF-8).
    expect(summary).toMatch(/[é🚀]…$/u);
    expect(Buffer.from(summary, "utf8").toString("utf8")).toBe(summary);
    const comment = github.comments.find((c) => c.body.includes("web-pr-68"))!;
    expect(comment.body.length).toBeLessThan(65_536);
    expect(comment.body).toContain("pods cannot be created: é🚀");
    expect((await db.store.getChannel(out.staging.id, "github"))!.reportedVersion).toBe((await db.store.get(out.staging.id))!.statusVersion);
  });

  it("renews its lease before each GitHub write, and stops writing when another worker took it over", async () => {
    const out = { staging: await pushed(db.store, 69, sha(69), { action: "opened" }) };
    const base = reporterDeps();
    const calls: string[] = [];
    const codeHost = {
      ...base.codeHost,
      ensureCheckRun: async (...args: Parameters<typeof base.codeHost.ensureCheckRun>) => {
        calls.push("check run");
        const lease = await db.db.lease.findUniqueOrThrow({ where: { stagingId_kind: { stagingId: out.staging.id, kind: "report" } } });
        expect(lease.owner).toBe("w");
        // While the check run waits its turn, the lease expires and another worker takes it.
        await db.db.lease.update({ where: { stagingId_kind: { stagingId: out.staging.id, kind: "report" } }, data: { owner: "other", expiresAt: new Date(Date.now() + 60_000) } });
        return base.codeHost.ensureCheckRun(...args);
      },
      ensureStatusComment: async (...args: Parameters<typeof base.codeHost.ensureStatusComment>) => {
        calls.push("comment");
        return base.codeHost.ensureStatusComment(...args);
      },
    };
    await expect(reportStatus({ ...base, codeHost }, out.staging.id)).resolves.toBe("stopped");
    expect(calls).toEqual(["check run"]);
    expect((await db.store.getChannel(out.staging.id, "github"))!.reportedVersion).toBeLessThan(out.staging.statusVersion);
  });

  it("paces reports: a new status right after a report waits a moment, a reason-only change waits longer", async () => {
    const out = { staging: await pushed(db.store, 61, sha(1), { action: "opened" }) };
    const deps = reporterDeps();
    await reportStatus(deps, out.staging.id);
    const queue = recordingQueue();
    now = new Date(now.getTime() + 200);
    await setStatus({ ...deps, queue }, out.staging.id, "deploying", "Deployment/web 0/2 ready", "test");
    await setStatus({ ...deps, queue }, out.staging.id, "deploying", "Deployment/web 1/2 ready", "test");
    const [statusChange, reasonChange] = queue.reports;
    expect(statusChange!.delay).toBe(1_300);
    expect(reasonChange!.delay).toBe(reasonChangeIntervalMs - 200);
  });

  it("a new status does not wait behind a slow reason-only report", async () => {
    const id = "00000000-0000-4000-8000-000000000002";
    await queues.workQueue.enqueueReport(id, 1, reasonChangeIntervalMs);
    await queues.workQueue.enqueueReport(id, 2, 0);
    const jobs = await queues.report.getJobs(["waiting", "delayed"]);
    const mine = jobs.filter((j) => j.data.stagingId === id);
    expect(mine.map((j) => [j.data.version, j.opts.delay])).toEqual([[2, 0]]);
    // ...while a slow one arriving after a prompt one does not push it back.
    await queues.workQueue.enqueueReport(id, 3, reasonChangeIntervalMs);
    const again = (await queues.report.getJobs(["waiting", "delayed"])).filter((j) => j.data.stagingId === id);
    expect(again.map((j) => j.opts.delay)).toEqual([0]);
  });

  it("coalesces a flapping staging's reports into one waiting job", async () => {
    const id = "00000000-0000-4000-8000-000000000001";
    for (let i = 0; i < 20; i++) await queues.workQueue.enqueueReport(id, i, 5_000);
    const jobs = await queues.report.getJobs(["delayed", "waiting", "active"]);
    expect(jobs.filter((j) => j.data.stagingId === id)).toHaveLength(1);
  });
});
