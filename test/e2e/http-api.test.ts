// The HTTP API /api/v1 through the real server: every answer is checked against the OpenAPI
// document the server publishes; errors are JSON with a stable code; roles, tokens, pagination,
// idempotency, rate limiting of failed authentication, and the event stream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore } from "../../src/adapters/db/token-store.ts";
import { createToken, operatorCaller } from "../../src/app/tokens.ts";
import type { Role } from "../../src/domain/roles.ts";
import { systemClock } from "../../src/ports/clock.ts";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { apiMarkdown, openApiDocument } from "../../scripts/generate-api-docs.ts";
import { checkedApi } from "../support/api-client.ts";
import type { CheckedApi } from "../support/api-client.ts";
import { installationId, startTestSystem } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";

let sys: TestSystem;
let api: CheckedApi;
const tokens: Record<string, string> = {};

async function token(name: string, role: Role): Promise<string> {
  const out = await createToken({ tokens: createTokenStore(sys.db.db), clock: systemClock }, operatorCaller, { name, role });
  if (!out.ok) throw new Error(out.message);
  return out.value.token;
}

beforeAll(async () => {
  sys = await startTestSystem(undefined, {}, { apiEventPollMs: 50 });
  sys.github.installOn("octo-org", "web", installationId);
  sys.github.setBranch("octo-org", "web", "main", "a".repeat(40));
  tokens.admin = await token("admin", "admin");
  tokens.reader = await token("reader", "read");
  tokens.operator = await token("operator", "operate");
  api = await checkedApi(sys.app.url!, tokens.operator);
});
afterAll(async () => {
  if (api?.violations.length) console.error(api.violations);
  expect(api?.violations ?? []).toEqual([]);
  await sys?.stop();
});

describe("/api/v1", () => {
  it("publishes an OpenAPI 3.1 document generated from the request schemas", () => {
    expect(api.document.openapi).toBe("3.1.0");
    expect(Object.keys(api.document.paths)).toEqual(
      expect.arrayContaining(["/api/v1/stagings", "/api/v1/stagings/{name}", "/api/v1/stagings/{name}/archive", "/api/v1/actions/{id}/log", "/api/v1/tokens", "/api/v1/projects/{project}/keys"]),
    );
    expect(api.document.paths["/api/v1/stagings"].post.requestBody.content["application/json"].schema).toBeDefined();
  });

  it("docs/users/api.md is generated from this document (npm run gen:api-docs)", async () => {
    expect(await openApiDocument()).toEqual(api.document);
    expect(readFileSync(resolve(import.meta.dirname, "../../docs/users/api.md"), "utf8")).toBe(apiMarkdown(api.document));
  });

  it("creates a named staging from a branch, and answers errors as JSON with a stable code", async () => {
    const created = await api.request("POST", "/api/v1/stagings", { body: { name: "qa-main", repo: "octo-org/web", ref: "main", set: { "api.replicas": 3 } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "qa-main", origin: "named", sha: "a".repeat(40), ref: "main", status: "pending", namespace: "octostage-qa-main" });
    const again = await api.request("POST", "/api/v1/stagings", { body: { name: "qa-main", repo: "octo-org/web", ref: "main" } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: "conflict", message: 'a staging named "qa-main" already exists' } } });
    const badName = await api.request("POST", "/api/v1/stagings", { body: { name: "QA_main", repo: "octo-org/web", ref: "main" } });
    expect(badName).toMatchObject({ status: 422, body: { error: { code: "invalid" } } });
    expect(badName.body.error.message).toContain("lowercase letters, digits and dashes");
    const prLike = await api.request("POST", "/api/v1/stagings", { body: { name: "web-pr-12", repo: "octo-org/web", ref: "main" } });
    expect(prLike.body.error.message).toContain("ends like a pull request's staging");
    const noRef = await api.request("POST", "/api/v1/stagings", { body: { name: "qa-x", repo: "octo-org/web", ref: "no-such-branch" } });
    expect(noRef).toMatchObject({ status: 422, body: { error: { message: 'octo-org/web has no branch, tag or commit "no-such-branch"' } } });
    const repo = await api.request("POST", "/api/v1/stagings", { body: { name: "qa-x", repo: "octo-org/other", ref: "main" } });
    expect(repo.body.error.message).toContain("not a repository of the project config");
    const malformed = await api.request("POST", "/api/v1/stagings", { body: { name: "qa-x", repo: "octo-org/web", ref: "main", surprise: 1 } });
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
    const policy = await api.request("POST", "/api/v1/stagings", { body: { name: "qa-x", repo: "octo-org/web", ref: "main", set: { "securityContext.privileged": true } } });
    expect(policy).toMatchObject({ status: 422, body: { error: { code: "invalid" } } });
    expect(policy.body.error.message).toContain('"securityContext.privileged" may not be overridden');
    expect(await api.request("GET", "/api/v1/nothing-here")).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    await waitFor("running", async () => (await api.request("GET", "/api/v1/stagings/qa-main")).body.status === "running");
  });

  it("a staging's details say where each value comes from; secret values are hidden", async () => {
    await api.request("PATCH", "/api/v1/stagings/qa-main", { body: { set: { "db.password": "hunter2-Zq" } } });
    const got = await api.request("GET", "/api/v1/stagings/qa-main", { token: tokens.reader });
    expect(got.status).toBe(200);
    const entries = got.body.config.entries as { key: string; value?: unknown; source: string; by: string | null }[];
    expect(entries).toContainEqual(expect.objectContaining({ key: "api.replicas", value: 3, source: "override", by: "api:operator" }));
    expect(entries).toContainEqual(expect.objectContaining({ key: "db.password", value: "[secret]", source: "override" }));
    expect(JSON.stringify(got.body)).not.toContain("hunter2-Zq");
  });

  it("roles: read lists and reads, operate changes, only admin deletes and manages tokens; the refusal names the role", async () => {
    const archive = await api.request("POST", "/api/v1/stagings/qa-main/archive", { token: tokens.reader });
    expect(archive).toMatchObject({ status: 403, body: { error: { code: "forbidden", message: "archive needs the operate role; reader has read" } } });
    expect((await api.request("DELETE", "/api/v1/stagings/qa-main")).body.error.message).toBe("delete needs the admin role; operator has operate");
    expect((await api.request("GET", "/api/v1/tokens")).status).toBe(403);
    const listed = await api.request("GET", "/api/v1/tokens", { token: tokens.admin });
    expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(["admin", "operator", "reader"]));
    expect(JSON.stringify(listed.body)).not.toContain(tokens.reader);
  });

  it("tokens are stored hashed: nothing in the database holds a token", async () => {
    const rows = await sys.db.db.apiToken.findMany();
    const stored = JSON.stringify(rows);
    for (const t of Object.values(tokens)) expect(stored).not.toContain(t);
    const created = await api.request("POST", "/api/v1/tokens", { token: tokens.admin, body: { name: "ci", role: "operate", expiresInDays: 30 } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^octo_[A-Za-z0-9_-]{43}$/);
    expect(created.body.record).toMatchObject({ name: "ci", role: "operate", prefix: created.body.token.slice(0, 13) });
    expect((await api.request("GET", "/api/v1/stagings", { token: created.body.token })).status).toBe(200);
  });

  it("lists with cursor pagination", async () => {
    for (const n of ["page-a", "page-b", "page-c"]) {
      expect((await api.request("POST", "/api/v1/stagings", { body: { name: n, repo: "octo-org/web", tag: `v-${n}` } })).status).toBe(201);
    }
    const names: string[] = [];
    let cursor: string | null = "";
    let pages = 0;
    while (cursor !== null) {
      const page: { status: number; body: { items: { name: string }[]; next: string | null } } = await api.request("GET", `/api/v1/stagings?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: tokens.reader });
      names.push(...page.body.items.map((s) => s.name));
      cursor = page.body.next;
      pages++;
    }
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["page-a", "page-b", "page-c", "qa-main"]));
    expect(new Set(names).size).toBe(names.length);
    expect(pages).toBeGreaterThanOrEqual(2);
  });

  it("Idempotency-Key: a retry gets the first answer, the same key with another request is refused", async () => {
    const headers = { "idempotency-key": "deploy-1234" };
    const first = await api.request("POST", "/api/v1/stagings", { headers, body: { name: "ci-1234", repo: "octo-org/web", tag: "sha-1234" } });
    const retry = await api.request("POST", "/api/v1/stagings", { headers, body: { name: "ci-1234", repo: "octo-org/web", tag: "sha-1234" } });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body).toEqual(first.body);
    const other = await api.request("POST", "/api/v1/stagings", { headers, body: { name: "ci-9999", repo: "octo-org/web", tag: "sha-9999" } });
    expect(other).toMatchObject({ status: 422, body: { error: { code: "idempotency_key_reused" } } });
  });

  it("streams status changes as Server-Sent Events", async () => {
    const res = await fetch(`${sys.app.url}/api/v1/stagings/page-a/events`, { headers: { authorization: `Bearer ${tokens.reader}`, accept: "text/event-stream" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const seen: string[] = [];
    let text = "";
    while (!seen.includes("archived")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      for (const m of text.matchAll(/event: status\ndata: (.*)\n/g)) {
        const status = (JSON.parse(m[1]!) as { status: string }).status;
        if (seen.at(-1) !== status) seen.push(status);
      }
      if (seen.includes("running") && !seen.includes("archiving") && !text.includes("archive-sent")) {
        text += "archive-sent";
        await api.request("POST", "/api/v1/stagings/page-a/archive");
      }
    }
    await reader.cancel();
    expect(seen[0]).toMatch(/pending|deploying|running/);
    expect(seen).toContain("running");
    expect(seen.at(-1)).toBe("archived");
  });

  it("failed authentication is rate-limited per client address: 429 with Retry-After, even for a good token then", async () => {
    for (let i = 0; i < 10; i++) expect((await api.request("GET", "/api/v1/stagings", { token: `octo_wrong-${i}` })).status).toBe(401);
    const limited = await api.request("GET", "/api/v1/stagings", { token: "octo_wrong-again" });
    expect(limited).toMatchObject({ status: 429, body: { error: { code: "rate_limited" } } });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await api.request("GET", "/api/v1/stagings", { token: tokens.reader })).status).toBe(429);
    const noToken = await fetch(`${sys.app.url}/api/v1/openapi.json`);
    expect(noToken.status).toBe(200);
  });
});
