import { Octokit } from "@octokit/rest";
import { pino } from "pino";
import { createProbot, Probot } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { generateTestPrivateKey, startGitHubDouble, type GitHubDouble } from "../support/github-double.ts";
import { createOpenApiValidator } from "../support/openapi-validator.ts";
import { manifestPermissions } from "../support/github-double/access.ts";

const privateKey = generateTestPrivateKey();
const repo = { owner: "acme", repo: "shop" };
const sha = "a".repeat(40);

let double: GitHubDouble;
let bot: InstanceType<ReturnType<typeof createProbotOctokitClass>>;

/** A Probot for the double, as Octostage configures it (no throttling, fast retries). */
function newProbot(): Probot {
  return new Probot({
    appId: 1,
    privateKey,
    baseUrl: double.apiUrl,
    Octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }),
    log: pino({ level: "silent" }),
  });
}

beforeEach(async () => {
  double = await startGitHubDouble();
  bot = await newProbot().auth(42);
});

afterEach(async () => {
  await double.close();
});

/** Sends a request the typed Octokit routes would refuse to compile. */
function untyped(route: string, params: Record<string, unknown>): Promise<unknown> {
  return bot.request(route, params);
}

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A human's token (not issued by the double), without retries so errors surface at once. */
function human(): Octokit {
  return new Octokit({ auth: "ghp_human", baseUrl: double.apiUrl, log: quiet, request: { retries: 0 } });
}

describe("GitHub double", () => {
  it("authenticates through the installation token endpoint, as Probot does", async () => {
    await bot.rest.checks.create({ ...repo, name: "Octostage", head_sha: sha });
    expect(double.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      "POST /app/installations/42/access_tokens 201",
      "POST /repos/acme/shop/check-runs 201",
    ]);
    expect(double.requests[1]!.operationId).toBe("checks/create");
    expect(double.violations).toEqual([]);
  });

  it("serves a Probot configured only through GHE_HOST and GHE_PROTOCOL", async () => {
    const env = { APP_ID: "1", PRIVATE_KEY: privateKey, GHE_HOST: double.host, GHE_PROTOCOL: "http" };
    const Octokit = createProbotOctokitClass({ throttle: false });
    const octokit = await createProbot({ env, overrides: { Octokit, log: pino({ level: "silent" }) } }).auth(42);
    await octokit.rest.issues.createComment({ ...repo, issue_number: 1, body: "hello" });
    expect(double.comments.map((c) => [c.body, c.user.login])).toEqual([["hello", "octostage[bot]"]]);
    expect(double.violations).toEqual([]);
  });

  it("rejects a check run with a bad conclusion or without head_sha, and records why", async () => {
    const badConclusion = untyped("POST /repos/{owner}/{repo}/check-runs", { ...repo, name: "x", head_sha: sha, conclusion: "great" });
    await expect(badConclusion).rejects.toMatchObject({ status: 422 });
    const noSha = untyped("POST /repos/{owner}/{repo}/check-runs", { ...repo, name: "x" });
    await expect(noSha).rejects.toMatchObject({ status: 422 });
    const noConclusion = untyped("POST /repos/{owner}/{repo}/check-runs", { ...repo, name: "x", head_sha: sha, status: "completed" });
    await expect(noConclusion).rejects.toMatchObject({ status: 422 });
    expect(double.violations).toHaveLength(3);
    expect(double.violations[0]).toMatch(/body\.conclusion: "great" is not one of/);
    expect(double.violations[1]).toMatch(/missing required field "head_sha"/);
    expect(double.violations[2]).toMatch(/conclusion is required/);
    expect(double.checkRuns).toEqual([]);
  });

  it("rejects a deployment status with an unknown state", async () => {
    const { data } = await bot.rest.repos.createDeployment({ ...repo, ref: sha, environment: "pr-1" });
    const bad = untyped("POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", { ...repo, deployment_id: "id" in data ? data.id : 0, state: "done" });
    await expect(bad).rejects.toMatchObject({ status: 422 });
    expect(double.violations).toEqual([expect.stringMatching(/body\.state: "done" is not one of/)]);
  });

  it("answers 501 for a real route it does not implement, 404 for a route GitHub does not have", async () => {
    await expect(bot.rest.issues.addLabels({ ...repo, issue_number: 1, labels: ["x"] })).rejects.toMatchObject({ status: 501 });
    await expect(bot.request("GET /repos/{owner}/{repo}/no-such-thing", repo)).rejects.toMatchObject({ status: 404 });
    await expect(bot.request("GET /repos/{owner}/{repo}/check-runs/{id}", { ...repo, id: "abc" })).rejects.toMatchObject({ status: 404 });
    // Octokit's retry plugin retries 5xx, so the 501 is recorded once per attempt.
    expect([...new Set(double.violations)]).toEqual([
      expect.stringMatching(/issues\/add-labels.*not implemented/),
      expect.stringMatching(/no-such-thing is not an operation/),
      expect.stringMatching(/check_run_id" must be an integer/),
    ]);
  });

  it("refuses requests without a token, and app endpoints without a JWT", async () => {
    const anonymous = new Octokit({ baseUrl: double.apiUrl, log: quiet, request: { retries: 0 } });
    await expect(anonymous.rest.checks.get({ ...repo, check_run_id: 1 })).rejects.toMatchObject({ status: 401 });
    await expect(human().rest.apps.createInstallationAccessToken({ installation_id: 1 })).rejects.toMatchObject({ status: 401 });
    expect(double.violations).toHaveLength(2);
  });

  it("paginates comments with a Link header and knows who wrote them", async () => {
    for (let i = 0; i < 5; i++) await bot.rest.issues.createComment({ ...repo, issue_number: 7, body: `bot ${i}` });
    await human().rest.issues.createComment({ ...repo, issue_number: 7, body: "human" });
    await human().rest.issues.createComment({ ...repo, issue_number: 8, body: "other PR" });
    const first = await bot.rest.issues.listComments({ ...repo, issue_number: 7, per_page: 2 });
    expect(first.headers.link).toContain('rel="next"');
    expect(first.headers.link).toContain(`${double.apiUrl}/repos/acme/shop/issues/7/comments?per_page=2&page=2`);
    const all = await bot.paginate(bot.rest.issues.listComments, { ...repo, issue_number: 7, per_page: 2 });
    expect(all.map((c) => [c.body, c.user?.type])).toEqual([
      ...[0, 1, 2, 3, 4].map((i) => [`bot ${i}`, "Bot"]),
      ["human", "User"],
    ]);
    expect(double.requests.filter((r) => r.operationId === "issues/list-comments")).toHaveLength(4);
    expect(double.violations).toEqual([]);
  });

  it("answers permissions from the table (legacy permission plus role_name) and pull requests when set", async () => {
    double.setPermission("acme", "shop", "alice", "maintain");
    const alice = await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: "alice" });
    expect([alice.data.permission, alice.data.role_name]).toEqual(["write", "maintain"]);
    const bob = await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: "bob" });
    expect(bob.data.permission).toBe("read");
    await expect(bot.rest.pulls.get({ ...repo, pull_number: 3 })).rejects.toMatchObject({ status: 404 });
    double.setPullRequest("acme", "shop", { number: 3, head: { sha } });
    expect((await bot.rest.pulls.get({ ...repo, pull_number: 3 })).data.head.sha).toBe(sha);
    expect(double.violations).toEqual([]);
  });

  it("fails the next matching requests on demand", async () => {
    double.failNext("GET", /\/check-runs\/\d+$/, 403);
    await expect(bot.rest.checks.get({ ...repo, check_run_id: 1 })).rejects.toMatchObject({ status: 403 });
    await expect(bot.rest.checks.get({ ...repo, check_run_id: 1 })).rejects.toMatchObject({ status: 404 });
    expect(double.requests.slice(-2).map((r) => r.status)).toEqual([403, 404]);
    expect(double.violations).toEqual([]);
  });

  it("answers with shapes that match GitHub's documented response schemas", async () => {
    const validator = createOpenApiValidator();
    const responses: [string, number, unknown][] = [];
    const check = await bot.rest.checks.create({ ...repo, name: "Octostage", head_sha: sha, status: "in_progress", output: { title: "t", summary: "s" } });
    responses.push(["checks/create", check.status, check.data]);
    const updated = await bot.rest.checks.update({ ...repo, check_run_id: check.data.id, conclusion: "success" });
    responses.push(["checks/update", updated.status, updated.data]);
    responses.push(["checks/get", 200, (await bot.rest.checks.get({ ...repo, check_run_id: check.data.id })).data]);
    const comment = await bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "hi" });
    responses.push(["issues/create-comment", comment.status, comment.data]);
    responses.push(["issues/update-comment", 200, (await bot.rest.issues.updateComment({ ...repo, comment_id: comment.data.id, body: "yo" })).data]);
    responses.push(["issues/get-comment", 200, (await bot.rest.issues.getComment({ ...repo, comment_id: comment.data.id })).data]);
    responses.push(["issues/list-comments", 200, (await bot.rest.issues.listComments({ ...repo, issue_number: 1 })).data]);
    const reaction = await human().rest.reactions.createForIssueComment({ ...repo, comment_id: comment.data.id, content: "rocket" });
    responses.push(["reactions/create-for-issue-comment", reaction.status, reaction.data]);
    const dep = await bot.rest.repos.createDeployment({ ...repo, ref: sha, environment: "pr-1", transient_environment: true, required_contexts: [] });
    responses.push(["repos/create-deployment", dep.status, dep.data]);
    const depId = "id" in dep.data ? dep.data.id : 0;
    const status = await bot.rest.repos.createDeploymentStatus({ ...repo, deployment_id: depId, state: "success", environment_url: "https://pr-1.example" });
    responses.push(["repos/create-deployment-status", status.status, status.data]);
    responses.push(["repos/list-deployment-statuses", 200, (await bot.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: depId })).data]);
    responses.push(["repos/list-deployments", 200, (await bot.rest.repos.listDeployments({ ...repo, environment: "pr-1" })).data]);
    responses.push(["repos/get-deployment", 200, (await bot.rest.repos.getDeployment({ ...repo, deployment_id: depId })).data]);
    responses.push(["repos/get-collaborator-permission-level", 200, (await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: "x" })).data]);
    const errors = responses.flatMap(([op, code, body]) => validator.checkResponse(op, code, body).map((e) => `${op}: ${e}`));
    expect(errors).toEqual([]);
    expect(validator.checkResponse("checks/get", 200, { id: 1 })).toContainEqual('response: missing required field "head_sha"');
    expect(reaction.status).toBe(201);
    expect(double.comments[0].reactions.rocket).toBe(1);
    expect(double.violations).toEqual([]);
  });
});

/** The RequestError a call fails with (status, response headers and body). */
async function failure(call: Promise<unknown>): Promise<{ status: number; response: { headers: Record<string, string>; data: any } }> {
  return call.then(
    () => expect.unreachable("the call should have failed"),
    (err: unknown) => err as { status: number; response: { headers: Record<string, string>; data: any } },
  );
}

const shaB = "b".repeat(40);
const shaC = "c".repeat(40);

describe("GitHub double: conditional requests and rate limits", () => {
  it("answers 304 to a matching If-None-Match (or If-Modified-Since) and does not count it", async () => {
    double.openPullRequest("acme", "shop", { number: 1, sha });
    const first = await bot.rest.pulls.get({ ...repo, pull_number: 1 });
    expect(first.headers.etag).toMatch(/^W\/"[0-9a-f]{64}"$/);
    expect(first.headers["last-modified"]).toBe(new Date(first.data.updated_at).toUTCString());
    const used = double.rateLimitUsed(42);
    expect(used).toBe(1);
    const conditional = await failure(bot.rest.pulls.get({ ...repo, pull_number: 1, headers: { "if-none-match": first.headers.etag } }));
    expect(conditional.status).toBe(304);
    expect(conditional.response.headers.etag).toBe(first.headers.etag);
    const since = await failure(bot.rest.pulls.get({ ...repo, pull_number: 1, headers: { "if-modified-since": first.headers["last-modified"] } }));
    expect(since.status).toBe(304);
    expect(double.rateLimitUsed(42)).toBe(used);
    await bot.rest.pulls.get({ ...repo, pull_number: 1, headers: { "if-none-match": 'W/"stale"' } });
    expect(double.rateLimitUsed(42)).toBe(used + 1);
    expect(double.requests.filter((r) => r.operationId === "pulls/get").map((r) => r.status)).toEqual([200, 304, 304, 200]);
    expect(double.violations).toEqual([]);
  });

  it("counts every answer against the installation's primary limit and refuses with 403 at zero", async () => {
    double.setRateLimit(42, { limit: 10, remaining: 2 });
    const comment = await bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "one" });
    expect(comment.headers).toMatchObject({ "x-ratelimit-limit": "10", "x-ratelimit-remaining": "1", "x-ratelimit-used": "9", "x-ratelimit-resource": "core" });
    const missing = await failure(bot.rest.checks.get({ ...repo, check_run_id: 1 }));
    expect(missing.status).toBe(404);
    expect(missing.response.headers["x-ratelimit-remaining"]).toBe("0");
    const refused = await failure(bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "two" }));
    expect(refused.status).toBe(403);
    expect(refused.response.data).toEqual({
      message: "API rate limit exceeded for installation ID 42.",
      documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    });
    expect(refused.response.headers).toMatchObject({ "x-ratelimit-limit": "10", "x-ratelimit-remaining": "0", "x-ratelimit-used": "10" });
    expect(Number(refused.response.headers["x-ratelimit-reset"])).toBeGreaterThan(Date.now() / 1000);
    expect(double.rateLimitUsed(42)).toBe(10);
    expect(double.comments.map((c) => c.body)).toEqual(["one"]);
    // Another installation has its own limit; the window resets after an hour of the double's clock.
    const other = await newProbot().auth(43);
    await other.rest.issues.createComment({ ...repo, issue_number: 1, body: "other installation" });
    double.setNow(new Date(Date.now() + 3_601_000));
    await bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "after the reset" });
    expect(double.rateLimitUsed(42)).toBe(1);
    expect(double.violations).toEqual([]);
  });

  it("answers a secondary rate limit with and without retry-after, for matching requests only", async () => {
    double.secondaryRateLimitNext(1, { retryAfterSeconds: 30 });
    const withRetry = await failure(bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "x" }));
    expect(withRetry.status).toBe(403);
    expect(withRetry.response.headers["retry-after"]).toBe("30");
    expect(withRetry.response.data.message).toMatch(/^You have exceeded a secondary rate limit\. Please wait a few minutes before you try again\./);
    expect(withRetry.response.data.message).toContain(`please include the request ID ${withRetry.response.headers["x-github-request-id"]}.`);
    expect(withRetry.response.data.documentation_url).toBe("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits");

    double.secondaryRateLimitNext(1);
    const without = await failure(bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "x" }));
    expect(without.status).toBe(403);
    expect(without.response.headers["retry-after"]).toBeUndefined();
    expect(Number(without.response.headers["x-ratelimit-remaining"])).toBeGreaterThan(0);

    double.secondaryRateLimitNext(2, { method: "POST", path: /\/comments$/ });
    await bot.rest.issues.listComments({ ...repo, issue_number: 1 });
    await expect(bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "x" })).rejects.toMatchObject({ status: 403 });
    await expect(bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "x" })).rejects.toMatchObject({ status: 403 });
    await bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "through" });
    expect(double.comments.map((c) => c.body)).toEqual(["through"]);
    expect(double.violations).toEqual([]);
  });
});

describe("GitHub double: GitHub's size limits", () => {
  it("accepts a 65,536-character comment and refuses 65,537 characters, on create and on update", async () => {
    const ok = await bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "x".repeat(65_536) });
    expect(ok.status).toBe(201);
    const tooLong = await failure(bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "x".repeat(65_537) }));
    expect(tooLong.status).toBe(422);
    expect(tooLong.response.data).toMatchObject({
      message: "Validation Failed",
      errors: [{ resource: "IssueComment", code: "custom", field: "body", message: "body is too long (maximum is 65536 characters)" }],
      documentation_url: expect.stringContaining("https://docs.github.com/rest/issues/comments"),
    });
    await expect(bot.rest.issues.updateComment({ ...repo, comment_id: ok.data.id, body: "é".repeat(65_537) })).rejects.toMatchObject({ status: 422 });
    expect(double.comments.map((c) => c.body.length)).toEqual([65_536]);
    expect(double.violations).toEqual([
      expect.stringMatching(/issues\/create-comment.*body is too long/),
      expect.stringMatching(/issues\/update-comment.*body is too long/),
    ]);
  });

  it("refuses check run output over 65,535 characters, or over 65,535 UTF-8 bytes, as GitHub does", async () => {
    await bot.rest.checks.create({ ...repo, name: "Octostage", head_sha: sha, output: { title: "t", summary: "x".repeat(65_535) } });
    const chars = await failure(bot.rest.checks.create({ ...repo, name: "Octostage", head_sha: sha, output: { title: "t", summary: "x".repeat(65_536) } }));
    expect(chars.status).toBe(422);
    expect(chars.response.data.message).toContain("Only 65535 characters are allowed; 65536 were supplied.");
    const bytes = await failure(bot.rest.checks.create({ ...repo, name: "Octostage", head_sha: sha, output: { title: "t", summary: "é".repeat(40_000) } }));
    expect(bytes.response.data).toMatchObject({
      message: "Validation Failed",
      errors: [{ resource: "CheckRun", code: "custom", field: "summary", message: "summary exceeds a maximum bytesize of 65535" }],
    });
    const run = double.checkRuns[0];
    const text = await failure(bot.rest.checks.update({ ...repo, check_run_id: run.id, output: { title: "t", summary: "s", text: "€".repeat(30_000) } }));
    expect(text.response.data.errors).toEqual([expect.objectContaining({ resource: "CheckRun", field: "text" })]);
    expect(double.checkRuns).toHaveLength(1);
    expect(double.violations).toHaveLength(3);
  });

  it("refuses a deployment status description over 140 characters", async () => {
    const dep = await bot.rest.repos.createDeployment({ ...repo, ref: sha, environment: "pr-1", required_contexts: [] });
    const deploymentId = "id" in dep.data ? dep.data.id : 0;
    await bot.rest.repos.createDeploymentStatus({ ...repo, deployment_id: deploymentId, state: "in_progress", description: "d".repeat(140) });
    const refused = await failure(bot.rest.repos.createDeploymentStatus({ ...repo, deployment_id: deploymentId, state: "success", description: "d".repeat(141) }));
    expect(refused.status).toBe(422);
    expect(refused.response.data.errors).toEqual([
      { resource: "DeploymentStatus", code: "custom", field: "description", message: "description is too long (maximum is 140 characters)" },
    ]);
    expect(double.deploymentStatesOf("pr-1")).toEqual([{ id: deploymentId, sha, latestState: "in_progress" }]);
  });
});

describe("GitHub double: pull requests, refs and commits", () => {
  const validator = createOpenApiValidator();

  it("keeps a pull request's lifecycle: open, push (new ETag), close merged; updated_at always advances", async () => {
    double.setNow("2026-11-22T10:00:00Z");
    double.openPullRequest("acme", "shop", { number: 5, sha, ref: "feature/login", labels: ["staging"], draft: true });
    const opened = await bot.rest.pulls.get({ ...repo, pull_number: 5 });
    expect(validator.checkResponse("pulls/get", 200, opened.data)).toEqual([]);
    expect(opened.data).toMatchObject({
      number: 5, state: "open", merged: false, merged_at: null, closed_at: null, draft: true, updated_at: "2026-11-22T10:00:00Z",
      labels: [expect.objectContaining({ name: "staging" })], user: expect.objectContaining({ login: "octocat" }),
      head: { sha, ref: "feature/login", repo: expect.objectContaining({ full_name: "acme/shop" }) },
      base: { ref: "main", repo: expect.objectContaining({ full_name: "acme/shop" }) },
      url: `${double.apiUrl}/repos/acme/shop/pulls/5`,
    });

    double.pushPullRequest("acme", "shop", 5, shaB);
    const pushed = await bot.rest.pulls.get({ ...repo, pull_number: 5, headers: { "if-none-match": opened.headers.etag } });
    expect(pushed.status).toBe(200);
    expect(pushed.headers.etag).not.toBe(opened.headers.etag);
    expect(pushed.data.head.sha).toBe(shaB);
    expect(pushed.data.updated_at).toBe("2026-11-22T10:00:01Z"); // the clock stood still, updated_at did not

    double.setNow("2026-11-22T11:00:00Z");
    double.closePullRequest("acme", "shop", 5, { merged: true });
    const closed = (await bot.rest.pulls.get({ ...repo, pull_number: 5 })).data;
    expect(closed).toMatchObject({ state: "closed", merged: true, merged_at: "2026-11-22T11:00:00Z", closed_at: "2026-11-22T11:00:00Z", updated_at: "2026-11-22T11:00:00Z" });
    expect(validator.checkResponse("pulls/get", 200, closed)).toEqual([]);
    expect(() => double.reopenPullRequest("acme", "shop", 5)).toThrow(/merged/);
    await expect(bot.rest.pulls.get({ ...repo, pull_number: 6 })).rejects.toMatchObject({ status: 404 });
    expect(double.violations).toEqual([]);
  });

  it("closes and reopens; a push to the head branch moves open PRs of that repository only; forks are other repositories", async () => {
    double.openPullRequest("acme", "shop", { number: 1, sha, ref: "topic" });
    double.openPullRequest("acme", "shop", { number: 2, sha, ref: "topic", forkOwner: "mallory" });
    double.setBranch("acme", "shop", "topic", shaB);
    double.setBranch("mallory", "shop", "topic", shaC);
    const [own, fork] = await Promise.all([1, 2].map(async (n) => (await bot.rest.pulls.get({ ...repo, pull_number: n })).data));
    expect([own!.head.sha, fork!.head.sha]).toEqual([shaB, shaC]);
    expect(fork!.head.repo?.full_name).toBe("mallory/shop");
    expect(fork!.head.repo?.fork).toBe(true);
    double.closePullRequest("acme", "shop", 1);
    double.setBranch("acme", "shop", "topic", sha);
    const closed = (await bot.rest.pulls.get({ ...repo, pull_number: 1 })).data;
    expect([closed.state, closed.merged, closed.head.sha]).toEqual(["closed", false, shaB]);
    double.reopenPullRequest("acme", "shop", 1);
    const reopened = (await bot.rest.pulls.get({ ...repo, pull_number: 1 })).data;
    expect([reopened.state, reopened.closed_at, reopened.head.sha]).toEqual(["open", null, sha]);
    expect(Date.parse(reopened.updated_at)).toBeGreaterThan(Date.parse(closed.updated_at));
    expect(double.violations).toEqual([]);
  });

  it("resolves commits/{ref} by branch, tag, full and short SHA, and answers 422 for an unknown ref", async () => {
    double.setAppPermissions(42, { contents: "read" });
    double.setBranch("acme", "shop", "main", sha);
    double.setBranch("acme", "shop", "main", shaB);
    double.setTag("acme", "shop", "v1.0.0", shaC);
    const commit = async (ref: string): Promise<string> => (await bot.rest.repos.getCommit({ ...repo, ref })).data.sha;
    expect(await commit("main")).toBe(shaB);
    expect(await commit("heads/main")).toBe(shaB);
    expect(await commit("v1.0.0")).toBe(shaC);
    expect(await commit(shaB.slice(0, 7))).toBe(shaB);
    expect(await commit(sha)).toBe(sha);
    const main = await bot.rest.repos.getCommit({ ...repo, ref: "main" });
    expect(main.data.parents.map((p) => p.sha)).toEqual([sha]);
    expect(validator.checkResponse("repos/get-commit", 200, main.data)).toEqual([]);
    const unknown = await failure(bot.rest.repos.getCommit({ ...repo, ref: "no-such-branch" }));
    expect(unknown.status).toBe(422);
    expect(unknown.response.data.message).toBe("No commit found for SHA: no-such-branch");
    await expect(bot.rest.repos.getCommit({ ...repo, ref: "d".repeat(40) })).rejects.toMatchObject({ status: 422 });

    const branch = await bot.rest.repos.getBranch({ ...repo, branch: "main" });
    expect(branch.data.commit.sha).toBe(shaB);
    expect(validator.checkResponse("repos/get-branch", 200, branch.data)).toEqual([]);
    const missing = await failure(bot.rest.repos.getBranch({ ...repo, branch: "gone" }));
    expect([missing.status, missing.response.data.message]).toEqual([404, "Branch not found"]);
    expect(double.violations).toEqual([]);
  });

  it("resolves a known branch ref of a new deployment to its commit", async () => {
    double.setBranch("acme", "shop", "release", shaC);
    const dep = await bot.rest.repos.createDeployment({ ...repo, ref: "release", environment: "named-release", required_contexts: [] });
    expect("sha" in dep.data ? dep.data.sha : "").toBe(shaC);
  });
});

describe("GitHub double: installations and app permissions", () => {
  it("after uninstall, tokens already issued answer 401 and new tokens 404", async () => {
    // A plain Octokit with the token: auth-app would retry a 401 for 5 s after creating its token (replication delay).
    const app = await newProbot().auth();
    const { data } = await app.request("POST /app/installations/{installation_id}/access_tokens", { installation_id: 42 });
    const issued = new Octokit({ auth: data.token, baseUrl: double.apiUrl, log: quiet, request: { retries: 0 } });
    await issued.rest.issues.createComment({ ...repo, issue_number: 1, body: "before" });
    double.uninstall(42);
    const stale = await failure(issued.rest.issues.createComment({ ...repo, issue_number: 1, body: "after" }));
    expect([stale.status, stale.response.data.message]).toEqual([401, "Bad credentials"]);
    const fresh = await newProbot().auth(42);
    await expect(fresh.rest.issues.createComment({ ...repo, issue_number: 1, body: "after" })).rejects.toMatchObject({ status: 404 });
    expect(double.requests.filter((r) => r.path === "/app/installations/42/access_tokens").map((r) => r.status)).toEqual([201, 404]);
    expect(double.comments.map((c) => c.body)).toEqual(["before"]);
    expect(double.violations).toEqual([]);
  });

  it("refuses a check run without checks:write with 403 'Resource not accessible by integration'", async () => {
    const created = await bot.rest.checks.create({ ...repo, name: "Octostage", head_sha: sha });
    expect(created.headers["x-accepted-github-permissions"]).toBe("checks=write");
    double.setAppPermissions(42, { checks: "read" });
    const refused = await failure(bot.rest.checks.create({ ...repo, name: "Octostage", head_sha: sha }));
    expect(refused.status).toBe(403);
    expect(refused.response.data).toMatchObject({
      message: "Resource not accessible by integration",
      documentation_url: expect.stringMatching(/^https:\/\/docs\.github\.com\/rest\/.*checks.*#create-a-check-run$/),
    });
    expect((await bot.rest.checks.get({ ...repo, check_run_id: created.data.id })).status).toBe(200);
    double.setAppPermissions(42, { issues: "none", pull_requests: "write" });
    await bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "pull_requests:write is enough" });
    double.setAppPermissions(42, { pull_requests: "read" });
    await expect(bot.rest.issues.createComment({ ...repo, issue_number: 1, body: "no" })).rejects.toMatchObject({ status: 403 });
    // A test that took a permission away expects the refusal: not a violation.
    expect(double.violations).toEqual([]);
  });

  it("flags a request that app.yml's own permissions would not allow, and tokens limited to fewer permissions", async () => {
    // An app registered without contents permission.
    await double.close();
    const { contents: _granted, ...withoutContents } = manifestPermissions();
    double = await startGitHubDouble({ manifestPermissions: withoutContents });
    bot = await newProbot().auth(42);
    double.setBranch("acme", "shop", "main", sha);
    await expect(bot.rest.repos.getCommit({ ...repo, ref: "main" })).rejects.toMatchObject({ status: 403 });
    expect(double.violations).toEqual([expect.stringMatching(/repos\/get-commit.*needs contents=read, which app\.yml does not grant/)]);

    const app = await newProbot().auth();
    const tooMuch = app.request("POST /app/installations/{installation_id}/access_tokens", { installation_id: 42, permissions: { contents: "write" } });
    await expect(tooMuch).rejects.toMatchObject({ status: 422 });
    const { data } = await app.request("POST /app/installations/{installation_id}/access_tokens", { installation_id: 42, permissions: { issues: "write" } });
    expect(data.permissions).toEqual({ issues: "write" });
    const limited = new Octokit({ auth: data.token, baseUrl: double.apiUrl, log: quiet, request: { retries: 0 } });
    await limited.rest.issues.createComment({ ...repo, issue_number: 1, body: "issues only" });
    await expect(limited.rest.checks.create({ ...repo, name: "x", head_sha: sha })).rejects.toMatchObject({ status: 403 });
  });
});

describe("GitHub double: deployments", () => {
  it("auto_inactive deactivates prior non-transient deployments only, as GitHub documents", async () => {
    const deploy = async (ref: string, transient: boolean): Promise<number> => {
      const dep = await bot.rest.repos.createDeployment({ ...repo, ref, environment: "pr-9", transient_environment: transient, production_environment: false, required_contexts: [] });
      const id = "id" in dep.data ? dep.data.id : 0;
      await bot.rest.repos.createDeploymentStatus({ ...repo, deployment_id: id, state: "success" });
      return id;
    };
    const transient = await deploy(sha, true);
    const lasting = await deploy(shaB, false);
    const latest = await deploy(shaC, true);
    expect(double.deploymentStatesOf("pr-9")).toEqual([
      { id: transient, sha, latestState: "success" },
      { id: lasting, sha: shaB, latestState: "inactive" },
      { id: latest, sha: shaC, latestState: "success" },
    ]);
    expect(double.deploymentStatesOf("pr-9", "acme/other")).toEqual([]);
    expect(double.violations).toEqual([]);
  });
});
