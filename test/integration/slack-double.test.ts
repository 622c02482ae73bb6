import { createHmac } from "node:crypto";
import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockKitProblems, modalViewProblems } from "../support/block-kit.ts";
import { startSlackDouble, type SlackDouble } from "../support/slack-double.ts";
import { blockActionsPayload, signSlackRequest, slashCommandBody, viewBlockActionsPayload, viewSubmissionPayload } from "../support/slack-payloads.ts";

const botToken = "xoxb-1234567890-0987654321-octostageTestToken";
const channel = "C0STAGING1";
let slack: SlackDouble;
let clock: number;

const clientFor = (token = botToken) =>
  new WebClient(token, { slackApiUrl: slack.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logLevel: LogLevel.ERROR });

/** The Slack error code a WebClient call was rejected with. */
async function slackError(promise: Promise<unknown>): Promise<string> {
  const error: any = await promise.then(() => undefined, (err: unknown) => err);
  expect(error, "the call should have been rejected").toBeDefined();
  expect(error.code).toBe(ErrorCode.PlatformError);
  return error.data.error as string;
}

const section = (text: string) => ({ type: "section" as const, text: { type: "mrkdwn" as const, text } });
const button = (text: string, actionId = "redeploy") => ({ type: "button" as const, text: { type: "plain_text" as const, text }, action_id: actionId, value: "acme/web#42" });
const modal = (title = "Deploy") => ({
  type: "modal" as const,
  callback_id: "deploy",
  title: { type: "plain_text" as const, text: title },
  submit: { type: "plain_text" as const, text: "Deploy" },
  blocks: [{ type: "input" as const, block_id: "env", label: { type: "plain_text" as const, text: "Environment" }, element: { type: "plain_text_input" as const, action_id: "name" } }],
});

beforeEach(async () => {
  clock = 1_700_000_000_000;
  slack = await startSlackDouble({ botToken, now: () => clock });
});
afterEach(async () => {
  await slack.close();
});

describe("Slack double: Web API through the real WebClient", () => {
  it("posts, threads, updates and answers the faked methods as Slack does, and the calls type against @slack/web-api", async () => {
    const client = clientFor();
    expect(await client.auth.test()).toMatchObject({ ok: true, team_id: slack.teamId, user_id: slack.botUserId, bot_id: slack.botId });

    const posted = await client.chat.postMessage({ channel, text: "web-pr-42: deploying", blocks: [section("*web-pr-42* is deploying"), { type: "actions", elements: [button("Redeploy")] }] });
    expect(posted).toMatchObject({ ok: true, channel, message: { text: "web-pr-42: deploying", user: slack.botUserId, bot_id: slack.botId } });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const reply = await client.chat.postMessage({ channel, thread_ts: posted.ts!, text: "ready", unfurl_links: false });
    expect(Number(reply.ts)).toBeGreaterThan(Number(posted.ts));
    await client.chat.update({ channel, ts: posted.ts!, text: "web-pr-42: ready", blocks: [section("*web-pr-42* is ready")] });
    await client.chat.postEphemeral({ channel, user: "U0ALICE001", text: "Only you can see this" });

    // WebClient sends urlencoded fields with blocks as JSON strings: the double decodes them back.
    expect(slack.callsOf("chat.postMessage")[0]!.args.blocks).toEqual([section("*web-pr-42* is deploying"), { type: "actions", elements: [button("Redeploy")] }]);
    expect(slack.messages(channel)).toEqual([expect.objectContaining({ ts: posted.ts, text: "web-pr-42: ready", blocks: [section("*web-pr-42* is ready")], edited: expect.any(Object) })]);
    expect(slack.thread(channel, posted.ts!)).toEqual([expect.objectContaining({ ts: reply.ts, thread_ts: posted.ts, text: "ready" })]);
    expect(slack.ephemerals(channel)).toEqual([expect.objectContaining({ user: "U0ALICE001", text: "Only you can see this" })]);

    slack.setUsergroupMembers("S0DEPLOYERS", ["U0ALICE001", "U0BOB00001"]);
    slack.setUser("U0ALICE001", { name: "alice", real_name: "Alice Liddell" });
    expect((await client.usergroups.users.list({ usergroup: "S0DEPLOYERS" })).users).toEqual(["U0ALICE001", "U0BOB00001"]);
    expect((await client.users.info({ user: "U0ALICE001" })).user).toMatchObject({ id: "U0ALICE001", name: "alice", real_name: "Alice Liddell" });
    expect((await client.conversations.info({ channel })).channel).toMatchObject({ id: channel, is_channel: true });
    expect(await slackError(client.usergroups.users.list({ usergroup: "S0NOBODY00" }))).toBe("no_such_subteam");
    expect(await slackError(client.users.info({ user: "U0NOBODY00" }))).toBe("user_not_found");
    expect(await slackError(client.chat.postMessage({ channel: "#general", text: "by name" }))).toBe("channel_not_found");

    const opened = await client.views.open({ trigger_id: slack.issueTriggerId(), view: modal() });
    expect(opened.view).toMatchObject({ id: expect.stringMatching(/^V[A-Z0-9]+$/), hash: expect.any(String), callback_id: "deploy", root_view_id: opened.view!.id });
    const updated = await client.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view: modal("Deploy again") });
    expect(updated.view).toMatchObject({ id: opened.view!.id, title: { text: "Deploy again" } });
    expect(await slackError(client.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view: modal() }))).toBe("hash_conflict");
    const pushed = await client.views.push({ trigger_id: slack.issueTriggerId({ viewId: opened.view!.id! }), view: modal("Confirm") });
    expect(pushed.view).toMatchObject({ root_view_id: opened.view!.id, previous_view_id: opened.view!.id });

    expect(slack.violations).toEqual([]);
    await expect(slack.assertCallsMatchWebApi()).resolves.toBeUndefined();
  });

  it("answers invalid_auth for another token and not_authed without one", async () => {
    expect(await slackError(clientFor("xoxb-not-the-bot-token").chat.postMessage({ channel, text: "x" }))).toBe("invalid_auth");
    expect(await slackError(new WebClient(undefined, { slackApiUrl: slack.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR }).auth.test())).toBe("not_authed");
    expect(slack.calls.map((c) => [c.method, c.error])).toEqual([["chat.postMessage", "invalid_auth"], ["auth.test", "not_authed"]]);
    await expect(slack.assertCallsMatchWebApi()).rejects.toThrow(/invalid_auth/);
  });

  it("refuses chat.update of a message it never posted", async () => {
    expect(await slackError(clientFor().chat.update({ channel, ts: "1700000000.000100", text: "x" }))).toBe("message_not_found");
    const userMessage = slack.addMessage(channel, { text: "hi", user: "U0ALICE001" });
    expect(await slackError(clientFor().chat.update({ channel, ts: userMessage, text: "x" }))).toBe("cant_update_message");
  });

  it("enforces Block Kit limits with invalid_blocks: a 3001-character section, 51 blocks, a 76-character button", async () => {
    const client = clientFor();
    const rejected = (blocks: unknown[]) => client.chat.postMessage({ channel, text: "x", blocks: blocks as any }).then(() => undefined, (err: any) => err.data);
    expect(await rejected([section("a".repeat(3001))])).toMatchObject({
      ok: false, error: "invalid_blocks", errors: ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"],
    });
    expect(await rejected(Array.from({ length: 51 }, () => ({ type: "divider" })))).toMatchObject({ error: "invalid_blocks", errors: ["no more than 50 items allowed [json-pointer:/blocks]"] });
    expect(await rejected([{ type: "actions", elements: [button("b".repeat(76))] }])).toMatchObject({
      error: "invalid_blocks", errors: ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"],
    });
    // The limits themselves are allowed.
    expect(await rejected([section("a".repeat(3000)), { type: "actions", elements: [button("b".repeat(75))] }, ...Array.from({ length: 48 }, () => ({ type: "divider" }))])).toBeUndefined();
    expect(slack.messages(channel)).toHaveLength(1);
    expect(slack.violations).toHaveLength(3);
    await expect(slack.assertCallsMatchWebApi()).rejects.toThrow(/invalid_blocks/);
  });

  it("takes a trigger id once, within 3 seconds, and only one it issued", async () => {
    const client = clientFor();
    const trigger = slack.issueTriggerId();
    await client.views.open({ trigger_id: trigger, view: modal() });
    expect(await slackError(client.views.open({ trigger_id: trigger, view: modal() }))).toBe("exchanged_trigger_id");
    const late = slack.issueTriggerId();
    clock += 3_001;
    expect(await slackError(client.views.open({ trigger_id: late, view: modal() }))).toBe("expired_trigger_id");
    expect(await slackError(client.views.open({ trigger_id: "12345.98765.abcd2358fdea", view: modal() }))).toBe("invalid_trigger_id");
    const invalid: any = await client.views.open({ trigger_id: slack.issueTriggerId(), view: { ...modal("A title far too long for a modal"), submit: undefined } }).catch((err: any) => err.data);
    expect(invalid).toMatchObject({ error: "invalid_arguments" });
    expect(invalid.response_metadata.messages).toEqual([
      "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]",
      "[ERROR] submit is required when an input block is within the blocks array [json-pointer:/view/submit]",
    ]);
  });

  it("assertCallsMatchWebApi rejects args that do not type, unknown methods and unfaked ones", async () => {
    const client = clientFor();
    await client.apiCall("chat.postMessage", { chanel: channel, text: "x" }).catch(() => undefined);
    await client.apiCall("chat.postMessage", { channel, text: "x", unfurl_links: 3 });
    await expect(slack.assertCallsMatchWebApi()).rejects.toThrow(/calls\[0\] chat\.postMessage \(at `chanel`\): Object literal may only specify known properties, but 'chanel' does not exist[\s\S]*calls\[1\] chat\.postMessage: unfurl_links = "3" \(urlencoded\) does not fit type boolean/);

    const fresh = await startSlackDouble({ botToken });
    try {
      const other = new WebClient(botToken, { slackApiUrl: fresh.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
      expect(await slackError(other.apiCall("chat.postMesage", { channel, text: "x" }))).toBe("unknown_method");
      expect(await slackError(other.chat.delete({ channel, ts: "1700000000.000100" }))).toBe("not_implemented_in_double");
      await expect(fresh.assertCallsMatchWebApi()).rejects.toThrow(/unknown_method[\s\S]*chat\.delete: not_implemented_in_double/);
    } finally {
      await fresh.close();
    }
  });

  it("answers 429 with Retry-After for an injected rate limit: WebClient rejects with a RateLimitedError", async () => {
    const client = clientFor();
    slack.rateLimit("chat.postMessage", 7);
    const error: any = await client.chat.postMessage({ channel, text: "x" }).catch((err: unknown) => err);
    expect(error.code).toBe(ErrorCode.RateLimitedError);
    expect(error.retryAfter).toBe(7);
    expect(slack.rateLimited).toEqual({ "chat.postMessage": 1 });
    await client.chat.postMessage({ channel, text: "x" });
    expect(slack.calls.map((c) => [c.status, c.error])).toEqual([[429, "ratelimited"], [200, undefined]]);
  });
});

describe("Slack double: response_url", () => {
  const post = (url: string, body: unknown) =>
    fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));

  it("replaces or deletes the original message and allows 5 uses", async () => {
    const url = slack.responseUrl({ channel });
    expect(url).toMatch(new RegExp(`^${slack.baseUrl}/response/[0-9a-f]+$`));
    expect(await post(url, { text: "Deploying web-pr-42…" })).toEqual({ status: 200, text: "ok" });
    expect(slack.responseMessage(url)).toEqual({ response_type: "ephemeral", text: "Deploying web-pr-42…" });
    await post(url, { replace_original: true, text: "web-pr-42 is ready", blocks: [section("*ready*")] });
    expect(slack.responseMessage(url)).toEqual({ response_type: "ephemeral", text: "web-pr-42 is ready", blocks: [section("*ready*")] });
    await post(url, { response_type: "in_channel", text: "Everyone: web-pr-42 is ready" });
    expect(slack.messages(channel)).toEqual([expect.objectContaining({ text: "Everyone: web-pr-42 is ready" })]);
    await post(url, { delete_original: true });
    expect(slack.responseMessage(url)).toBeUndefined();
    expect(await post(url, { text: "fifth" })).toEqual({ status: 200, text: "ok" });
    expect(await post(url, { text: "sixth" })).toEqual({ status: 404, text: "used_url" });
    expect(slack.responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404]);
  });

  it("replaces the channel message an interaction came from, expires after 30 minutes and rejects invalid blocks", async () => {
    const { ts } = await clientFor().chat.postMessage({ channel, text: "deploying", blocks: [{ type: "actions", elements: [button("Redeploy")] }] });
    const url = slack.responseUrl({ channel, message: { ts: ts! } });
    expect(await post(url, { replace_original: true, text: "redeploying", blocks: [section("a".repeat(3001))] })).toEqual({ status: 400, text: "invalid_blocks" });
    await post(url, { replace_original: true, text: "redeploying" });
    expect(slack.messages(channel)).toEqual([expect.objectContaining({ ts, text: "redeploying" })]);
    expect(slack.messages(channel)[0]).not.toHaveProperty("blocks");
    clock += 30 * 60_000 + 1;
    expect(await post(url, { text: "late" })).toEqual({ status: 404, text: "expired_url" });
  });
});

describe("Block Kit limits", () => {
  it("checks plain_text where Slack requires it, ids, element placement and modal views", () => {
    expect(blockKitProblems([{ type: "header", text: { type: "mrkdwn", text: "x" } }], "message")).toEqual(["must be plain_text [json-pointer:/blocks/0/text/type]"]);
    expect(blockKitProblems([
      { type: "actions", block_id: "a", elements: [button("One", "same"), button("Two", "same")] },
      { type: "divider", block_id: "a" },
    ], "message")).toEqual([
      "action_id same is already used at /blocks/0/elements/0 [json-pointer:/blocks/0/elements/1/action_id]",
      "duplicate block_id a (first at /blocks/0) [json-pointer:/blocks/1/block_id]",
    ]);
    expect(blockKitProblems([{ type: "fancy" }, { type: "actions", elements: [{ type: "plain_text_input", action_id: "x" }] }], "message")).toEqual([
      "unsupported type: fancy [json-pointer:/blocks/0/type]",
      "plain_text_input is not allowed in an actions block [json-pointer:/blocks/1/elements/0/type]",
    ]);
    const select = { type: "static_select", action_id: "env", options: [{ text: { type: "plain_text", text: "web" }, value: "v".repeat(151) }] };
    expect(blockKitProblems([{ type: "section", text: { type: "mrkdwn", text: "Pick" }, accessory: select }], "message")).toEqual([
      "must be less than 151 characters [json-pointer:/blocks/0/accessory/options/0/value]",
    ]);
    expect(blockKitProblems(Array.from({ length: 100 }, () => ({ type: "divider" })), "modal")).toEqual([]);
    expect(modalViewProblems({ ...modal(), private_metadata: "m".repeat(3001), callback_id: "c".repeat(256) })).toEqual([
      "must be less than 3001 characters [json-pointer:/view/private_metadata]",
      "must be less than 256 characters [json-pointer:/view/callback_id]",
    ]);
  });
});

describe("Slack request payloads", () => {
  it("signs as Slack documents it (known vector)", () => {
    const body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const secret = "8f742231b10e8888abcd99yyyzzz85a5";
    const byHand = `v0=${createHmac("sha256", secret).update(`v0:1531420618:${body}`).digest("hex")}`;
    expect(byHand).toBe("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503");
    expect(signSlackRequest(body, secret, 1531420618)).toEqual({ "x-slack-signature": byHand, "x-slack-request-timestamp": "1531420618" });
  });

  it("builds slash commands and interactions in Slack's wire format", () => {
    const command = new URLSearchParams(slashCommandBody({ text: "deploy web#42", userId: "U0ALICE001", responseUrl: "https://hooks.slack.com/commands/T/1/x", triggerId: "1.2.abc" }));
    expect([...command.keys()]).toEqual([
      "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name", "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]);
    expect(command.get("text")).toBe("deploy web#42");

    const message = { type: "message", channel, ts: "1700000000.000100", text: "x", blocks: [{ type: "actions", block_id: "b1", elements: [button("Redeploy")] }] };
    const clicked = blockActionsPayload({ userId: "U0ALICE001", actionId: "redeploy", value: "acme/web#42", responseUrl: "https://r", triggerId: "1.2.abc", message });
    expect(clicked).toMatchObject({
      type: "block_actions", container: { type: "message", message_ts: "1700000000.000100", channel_id: channel, is_ephemeral: false }, channel: { id: channel },
      actions: [{ action_id: "redeploy", block_id: "b1", text: { type: "plain_text", text: "Redeploy" }, value: "acme/web#42", type: "button" }],
    });
    const submitted = viewSubmissionPayload({ userId: "U0ALICE001", callbackId: "deploy", values: { env: { name: { type: "plain_text_input", value: "web" } } } });
    expect(submitted).toMatchObject({ type: "view_submission", view: { type: "modal", callback_id: "deploy", state: { values: { env: { name: { value: "web" } } } } }, response_urls: [] });
    const selected = viewBlockActionsPayload({ userId: "U0ALICE001", actionId: "env", blockId: "env", selectedValue: "web", viewId: "V0VIEW0001", callbackId: "deploy", values: {} });
    expect(selected).toMatchObject({ container: { type: "view", view_id: "V0VIEW0001" }, actions: [{ type: "static_select", selected_option: { value: "web" } }] });
    expect(selected).not.toHaveProperty("response_url");
  });
});
