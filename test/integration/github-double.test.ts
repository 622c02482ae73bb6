import { Octokit } from "@octokit/rest";
import { pino } from "pino";
import { createProbot, Probot } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { generateTestPrivateKey, startGitHubDouble, type GitHubDouble } from "../support/github-double.ts";
import { createOpenApiValidator } from "../support/openapi-validator.ts";

const privateKey = generateTestPrivateKey();
const repo = { owner: "acme", repo: "shop" };
const sha = "a".repeat(40);

let double: GitHubDouble;
let bot: InstanceType<ReturnType<typeof createProbotOctokitClass>>;

beforeEach(async () => {
  double = await startGitHubDouble();
  const probot = new Probot({
    appId: 1,
    privateKey,
    baseUrl: double.apiUrl,
    Octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }),
    log: pino({ level: "silent" }),
  });
  bot = await probot.auth(42);
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
