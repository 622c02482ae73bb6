import { Octokit } from "@octokit/rest";
import { pino } from "pino";
import { Probot } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGitHubCodeHost } from "../../src/adapters/github/code-host.ts";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { STATUS_COMMENT_MARKER } from "../../src/adapters/github/status-comment.ts";
import type { CodeHost, PullRequestRef } from "../../src/ports/code-host.ts";
import type { Logger } from "../../src/ports/logger.ts";
import { generateTestPrivateKey, startGitHubDouble, type GitHubDouble } from "../support/github-double.ts";

const privateKey = generateTestPrivateKey();
const pr: PullRequestRef = { installationId: 42, owner: "acme", repo: "shop", number: 7 };
const shaA = "a".repeat(40);
const shaB = "b".repeat(40);
const clock = { now: () => new Date("2026-11-22T10:00:00Z") };

let double: GitHubDouble;
let host: CodeHost;
let logs: string[];

function recordingLogger(lines: string[]): Logger {
  const write = (meta: object, msg: string): void => void lines.push(`${msg} ${JSON.stringify(meta)}`);
  return { debug: write, info: write, warn: write, error: write, child: () => recordingLogger(lines) };
}

function writes(): string[] {
  return double.requests.filter((r) => r.method !== "GET" && !r.path.startsWith("/app/")).map((r) => `${r.method} ${r.path}`);
}

beforeEach(async () => {
  double = await startGitHubDouble();
  logs = [];
  const probot = new Probot({
    appId: 1,
    privateKey,
    baseUrl: double.apiUrl,
    Octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }),
    log: pino({ level: "silent" }),
  });
  host = createGitHubCodeHost({ getOctokit: (id) => probot.auth(id), logger: recordingLogger(logs), clock });
});

afterEach(async () => {
  expect(logs.join("\n")).not.toMatch(/ghs_|BEGIN RSA/);
  await double.close();
});

describe("GitHub code host: check runs", () => {
  it("creates the check run, updates it for the same SHA, creates a new one for a new SHA", async () => {
    const first = await host.ensureCheckRun(pr, { sha: shaA, state: { status: "in_progress" }, title: "Deploying", summary: "…", detailsUrl: "https://octostage.example/s/1" });
    const again = await host.ensureCheckRun(pr, { sha: shaA, existing: first, state: { status: "completed", conclusion: "success" }, title: "Ready", summary: "Up" });
    expect(again).toEqual(first);
    expect(double.checkRuns).toHaveLength(1);
    expect(double.checkRuns[0]).toMatchObject({ name: "Octostage", head_sha: shaA, status: "completed", conclusion: "success", completed_at: "2026-11-22T10:00:00Z", details_url: "https://octostage.example/s/1", output: { title: "Ready", summary: "Up" } });

    const next = await host.ensureCheckRun(pr, { sha: shaB, existing: first, state: { status: "queued" }, title: "Queued", summary: "" });
    expect(next.id).not.toBe(first.id);
    expect(double.checkRuns.map((r) => [r.head_sha, r.status])).toEqual([[shaA, "completed"], [shaB, "queued"]]);
    expect(writes()).toEqual(["POST /repos/acme/shop/check-runs", `PATCH /repos/acme/shop/check-runs/${first.id}`, "POST /repos/acme/shop/check-runs"]);
    expect(double.violations).toEqual([]);
  });

  it("creates a new check run when the stored one is gone", async () => {
    const result = await host.ensureCheckRun(pr, { sha: shaA, existing: { id: 999, sha: shaA }, state: { status: "in_progress" }, title: "t", summary: "s" });
    expect(result.id).toBe(double.checkRuns[0].id);
    expect(writes()).toEqual(["PATCH /repos/acme/shop/check-runs/999", "POST /repos/acme/shop/check-runs"]);
    expect(double.violations).toEqual([]);
  });
});

describe("GitHub code host: sticky comment", () => {
  const human = (): Octokit => new Octokit({ auth: "ghp_human", baseUrl: double.apiUrl, log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });

  it("creates the comment once and edits it in place", async () => {
    const { id } = await host.ensureStatusComment(pr, { body: "Deploying" });
    expect(await host.ensureStatusComment(pr, { existingId: id, body: "Ready" })).toEqual({ id });
    expect(double.comments).toHaveLength(1);
    expect(double.comments[0].body).toBe(`${STATUS_COMMENT_MARKER}\nReady`);
    expect(writes()).toEqual(["POST /repos/acme/shop/issues/7/comments", `PATCH /repos/acme/shop/issues/comments/${id}`]);
    expect(double.violations).toEqual([]);
  });

  it("finds its comment by marker (ignoring a human's copy of the marker), across pages", async () => {
    await human().rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: 7, body: `${STATUS_COMMENT_MARKER}\nquoted by a human` });
    const { id } = await host.ensureStatusComment(pr, { body: "Deploying" });
    for (let i = 0; i < 100; i++) await human().rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: 7, body: `chatter ${i}` });
    double.requests.length = 0;

    expect(await host.ensureStatusComment(pr, { body: "Ready" })).toEqual({ id });
    expect(double.comments.find((c) => c.id === id).body).toBe(`${STATUS_COMMENT_MARKER}\nReady`);
    expect(double.comments[0].body).toBe(`${STATUS_COMMENT_MARKER}\nquoted by a human`);
    expect(writes()).toEqual([`PATCH /repos/acme/shop/issues/comments/${id}`]);
    expect(double.violations).toEqual([]);
  });

  it("sends nothing when the found comment already says the same", async () => {
    const { id } = await host.ensureStatusComment(pr, { body: "Ready" });
    double.requests.length = 0;
    expect(await host.ensureStatusComment(pr, { body: "Ready" })).toEqual({ id });
    expect(double.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /repos/acme/shop/issues/7/comments"]);
    expect(double.violations).toEqual([]);
  });

  it("falls back to the marker search, then creates, when the stored comment is gone", async () => {
    const { id } = await host.ensureStatusComment(pr, { existingId: 123, body: "Ready" });
    expect(id).toBe(double.comments[0].id);
    expect(writes()).toEqual(["PATCH /repos/acme/shop/issues/comments/123", "POST /repos/acme/shop/issues/7/comments"]);
    expect(double.violations).toEqual([]);
  });
});

describe("GitHub code host: deployments", () => {
  const base = { ref: "feature/x", environment: "shop-pr-7", description: "Deploying" };

  it("creates a transient deployment and adds a status only when it changes", async () => {
    const dep = await host.ensureDeployment(pr, { ...base, sha: shaA, state: "in_progress" });
    expect(double.deployments).toHaveLength(1);
    expect(double.deployments[0]).toMatchObject({ id: dep.id, sha: shaA, ref: shaA, environment: "shop-pr-7", transient_environment: true, production_environment: false });
    const created = double.requests.find((r) => r.operationId === "repos/create-deployment")!;
    expect(created.body).toMatchObject({ auto_merge: false, required_contexts: [] });

    const ready = { ...base, sha: shaA, existing: dep, state: "success" as const, description: "Ready", environmentUrl: "https://shop-pr-7.example" };
    expect(await host.ensureDeployment(pr, ready)).toEqual(dep);
    expect(await host.ensureDeployment(pr, ready)).toEqual(dep);
    expect(double.deployments).toHaveLength(1);
    expect(double.deploymentStatuses.map((s) => [s.state, s.environment_url, s.description])).toEqual([
      ["in_progress", "", "Deploying"],
      ["success", "https://shop-pr-7.example", "Ready"],
    ]);
    expect(double.requests.filter((r) => r.operationId === "repos/create-deployment-status").at(-1)!.body).toMatchObject({ auto_inactive: true, environment: "shop-pr-7" });

    const next = await host.ensureDeployment(pr, { ...base, sha: shaB, existing: dep, state: "queued" });
    expect(next.id).not.toBe(dep.id);
    expect(next.sha).toBe(shaB);
    expect(double.deployments.map((d) => d.sha)).toEqual([shaA, shaB]);
    expect(double.violations).toEqual([]);
  });

  it("creates a new deployment when the stored one is gone", async () => {
    const dep = await host.ensureDeployment(pr, { ...base, sha: shaA, existing: { id: 5, sha: shaA }, state: "queued" });
    expect(dep.id).toBe(double.deployments[0].id);
    expect(double.violations).toEqual([]);
  });
});

describe("GitHub code host: errors", () => {
  const input = { sha: shaA, state: { status: "queued" as const }, title: "t", summary: "s" };

  // count 4: Octokit's retry plugin tries 429 and 5xx three more times.
  it.each([
    { status: 404, count: 1, code: "not_found", permanent: true },
    { status: 403, count: 1, code: "forbidden", permanent: true },
    { status: 422, count: 1, code: "validation", permanent: true },
    { status: 429, count: 4, code: "rate_limited", permanent: false },
    { status: 500, count: 4, code: "transient", permanent: false },
  ])("maps HTTP $status to $code", async ({ status, count, code, permanent }) => {
    double.failNext("POST", /\/check-runs$/, status, count);
    const error = await host.ensureCheckRun(pr, input).then(() => undefined, (err: unknown) => err);
    expect(error).toMatchObject({ name: "GitHubError", code, permanent, status, operation: "checks.create" });
    // The cause is Octokit's RequestError, whose request headers Octokit redacts.
    expect(JSON.stringify((error as { cause: unknown }).cause)).toContain("[REDACTED]");
    expect(JSON.stringify((error as { cause: unknown }).cause)).not.toMatch(/ghs_/);
  });

  it("lets Octokit retry a single 5xx", async () => {
    double.failNext("POST", /\/check-runs$/, 502);
    await host.ensureCheckRun(pr, input);
    expect(double.requests.filter((r) => r.operationId === "checks/create").map((r) => r.status)).toEqual([502, 201]);
  });

  it("maps a failed installation token to unauthorized", async () => {
    double.failNext("POST", /\/access_tokens$/, 401);
    await expect(host.ensureStatusComment(pr, { body: "x" })).rejects.toMatchObject({ code: "unauthorized", permanent: true });
  });
});
