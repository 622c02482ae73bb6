// What GitHub shows as commits pile up and as GitHub itself fails: superseded commits' check
// runs are completed, older Deployments are marked inactive, a permanent refusal stops the
// retries (and says so), a rate limit waits for Retry-After. Real GitHub adapter (Probot's
// Octokit, throttling off) on the GitHub double, real Postgres.
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitHubCodeHost } from "../../src/adapters/github/code-host.ts";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { reconcile } from "../../src/app/reconcile.ts";
import { reportStatus } from "../../src/app/report-status.ts";
import { setStatus } from "../../src/app/set-status.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { pushed, sha, testProject } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../support/github-double.ts";
import type { GitHubDouble } from "../support/github-double.ts";
import { recordingQueue, testTiming } from "../support/worker-deps.ts";

let db: TestDb;
let github: GitHubDouble;
let now = new Date("2026-12-01T10:00:00Z");
const clock = { now: () => now };

beforeAll(async () => {
  [db, github] = await Promise.all([createTestDb(), startGitHubDouble()]);
});
afterAll(async () => {
  await Promise.all([db.drop(), github.close()]);
});

function deps() {
  const probot = new Probot({
    appId: 1,
    privateKey: generateTestPrivateKey(),
    baseUrl: github.apiUrl,
    Octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }),
    log: pino({ level: "silent" }),
  });
  const codeHost = createGitHubCodeHost({ getOctokit: (id) => probot.auth(id), logger: silentLogger, clock });
  return { store: db.store, codeHost, logger: silentLogger, workerId: "w", clock, queue: recordingQueue(), timing: testTiming, project: testProject() };
}

const checkRunsOf = (headSha: string) => github.checkRuns.filter((c) => c.head_sha === headSha);
const moveTo = async (id: string, status: "deploying" | "running" | "archiving" | "archived", reason: string | null = null) => {
  now = new Date(now.getTime() + 60_000);
  await setStatus({ ...deps(), queue: recordingQueue() }, id, status, reason, "test");
};

describe("reporting as commits pile up", () => {
  it("completes the check run of a commit superseded while it deployed (neutral, naming the new commit)", async () => {
    const d = deps();
    const s = await pushed(db.store, 70, sha(701), { action: "opened" });
    await moveTo(s.id, "deploying", "deploying");
    await reportStatus(d, s.id);
    expect(checkRunsOf(sha(701))).toMatchObject([{ status: "in_progress" }]);
    // A new push coalesces: sha(701) will never finish deploying.
    await pushed(db.store, 70, sha(702));
    await reportStatus(d, s.id);
    expect(checkRunsOf(sha(701))).toMatchObject([{ status: "completed", conclusion: "neutral", output: { title: `Superseded by ${sha(702).slice(0, 7)}` } }]);
    expect(checkRunsOf(sha(702))).toHaveLength(1);
    // Completed once: further reports do not touch it again.
    const before = github.requests.filter((r) => r.path.includes(`/check-runs/${checkRunsOf(sha(701))[0].id}`)).length;
    await moveTo(s.id, "running");
    await reportStatus(d, s.id);
    expect(github.requests.filter((r) => r.path.includes(`/check-runs/${checkRunsOf(sha(701))[0].id}`)).length).toBe(before);
    expect(github.violations).toEqual([]);
  });

  it("marks the older Deployment inactive once the newer one succeeds, and every one inactive when archived", async () => {
    const d = deps();
    const s = await pushed(db.store, 71, sha(711), { action: "opened" });
    await moveTo(s.id, "deploying");
    await moveTo(s.id, "running");
    await reportStatus(d, s.id);
    expect(github.deploymentStatesOf(s.name)).toEqual([expect.objectContaining({ sha: sha(711), latestState: "success" })]);
    await pushed(db.store, 71, sha(712));
    await moveTo(s.id, "deploying");
    await reportStatus(d, s.id);
    // The older one still serves until the new one works (GitHub shows it as the active environment).
    const states = () => Object.fromEntries(github.deploymentStatesOf(s.name).map((x) => [x.sha, x.latestState]));
    expect(states()).toEqual({ [sha(711)]: "success", [sha(712)]: "in_progress" });
    await moveTo(s.id, "running");
    await reportStatus(d, s.id);
    expect(states()).toEqual({ [sha(711)]: "inactive", [sha(712)]: "success" });
    await moveTo(s.id, "archiving");
    await moveTo(s.id, "archived");
    await reportStatus(d, s.id);
    expect(states()).toEqual({ [sha(711)]: "inactive", [sha(712)]: "inactive" });
    expect(github.violations).toEqual([]);
  });
});

describe("what the reconciler finds to report", () => {
  it("is paced like the rest: a new status promptly, a reason-only change 30 s after the last report", async () => {
    // The store stamps status changes with the same clock as the reporter.
    const d = { ...deps(), store: db.storeWith({ clock }) };
    const s = await pushed(db.store, 74, sha(741), { action: "opened" });
    now = new Date(now.getTime() + 60_000);
    await setStatus({ ...d, queue: recordingQueue() }, s.id, "deploying", "Deployment/web 0/2 ready", "test");
    await reportStatus(d, s.id);
    const reportedAt = now;
    // A new reason only, 5 s later: the reconciler waits for the 30 s pacing.
    now = new Date(now.getTime() + 5_000);
    await setStatus({ ...d, queue: recordingQueue() }, s.id, "deploying", "Deployment/web 1/2 ready", "test");
    let queue = recordingQueue();
    await reconcile({ ...d, queue }, undefined, { pullRequestSync: false, healthSweep: false });
    expect(queue.reports.find((r) => r.stagingId === s.id)?.delay).toBe(reportedAt.getTime() + 30_000 - now.getTime());
    // A new status: prompt.
    now = new Date(now.getTime() + 1_000);
    await setStatus({ ...d, queue: recordingQueue() }, s.id, "running", null, "test");
    queue = recordingQueue();
    await reconcile({ ...d, queue }, undefined, { pullRequestSync: false, healthSweep: false });
    expect(queue.reports.find((r) => r.stagingId === s.id)?.delay).toBe(0);
  });

  it("a report lease left to expire (its worker died) is named, so its report job is not merged with the dead one", async () => {
    const s = await pushed(db.store, 75, sha(751), { action: "opened" });
    const dead = (await db.store.acquireLease(s.id, "report", "dead-worker", 1))!;
    await new Promise((r) => setTimeout(r, 20)); // database time: the lease expires
    const found = (await db.store.listWork(now)).report.find((r) => r.id === s.id);
    expect(found).toMatchObject({ lastLease: dead.token });
    // A released lease leaves nothing behind.
    const live = (await db.store.acquireLease(s.id, "report", "w", 60_000))!;
    await db.store.releaseLease(live);
    expect((await db.store.listWork(now)).report.find((r) => r.id === s.id)).toMatchObject({ lastLease: null });
  });
});

describe("reporting when GitHub fails", () => {
  it("a permanent refusal (the app lost its checks permission) stops the retries, says so, and is tried again at the next status change", async () => {
    const d = deps();
    const s = await pushed(db.store, 72, sha(721), { action: "opened" });
    github.setAppPermissions(4242, { checks: "none" });
    github.setAppPermissions(42, { checks: "none" });
    try {
      expect(await reportStatus(d, s.id)).toBe("failed");
      const channel = (await db.store.getChannel(s.id, "github"))!;
      expect(channel.error).toMatchObject({ code: "forbidden", version: (await db.store.get(s.id))!.statusVersion });
      expect(channel.error!.message).toMatch(/checks\.create: forbidden \(HTTP 403\)/);
      // Not retried: the reconciler leaves it, and another report makes no request.
      const requests = github.requests.length;
      const queue = recordingQueue();
      await reconcile({ ...d, queue }, undefined, { pullRequestSync: false, healthSweep: false });
      expect(queue.reports.map((r) => r.stagingId)).not.toContain(s.id);
      expect(await reportStatus(d, s.id)).toBe("done");
      expect(github.requests.length).toBe(requests);
    } finally {
      github.setAppPermissions(42, { checks: "write" });
    }
    // The permission is back; the next status change is reported, and the error cleared.
    await moveTo(s.id, "deploying");
    expect(await reportStatus(d, s.id)).toBe("done");
    expect(checkRunsOf(sha(721))).toHaveLength(1);
    expect((await db.store.getChannel(s.id, "github"))!.error).toBeNull();
  });

  it("a secondary rate limit defers the report by GitHub's Retry-After, without losing it", async () => {
    const d = deps();
    const s = await pushed(db.store, 73, sha(731), { action: "opened" });
    github.secondaryRateLimitNext(1, { retryAfterSeconds: 42 });
    expect(await reportStatus(d, s.id)).toBe("deferred");
    const channel = (await db.store.getChannel(s.id, "github"))!;
    expect(channel.notBefore?.getTime()).toBe(now.getTime() + 42_000);
    expect(d.queue.reports).toContainEqual({ stagingId: s.id, version: (await db.store.get(s.id))!.statusVersion, delay: 42_000 });
    // Not picked up again before then...
    expect((await db.store.listWork(now)).report.map((r) => r.id)).not.toContain(s.id);
    // ...and reported once the time has come.
    now = new Date(now.getTime() + 43_000);
    expect(await reportStatus(d, s.id)).toBe("done");
    expect(checkRunsOf(sha(731))).toHaveLength(1);
  });

  it("a secondary rate limit without Retry-After waits a minute, as GitHub asks", async () => {
    const d = deps();
    const s = await pushed(db.store, 74, sha(741), { action: "opened" });
    github.secondaryRateLimitNext(1);
    expect(await reportStatus(d, s.id)).toBe("deferred");
    expect((await db.store.getChannel(s.id, "github"))!.notBefore?.getTime()).toBe(now.getTime() + 60_000);
  });

  it("server errors are retried by Octokit, then by the job (BullMQ retries it with backoff)", async () => {
    const d = deps();
    const s = await pushed(db.store, 75, sha(751), { action: "opened" });
    github.failNext("POST", /check-runs/, 502, 3);
    expect(await reportStatus(d, s.id)).toBe("done");
    await moveTo(s.id, "deploying");
    // Octokit's retry plugin tries 4 times in all: then the job fails, to be retried.
    github.failNext("PATCH", /check-runs/, 502, 4);
    await expect(reportStatus(d, s.id)).rejects.toMatchObject({ name: "GitHubError", code: "transient" });
    expect(await reportStatus(d, s.id)).toBe("done");
    expect(checkRunsOf(sha(751))).toHaveLength(1);
  });
});

describe("the reconciler's report work", () => {
  it("is listed oldest status change first, so stuck stagings do not starve the rest", async () => {
    const clocked = db.storeWith({ clock });
    const ids: string[] = [];
    for (const [i, minutes] of [
      [0, 30],
      [1, 10],
      [2, 20],
    ] as const) {
      const s = await pushed(clocked, 80 + i, sha(800 + i));
      now = new Date(Date.parse("2026-12-02T00:00:00Z") + minutes * 60_000);
      await clocked.transition(s.id, { to: "deploying", reason: null, cause: "test", actor: "me" });
      ids.push(s.id);
    }
    const order = (await db.store.listWork(new Date("2026-12-03T00:00:00Z"))).report.map((r) => r.id).filter((id) => ids.includes(id));
    expect(order).toEqual([ids[1], ids[2], ids[0]]);
  });
});
