// The Slack report channel on real Postgres, through the real Slack adapter (WebClient) on the
// Slack double: one thread per staging, nothing posted when nothing visible changed, Slack's
// 429 Retry-After becomes the channel's notBefore, a refusal for good stops the retries until
// the status moves, and a lifecycle warning is told once with a Keep button.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSlackChat } from "../../src/adapters/slack/slack-chat.ts";
import { reportSlack } from "../../src/app/slack/report-slack.ts";
import { setStatus } from "../../src/app/set-status.ts";
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
