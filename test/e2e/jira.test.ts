// Jira end to end: issue keys linked from the PR's branch, title and body; real-format
// `jira:issue_updated` webhooks signed as Jira signs them (X-Hub-Signature: sha256=HMAC) and
// Jira Automation's shared-secret header; Done archives, reopen restores; not linked, another
// project, other events, malformed bodies (200, nothing changes) and a bad signature (401); the
// staging shown on each issue as one remote link, created once and updated in place, checked by
// the Jira double against Atlassian's OpenAPI description.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore } from "../../src/adapters/db/token-store.ts";
import { createToken, operatorCaller } from "../../src/app/tokens.ts";
import { systemClock } from "../../src/ports/clock.ts";
import { startJiraDouble } from "../support/jira-double.ts";
import type { JiraDouble } from "../support/jira-double.ts";
import { jiraIssueUpdated, signJira } from "../support/jira-webhooks.ts";
import { e2eRepository, installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";
import { deliverWebhook, pullRequestPayload } from "../support/webhooks.ts";

const secret = "jira-webhook-secret-of-32-characters";
let sys: TestSystem;
let jira: JiraDouble;
let jiraUrl = "";
let apiToken = "";

beforeAll(async () => {
  jira = await startJiraDouble({ email: "octostage@example.com", apiToken: "jira-api-token", issues: ["WEB-12", "WEB-13", "WEB-14", "WEB-15", "OPS-1"] });
  sys = await startTestSystem([{ ...e2eRepository, jira: { projects: ["WEB"] } }], {
    JIRA_BASE_URL: jira.baseUrl,
    JIRA_EMAIL: "octostage@example.com",
    JIRA_API_TOKEN: "jira-api-token",
    JIRA_WEBHOOK_SECRET: secret,
  });
  jiraUrl = `${sys.app.url}/jira/webhook`;
  sys.github.installOn("octo-org", "web", installationId);
  sys.github.setBranch("octo-org", "web", "main", "c".repeat(40));
  const out = await createToken({ tokens: createTokenStore(sys.db.db), clock: systemClock }, operatorCaller, { name: "qa", role: "operate" });
  if (!out.ok) throw new Error(out.message);
  apiToken = out.value.token;
});
afterAll(async () => {
  await sys?.stop();
  await jira?.close();
});

const sha = (n: number) => n.toString(16).padStart(40, "b");
const find = (number: number) => sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: number });
const done = { name: "Done", category: "done" as const };
const inProgress = { name: "In Progress", category: "indeterminate" as const };

async function open(number: number, extra: Record<string, unknown>) {
  const res = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { owner: "octo-org", repo: "web", number, installationId, sha: sha(number), ...extra }), webhookSecret);
  expect(res.status).toBe(200);
  return waitFor(`PR ${number} running`, async () => ((await find(number))?.status === "running" ? find(number) : null));
}

async function post(body: string, headers: Record<string, string>) {
  const res = await fetch(jiraUrl, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
}

/** A Jira webhook, signed with the webhook's secret. */
function send(payload: unknown, key = secret) {
  const body = JSON.stringify(payload);
  return post(body, { "x-hub-signature": signJira(body, key), "user-agent": "Atlassian Webhook HTTP Client" });
}

describe("Jira", () => {
  it("links issue keys from the branch, the title and the body (only the allowed projects), and shows the staging on each issue once", async () => {
    const s = await open(1, { ref: "feature/web-12-login", title: "WEB-13: login page", body: "Fixes WEB-12, see also OPS-1 and XWEB-99." });
    const links = await sys.db.store.listIssueLinks(s.id);
    expect(links.map((l) => [l.issueKey, l.source])).toEqual([
      ["WEB-12", "branch"],
      ["WEB-13", "title"],
    ]);
    const link = await waitFor("remote link on WEB-12 says running", () => jira.links("WEB-12").find((l) => l.object.title.includes("Running")));
    expect(link).toMatchObject({ globalId: `octostage:${s.id}`, object: { url: "https://web-pr-1.staging.example.com", status: { resolved: false } } });
    await waitFor("remote link on WEB-13", () => jira.links("WEB-13").length === 1);
    expect(jira.links("OPS-1")).toEqual([]);
  });

  it("an edited title links the issue it names now (pull_request.edited, as GitHub sends it: the PR and `changes`)", async () => {
    const edited = pullRequestPayload("opened", { owner: "octo-org", repo: "web", number: 1, installationId, sha: sha(1), ref: "feature/web-12-login", title: "WEB-13 and WEB-14: login page", body: "Fixes WEB-12" });
    edited.action = "edited";
    edited.changes = { title: { from: "WEB-13: login page" } };
    const res = await deliverWebhook(sys.webhookUrl, "pull_request", edited, webhookSecret);
    expect(res.status).toBe(200);
    const s = (await find(1))!;
    expect((await sys.db.store.listIssueLinks(s.id)).map((l) => l.issueKey)).toEqual(["WEB-12", "WEB-13", "WEB-14"]);
    await waitFor("remote link on WEB-14", () => jira.links("WEB-14").length === 1);
    expect(s.generation).toBe(1); // an edit deploys nothing
  });

  it("Done archives the linked stagings; the remote link is updated in place (one link, never two)", async () => {
    const res = await send(jiraIssueUpdated({ key: "WEB-12", from: inProgress, to: done }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ issue: "WEB-12", result: "handled", stagings: [{ name: "web-pr-1", action: "archive", outcome: "archived" }] });
    await waitFor("archived", async () => (await find(1))?.status === "archived");
    const archive = (await sys.db.store.listActions((await find(1))!.id)).find((a) => a.kind === "archive")!;
    expect(archive).toMatchObject({ source: "jira", actorName: expect.any(String), detail: expect.objectContaining({ issue: "WEB-12", policy: "jira.onDone" }) });
    await waitFor("remote link says archived", () => jira.links("WEB-12").find((l) => l.object.title.includes("Archived") && l.object.status?.resolved === true));
    expect(jira.links("WEB-12")).toHaveLength(1);
    expect(jira.links("WEB-13")).toHaveLength(1);
    const posts = jira.requests.filter((r) => r.method === "POST" && r.path === "/rest/api/3/issue/WEB-12/remotelink");
    expect(posts.length).toBeGreaterThanOrEqual(2);
    expect(posts.every((r) => r.status === 200 || r.status === 201)).toBe(true);
  });

  it("moving out of Done restores what Done archived", async () => {
    const res = await send(jiraIssueUpdated({ key: "WEB-12", from: done, to: inProgress }));
    expect(res.body.stagings).toEqual([{ name: "web-pr-1", action: "restore", outcome: "restoring" }]);
    await waitFor("running again", async () => (await find(1))?.status === "running");
  });

  it("an update that is not a status change, an unlinked key, another project, other events and malformed bodies: 200, nothing changes", async () => {
    const before = (await find(1))!.generation;
    const comment = jiraIssueUpdated({ key: "WEB-12", from: done, to: done });
    comment.changelog.items = [{ field: "summary", fieldtype: "jira", fieldId: "summary", from: null, fromString: "a", to: null, toString: "b" }];
    expect((await send(comment)).body.stagings).toEqual([{ name: "web-pr-1", action: "none", outcome: expect.any(String) }]);
    expect((await send(jiraIssueUpdated({ key: "WEB-15", from: inProgress, to: done }))).body).toMatchObject({ result: "not_linked" });
    expect((await send(jiraIssueUpdated({ key: "OPS-1", from: inProgress, to: done }))).body).toMatchObject({ result: "not_linked" });
    expect((await send(jiraIssueUpdated({ key: "WEB-12", from: inProgress, to: done, webhookEventOverride: "jira:issue_created" }))).body).toMatchObject({ ignored: "event jira:issue_created" });
    expect(await post("{not json", { "x-hub-signature": signJira("{not json", secret) })).toMatchObject({ status: 200, body: { ignored: "the body is not JSON" } });
    expect(await send({ webhookEvent: "jira:issue_updated", issue: { key: "WEB-12" } })).toMatchObject({ status: 200 });
    expect((await find(1))!.generation).toBe(before);
    expect((await find(1))!.desiredState).toBe("active");
  });

  it("a named staging links issues with --jira (the API's `jira`), only of the repository's Jira projects", async () => {
    const api = (body: unknown) =>
      fetch(`${sys.app.url}/api/v1/stagings`, { method: "POST", headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const refused = await api({ name: "qa-login", repo: "octo-org/web", ref: "main", jira: ["OPS-1"] });
    expect(refused).toMatchObject({ status: 422, body: { error: { code: "invalid", message: "OPS-1 is not in a Jira project octo-org/web links (WEB)" } } });
    const created = await api({ name: "qa-login", repo: "octo-org/web", ref: "main", jira: ["WEB-15"] });
    expect(created.status).toBe(201);
    const s = (await sys.db.store.findByName("qa-login"))!;
    expect(await sys.db.store.listIssueLinks(s.id)).toEqual([{ issueKey: "WEB-15", source: "api", doneAction: null }]);
    await waitFor("remote link on WEB-15", () => jira.links("WEB-15").length === 1);
    const res = await send(jiraIssueUpdated({ key: "WEB-15", from: inProgress, to: done }));
    expect(res.body.stagings).toEqual([{ name: "qa-login", action: "archive", outcome: "archived" }]);
  });

  it("a bad or missing signature is 401 and changes nothing; Jira Automation's shared-secret header is accepted", async () => {
    const payload = jiraIssueUpdated({ key: "WEB-12", from: inProgress, to: done });
    expect((await send(payload, "not-the-secret-not-the-secret")).status).toBe(401);
    expect((await post(JSON.stringify(payload), {})).status).toBe(401);
    expect((await post(JSON.stringify(payload), { "x-octostage-token": "wrong" })).status).toBe(401);
    expect((await find(1))!.desiredState).toBe("active");
    // Automation's "Send web request" with the issue data (no changelog): a transition rule.
    const automation = { issue: { key: "WEB-13", fields: { status: { name: "Done", statusCategory: { key: "done" } } } } };
    const res = await post(JSON.stringify(automation), { "x-octostage-token": secret });
    expect(res).toMatchObject({ status: 200, body: { result: "handled", stagings: [{ name: "web-pr-1", action: "archive", outcome: "archived" }] } });
  });
});
