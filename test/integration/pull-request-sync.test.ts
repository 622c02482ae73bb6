// Webhooks are hints: when `closed` or `synchronize` never arrives, the reconciler's pull-request
// check (conditional requests to GitHub) notices. A failed GitHub call never archives anything.
// Real GitHub adapter on the GitHub double, real Postgres.
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitHubCodeHost } from "../../src/adapters/github/code-host.ts";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { syncPullRequests } from "../../src/app/sync-pull-requests.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { pushed, sha, testProject } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../support/github-double.ts";
import type { GitHubDouble } from "../support/github-double.ts";
import { recordingQueue } from "../support/worker-deps.ts";

let db: TestDb;
let github: GitHubDouble;
let now = new Date("2026-12-01T12:00:00Z");
const clock = { now: () => now };
const every = { everyMs: 10 * 60_000, batch: 50 };

beforeAll(async () => {
  [db, github] = await Promise.all([createTestDb(), startGitHubDouble()]);
  github.setNow(now);
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
  const codeHost = createGitHubCodeHost({ getOctokit: (id) => probot.auth(id), logger: silentLogger });
  return { store: db.store, codeHost, logger: silentLogger, clock, queue: recordingQueue(), project: testProject() };
}

/** A PR open on GitHub, and its staging as the intake recorded it from the `opened` webhook. */
async function openPr(number: number, head: string, fork = false) {
  github.openPullRequest("octo-org", "web", { number, sha: head, ref: `feature-${number}`, ...(fork ? { forkOwner: "stranger" } : {}) });
  return pushed(db.store, number, head, { action: "opened", headRef: `feature-${number}`, fromFork: fork, updatedAt: new Date(now.getTime() - 60_000) });
}

/** Octostage's clock and GitHub's move together (GitHub stamps updated_at with its own). */
function later(ms: number): void {
  now = new Date(now.getTime() + ms);
  github.setNow(now);
}
const pullsGets = () => github.requests.filter((r) => r.operationId === "pulls/get");

describe("the reconciler's pull-request check", () => {
  it("asks at a modest pace, with conditional requests: an unchanged PR costs no rate limit and changes nothing", async () => {
    const s = await openPr(90, sha(901));
    const d = deps();
    expect(await syncPullRequests(d, every)).toMatchObject({ checked: expect.any(Number), changed: 0 });
    expect(pullsGets().filter((r) => r.path.endsWith("/pulls/90"))).toHaveLength(1);
    // Not asked again before the interval...
    await syncPullRequests(d, every);
    expect(pullsGets().filter((r) => r.path.endsWith("/pulls/90"))).toHaveLength(1);
    // ...then asked with the ETag: 304, not counted against the rate limit.
    later(every.everyMs + 1);
    const used = github.rateLimitUsed(42);
    await syncPullRequests(d, every);
    const asked = pullsGets().filter((r) => r.path.endsWith("/pulls/90"));
    expect(asked).toHaveLength(2);
    expect(asked[1]!.status).toBe(304);
    expect(github.rateLimitUsed(42)).toBe(used);
    expect((await db.store.get(s.id))!).toMatchObject({ generation: 1, desiredState: "active" });
  });

  it("archives a staging whose PR GitHub says is closed (the `closed` webhook was lost), as the system", async () => {
    const s = await openPr(91, sha(911));
    const d = deps();
    github.closePullRequest("octo-org", "web", 91, { merged: true });
    later(every.everyMs + 1);
    await syncPullRequests(d, every);
    const after = (await db.store.get(s.id))!;
    expect(after).toMatchObject({ desiredState: "archived", generation: 2 });
    expect(d.queue.deploys).toContainEqual(expect.objectContaining({ stagingId: s.id, generation: 2 }));
    expect((await db.store.listActions(s.id)).at(-1)).toMatchObject({ kind: "archive", source: "system", actor: "octostage" });
  });

  it("deploys the head GitHub has when a `synchronize` webhook was lost", async () => {
    const s = await openPr(92, sha(921));
    github.pushPullRequest("octo-org", "web", 92, sha(922));
    later(every.everyMs + 1);
    await syncPullRequests(deps(), every);
    expect((await db.store.get(s.id))!).toMatchObject({ headSha: sha(922), desiredSpec: expect.objectContaining({ sha: sha(922) }), generation: 2 });
  });

  it("never deploys a fork's new commit that nobody approved, even when GitHub says it is the head", async () => {
    const s = await openPr(93, sha(931), true);
    expect(s.desiredState).toBe("held");
    github.pushPullRequest("octo-org", "web", 93, sha(932));
    later(every.everyMs + 1);
    await syncPullRequests(deps(), every);
    expect((await db.store.get(s.id))!).toMatchObject({ headSha: sha(932), desiredState: "held", generation: 1 });
  });

  it("a failed call (GitHub down, or the PR not visible to the app) never archives anything", async () => {
    const s = await openPr(94, sha(941));
    later(every.everyMs + 1);
    github.failNext("GET", /\/pulls\/94$/, 404, 1);
    await syncPullRequests(deps(), every);
    later(every.everyMs + 1);
    github.failNext("GET", /\/pulls\/94$/, 502, 10);
    await syncPullRequests(deps(), every);
    expect((await db.store.get(s.id))!).toMatchObject({ desiredState: "active", generation: 1 });
  });
});
