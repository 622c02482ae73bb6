import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { deployIntent, sha } from "../support/builders.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.drop();
});

describe("staging store (real Postgres)", () => {
  it("records intent in one transaction and ignores a redelivered webhook", async () => {
    const first = await t.store.recordIntent(deployIntent(1, sha(1), { deliveryId: "d-1" }));
    expect(first.outcome).toBe("recorded");
    const again = await t.store.recordIntent(deployIntent(1, sha(2), { deliveryId: "d-1" }));
    expect(again).toEqual({ outcome: "duplicate" });
    const s = await t.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 1 });
    expect(s).toMatchObject({ name: "web-pr-1", namespace: "octostage-web-pr-1", generation: 1, headSha: sha(1), status: "pending" });
    expect(await t.store.listActions(s!.id)).toHaveLength(1);
  });

  it("bumps the generation on each push and supersedes older queued actions", async () => {
    const a = await t.store.recordIntent(deployIntent(2, sha(1), { deliveryId: "p2-1" }));
    await t.store.recordIntent(deployIntent(2, sha(2), { deliveryId: "p2-2" }));
    const c = await t.store.recordIntent(deployIntent(2, sha(3), { deliveryId: "p2-3" }));
    if (a.outcome !== "recorded" || c.outcome !== "recorded") throw new Error("not recorded");
    expect(c.staging.generation).toBe(3);
    expect(c.staging.desiredSpec.sha).toBe(sha(3));
    await t.store.startGeneration(c.staging.id, 3);
    const states = (await t.store.listActions(c.staging.id)).map((x) => [x.generation, x.state]);
    expect(states).toEqual([
      [1, "superseded"],
      [2, "superseded"],
      [3, "running"],
    ]);
  });

  it("concurrent first webhooks for one PR create one staging", async () => {
    const results = await Promise.all([1, 2, 3, 4].map((i) => t.store.recordIntent(deployIntent(3, sha(i), { deliveryId: `p3-${i}` }))));
    expect(results.every((r) => r.outcome === "recorded")).toBe(true);
    const s = await t.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 3 });
    expect(s!.generation).toBe(4);
  });

  it("applies allowed transitions with history and refuses illegal ones", async () => {
    const r = await t.store.recordIntent(deployIntent(4, sha(1)));
    if (r.outcome !== "recorded") throw new Error("not recorded");
    const id = r.staging.id;
    const moved = await t.store.transition(id, { to: "deploying", reason: "x", cause: "test", actor: "me" });
    expect(moved.applied).toBe(true);
    const illegal = await t.store.transition(id, { to: "deleted", reason: null, cause: "test", actor: "me" });
    expect(illegal).toMatchObject({ applied: false, refused: "a staging cannot go from deploying to deleted" });
    const same = await t.store.transition(id, { to: "deploying", reason: "x", cause: "test", actor: "me" });
    expect(same.applied).toBe(false);
    const reasonOnly = await t.store.transition(id, { to: "deploying", reason: "y", cause: "test", actor: "me" });
    expect(reasonOnly.applied).toBe(true);
    await t.store.transition(id, { to: "running", reason: null, cause: "workloads ready", actor: "octostage" });
    const history = await t.store.listTransitions(id);
    expect(history.map((x) => [x.from, x.to, x.cause, x.actor])).toEqual([
      ["pending", "deploying", "test", "me"],
      ["deploying", "running", "workloads ready", "octostage"],
    ]);
    expect(history[0]!.at).toBeInstanceOf(Date);
    expect((await t.store.get(id))!.status).toBe("running");
  });

  it("gives a lease to one owner at a time and lets it expire", async () => {
    const r = await t.store.recordIntent(deployIntent(5, sha(1)));
    if (r.outcome !== "recorded") throw new Error("not recorded");
    const id = r.staging.id;
    expect(await t.store.acquireLease(id, "deploy", "w1", 60_000)).toBe(true);
    expect(await t.store.acquireLease(id, "deploy", "w2", 60_000)).toBe(false);
    expect(await t.store.acquireLease(id, "deploy", "w1", 60_000)).toBe(true);
    expect(await t.store.acquireLease(id, "report", "w2", 60_000)).toBe(true);
    await t.store.releaseLease(id, "deploy", "w1");
    expect(await t.store.acquireLease(id, "deploy", "w2", 1)).toBe(true);
    await new Promise((res) => setTimeout(res, 20));
    expect(await t.store.acquireLease(id, "deploy", "w3", 60_000)).toBe(true);
  });

  it("lists stagings whose intent or status is ahead, unless a lease is held", async () => {
    const r = await t.store.recordIntent(deployIntent(6, sha(1)));
    if (r.outcome !== "recorded") throw new Error("not recorded");
    const id = r.staging.id;
    let work = await t.store.listNeedingWork();
    expect(work.deploy.map((s) => s.id)).toContain(id);
    expect(work.report.map((s) => s.id)).toContain(id);
    await t.store.acquireLease(id, "deploy", "w1", 60_000);
    work = await t.store.listNeedingWork();
    expect(work.deploy.map((s) => s.id)).not.toContain(id);
    await t.store.setObservedGeneration(id, 1);
    await t.store.markReported(id, r.staging.statusVersion, { commentId: 77 });
    await t.store.releaseLease(id, "deploy", "w1");
    work = await t.store.listNeedingWork();
    expect(work.deploy.map((s) => s.id)).not.toContain(id);
    expect(work.report.map((s) => s.id)).not.toContain(id);
    expect((await t.store.get(id))!.commentId).toBe(77);
  });
});

describe("webhook deliveries", () => {
  it("are forgotten after the retention period, so the table does not grow forever", async () => {
    await t.store.recordIntent(deployIntent(30, sha(1), { deliveryId: "old-delivery" }));
    await t.db.webhookDelivery.update({ where: { id: "old-delivery" }, data: { receivedAt: new Date("2020-01-01") } });
    expect(await t.store.pruneDeliveries(new Date("2021-01-01"))).toBe(1);
    expect(await t.db.webhookDelivery.findUnique({ where: { id: "old-delivery" } })).toBeNull();
  });
});
