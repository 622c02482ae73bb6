import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJiraClient } from "../../src/adapters/jira/jira-client.ts";
import { IssueTrackerError, type RemoteLinkInput } from "../../src/ports/issue-tracker.ts";
import { startJiraDouble, type JiraDouble } from "../support/jira-double.ts";

const email = "octostage-bot@example.com";
const apiToken = "ATATT3xFfGF0-test-token-9f8e7d6c5b4a";
const link: RemoteLinkInput = {
  globalId: "octostage:acme/web#42",
  url: "https://web-pr-42.staging.example.com",
  title: "web-pr-42: deploying",
  summary: "Staging of acme/web#42",
  resolved: false,
  iconUrl: "https://octostage.example.com/icon-16.png",
};

let jira: JiraDouble;
const clientFor = ({ apiToken: token = apiToken, ...rest }: { apiToken?: string; timeoutMs?: number; fetch?: typeof fetch } = {}) =>
  createJiraClient({ baseUrl: `${jira.baseUrl}/`, email, apiToken: token, ...rest });

async function rejection(promise: Promise<unknown>): Promise<IssueTrackerError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(IssueTrackerError);
  return error as IssueTrackerError;
}

beforeEach(async () => {
  jira = await startJiraDouble({ email, apiToken, issues: ["WEB-12", "WEB-13"] });
});
afterEach(async () => {
  await jira.close();
});

describe("Jira client against the Jira double", () => {
  it("creates the link (201), then updates the one with the same global id in place (200)", async () => {
    const client = clientFor();
    await client.upsertRemoteLink("WEB-12", link);
    await client.upsertRemoteLink("WEB-12", { ...link, title: "web-pr-42: ready", resolved: true, summary: undefined, iconUrl: undefined });

    expect(jira.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ["POST", "/rest/api/3/issue/WEB-12/remotelink", 201],
      ["POST", "/rest/api/3/issue/WEB-12/remotelink", 200],
    ]);
    expect(jira.requests[0]!.body).toEqual({
      globalId: link.globalId,
      application: { type: "dev.octostage", name: "Octostage" },
      relationship: "Staging",
      object: {
        url: link.url,
        title: "web-pr-42: deploying",
        summary: "Staging of acme/web#42",
        icon: { url16x16: link.iconUrl, title: "Octostage staging" },
        status: { resolved: false },
      },
    });
    const links = jira.links("WEB-12");
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({ globalId: link.globalId, object: { title: "web-pr-42: ready", status: { resolved: true } } });
    expect(links[0]!.object).not.toHaveProperty("summary");
    expect(jira.links("WEB-13")).toEqual([]);
  });

  it("removes the link by its global id (204), and resolves when there is none (404)", async () => {
    const client = clientFor();
    await client.upsertRemoteLink("WEB-12", link);
    await client.removeRemoteLink("WEB-12", link.globalId);
    expect(jira.links("WEB-12")).toEqual([]);
    await client.removeRemoteLink("WEB-12", link.globalId);

    const deletes = jira.requests.filter((r) => r.method === "DELETE");
    expect(deletes.map((r) => [r.path, r.query, r.status])).toEqual([
      ["/rest/api/3/issue/WEB-12/remotelink", { globalId: "octostage:acme/web#42" }, 204],
      ["/rest/api/3/issue/WEB-12/remotelink", { globalId: "octostage:acme/web#42" }, 404],
    ]);
  });

  it("answers not_found for an issue that does not exist", async () => {
    const error = await rejection(clientFor().upsertRemoteLink("WEB-99", link));
    expect(error.code).toBe("not_found");
    expect(jira.requests.at(-1)!.status).toBe(404);
  });

  it("answers unauthorized for a wrong token, and never shows the token or the Authorization header", async () => {
    const wrongToken = "ATATT3xFfGF0-wrong-token-0000";
    const error = await rejection(clientFor({ apiToken: wrongToken }).upsertRemoteLink("WEB-12", link));
    expect(error.code).toBe("unauthorized");
    const shown = `${error.message} ${error.stack ?? ""} ${JSON.stringify(error)}`;
    expect(shown).not.toContain(wrongToken);
    expect(shown).not.toContain(Buffer.from(`${email}:${wrongToken}`).toString("base64"));
    expect(shown).not.toContain("Basic ");
    expect(jira.links("WEB-12")).toEqual([]);
  });

  it("answers rate_limited with Retry-After in milliseconds for a 429", async () => {
    jira.failNext(429, { "retry-after": "7" });
    const error = await rejection(clientFor().upsertRemoteLink("WEB-12", link));
    expect(error).toMatchObject({ code: "rate_limited", retryAfterMs: 7000 });
  });

  it("answers transient for a 5xx, a timeout and a refused connection", async () => {
    jira.failNext(500);
    expect((await rejection(clientFor().upsertRemoteLink("WEB-12", link))).code).toBe("transient");
    jira.failNext(503);
    expect((await rejection(clientFor().removeRemoteLink("WEB-12", link.globalId))).code).toBe("transient");

    const hanging: typeof fetch = (_input, init) => new Promise((_resolve, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal!.reason as Error));
    });
    const timedOut = await rejection(clientFor({ fetch: hanging, timeoutMs: 50 }).upsertRemoteLink("WEB-12", link));
    expect(timedOut.code).toBe("transient");
    expect(timedOut.message).toContain("50 ms");

    const closedUrl = jira.baseUrl;
    await jira.close();
    const refused = await rejection(createJiraClient({ baseUrl: closedUrl, email, apiToken }).upsertRemoteLink("WEB-12", link));
    expect(refused.code).toBe("transient");
    jira = await startJiraDouble({ email, apiToken, issues: [] });
  });

  it("answers invalid, with Jira's messages, for a 400", async () => {
    jira.failNext(400);
    const error = await rejection(clientFor().upsertRemoteLink("WEB-12", link));
    expect(error.code).toBe("invalid");
    expect(error.message).toContain("Injected failure 400.");
  });

  it.each(["web-12", "WEB-0", "W-1", "WEB-12/../../myself", "WEB 12", ""])("refuses the issue key %j without a request", async (key) => {
    const client = clientFor();
    expect((await rejection(client.upsertRemoteLink(key, link))).code).toBe("invalid");
    expect((await rejection(client.removeRemoteLink(key, link.globalId))).code).toBe("invalid");
    expect(jira.requests).toEqual([]);
  });

  it("refuses an empty or over-long global id without a request", async () => {
    const client = clientFor();
    expect((await rejection(client.upsertRemoteLink("WEB-12", { ...link, globalId: "" }))).code).toBe("invalid");
    expect((await rejection(client.removeRemoteLink("WEB-12", "g".repeat(256)))).code).toBe("invalid");
    expect(jira.requests).toEqual([]);
  });
});

describe("Jira double", () => {
  const authorization = `Basic ${Buffer.from(`${email}:${apiToken}`).toString("base64")}`;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${jira.baseUrl}${path}`, { method: "POST", headers: { authorization, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  it("refuses a body that violates RemoteIssueLinkRequest (object.url missing) with 400, as Jira does", async () => {
    const res = await post("/rest/api/3/issue/WEB-12/remotelink", { globalId: "g1", object: { title: "no url" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errorMessages: [], errors: { url: "'url' is required." } });

    const typed = await post("/rest/api/3/issue/WEB-12/remotelink", { object: { url: "https://x", title: "t", status: { resolved: "yes" } } });
    expect(typed.status).toBe(400);
    expect(((await typed.json()) as { errorMessages: string[] }).errorMessages).toEqual(["/object/status/resolved must be boolean"]);
    expect(jira.links("WEB-12")).toEqual([]);
  });

  it("answers 401 without credentials and 404 in Jira's words for an unknown issue", async () => {
    const anonymous = await fetch(`${jira.baseUrl}/rest/api/3/issue/WEB-12/remotelink`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(anonymous.status).toBe(401);
    const unknown = await post("/rest/api/3/issue/WEB-404/remotelink", { object: { url: "https://x", title: "t" } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ errorMessages: ["Issue does not exist or you do not have permission to see it."], errors: {} });
  });

  it("answers 400 for a DELETE without ?globalId and lists links with GET", async () => {
    await post("/rest/api/3/issue/WEB-12/remotelink", { globalId: "g1", object: { url: "https://x", title: "t" } });
    const bare = await fetch(`${jira.baseUrl}/rest/api/3/issue/WEB-12/remotelink`, { method: "DELETE", headers: { authorization } });
    expect(bare.status).toBe(400);
    const listed = await fetch(`${jira.baseUrl}/rest/api/3/issue/10000/remotelink`, { headers: { authorization } });
    expect(await listed.json()).toEqual([expect.objectContaining({ globalId: "g1", object: { url: "https://x", title: "t" } })]);
  });
});
