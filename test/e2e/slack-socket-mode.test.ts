// Slack over Socket Mode (SLACK_APP_TOKEN, no public URL): Octostage opens the connection with
// apps.connections.open on SLACK_API_URL, the Slack double delivers real-format slash-command and
// block_actions envelopes over the WebSocket, Octostage acks each envelope and answers through the
// response URL; no HTTP endpoint is mounted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCheckedSlackDouble, startSlackDouble } from "../support/slack-double.ts";
import type { SlackDouble } from "../support/slack-double.ts";
import { blockActionsPayload, slashCommandBody } from "../support/slack-payloads.ts";
import { e2eRepository, installationId, startTestSystem } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";

const botToken = "xoxb-4000000001-4000000002-socketModeTestToken";
const appToken = "xapp-1-A0OCTOSTG1-4000000003-socketModeAppLevelToken";
const channel = "C0SOCKET01";
let sys: TestSystem;
let slack: SlackDouble;

beforeAll(async () => {
  slack = await startSlackDouble({ botToken, appToken });
  slack.addChannel(channel);
  const repo = { ...e2eRepository, slack: { roles: { read: ["*"], operate: ["U0OPERATE1"] } } };
  sys = await startTestSystem([repo], { SLACK_BOT_TOKEN: botToken, SLACK_APP_TOKEN: appToken, SLACK_API_URL: slack.url }, { slackFollowPollMs: 50 });
  sys.github.installOn("octo-org", "web", installationId);
  sys.github.setBranch("octo-org", "web", "main", "b".repeat(40));
  await slack.socketConnected();
});
afterAll(async () => {
  await sys?.stop();
  await closeCheckedSlackDouble(slack);
});

const slashPayload = (text: string, userId: string, responseUrl: string) => Object.fromEntries(new URLSearchParams(slashCommandBody({ text, userId, channelId: channel, responseUrl, triggerId: slack.issueTriggerId() })));

describe("Socket Mode", () => {
  it("connects with the app-level token through SLACK_API_URL; no HTTP endpoint is mounted", async () => {
    const open = slack.callsOf("apps.connections.open");
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(open.every((c) => c.ok)).toBe(true);
    const res = await fetch(`${sys.app.url}/slack/events`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "text=help" });
    expect(res.status).toBe(404);
  });

  it("a slash command over the socket is acked and answered; a create follows the staging to running; a button works", async () => {
    const helpUrl = slack.responseUrl({ channel });
    const ack = await slack.sendOverSocket("slash_commands", slashPayload("lsit", "U0READER1", helpUrl));
    expect(ack.envelope_id).toBeTruthy();
    const help = await waitFor("the answer", () => slack.responseMessage(helpUrl));
    expect(JSON.stringify(help.blocks)).toContain("Did you mean `/octo list`?");

    const url = slack.responseUrl({ channel });
    await slack.sendOverSocket("slash_commands", slashPayload("create sock-qa --repo octo-org/web --ref main", "U0OPERATE1", url));
    await waitFor("running", () => JSON.stringify(slack.responseMessage(url)?.blocks ?? []).includes("*running*"), 30_000);
    const card = slack.responseMessage(url)!;

    const clickUrl = slack.responseUrl({ channel, message: { blocks: card.blocks ?? [] } });
    const click = blockActionsPayload({ userId: "U0OPERATE1", actionId: "octo_archive", value: "sock-qa", responseUrl: clickUrl, triggerId: slack.issueTriggerId(), channelId: channel, isEphemeral: true });
    await slack.sendOverSocket("interactive", click);
    await waitFor("archived", () => JSON.stringify(slack.responseMessage(clickUrl)?.blocks ?? []).includes("*archived*"), 30_000);
    const row = await sys.db.db.staging.findFirst({ where: { name: "sock-qa" } });
    expect(row?.desiredState).toBe("archived");
  });
});
