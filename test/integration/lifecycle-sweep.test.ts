// The lifecycle sweep against PostgreSQL, with an injected clock: the candidate query, the
// notice a policy gives before it acts, the compare-and-set that lets a keep made in between
// win, and the audit entry of the action.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepLifecycle } from "../../src/app/lifecycle/sweep.ts";
import { keepStaging } from "../../src/app/stagings/keep-staging.ts";
import { githubActor } from "../../src/domain/actor.ts";
import type { WorkQueue } from "../../src/ports/queue.ts";
import { pushed, sha, testProject } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { days, hours, movableClock } from "../support/clock.ts";
import { silentLogger } from "../../src/ports/logger.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t?.drop();
});

function queue(): WorkQueue & { reports: string[]; deploys: string[] } {
  const reports: string[] = [];
  const deploys: string[] = [];
  return {
    reports,
    deploys,
    enqueueDeploy: async (id) => void deploys.push(id),
    enqueueReport: async (id) => void reports.push(id),
    enqueueCommand: async () => undefined,
  };
}

describe("the lifecycle sweep", () => {
  it("warns before retention acts, acts after the notice, and a keep made in between wins", async () => {
    const clock = movableClock();
    const store = t.storeWith({ clock });
    const project = testProject({ lifecycle: { retentionDays: 14, warnHours: 24 } });
    const deps = { store, queue: queue(), project, logger: silentLogger, clock };
    const a = await pushed(store, 501, sha(501), { project });
    const b = await pushed(store, 502, sha(502), { project });
    for (const s of [a, b]) {
      await store.changeStaging({ target: { id: s.id }, event: "test", decide: () => ({ change: true, inputs: { desiredState: "archived" }, action: { kind: "archive", actor: githubActor("dev") }, bumpGeneration: true, result: null }), spec: (_i, _o, name) => ({ ...s.desiredSpec, name }) });
    }
    expect(await sweepLifecycle(deps)).toMatchObject({ candidates: 0, warned: 0 });
    clock.advance(days(13) + hours(1));
    const warned = await sweepLifecycle(deps);
    expect(warned).toMatchObject({ candidates: 2, warned: 2, archived: 0, cleanedUp: 0 });
    expect(deps.queue.reports).toEqual(expect.arrayContaining([a.id, b.id]));
    const noticed = (await store.get(a.id))!;
    expect(noticed.notice!.policy).toBe("retention");
    expect(noticed.notice!.at.getTime() - noticed.archivedAt!.getTime()).toBe(days(14));
    // Nothing new: the notices stay, no write.
    const again = await sweepLifecycle(deps);
    expect(again).toMatchObject({ candidates: 2, warned: 0, noticesCleared: 0 });

    // b is kept before the deadline: its notice goes, it is not cleaned up.
    expect(await keepStaging(deps, { stagingId: b.id, actor: githubActor("dev"), event: "test", arg: "7d" })).toMatchObject({ ok: true, done: "kept" });
    expect((await store.get(b.id))!.notice).toBeNull();
    clock.advance(hours(24));
    const acted = await sweepLifecycle(deps);
    expect(acted).toMatchObject({ cleanedUp: 1 });
    expect((await store.get(a.id))!.desiredState).toBe("deleted");
    expect((await store.get(b.id))!.desiredState).toBe("archived");
    const cleanup = (await store.listActions(a.id)).find((x) => x.kind === "cleanup")!;
    expect(cleanup).toMatchObject({ source: "system", actor: "octostage", actorName: "retention policy", detail: { policy: "retention", rule: "archived stagings are cleaned up 14 days after they were archived" } });
    expect(deps.queue.deploys).toContain(a.id);
  });

  it("a notice computed from a stale read is not written (compare-and-set on the lifecycle facts)", async () => {
    const clock = movableClock();
    const store = t.storeWith({ clock });
    const project = testProject();
    const s = await pushed(store, 503, sha(503), { project });
    const facts = { desiredState: s.desiredState, archivedAt: s.archivedAt, lastActivityAt: s.lastActivityAt, keepUntil: s.keepUntil, keepLabel: s.keepLabel };
    const notice = { at: new Date(clock.now().getTime() + days(1)), policy: "idle" as const };
    expect(await store.setNotices([{ id: s.id, expected: { ...facts, keepLabel: true }, notice }])).toEqual([]);
    expect(await store.setNotices([{ id: s.id, expected: facts, notice }])).toEqual([{ id: s.id, statusVersion: s.statusVersion + 1 }]);
    expect((await store.get(s.id))!.notice).toEqual(notice);
    // The same notice again: nothing to write.
    expect(await store.setNotices([{ id: s.id, expected: facts, notice }])).toEqual([]);
  });
});
