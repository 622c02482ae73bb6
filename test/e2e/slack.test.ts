// Slack's /octo through the running server: real-format slash commands, button clicks and the
// create form, signed with Slack's scheme and posted to SLACK_EVENTS_PATH; Octostage answers
// through the Slack double (response URLs, views, chat) whose every Web API call is checked
// against @slack/web-api's types and every Block Kit payload against Slack's limits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockKitProblems } from "../support/block-kit.ts";
import { closeCheckedSlackDouble, startSlackDouble } from "../support/slack-double.ts";
import type { SlackDouble } from "../support/slack-double.ts";
import { blockActionsPayload, signSlackRequest, slashCommandBody, viewBlockActionsPayload, viewSubmissionPayload } from "../support/slack-payloads.ts";
import { e2eRepository, installationId, startTestSystem } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";

const botToken = "xoxb-2000000001-2000000002-slackE2eTestToken";
const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5";
const channel = "C0STAGING1";
const users = { reader: "U0READER1", operator: "U0OPERATE1", qa: "U0QATEAM1", admin: "U0ADMIN01" } as const;

let sys: TestSystem;
let slack: SlackDouble;
let eventsUrl: string;

const webRepo = {
  ...e2eRepository,
  values: { ...e2eRepository.values, db: { password: "hunter2-not-for-slack" }, smtp: { relay: "relay-with-credentials.internal" } },
  secretKeys: ["smtp.relay"],
  slack: { channel, roles: { read: ["*"], operate: [users.operator, "S0QATEAM1"], admin: [users.admin] }, grantedBy: "#devops" },
};
const apiRepo = {
  ...e2eRepository,
  repo: "octo-org/api",
  name: "api",
  slack: { roles: { read: [users.admin], operate: [], admin: [users.admin] } },
};

beforeAll(async () => {
  slack = await startSlackDouble({ botToken });
  slack.addChannel(channel, { name: "staging" });
  slack.setUsergroupMembers("S0QATEAM1", [users.qa]);
  sys = await startTestSystem([webRepo, apiRepo], { SLACK_BOT_TOKEN: botToken, SLACK_SIGNING_SECRET: signingSecret, SLACK_API_URL: slack.url }, { slackFollowPollMs: 50, project: { cost: { currency: "EUR", cpuHour: 0.03, memoryGiBHour: 0.004, storageGiBMonth: 0.1 } } });
  eventsUrl = `${sys.app.url}/slack/events`;
  for (const repo of ["web", "api"]) {
    sys.github.installOn("octo-org", repo, installationId);
    sys.github.setBranch("octo-org", repo, "main", "a".repeat(40));
  }
});
afterAll(async () => {
  await sys?.stop();
  await closeCheckedSlackDouble(slack);
});

async function post(body: string, contentType: string, headers = signSlackRequest(body, signingSecret)): Promise<Response> {
  return fetch(eventsUrl, { method: "POST", headers: { "content-type": contentType, ...headers }, body });
}

const form = "application/x-www-form-urlencoded";
const interaction = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

/** `/octo <text>` by `userId`; resolves with the response URL once Octostage answered through it. */
async function octo(text: string, userId: string, userName = userId.toLowerCase()): Promise<{ url: string; message: any }> {
  const url = slack.responseUrl({ channel });
  const res = await post(slashCommandBody({ text, userId, userName, channelId: channel, responseUrl: url, triggerId: slack.issueTriggerId() }), form);
  expect(res.status).toBe(200);
  const message = await waitFor(`an answer to /octo ${text}`, () => slack.responseMessage(url));
  expect(blockKitProblems(message.blocks ?? [], "message")).toEqual([]);
  return { url, message };
}

/** Every text of a Block Kit message, joined. */
function textOf(message: { text?: string; blocks?: unknown[] } | undefined): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "text" && typeof x === "string") out.push(x);
        else walk(x);
      }
    }
  };
  walk(message?.blocks ?? []);
  return out.join("\n");
}

const buttonsOf = (message: any): string[] => (message.blocks ?? []).flatMap((b: any) => (b.type === "actions" ? b.elements.map((e: any) => e.text.text) : []));

describe("Slack requests are verified", () => {
  it("a bad signature is 401 and nothing is answered", async () => {
    const url = slack.responseUrl({ channel });
    const body = slashCommandBody({ text: "list", userId: users.admin, responseUrl: url, triggerId: slack.issueTriggerId() });
    const res = await post(body, form, signSlackRequest(body, "not-the-signing-secret-at-all"));
    expect(res.status).toBe(401);
    const missing = await fetch(eventsUrl, { method: "POST", headers: { "content-type": form }, body });
    expect(missing.status).toBe(401);
    expect(slack.responseMessage(url)).toBeUndefined();
  });

  it("a correctly signed request replayed after 5 minutes is rejected", async () => {
    const url = slack.responseUrl({ channel });
    const body = slashCommandBody({ text: "create replayed --repo octo-org/web --ref main", userId: users.admin, responseUrl: url, triggerId: slack.issueTriggerId() });
    const res = await post(body, form, signSlackRequest(body, signingSecret, Math.floor(Date.now() / 1000) - 6 * 60));
    expect(res.status).toBe(401);
    expect(await sys.db.db.staging.findFirst({ where: { name: "replayed" } })).toBeNull();
    expect(slack.responseMessage(url)).toBeUndefined();
  });
});

describe("/octo commands", () => {
  it("help lists every command; an unknown one gets a suggestion and its usage", async () => {
    const help = await octo("help", users.reader);
    for (const c of ["list", "status", "create", "update", "config", "keys", "keep", "archive", "restore", "redeploy", "delete", "history"]) expect(textOf(help.message)).toContain(`/octo ${c}`);
    const typo = await octo("lsit", users.reader);
    expect(typo.message.response_type).toBe("ephemeral");
    expect(textOf(typo.message)).toContain("Did you mean `/octo list`?");
    expect(textOf(typo.message)).toContain("/octo list [owner/repo] [--all]");
    const bad = await octo("create x --repo octo-org/web --ref main --set db.password=hunter3", users.operator);
    expect(textOf(bad.message)).toMatch(/secret/i);
    expect(await sys.db.db.staging.findFirst({ where: { name: "x" } })).toBeNull();
    // A key the project config lists in secretKeys is refused too, though it does not look like one.
    const listed = await octo("create x --repo octo-org/web --ref main --set smtp.relay=other.internal", users.operator);
    expect(textOf(listed.message)).toContain(`"smtp.relay" holds a secret in octo-org/web's project config`);
    expect(await sys.db.db.staging.findFirst({ where: { name: "x" } })).toBeNull();
  });

  it("create answers to the channel at once and replaces that answer as the staging deploys, until it runs", async () => {
    const { url, message } = await octo("create qa-main --repo octo-org/web --ref main --set replicaCount=3", users.operator, "olivia");
    expect(message.response_type).toBe("in_channel");
    expect(textOf(message)).toContain("qa-main: created");
    const running = await waitFor("the answer to show running", () => (textOf(slack.responseMessage(url)).includes("*running*") ? slack.responseMessage(url) : undefined), 30_000);
    expect(blockKitProblems(running.blocks ?? [], "message")).toEqual([]);
    expect(buttonsOf(running)).toEqual(["Open", "Redeploy", "Keep 7 days", "Archive"]);
    expect(textOf(running)).toContain("https://qa-main.staging.example.com");
    // At most the response URL's five uses.
    expect(slack.responses.filter((r) => url.endsWith(r.id)).length).toBeLessThanOrEqual(5);
    const history = await octo("history qa-main", users.reader);
    expect(textOf(history.message)).toMatch(/deploy\* by olivia \(slack:U0OPERATE1\)/);
  });

  it("list, status, config (secrets masked) and keys for a reader", async () => {
    const list = await octo("list", users.reader);
    expect(textOf(list.message)).toContain("qa-main");
    // The origin of a named staging is who created it; the estimate is there with prices configured.
    expect(textOf(list.message)).toContain("octo-org/web · `main` · created by olivia");
    expect(textOf(list.message)).toMatch(/~\d+\.\d{2} EUR\/day/);
    expect(textOf(list.message)).toContain("octo-org/web");
    const status = await octo("status qa-main", users.reader);
    expect(textOf(status.message)).toContain("*running*");
    const config = await octo("config qa-main", users.reader);
    expect(textOf(config.message)).toContain("`replicaCount` = `3` (override by slack:U0OPERATE1)");
    expect(textOf(config.message)).toContain("`db.password` = `[secret]`");
    expect(textOf(config.message)).toContain("`smtp.relay` = `[secret]`");
    for (const secret of ["hunter2-not-for-slack", "relay-with-credentials.internal"]) expect(JSON.stringify(slack.calls) + JSON.stringify(slack.responses)).not.toContain(secret);
    const keys = await octo("keys web", users.reader);
    expect(textOf(keys.message)).toMatch(/chart .*keys/);
    const unknown = await octo("status qa-mian", users.reader);
    expect(textOf(unknown.message)).toContain('No staging named "qa-mian". Did you mean `qa-main`?');
  });

  it("an unauthorized user is refused with the role needed and who grants it; another repository's stagings stay invisible", async () => {
    const refused = await octo("archive qa-main", users.reader);
    expect(textOf(refused.message)).toContain("needs the operate role on octo-org/web; you have read");
    expect(textOf(refused.message)).toContain("ask #devops");
    const deleting = await octo("delete qa-main", users.operator);
    expect(textOf(deleting.message)).toContain("needs the admin role on octo-org/web; you have operate");
    const created = await octo("create api-qa --repo octo-org/api --ref main", users.admin);
    expect(textOf(created.message)).toContain("api-qa: created");
    const hidden = await octo("status api-qa", users.reader);
    expect(textOf(hidden.message)).toContain('No staging named "api-qa"');
    expect(textOf((await octo("list", users.reader)).message)).not.toContain("api-qa");
    const noCreate = await octo("create x2 --repo octo-org/api --ref main", users.operator);
    expect(textOf(noCreate.message)).toContain("needs the operate role on octo-org/api; you have no role there");
    expect((await sys.db.db.staging.findMany({ where: { desiredState: "archived" } })).length).toBe(0);
  });

  it("a user group's member operates (usergroups.users.list), keep takes 7d", async () => {
    const kept = await octo("keep qa-main 7d", users.qa);
    expect(textOf(kept.message)).toContain("qa-main: kept");
    expect(textOf(kept.message)).toMatch(/kept until \d{4}-\d{2}-\d{2}/);
    expect(slack.callsOf("usergroups.users.list").length).toBeGreaterThan(0);
  });

  it("update changes overrides (audited with the Slack user), an update that changes nothing says so, redeploy runs it again", async () => {
    const updated = await octo("update qa-main --set replicaCount=4 --set feature.banner='QA build'", users.qa, "quentin");
    expect(updated.message.response_type).toBe("in_channel");
    expect(textOf(updated.message)).toContain("qa-main: updated");
    await waitFor("the update to run", () => textOf(slack.responseMessage(updated.url)).includes("*running*"), 30_000);
    const config = await octo("config qa-main", users.reader);
    expect(textOf(config.message)).toContain("`replicaCount` = `4` (override by slack:U0QATEAM1)");
    expect(textOf(config.message)).toContain('`feature.banner` = `"QA build"` (override by slack:U0QATEAM1)');
    const same = await octo("update qa-main --ref main", users.qa);
    expect(same.message.response_type).toBe("ephemeral");
    expect(textOf(same.message)).toContain("qa-main: unchanged");
    const missing = await octo("update qa-main", users.qa);
    expect(textOf(missing.message)).toContain("/octo update needs something to change");

    const before = (await sys.db.db.action.findMany({ where: { staging: { name: "qa-main" }, kind: "deploy" } })).length;
    const redeploy = await octo("redeploy qa-main", users.operator);
    expect(textOf(redeploy.message)).toContain("qa-main: redeploying");
    await waitFor("a new deploy of qa-main", async () => (await sys.db.db.action.findMany({ where: { staging: { name: "qa-main" }, kind: "deploy" } })).length > before);
    await waitFor("running after the redeploy", async () => (await sys.db.db.staging.findFirst({ where: { name: "qa-main" } }))?.status === "running" && textOf(slack.responseMessage(redeploy.url)).includes("*running*"), 30_000);
  });
});

describe("buttons", () => {
  it("Archive (with a confirmation) and Restore work through Bolt's action handlers, and only for people with the role", async () => {
    const card = await octo("status qa-main", users.operator);
    const archive = card.message.blocks.flatMap((b: any) => (b.type === "actions" ? b.elements : [])).find((e: any) => e.action_id === "octo_archive");
    expect(archive.confirm).toMatchObject({ title: { text: "Archive this staging?" }, confirm: { text: "Archive" } });

    const readerUrl = slack.responseUrl({ channel, message: { blocks: card.message.blocks } });
    const readerClick = blockActionsPayload({ userId: users.reader, actionId: "octo_archive", value: "qa-main", responseUrl: readerUrl, triggerId: slack.issueTriggerId(), channelId: channel, isEphemeral: true });
    expect((await post(interaction(readerClick), form)).status).toBe(200);
    await waitFor("the refusal", () => slack.responseMessages(readerUrl).some((m) => textOf(m).includes("needs the operate role")));

    const url = slack.responseUrl({ channel, message: { blocks: card.message.blocks } });
    const click = blockActionsPayload({ userId: users.operator, actionId: "octo_archive", value: "qa-main", responseUrl: url, triggerId: slack.issueTriggerId(), channelId: channel, isEphemeral: true });
    expect((await post(interaction(click), form)).status).toBe(200);
    const archived = await waitFor("the card to show archived", () => (textOf(slack.responseMessage(url)).includes("*archived*") ? slack.responseMessage(url) : undefined), 30_000);
    expect(buttonsOf(archived)).toEqual(["Restore"]);

    const restoreUrl = slack.responseUrl({ channel, message: { blocks: archived.blocks ?? [] } });
    const restore = blockActionsPayload({ userId: users.operator, actionId: "octo_restore", value: "qa-main", responseUrl: restoreUrl, triggerId: slack.issueTriggerId(), channelId: channel, isEphemeral: true });
    expect((await post(interaction(restore), form)).status).toBe(200);
    await waitFor("the card to show running again", () => textOf(slack.responseMessage(restoreUrl)).includes("*running*"), 30_000);
  });
});

describe("the create form", () => {
  it("/octo create opens a modal; choosing the repository shows the chart's keys; errors are shown on the fields; a good submission creates the staging", async () => {
    const url = slack.responseUrl({ channel });
    const triggerId = slack.issueTriggerId();
    expect((await post(slashCommandBody({ text: "create", userId: users.operator, channelId: channel, responseUrl: url, triggerId }), form)).status).toBe(200);
    const opened = await waitFor("the modal", () => slack.views().find((v) => v.callback_id === "octo_create"));
    const repoSelect = (opened.blocks as any[]).find((b: any) => b.block_id === "repo").element;
    expect(repoSelect.options.map((o: any) => o.value)).toEqual(["octo-org/web"]);

    const choose = viewBlockActionsPayload({ userId: users.operator, callbackId: "octo_create", view: opened, viewId: opened.id, actionId: "octo_create_repo", blockId: "repo", selectedValue: "octo-org/web", values: {} });
    expect((await post(interaction(choose), form)).status).toBe(200);
    const withKeys = await waitFor("the keys in the modal", () => {
      const v = slack.view(opened.id);
      return v && textOf(v).includes("Keys of octo-org/web") ? v : undefined;
    });
    expect(textOf(withKeys)).toContain("replicaCount");

    const values = (name: string, overrides: string) => ({
      name: { name: { type: "plain_text_input", value: name } },
      repo: { octo_create_repo: { type: "static_select", selected_option: { text: { type: "plain_text", text: "octo-org/web" }, value: "octo-org/web" } } },
      ref: { ref: { type: "plain_text_input", value: "main" } },
      tag: { tag: { type: "plain_text_input", value: null } },
      overrides: { overrides: { type: "plain_text_input", value: overrides } },
    });
    const bad = await post(interaction(viewSubmissionPayload({ userId: users.operator, callbackId: "octo_create", view: withKeys, values: values("Bad_Name", "replicaCount 2") })), form);
    expect(bad.status).toBe(200);
    const errors = (await bad.json()) as any;
    expect(errors.response_action).toBe("errors");
    expect(errors.errors.name).toContain("lowercase");
    expect(errors.errors.overrides).toContain('Missing "="');

    const good = await post(interaction(viewSubmissionPayload({ userId: users.operator, callbackId: "octo_create", view: withKeys, values: values("form-made", "replicaCount=2\nfeature.flag=true") })), form);
    expect(good.status).toBe(200);
    const staging = await waitFor("the staging", () => sys.db.db.staging.findFirst({ where: { name: "form-made" } }));
    expect(staging.repoName).toBe("web");
    const posted = await waitFor("the card in the channel", () => slack.messages(channel).find((m) => textOf(m).includes("form-made")));
    expect(blockKitProblems(posted.blocks ?? [], "message")).toEqual([]);
    await waitFor("the card to show running", () => textOf(slack.messages(channel).find((m) => m.ts === posted.ts)).includes("*running*"), 30_000);
  });
});

describe("admin", () => {
  it("delete needs admin and is audited with the Slack user", async () => {
    const deleted = await octo("delete form-made", users.admin, "ada");
    expect(textOf(deleted.message)).toContain("form-made: deleting");
    const history = await octo("history form-made", users.admin);
    const text = textOf(history.message);
    // Newest first: the delete by ada, then the create through the form by the operator.
    expect(text).toContain("by ada (slack:U0ADMIN01)");
    expect(text.indexOf("by ada (slack:U0ADMIN01)")).toBeLessThan(text.indexOf("(slack:U0OPERATE1)"));
    expect(await octo("status form-made", users.admin).then((a) => textOf(a.message))).toMatch(/\*(cleaning|deleted)\*/);
  });
});

describe("notifications", () => {
  it("one thread per staging in the repository's channel: the card kept current, each status told once, Slack's Retry-After honoured", { timeout: 120_000 }, async () => {
    await octo("create life-demo --repo octo-org/web --ref main", users.operator);
    // The notification's card (the /octo answer shown to the channel starts with "life-demo: created").
    const isCard = (m: any) => m.thread_ts === undefined && m.blocks?.[0]?.type === "section" && (m.blocks ?? []).some((b: any) => b.type === "actions" && b.block_id === "staging:life-demo");
    const cardTs = await waitFor("the staging's card in the channel", () => slack.messages(channel).find(isCard)?.ts);
    const replies = () => slack.thread(channel, cardTs).map((m) => m.text ?? "");
    await waitFor("running told in the thread", () => replies().some((t) => t.startsWith("life-demo is running")), 30_000);

    // The next post is refused with 429 Retry-After: 1; the archive is told after it, once.
    slack.rateLimit("chat.postMessage", 1, 1);
    await octo("archive life-demo", users.operator);
    await waitFor("archived told in the thread", () => replies().some((t) => t.startsWith("life-demo was archived")), 30_000);
    expect(slack.rateLimited["chat.postMessage"]).toBe(1);
    await octo("restore life-demo", users.operator);
    await waitFor("running again", () => replies().filter((t) => t.startsWith("life-demo is running")).length === 2, 30_000);
    await octo("delete life-demo", users.admin);
    await waitFor("cleaned up told", () => replies().some((t) => t.startsWith("life-demo was cleaned up")), 30_000);

    expect(replies()).toEqual([
      "life-demo is running",
      "life-demo was archived: scaled 1 workload(s) to 0; volumes kept",
      "life-demo is running",
      "life-demo was cleaned up: release life-demo uninstalled, namespace octostage-life-demo deleted",
    ]);
    // One top-level message for the staging's whole life; every later change edited it or went in its thread.
    expect(slack.callsOf("chat.postMessage").filter((c) => c.ok && c.args.thread_ts === undefined && String(c.args.text).startsWith("life-demo:"))).toHaveLength(1);
    expect(slack.callsOf("chat.update").filter((c) => c.ok && c.args.ts === cardTs).length).toBeGreaterThanOrEqual(4);
    const cardNow = slack.messages(channel).find((m) => m.ts === cardTs)!;
    expect(textOf(cardNow)).toContain("*deleted*");
    for (const m of [cardNow, ...slack.thread(channel, cardTs)]) expect(blockKitProblems(m.blocks ?? [], "message")).toEqual([]);
  });
});
