// Secrets never shown: a secret from the project config planted in a helm error (as a chart's
// `required` or a failed connection prints it) reaches no GitHub request, no log line and no
// stored reason. The whole system through its real entry points, every log line captured.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverWebhook, issueCommentPayload, pullRequestPayload } from "../support/webhooks.ts";
import { e2eRepository, installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";

const password = "Planted-Pa55word-7q";
const dsnPassword = "hunter2-dsn-Zx";
const token = `ghp_${"P".repeat(36)}`;
const logs: string[] = [];
let sys: TestSystem;

beforeAll(async () => {
  sys = await startTestSystem(
    [
      {
        ...e2eRepository,
        values: { ...e2eRepository.values, db: { password }, database: { url: `postgres://app:${dsnPassword}@db.internal/app` }, registry: { pull: token } },
        secretKeys: ["database.url"],
      },
    ],
    { LOG_LEVEL: "debug" },
    { logs },
  );
  sys.github.setPermission("octo-org", "web", "dev", "write");
});
afterAll(async () => {
  await sys?.stop();
});

const find = () => sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 50 });

describe("secrets on public surfaces", () => {
  it("a secret planted in a helm error is in no GitHub request, no log line and no stored reason", async () => {
    sys.helm.failNext("upgrade", {
      exitCode: 1,
      stderr: [
        `Error: UPGRADE FAILED: execution error at (web/templates/secret.yaml:5:22): cannot reach postgres://app:${dsnPassword}@db.internal/app`,
        `with password ${password} (registry token ${token})`,
      ].join("\n"),
    });
    await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { owner: "octo-org", repo: "web", number: 50, sha: "5".repeat(40), installationId }), webhookSecret);
    await waitFor("failed", async () => (await find())?.status === "failed");
    await waitFor("failure reported", () => sys.github.checkRuns.find((c) => c.head_sha === "5".repeat(40) && c.conclusion === "failure"));
    // Someone asks for the status and the configuration on the PR.
    const human = new Octokit({ auth: "a-person", baseUrl: sys.github.apiUrl });
    const { data } = await human.rest.issues.createComment({ owner: "octo-org", repo: "web", issue_number: 50, body: "/octo status\n/octo config" });
    await deliverWebhook(sys.webhookUrl, "issue_comment", issueCommentPayload({ owner: "octo-org", repo: "web", number: 50, installationId, body: "/octo status\n/octo config", login: "dev", commentId: data.id }), webhookSecret);
    await waitFor("reply", () => sys.github.comments.find((c) => c.user?.type === "Bot" && c.body.includes("Effective configuration")));

    const staging = (await find())!;
    expect(staging.reason).toContain("[REDACTED]");
    const actions = await sys.db.store.listActions(staging.id);
    const surfaces = {
      "GitHub requests": JSON.stringify(sys.github.requests.map((r) => ({ path: r.path, query: r.query, body: r.body }))),
      "log lines": logs.join(""),
      "stored reason and audit log": JSON.stringify({ reason: staging.reason, lastDeployError: staging.lastDeployError, actions }),
    };
    for (const [where, text] of Object.entries(surfaces)) {
      for (const secret of [password, dsnPassword, token]) expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
    }
    // The failure is still explained: the classified error and a redacted excerpt.
    expect(staging.reason).toMatch(/invalid_values.*execution error at \(web\/templates\/secret\.yaml:5:22\)/);
    expect(logs.length).toBeGreaterThan(20);
  });
});
