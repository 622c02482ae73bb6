import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubActor } from "../../src/domain/actor.ts";
import { decideOverrides } from "../../src/domain/intent/commands.ts";
import { pullRequestSpec } from "../../src/app/desired-spec.ts";
import { LeaseLostError } from "../../src/ports/store.ts";
import type { Lease } from "../../src/ports/store.ts";
import pg from "pg";
import { createDb, poolOf } from "../../src/adapters/db/prisma.ts";
import { createTestDb, testDatabaseUrl } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { pullRequestChange, pushed, recordPullRequestEvent, sha, testProject } from "../support/builders.ts";
import { barrier, untilWaitingForRowLock } from "../support/interleave.ts";
import { waitFor } from "../support/wait.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.drop();
});

const key = (pr: number) => ({ repoOwner: "octo-org", repoName: "web", prNumber: pr });
const settings = testProject().repositories[0]!;

function overrideChange(stagingId: string, pr: number, value: unknown) {
  return {
    target: { id: stagingId },
    event: "issue_comment.created",
    decide: (current: Parameters<ReturnType<typeof pullRequestChange>["decide"]>[0]) =>
      decideOverrides(current!.staging, githubActor("dev"), "app", [{ scope: "app", key: "api.replicas", op: "set", value }]),
    spec: pullRequestSpec(settings, "octo-org", "web", pr),
  };
}

async function leaseExpired(lease: Lease): Promise<boolean> {
  const rows = await t.db.$queryRaw<{ expired: boolean }[]>`SELECT "expiresAt" < now() AS expired FROM "Lease" WHERE "stagingId" = ${lease.stagingId}::uuid AND "kind" = ${lease.kind}`;
  return rows[0]?.expired ?? true;
}

describe("staging store (real Postgres)", () => {
  it("records intent in one transaction and ignores a redelivered webhook", async () => {
    const first = await recordPullRequestEvent(t.store, 1, sha(1), { deliveryId: "d-1", action: "opened" });
    expect(first.outcome).toBe("changed");
    const again = await recordPullRequestEvent(t.store, 1, sha(2), { deliveryId: "d-1" });
    expect(again).toEqual({ outcome: "duplicate" });
    const s = await t.store.find(key(1));
    expect(s).toMatchObject({ name: "web-pr-1", namespace: "octostage-web-pr-1", generation: 1, observedGeneration: 0, headSha: sha(1), status: "pending" });
    expect(await t.store.listActions(s!.id)).toHaveLength(1);
    expect(await t.store.getChannel(s!.id, "github")).toMatchObject({ reportedVersion: 0, error: null });
  });

  it("bumps the generation on each push, and the worker supersedes older queued actions", async () => {
    await pushed(t.store, 2, sha(1), { deliveryId: "p2-1" });
    await pushed(t.store, 2, sha(2), { deliveryId: "p2-2" });
    const c = await pushed(t.store, 2, sha(3), { deliveryId: "p2-3" });
    expect(c.generation).toBe(3);
    expect(c.desiredSpec.sha).toBe(sha(3));
    const lease = (await t.store.acquireLease(c.id, "deploy", "w1", 60_000))!;
    await t.store.startGeneration(lease, { generation: 3 });
    const states = (await t.store.listActions(c.id)).map((x) => [x.generation, x.state]);
    expect(states).toEqual([
      [1, "superseded"],
      [2, "superseded"],
      [3, "running"],
    ]);
  });

  it("concurrent first webhooks for one PR create one staging", async () => {
    const results = await Promise.all([1, 2, 3, 4].map((i) => recordPullRequestEvent(t.store, 3, sha(i), { deliveryId: `p3-${i}` })));
    expect(results.every((r) => r.outcome === "changed")).toBe(true);
    expect((await t.store.find(key(3)))!.generation).toBe(4);
  });

  it("a list mark moves when a staging of the repositories comes, changes status or generation, and not otherwise", async () => {
    const before = await t.store.listMark(["octo-org/web"]);
    expect(await t.store.listMark(["octo-org/web"])).toBe(before);
    const { id } = await pushed(t.store, 40, sha(1));
    const added = await t.store.listMark(["Octo-Org/Web"]);
    expect(added).not.toBe(before);
    await t.store.saveWorkloads(id, { workloads: [], pods: [], morePods: 0 });
    expect(await t.store.listMark(["octo-org/web"])).toBe(added);
    await t.store.transition(id, { to: "deploying", reason: null, cause: "test", actor: "me" });
    const moved = await t.store.listMark(["octo-org/web"]);
    expect(moved).not.toBe(added);
    await pushed(t.store, 40, sha(2));
    expect(await t.store.listMark(["octo-org/web"])).not.toBe(moved);
    // Another repository's stagings are not in it.
    expect(await t.store.listMark(["octo-org/other"])).toBe("0:0:0:");
  });

  it("applies allowed transitions with history and refuses illegal ones", async () => {
    const { id } = await pushed(t.store, 4, sha(1));
    const moved = await t.store.transition(id, { to: "deploying", reason: "x", cause: "test", actor: "me" });
    expect(moved.applied).toBe(true);
    const illegal = await t.store.transition(id, { to: "deleted", reason: null, cause: "test", actor: "me" });
    expect(illegal).toMatchObject({ applied: false, refused: "a staging cannot go from deploying to deleted" });
    const same = await t.store.transition(id, { to: "deploying", reason: "x", cause: "test", actor: "me" });
    expect(same.applied).toBe(false);
    const reasonOnly = await t.store.transition(id, { to: "deploying", reason: "y", cause: "test", actor: "me" });
    expect(reasonOnly.applied).toBe(true);
    const stale = await t.store.transition(id, { to: "running", reason: null, cause: "health", actor: "octostage", expectedStatusVersion: 1 });
    expect(stale).toMatchObject({ applied: false, stale: true });
    await t.store.transition(id, { to: "running", reason: null, cause: "workloads ready", actor: "octostage" });
    const history = await t.store.listTransitions(id);
    expect(history.map((x) => [x.from, x.to, x.cause, x.actor])).toEqual([
      ["pending", "deploying", "test", "me"],
      ["deploying", "running", "workloads ready", "octostage"],
    ]);
    expect((await t.store.get(id))!.status).toBe("running");
  });

  it("lists what must be (re-)enqueued: intent ahead with no live lease, status ahead of the channel, commands without a reply", async () => {
    const s = await pushed(t.store, 6, sha(1));
    const now = new Date(Date.now() + 60_000);
    let work = await t.store.listWork(now);
    expect(work.deploy.map((x) => x.id)).toContain(s.id);
    expect(work.report.map((x) => x.id)).toContain(s.id);
    const lease = (await t.store.acquireLease(s.id, "deploy", "w1", 60_000))!;
    work = await t.store.listWork(now);
    expect(work.deploy.map((x) => x.id)).not.toContain(s.id);
    await t.store.finishGeneration(lease, { generation: 1, action: { state: "succeeded" }, observed: true });
    await t.store.releaseLease(lease);
    const report = (await t.store.acquireLease(s.id, "report", "w1", 60_000))!;
    await t.store.updateChannel(report, "github", { reportedVersion: (await t.store.get(s.id))!.statusVersion, state: { commentId: 77 } });
    await t.store.releaseLease(report);
    work = await t.store.listWork(now);
    expect(work.deploy.map((x) => x.id)).not.toContain(s.id);
    expect(work.report.map((x) => x.id)).not.toContain(s.id);
    expect((await t.store.getChannel(s.id, "github"))!.state).toEqual({ commentId: 77 });
  });

  it("a report channel with a permanent error, or waiting for Retry-After, is not listed again until the status moves on", async () => {
    const s = await pushed(t.store, 7, sha(1));
    const lease = (await t.store.acquireLease(s.id, "report", "w1", 60_000))!;
    await t.store.updateChannel(lease, "github", { error: { code: "forbidden", message: "checks.create: forbidden (HTTP 403)", version: s.statusVersion } });
    await t.store.releaseLease(lease);
    expect((await t.store.listWork(new Date())).report.map((x) => x.id)).not.toContain(s.id);
    await t.store.transition(s.id, { to: "deploying", reason: null, cause: "test", actor: "me" });
    expect((await t.store.listWork(new Date())).report.map((x) => x.id)).toContain(s.id);
    const again = (await t.store.acquireLease(s.id, "report", "w1", 60_000))!;
    await t.store.updateChannel(again, "github", { error: null, notBefore: new Date(Date.now() + 60_000) });
    await t.store.releaseLease(again);
    expect((await t.store.listWork(new Date())).report.map((x) => x.id)).not.toContain(s.id);
    expect((await t.store.listWork(new Date(Date.now() + 61_000))).report.map((x) => x.id)).toContain(s.id);
  });
});

/** A store whose first change stops at `hook` (after the row lock, or between the fast path's read and write) until `pause.release()`. */
function pauseFirstWriter(hook: "afterLock" | "afterRead" = "afterLock") {
  const pause = barrier();
  let paused = false;
  const slow = t.storeWith({
    hooks: {
      [hook]: async () => {
        if (paused) return;
        paused = true;
        await pause.wait();
      },
    },
  });
  return { slow, pause };
}

describe("one transaction per intent (deterministic interleavings)", () => {
  it("an override committed while a push is being recorded is in the desired spec, and so is the push", async () => {
    const s = await pushed(t.store, 20, sha(1));
    const { slow, pause } = pauseFirstWriter();
    // The push takes the row lock and stops there; the override must wait for it, not read around it.
    const push = slow.changeStaging(pullRequestChange(20, sha(2)));
    await pause.reached();
    let overrideDone = false;
    const override = t.store.changeStaging(overrideChange(s.id, 20, 3)).finally(() => (overrideDone = true));
    expect(await untilWaitingForRowLock(t.schema, "Staging", () => overrideDone)).toBe("waiting");
    pause.release();
    await Promise.all([push, override]);
    const after = (await t.store.get(s.id))!;
    expect(after.headSha).toBe(sha(2));
    expect(after.desiredSpec.sha).toBe(sha(2));
    expect(after.desiredSpec.values).toMatchObject({ api: { replicas: 3 }, image: { tag: sha(2) } });
    expect(after.generation).toBe(3);
  });

  it("a push recorded while a command is being recorded is not undone by it (the head never moves back)", async () => {
    const s = await pushed(t.store, 21, sha(1));
    const { slow, pause } = pauseFirstWriter();
    const command = slow.changeStaging(overrideChange(s.id, 21, 5));
    await pause.reached();
    let pushDone = false;
    const push = t.store.changeStaging(pullRequestChange(21, sha(2))).finally(() => (pushDone = true));
    expect(await untilWaitingForRowLock(t.schema, "Staging", () => pushDone)).toBe("waiting");
    pause.release();
    await Promise.all([command, push]);
    const after = (await t.store.get(s.id))!;
    expect(after.headSha).toBe(sha(2));
    expect(after.desiredSpec.sha).toBe(sha(2));
    expect(after.desiredSpec.values).toMatchObject({ api: { replicas: 5 } });
  });

  it("a late redelivery of an older event changes nothing: GitHub's updated_at orders events", async () => {
    await pushed(t.store, 22, sha(1), { updatedAt: new Date("2026-12-01T10:00:00Z") });
    await pushed(t.store, 22, sha(2), { updatedAt: new Date("2026-12-01T10:05:00Z") });
    const late = await recordPullRequestEvent(t.store, 22, sha(1), { updatedAt: new Date("2026-12-01T10:00:00Z"), deliveryId: "late-redelivery" });
    expect(late).toMatchObject({ outcome: "unchanged", result: "stale" });
    const lateClose = await recordPullRequestEvent(t.store, 22, sha(1), { action: "closed", state: "closed", updatedAt: new Date("2026-12-01T10:01:00Z") });
    expect(lateClose).toMatchObject({ outcome: "unchanged", result: "stale" });
    const s = (await t.store.find(key(22)))!;
    expect(s).toMatchObject({ headSha: sha(2), desiredState: "active", generation: 2 });
    // The delivery id was recorded: a second redelivery is a duplicate, not work.
    expect(await recordPullRequestEvent(t.store, 22, sha(1), { deliveryId: "late-redelivery" })).toEqual({ outcome: "duplicate" });
  });
});

describe("the intake fast path (read, then one conditional statement)", () => {
  it("a push on an existing staging is one read and one write: delivery, staging and audit entry together", async () => {
    const s = await pushed(t.store, 50, sha(1));
    const out = await recordPullRequestEvent(t.store, 50, sha(2), { deliveryId: "fast-1" });
    expect(out).toMatchObject({ outcome: "changed", staging: { headSha: sha(2), generation: 2, statusVersion: s.statusVersion + 1 } });
    const actions = await t.store.listActions(s.id);
    expect(actions.at(-1)).toMatchObject({ kind: "update", generation: 2, state: "queued", deliveryId: "fast-1", actor: "dev", source: "github" });
    expect(actions.at(-1)!.id).toBe(out.outcome === "changed" ? out.actionId : "");
    expect(await recordPullRequestEvent(t.store, 50, sha(3), { deliveryId: "fast-1" })).toEqual({ outcome: "duplicate" });
    expect((await t.store.get(s.id))!.headSha).toBe(sha(2));
  });

  it("a row changed between the read and the write: the push is decided again on the row as it is, nothing is lost", async () => {
    const s = await pushed(t.store, 51, sha(1));
    const { slow: store, pause } = pauseFirstWriter("afterRead");
    const push = store.changeStaging(pullRequestChange(51, sha(2), { deliveryId: "fast-2" }));
    await pause.reached();
    // An override committed while the push waits between its read and its write.
    expect((await t.store.changeStaging(overrideChange(s.id, 51, 7))).outcome).toBe("changed");
    pause.release();
    expect(await push).toMatchObject({ outcome: "changed" });
    const after = (await t.store.get(s.id))!;
    expect(after.headSha).toBe(sha(2));
    // The push's desired spec was computed with the override it had not read.
    expect(after.desiredSpec.values).toMatchObject({ api: { replicas: 7 }, image: { tag: sha(2) } });
    expect(after.generation).toBe(3);
    expect((await t.store.listActions(s.id)).filter((a) => a.deliveryId === "fast-2")).toHaveLength(1);
  });

  it("the same delivery twice at once: one change, the other a duplicate", async () => {
    const s = await pushed(t.store, 52, sha(1));
    const { slow: store, pause } = pauseFirstWriter("afterRead");
    const first = store.changeStaging(pullRequestChange(52, sha(2), { deliveryId: "fast-3" }));
    await pause.reached();
    const second = await t.store.changeStaging(pullRequestChange(52, sha(2), { deliveryId: "fast-3" }));
    expect(second).toMatchObject({ outcome: "changed" });
    pause.release();
    expect(await first).toEqual({ outcome: "duplicate" });
    const after = (await t.store.get(s.id))!;
    expect(after.generation).toBe(2);
    expect((await t.store.listActions(s.id)).filter((a) => a.deliveryId === "fast-3")).toHaveLength(1);
  });

  it("one process runs the changes of one staging one after another, and other stagings' alongside", async () => {
    await pushed(t.store, 54, sha(1));
    await pushed(t.store, 55, sha(1));
    const pause = barrier();
    const read: number[] = [];
    const store = t.storeWith({
      hooks: {
        afterRead: async (target) => {
          const pr = "key" in target ? target.key.prNumber : 0;
          read.push(pr);
          if (read.length === 1) await pause.wait();
        },
      },
    });
    const first = store.changeStaging(pullRequestChange(54, sha(2), { deliveryId: "order-1" }));
    await pause.reached();
    const second = store.changeStaging(pullRequestChange(54, sha(3), { deliveryId: "order-2" }));
    // Another PR's push is not held up by PR 54's...
    expect(await store.changeStaging(pullRequestChange(55, sha(2), { deliveryId: "order-3" }))).toMatchObject({ outcome: "changed" });
    // ...while PR 54's second push has not even read the row: it cannot conflict with the first.
    expect(read).toEqual([54, 55]);
    pause.release();
    expect(await first).toMatchObject({ outcome: "changed", staging: { headSha: sha(2) } });
    expect(await second).toMatchObject({ outcome: "changed", staging: { headSha: sha(3), generation: 3 } });
    expect(read).toEqual([54, 55, 54]);
  });

  it("a change that fails does not hold up the next change of its staging", async () => {
    const s = await pushed(t.store, 56, sha(1));
    const failing = { ...pullRequestChange(56, sha(2)), decide: () => { throw new Error("a bug in a decision"); } };
    await expect(t.store.changeStaging(failing)).rejects.toThrow("a bug in a decision");
    expect(await t.store.changeStaging(pullRequestChange(56, sha(3)))).toMatchObject({ outcome: "changed", staging: { id: s.id, headSha: sha(3) } });
  });

  it("reads and writes times as Prisma does whatever the process's time zone (the fast path runs on node-postgres directly)", async () => {
    const zone = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      const s = await pushed(t.store, 57, sha(1), { updatedAt: new Date("2026-12-01T10:00:00.123Z") });
      const out = await recordPullRequestEvent(t.store, 57, sha(2), { updatedAt: new Date("2026-12-01T11:30:00.456Z"), deliveryId: "fast-tz" });
      expect(out.outcome).toBe("changed");
      const fast = out.outcome === "changed" ? out.staging : undefined;
      const stored = (await t.store.get(s.id))!;
      expect(stored.prUpdatedAt?.toISOString()).toBe("2026-12-01T11:30:00.456Z");
      // What the fast path hands back is what Prisma reads: every time, the bigint, the JSON.
      expect(fast).toEqual(stored);
      expect(typeof stored.installationId === "bigint" || typeof stored.installationId === "number").toBe(true);
      // Its read of the row too: the next push on the fast path keeps the earlier times as they were.
      const again = await recordPullRequestEvent(t.store, 57, sha(3), { updatedAt: new Date("2026-12-01T12:00:00.789Z"), deliveryId: "fast-tz-2" });
      const after = (await t.store.get(s.id))!;
      expect(again.outcome === "changed" ? again.staging : undefined).toEqual(after);
      expect(after.statusChangedAt.getTime()).toBe(stored.statusChangedAt.getTime());
      expect(after.lastActivityAt.getTime()).toBeGreaterThanOrEqual(stored.lastActivityAt.getTime());
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it("keeps working when a migration adds a column under its prepared statements (a rolling update's old pods)", async () => {
    const own = await createTestDb();
    try {
      await pushed(own.store, 58, sha(1));
      // Two pushes in a row: one connection of the pool prepares the fast path's statements and keeps them.
      expect((await recordPullRequestEvent(own.store, 58, sha(2))).outcome).toBe("changed");
      expect((await recordPullRequestEvent(own.store, 58, sha(3))).outcome).toBe("changed");
      // A newer release's migration, while this process runs.
      await own.db.$executeRawUnsafe(`ALTER TABLE "Staging" ADD COLUMN "addedLater" INTEGER`);
      const out = await recordPullRequestEvent(own.store, 58, sha(4));
      expect(out).toMatchObject({ outcome: "changed", staging: { headSha: sha(4) } });
    } finally {
      await own.drop();
    }
  });

  it("an idle connection dropped before Prisma ever connected does not end the process; the next query connects again", async () => {
    const db = createDb(t.url);
    try {
      const pool = poolOf(db)!;
      // The fast path's pool used before any Prisma query (a server whose first use is a webhook).
      const pid = (await pool.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
      const admin = new pg.Client({ connectionString: testDatabaseUrl });
      await admin.connect();
      await admin.query("select pg_terminate_backend($1)", [pid]);
      await admin.end();
      // The pool hears the idle connection die ('error') and drops it; unheard, that error ended the process.
      await waitFor("the pool to drop the dead connection", () => pool.totalCount === 0 || undefined, 5_000);
      expect((await pool.query<{ one: number }>("select 1 as one")).rows[0]!.one).toBe(1);
    } finally {
      await db.$disconnect();
    }
  });

  it("an event that changes nothing still records its delivery: its redelivery is a duplicate", async () => {
    await pushed(t.store, 53, sha(1), { updatedAt: new Date("2026-12-01T10:05:00Z") });
    const stale = await recordPullRequestEvent(t.store, 53, sha(0), { updatedAt: new Date("2026-12-01T10:00:00Z"), deliveryId: "fast-4" });
    expect(stale).toMatchObject({ outcome: "unchanged", result: "stale" });
    expect(await recordPullRequestEvent(t.store, 53, sha(0), { deliveryId: "fast-4" })).toEqual({ outcome: "duplicate" });
  });
});

describe("fenced leases", () => {
  it("a new token each time the lease changes hands; renewals only by the holder with its token", async () => {
    const s = await pushed(t.store, 30, sha(1));
    const a = (await t.store.acquireLease(s.id, "deploy", "w1", 60_000))!;
    expect(await t.store.acquireLease(s.id, "deploy", "w2", 60_000)).toBeNull();
    expect(await t.store.acquireLease(s.id, "deploy", "w1", 60_000)).toBeNull(); // even the holder: one run at a time
    expect(await t.store.renewLease(a, 60_000)).toBe(true);
    await t.store.releaseLease(a);
    const b = (await t.store.acquireLease(s.id, "deploy", "w2", 60_000))!;
    expect(b.token).toBeGreaterThan(a.token);
    expect(await t.store.renewLease(a, 60_000)).toBe(false);
    expect(await t.store.acquireLease(s.id, "report", "w1", 60_000)).not.toBeNull();
  });

  it("a worker whose lease expired and was taken can write nothing: every result write checks the token", async () => {
    const s = await pushed(t.store, 31, sha(1));
    const a = (await t.store.acquireLease(s.id, "deploy", "w-a", 50))!;
    await waitFor("lease expired", () => leaseExpired(a));
    // Expired but not yet taken: still no writes (the holder cannot know nobody took it).
    await expect(t.store.finishGeneration(a, { generation: 1, action: { state: "succeeded" }, observed: true })).rejects.toBeInstanceOf(LeaseLostError);
    const b = (await t.store.acquireLease(s.id, "deploy", "w-b", 60_000))!;
    for (const write of [
      () => t.store.startGeneration(a, { generation: 1, status: { to: "deploying", reason: null, cause: "x", actor: "octostage" } }),
      () => t.store.progress(a, { to: "deploying", reason: "stale", cause: "x", actor: "octostage" }),
      () => t.store.setArchivedReplicas(a, { "Deployment/web": 9 }),
      () => t.store.finishGeneration(a, { generation: 1, action: { state: "succeeded" }, observed: true, deployOutcome: { deployedSha: sha(9) } }),
      () => t.store.audit(a, { kind: "recover", actor: githubActor("x"), state: "succeeded" }),
      () => t.store.updateChannel({ ...a, kind: "report" }, "github", { reportedVersion: 99 }),
    ]) {
      await expect(write()).rejects.toBeInstanceOf(LeaseLostError);
    }
    expect(await t.store.renewLease(a, 60_000)).toBe(false);
    const after = (await t.store.get(s.id))!;
    expect(after).toMatchObject({ observedGeneration: 0, deployedSha: null, archivedReplicas: null, status: "pending" });
    // The new holder writes.
    await t.store.finishGeneration(b, { generation: 1, action: { state: "succeeded" }, observed: true, deployOutcome: { deployedSha: sha(1) } });
    expect((await t.store.get(s.id))!).toMatchObject({ observedGeneration: 1, deployedSha: sha(1) });
  });

  it("a lease taken while a fenced write commits waits for it: the write and the takeover never interleave", async () => {
    const s = await pushed(t.store, 32, sha(1));
    const a = (await t.store.acquireLease(s.id, "deploy", "w-a", 300))!;
    const pause = barrier();
    const slow = t.storeWith({ hooks: { afterFence: () => pause.wait() } });
    // A's write passed its fence (the lease was valid) and stops inside its transaction.
    const write = slow.finishGeneration(a, { generation: 1, action: { state: "succeeded" }, observed: true, deployOutcome: { deployedSha: sha(1) } });
    await pause.reached();
    await waitFor("lease expired", () => leaseExpired(a));
    let taken: Lease | null | undefined;
    const takeover = t.store.acquireLease(s.id, "deploy", "w-b", 60_000).then((l) => (taken = l));
    // B must wait for A's transaction: it cannot take the lease while A's write is not committed.
    expect(await untilWaitingForRowLock(t.schema, "Lease", () => taken !== undefined)).toBe("waiting");
    pause.release();
    await write;
    await takeover;
    expect(taken?.owner).toBe("w-b");
    expect((await t.store.get(s.id))!).toMatchObject({ observedGeneration: 1, deployedSha: sha(1) });
  });
});

describe("commands and deliveries", () => {
  const command = (commentId: number, deliveryId: string) => ({
    source: "github" as const,
    externalId: String(commentId),
    deliveryId,
    installationId: 42,
    repoOwner: "octo-org",
    repoName: "web",
    prNumber: 40,
    commentId,
    commentedAt: new Date("2026-12-01T10:00:00Z"),
    actor: "dev",
    body: "/octo redeploy",
  });

  it("are recorded once per comment, whatever the delivery id (a replay with a fresh id runs nothing twice)", async () => {
    const first = await t.store.recordCommand(command(4001, "d-a"));
    expect(first).toMatchObject({ outcome: "recorded", command: { state: "queued", reply: null, commentId: 4001, actor: "dev" } });
    const replay = await t.store.recordCommand(command(4001, "d-b"));
    expect(replay).toMatchObject({ outcome: "duplicate", command: { id: first.command.id } });
    await t.store.saveCommandReply(first.command.id, "@dev done");
    await t.store.saveCommandReply(first.command.id, "@dev other");
    expect((await t.store.getCommand(first.command.id))!.reply).toBe("@dev done");
    expect((await t.store.listWork(new Date(Date.now() + 60_000))).commands.map((c) => c.id)).toContain(first.command.id);
    await t.store.markCommandReplied(first.command.id);
    expect((await t.store.listWork(new Date(Date.now() + 60_000))).commands.map((c) => c.id)).not.toContain(first.command.id);
  });

  it("housekeeping forgets old deliveries, replied commands and run output, so the tables do not grow forever; audit entries stay", async () => {
    await recordPullRequestEvent(t.store, 41, sha(1), { deliveryId: "old-delivery" });
    await t.db.webhookDelivery.update({ where: { id: "old-delivery" }, data: { receivedAt: new Date("2020-01-01") } });
    const c = await t.store.recordCommand(command(4100, "d-old"));
    await t.store.markCommandReplied(c.command.id);
    await t.db.command.update({ where: { id: c.command.id }, data: { repliedAt: new Date("2020-01-01") } });
    const recent = await recordPullRequestEvent(t.store, 42, sha(2), { deliveryId: "recent-delivery" });
    const oldAction = await t.db.action.findFirstOrThrow({ where: { deliveryId: "old-delivery" } });
    await t.db.action.update({ where: { id: oldAction.id }, data: { output: "helm said things", createdAt: new Date("2020-01-01") } });
    const recentAction = await t.db.action.findFirstOrThrow({ where: { deliveryId: "recent-delivery" } });
    await t.db.action.update({ where: { id: recentAction.id }, data: { output: "recent output" } });
    expect(await t.store.pruneHistory(new Date("2021-01-01"))).toEqual({ deliveries: 1, commands: 1, outputs: 1 });
    expect(await t.db.webhookDelivery.findUnique({ where: { id: "recent-delivery" } })).not.toBeNull();
    expect((await t.db.action.findUniqueOrThrow({ where: { id: oldAction.id } })).output).toBeNull();
    expect((await t.db.action.findUniqueOrThrow({ where: { id: oldAction.id } })).kind).toBe("update");
    expect((await t.db.action.findUniqueOrThrow({ where: { id: recentAction.id } })).output).toBe("recent output");
    expect(recent.outcome).toBe("changed");
    expect(await t.db.webhookDelivery.findUnique({ where: { id: "old-delivery" } })).toBeNull();
    expect(await t.store.getCommand(c.command.id)).toBeNull();
  });
});
