// The Slack report channel on real Postgres, through the real Slack adapter (WebClient) on the
// Slack double: one thread per staging, nothing posted when nothing visible changed, Slack's
// 429 Retry-After becomes the channel's notBefore, a refusal for good stops the retries until
// the status moves, and a lifecycle warning is told once with a Keep button.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSlackChat } from "../../src/adapters/slack/slack-chat.ts";
import { reportSlack } from "../../src/app/slack/report-slack.ts";
import { setStatus } from "../../src/app/set-status.ts";
import { ChatError } from "../../src/ports/chat.ts";
import type { ChatChannel } from "../../src/ports/chat.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { pushed, sha, testProject } from "../support/builders.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { closeCheckedSlackDouble, startSlackDouble } from "../support/slack-double.ts";
import type { SlackDouble } from "../support/slack-double.ts";
import { recordingQueue, testTiming } from "../support/worker-deps.ts";

const botToken = "xoxb-3000000001-3000000002-reportSlackTestToken";
const channel = "C0NOTIFY01";
let db: TestDb;
let slack: SlackDouble;
let now = new Date("2026-12-01T10:00:00Z");

beforeAll(async () => {
  [db, slack] = await Promise.all([createTestDb(), startSlackDouble({ botToken, strictChannels: true })]);
  slack.addChannel(channel, { name: "web-stagings" });
});
afterAll(async () => {
  await db.drop();
  await closeCheckedSlackDouble(slack);
});
beforeEach(() => {
  now = new Date(now.getTime() + 60_000);
});

function deps(slackChannel = channel) {
  return {
    store: db.store,
    logger: silentLogger,
    workerId: "w",
    clock: { now: () => now },
    queue: recordingQueue(),
    timing: testTiming,
    project: testProject({ slack: { channel: slackChannel, roles: { read: ["*"] } } }),
    chat: createSlackChat({ botToken, apiUrl: slack.url }),
  };
}

/** Slack, except that its `nth` post fails as a network failure would. */
function failingPost(chat: ChatChannel, nth: number): ChatChannel {
  let posts = 0;
  return {
    ...chat,
    post: async (...args) => {
      if (++posts === nth) throw new ChatError("transient", "Slack unreachable: socket hang up");
      return chat.post(...args);
    },
  };
}

const posts = () => slack.callsOf("chat.postMessage").filter((c) => c.ok).length;
const updates = () => slack.callsOf("chat.update").filter((c) => c.ok).length;

describe("the Slack report channel", () => {
  it("posts the card once, edits it and tells new statuses in its thread; nothing when nothing visible changed", async () => {
    const d = deps();
    const s = await pushed(db.store, 1, sha(1), { action: "opened" });
    expect(await reportSlack(d, s.id)).toBe("done");
    const card = slack.messages(channel).find((m) => (m.text ?? "").startsWith("web-pr-1:"))!;
    expect(card).toBeDefined();
    const [p, u] = [posts(), updates()];
    // A new status version that changes nothing shown (a label): the channel catches up silently.
    await pushed(db.store, 1, sha(1), { action: "labeled", labels: ["x"] });
    expect(await reportSlack(d, s.id)).toBe("done");
    expect([posts(), updates()]).toEqual([p, u]);
    expect((await db.store.getChannel(s.id, "slack"))!.reportedVersion).toBe((await db.store.get(s.id))!.statusVersion);

    await setStatus({ ...d, queue: recordingQueue() }, s.id, "failed", "api: CrashLoopBackOff (5 restarts)", "test");
    expect(await reportSlack(d, s.id)).toBe("done");
    expect(updates()).toBe(u + 1);
    expect(slack.thread(channel, card.ts).map((m) => m.text)).toEqual(["web-pr-1 failed: api: CrashLoopBackOff (5 restarts)"]);
    expect(slack.messages(channel).find((m) => m.ts === card.ts)!.text).toBe("web-pr-1: failed (api: CrashLoopBackOff (5 restarts))");
    // The same status with another reason edits the card, and tells nothing new in the thread.
    await setStatus({ ...d, queue: recordingQueue() }, s.id, "failed", "api: CrashLoopBackOff (6 restarts)", "test");
    await reportSlack(d, s.id);
    expect(slack.thread(channel, card.ts)).toHaveLength(1);
    expect(slack.messages(channel).filter((m) => (m.text ?? "").startsWith("web-pr-1:"))).toHaveLength(1);
  });

  it("a 429 defers the channel by Slack's Retry-After and queues the report for then; nothing is lost", async () => {
    const d = deps();
    const s = await pushed(db.store, 2, sha(2), { action: "opened" });
    slack.rateLimit("chat.postMessage", 7, 1);
    expect(await reportSlack(d, s.id)).toBe("deferred");
    const row = (await db.store.getChannel(s.id, "slack"))!;
    expect(row.notBefore).toEqual(new Date(now.getTime() + 7_000));
    expect(d.queue.reports).toEqual([expect.objectContaining({ stagingId: s.id, delay: 7_000 })]);
    expect(await reportSlack(d, s.id)).toBe("deferred");
    now = new Date(now.getTime() + 7_000);
    expect(await reportSlack(d, s.id)).toBe("done");
    expect(slack.messages(channel).filter((m) => (m.text ?? "").startsWith("web-pr-2:"))).toHaveLength(1);
  });

  it("a refusal for good (the app is not in the channel) is recorded and not retried until the status moves", async () => {
    const d = deps("C0NOSUCH01");
    const s = await pushed(db.store, 3, sha(3), { action: "opened" });
    expect(await reportSlack(d, s.id)).toBe("failed");
    expect((await db.store.getChannel(s.id, "slack"))!.error).toMatchObject({ code: "refused", message: "Slack: channel_not_found" });
    const calls = slack.calls.length;
    expect(await reportSlack(d, s.id)).toBe("none");
    expect(slack.calls.length).toBe(calls);
    slack.addChannel("C0NOSUCH01");
    await setStatus({ ...d, queue: recordingQueue() }, s.id, "deploying", "rolling out", "test");
    expect(await reportSlack(d, s.id)).toBe("done");
  });

  it("a lifecycle warning is a reply with a Keep button, told once", async () => {
    const d = deps();
    const s = await pushed(db.store, 4, sha(4), { action: "opened" });
    await reportSlack(d, s.id);
    const card = slack.messages(channel).find((m) => (m.text ?? "").startsWith("web-pr-4:"))!;
    const at = new Date(now.getTime() + 86_400_000);
    await db.db.staging.update({ where: { id: s.id }, data: { noticeAt: at, noticePolicy: "idle", statusVersion: { increment: 1 } } });
    await reportSlack(d, s.id);
    const replies = slack.thread(channel, card.ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toMatch(/^web-pr-4 will be archived \(idle\) on \d{4}-\d{2}-\d{2}$/);
    expect(JSON.stringify(replies[0]!.blocks)).toContain('"action_id":"octo_keep"');
    await db.db.staging.update({ where: { id: s.id }, data: { statusVersion: { increment: 1 } } });
    await reportSlack(d, s.id);
    expect(slack.thread(channel, card.ts)).toHaveLength(1);
  });
});

describe("the Slack report channel: each case", () => {
  const step = async (d: ReturnType<typeof deps>, id: string, to: Parameters<typeof setStatus>[2], reason: string | null = null) => {
    await setStatus({ ...d, queue: recordingQueue() }, id, to, reason, "test");
    expect(await reportSlack(d, id)).toBe("done");
  };

  it("tells each settled status in its own words; in-between states only edit the card", async () => {
    const d = deps();
    const s = await pushed(db.store, 10, sha(10), { action: "opened" });
    await reportSlack(d, s.id);
    const card = slack.messages(channel).find((m) => (m.text ?? "").startsWith("web-pr-10:"))!;
    const u = updates();
    await step(d, s.id, "deploying", "rolling out");
    expect(slack.thread(channel, card.ts)).toHaveLength(0);
    expect(updates()).toBe(u + 1);
    expect(slack.messages(channel).find((m) => m.ts === card.ts)!.text).toBe("web-pr-10: deploying (rolling out)");
    await step(d, s.id, "running");
    await step(d, s.id, "degraded", "1/2 ready");
    await step(d, s.id, "archiving");
    await step(d, s.id, "archived");
    await step(d, s.id, "cleaning");
    await step(d, s.id, "cleanup_failed", "namespace stuck");
    await step(d, s.id, "deleted");
    expect(slack.thread(channel, card.ts).map((m) => m.text)).toEqual([
      "web-pr-10 is running",
      "web-pr-10 is degraded: 1/2 ready",
      "web-pr-10 was archived",
      "web-pr-10 could not be cleaned up: namespace stuck",
      "web-pr-10 was cleaned up",
    ]);
    for (const m of slack.thread(channel, card.ts)) expect(m.blocks?.length).toBe(1);
  });

  it("a staging first seen already settled (Slack turned on later) gets its card and its status once", async () => {
    const s = await pushed(db.store, 11, sha(11), { action: "opened" });
    await setStatus({ ...deps(), queue: recordingQueue() }, s.id, "deploying", null, "test");
    await setStatus({ ...deps(), queue: recordingQueue() }, s.id, "running", null, "test");
    expect(await reportSlack(deps(), s.id)).toBe("done");
    const card = slack.messages(channel).find((m) => (m.text ?? "").startsWith("web-pr-11:"))!;
    expect(slack.thread(channel, card.ts).map((m) => m.text)).toEqual(["web-pr-11 is running"]);
  });

  it("no channel for the repository: nothing is posted, and a row left from before is closed", async () => {
    const s = await pushed(db.store, 12, sha(12), { action: "opened" });
    const calls = slack.calls.length;
    const none = { ...deps(), project: testProject() };
    expect(await reportSlack(none, s.id)).toBe("none");
    expect(await db.store.getChannel(s.id, "slack")).toBeNull();
    await reportSlack(deps(), s.id);
    await setStatus({ ...none, queue: recordingQueue() }, s.id, "deploying", null, "test");
    expect(await reportSlack(none, s.id)).toBe("done");
    expect((await db.store.getChannel(s.id, "slack"))!.reportedVersion).toBe((await db.store.get(s.id))!.statusVersion);
    expect(slack.calls.length).toBe(calls + 1);
    expect(await reportSlack(none, s.id)).toBe("none");
    const { chat: _chat, ...noSlack } = deps();
    await setStatus({ ...none, queue: recordingQueue() }, s.id, "running", null, "test");
    expect(await reportSlack(noSlack, s.id)).toBe("done");
    expect(slack.calls.length).toBe(calls + 1);
  });

  it("a moved channel starts a new thread there", async () => {
    slack.addChannel("C0MOVED001");
    const s = await pushed(db.store, 13, sha(13), { action: "opened" });
    await reportSlack(deps(), s.id);
    await setStatus({ ...deps(), queue: recordingQueue() }, s.id, "deploying", null, "test");
    expect(await reportSlack(deps("C0MOVED001"), s.id)).toBe("done");
    expect(slack.messages("C0MOVED001").filter((m) => (m.text ?? "").startsWith("web-pr-13:"))).toHaveLength(1);
  });

  it("a failure after the card was posted never posts the card twice", async () => {
    const d = deps();
    const s = await pushed(db.store, 14, sha(14), { action: "opened" });
    await setStatus({ ...d, queue: recordingQueue() }, s.id, "failed", "boom", "test");
    const flaky = failingPost(d.chat, 2);
    expect(await reportSlack({ ...d, chat: flaky }, s.id)).toBe("deferred");
    now = new Date(now.getTime() + 31_000);
    expect(await reportSlack({ ...d, chat: flaky }, s.id)).toBe("done");
    expect(slack.messages(channel).filter((m) => (m.text ?? "").startsWith("web-pr-14:"))).toHaveLength(1);
    const card = slack.messages(channel).find((m) => (m.text ?? "").startsWith("web-pr-14:"))!;
    expect(slack.thread(channel, card.ts).map((m) => m.text)).toEqual(["web-pr-14 failed: boom"]);
  });

  it("another worker's report lease: busy, nothing posted", async () => {
    const s = await pushed(db.store, 15, sha(15), { action: "opened" });
    const other = await db.store.acquireLease(s.id, "report", "other-worker", 60_000);
    expect(other).not.toBeNull();
    const calls = slack.calls.length;
    expect(await reportSlack(deps(), s.id)).toBe("busy");
    expect(slack.calls.length).toBe(calls);
    await db.store.releaseLease(other!);
  });

  it("a retention warning says cleanup; a named staging's card names who created it", async () => {
    const d = deps();
    const s = await pushed(db.store, 16, sha(16), { action: "opened" });
    await reportSlack(d, s.id);
    await db.db.staging.update({ where: { id: s.id }, data: { noticeAt: new Date("2027-01-02T00:00:00Z"), noticePolicy: "retention", statusVersion: { increment: 1 } } });
    await reportSlack(d, s.id);
    const card = slack.messages(channel).find((m) => (m.text ?? "").startsWith("web-pr-16:"))!;
    expect(slack.thread(channel, card.ts).map((m) => m.text)).toEqual(["web-pr-16 will be cleaned up (archived too long) on 2027-01-02"]);
    await db.db.staging.update({ where: { id: s.id }, data: { origin: "named", statusVersion: { increment: 1 } } });
    await db.db.action.updateMany({ where: { stagingId: s.id }, data: { actorName: "Olivia Ops" } });
    await reportSlack(d, s.id);
    expect(JSON.stringify(slack.messages(channel).find((m) => m.ts === card.ts)!.blocks)).toContain("created by Olivia Ops");
  });
});

describe("the Slack report channel: a failure half-way", () => {
  it("a status reply Slack took is not repeated when the notice after it fails", async () => {
    const d = deps();
    const s = await pushed(db.store, 17, sha(17), { action: "opened" });
    await reportSlack(d, s.id);
    const card = slack.messages(channel).find((m) => (m.text ?? "").startsWith("web-pr-17:"))!;
    await setStatus({ ...d, queue: recordingQueue() }, s.id, "failed", "boom", "test");
    await db.db.staging.update({ where: { id: s.id }, data: { noticeAt: new Date("2027-01-02T00:00:00Z"), noticePolicy: "idle" } });
    slack.rateLimit("chat.postMessage", 3, 1);
    // First post (the status reply) is refused with 429; the retry posts it, then the notice.
    expect(await reportSlack(d, s.id)).toBe("deferred");
    now = new Date(now.getTime() + 3_000);
    const failSecond = failingPost(d.chat, 2);
    expect(await reportSlack({ ...d, chat: failSecond }, s.id)).toBe("deferred");
    now = new Date(now.getTime() + 31_000);
    expect(await reportSlack(d, s.id)).toBe("done");
    expect(slack.thread(channel, card.ts).map((m) => m.text)).toEqual(["web-pr-17 failed: boom", "web-pr-17 will be archived (idle) on 2027-01-02"]);
  });
});
