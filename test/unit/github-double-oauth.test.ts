import { createHash } from "node:crypto";
import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubDouble, type GitHubDouble } from "../support/github-double.ts";
import { createOpenApiValidator } from "../support/openapi-validator.ts";

const callback = "http://127.0.0.1:9/auth/github/callback?from=login";
const state = "s/1 +é&x";

let double: GitHubDouble;

beforeEach(async () => {
  double = await startGitHubDouble();
});

afterEach(async () => {
  await double.close();
});

/** What the browser does: GET the authorize page without following the redirect. */
function authorize(params: Record<string, string>): Promise<Response> {
  return fetch(`${double.url}/login/oauth/authorize?${new URLSearchParams(params).toString()}`, { redirect: "manual" });
}

/** The code the double sends back to the callback for the signed-in person. */
async function codeFor(extra: Record<string, string> = {}): Promise<string> {
  const res = await authorize({ client_id: double.clientId, redirect_uri: callback, state, ...extra });
  expect(res.status).toBe(302);
  const code = new URL(res.headers.get("location")!).searchParams.get("code");
  expect(code).toMatch(/^[0-9a-f]{20}$/);
  return code!;
}

interface Exchange {
  accept?: string;
  json?: boolean;
  basic?: boolean;
}

/** POST /login/oauth/access_token, form-encoded unless `json`, credentials in the body unless `basic`. */
async function exchange(params: Record<string, string>, how: Exchange = {}): Promise<Response> {
  const { accept = "application/json", json = false, basic = false } = how;
  const headers: Record<string, string> = { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" };
  if (accept) headers.accept = accept;
  const credentials = { client_id: double.clientId, client_secret: double.clientSecret };
  let fields: Record<string, string> = { ...credentials, ...params };
  if (basic) {
    headers.authorization = `Basic ${Buffer.from(`${fields.client_id}:${fields.client_secret}`).toString("base64")}`;
    const { client_id: _id, client_secret: _secret, ...rest } = fields;
    fields = rest;
  }
  const body = json ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
  return fetch(`${double.url}/login/oauth/access_token`, { method: "POST", headers, body });
}

async function tokenFor(params: Record<string, string>, how?: Exchange): Promise<any> {
  const res = await exchange(params, how);
  expect(res.status).toBe(200);
  return res.json();
}

const getUser = (token: string): Promise<Response> =>
  fetch(`${double.apiUrl}/user`, { headers: { authorization: `Bearer ${token}`, accept: "application/vnd.github+json" } });

const s256 = (verifier: string): string => createHash("sha256").update(verifier).digest("base64url");

describe("GitHub double: OAuth web application flow", () => {
  it("signs in the chosen person and issues a user access token that acts as them", async () => {
    double.signInAs("alice");
    const res = await authorize({ client_id: double.clientId, redirect_uri: callback, state });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe("http://127.0.0.1:9/auth/github/callback");
    expect(location.searchParams.get("from")).toBe("login");
    expect(location.searchParams.get("state")).toBe(state);
    const code = location.searchParams.get("code")!;
    expect(code).toMatch(/^[0-9a-f]{20}$/);

    const tokenRes = await exchange({ code, redirect_uri: callback });
    expect(tokenRes.headers.get("content-type")).toMatch(/^application\/json/);
    expect(tokenRes.headers.get("x-ratelimit-limit")).toBeNull();
    const token: any = await tokenRes.json();
    expect(token).toEqual({
      access_token: expect.stringMatching(/^ghu_[A-Za-z0-9]{36}$/), expires_in: 28800,
      refresh_token: expect.stringMatching(/^ghr_[A-Za-z0-9]+$/), refresh_token_expires_in: 15897600,
      token_type: "bearer", scope: "",
    });

    const user = await getUser(token.access_token);
    expect(user.status).toBe(200);
    const body: any = await user.json();
    expect(body).toMatchObject({ login: "alice", type: "User", html_url: `${double.url}/alice`, site_admin: false });
    expect(body.id).not.toBe(583231);
    expect(createOpenApiValidator().checkResponse("users/get-authenticated", 200, body)).toEqual([]);
    // A real client: Octokit sees the same person, with the same id every time.
    const octokit = new Octokit({ auth: token.access_token, baseUrl: double.apiUrl, request: { retries: 0 } });
    const { data } = await octokit.rest.users.getAuthenticated();
    expect([data.login, data.id, data.node_id]).toEqual(["alice", body.id, body.node_id]);
    const comment = await octokit.rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: 1, body: "hi" });
    expect(comment.data.user?.login).toBe("alice");

    expect(double.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      "GET /login/oauth/authorize 302",
      "POST /login/oauth/access_token 200",
      "GET /user 200",
      "GET /user 200",
      "POST /repos/acme/shop/issues/1/comments 201",
    ]);
    expect(double.requests[0]!.query).toMatchObject({ client_id: "Iv1.octostage", state });
    expect(double.requests[2]!.operationId).toBe("users/get-authenticated");
    expect(double.violations).toEqual([]);
  });

  it("signs in octocat unless a test chooses someone else", async () => {
    const token = await tokenFor({ code: await codeFor() });
    expect(await (await getUser(token.access_token)).json()).toMatchObject({ login: "octocat", id: 583231, name: "The Octocat" });
  });

  it("answers 404 without redirecting for another app's client_id, 400 without redirect_uri", async () => {
    const wrong = await authorize({ client_id: "Iv1.someone-else", redirect_uri: callback, state });
    expect(wrong.status).toBe(404);
    expect(wrong.headers.get("location")).toBeNull();
    expect(wrong.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await wrong.text()).toMatch(/application .* not found/i);

    const noRedirect = await authorize({ client_id: double.clientId, state });
    expect(noRedirect.status).toBe(400);
    expect(await noRedirect.text()).toMatch(/redirect_uri is required by this double/);

    expect(double.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      "GET /login/oauth/authorize 404",
      "GET /login/oauth/authorize 400",
    ]);
    expect(double.violations).toEqual([
      expect.stringMatching(/client_id "Iv1.someone-else" is not the app's/),
      expect.stringMatching(/no redirect_uri/),
    ]);
  });

  it("redirects with access_denied and the state when the person denies the app", async () => {
    double.signInAs(null);
    const res = await authorize({ client_id: double.clientId, redirect_uri: callback, state });
    expect(res.status).toBe(302);
    const location = res.headers.get("location")!;
    expect(location).toContain("error=access_denied&error_description=The+user+has+denied+your+application+access.");
    const params = new URL(location).searchParams;
    expect([params.get("from"), params.get("state"), params.get("code")]).toEqual(["login", state, null]);
    expect(double.violations).toEqual([]);
  });

  it("accepts a code once", async () => {
    const code = await codeFor();
    await tokenFor({ code });
    expect(await tokenFor({ code })).toEqual({
      error: "bad_verification_code", error_description: "The code passed is incorrect or expired.", error_uri: expect.stringContaining("bad-verification-code"),
    });
    expect(await tokenFor({ code: "0123456789abcdef0123" })).toMatchObject({ error: "bad_verification_code" });
  });

  it("lets a code expire after 10 minutes of the double's clock", async () => {
    const start = Date.parse("2026-03-01T10:00:00Z");
    double.setNow(start);
    const late = await codeFor();
    const inTime = await codeFor();
    double.setNow(start + 9 * 60_000);
    expect(await tokenFor({ code: inTime })).toHaveProperty("access_token");
    double.setNow(start + 10 * 60_000);
    expect(await tokenFor({ code: late })).toMatchObject({ error: "bad_verification_code" });
  });

  it("refuses wrong client credentials with 200 and incorrect_client_credentials; takes them as HTTP Basic too", async () => {
    const code = await codeFor();
    const res = await exchange({ code, client_secret: "guess" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      error: "incorrect_client_credentials", error_description: "The client_id and/or client_secret passed are incorrect.",
      error_uri: expect.stringContaining("incorrect-client-credentials"),
    });
    expect(await tokenFor({ code, client_id: "Iv1.other" }, { basic: true })).toMatchObject({ error: "incorrect_client_credentials" });
    expect(double.violations).toHaveLength(2);
    // The code survived the refusals.
    expect(await tokenFor({ code }, { basic: true })).toHaveProperty("access_token");
  });

  it("checks redirect_uri against the authorize request's", async () => {
    const code = await codeFor();
    expect(await tokenFor({ code, redirect_uri: "http://127.0.0.1:9/elsewhere" })).toMatchObject({
      error: "redirect_uri_mismatch", error_description: "The redirect_uri MUST match the registered callback URL for this application.",
    });
    expect(double.violations).toEqual([expect.stringMatching(/redirect_uri differs/)]);
    expect(await tokenFor({ code })).toHaveProperty("access_token");
  });

  it("checks the PKCE code_verifier against the S256 code_challenge", async () => {
    const verifier = "a-verifier-of-at-least-forty-three-characters-long";
    const code = await codeFor({ code_challenge: s256(verifier), code_challenge_method: "S256" });
    expect(await tokenFor({ code })).toMatchObject({ error: "bad_verification_code" });
    expect(await tokenFor({ code, code_verifier: `${verifier}x` })).toMatchObject({ error: "bad_verification_code" });
    expect(await tokenFor({ code, code_verifier: verifier })).toHaveProperty("access_token");

    const plain = await authorize({ client_id: double.clientId, redirect_uri: callback, code_challenge: s256(verifier), code_challenge_method: "plain" });
    expect(plain.status).toBe(400);
    expect(double.violations).toEqual([expect.stringMatching(/only S256/)]);
  });

  it("answers form-encoded unless Accept asks for JSON, errors too; reads JSON bodies", async () => {
    const res = await exchange({ code: await codeFor() }, { accept: "" });
    expect(res.headers.get("content-type")).toMatch(/^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(await res.text());
    expect(form.get("access_token")).toMatch(/^ghu_/);
    expect([form.get("token_type"), form.get("expires_in"), form.get("scope")]).toEqual(["bearer", "28800", ""]);

    const failed = new URLSearchParams(await (await exchange({ code: "nope" }, { accept: "" })).text());
    expect(failed.get("error")).toBe("bad_verification_code");
    expect(failed.get("error_description")).toBe("The code passed is incorrect or expired.");

    const viaJson = await tokenFor({ code: await codeFor() }, { json: true });
    expect(viaJson.access_token).toMatch(/^ghu_/);
    expect(double.requests.at(-1)!.body).toMatchObject({ client_id: double.clientId });
  });

  it("refreshes: a new pair, and the old access and refresh tokens stop working", async () => {
    const first = await tokenFor({ code: await codeFor() });
    const second = await tokenFor({ grant_type: "refresh_token", refresh_token: first.refresh_token });
    expect(second.access_token).toMatch(/^ghu_/);
    expect((await getUser(second.access_token)).status).toBe(200);
    expect((await getUser(first.access_token)).status).toBe(401);
    expect(await tokenFor({ grant_type: "refresh_token", refresh_token: first.refresh_token })).toMatchObject({ error: "bad_refresh_token" });
  });

  it("expires user access tokens after 8 hours of the double's clock", async () => {
    const start = Date.parse("2026-03-01T10:00:00Z");
    double.setNow(start);
    const token = await tokenFor({ code: await codeFor() });
    double.setNow(start + 8 * 3_600_000 - 1000);
    expect((await getUser(token.access_token)).status).toBe(200);
    double.setNow(start + 8 * 3_600_000);
    expect((await getUser(token.access_token)).status).toBe(401);
  });

  it("answers 401 Bad credentials once the person's tokens are revoked, and only theirs", async () => {
    double.signInAs("alice");
    const alice = await tokenFor({ code: await codeFor() });
    double.signInAs("bob");
    const bob = await tokenFor({ code: await codeFor() });
    double.revokeUserTokens("alice");
    const revoked = await getUser(alice.access_token);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ message: "Bad credentials" });
    expect(await tokenFor({ grant_type: "refresh_token", refresh_token: alice.refresh_token })).toMatchObject({ error: "bad_refresh_token" });
    expect(await (await getUser(bob.access_token)).json()).toMatchObject({ login: "bob" });
  });

  it("counts each person's requests against their own rate limit", async () => {
    double.signInAs("alice");
    const alice = await tokenFor({ code: await codeFor() });
    double.signInAs("bob");
    const bob = await tokenFor({ code: await codeFor() });
    await getUser(alice.access_token);
    expect((await getUser(alice.access_token)).headers.get("x-ratelimit-used")).toBe("2");
    expect((await getUser(bob.access_token)).headers.get("x-ratelimit-used")).toBe("1");
    expect((await getUser("ghp_someone")).headers.get("x-ratelimit-used")).toBe("1");
  });

  it("refuses GET /user to an installation token with 403", async () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln";
    const issued = await fetch(`${double.apiUrl}/app/installations/42/access_tokens`, { method: "POST", headers: { authorization: `Bearer ${jwt}` } });
    const { token } = (await issued.json()) as { token: string };
    const res = await getUser(token);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ message: "Resource not accessible by integration" });
    expect(double.violations).toEqual([expect.stringMatching(/users\/get-authenticated.*needs a user access token/)]);
  });
});
