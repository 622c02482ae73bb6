// Trigger policy through the real entry points: forks never deploy automatically, drafts wait
// for ready-for-review, a label policy waits for the label. Each says why on the PR.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverWebhook, pullRequestPayload } from "../support/webhooks.ts";
import { e2eRepository, installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem([
    e2eRepository,
    { ...e2eRepository, repo: "octo-org/api", name: "api", trigger: { labels: ["staging"] } },
  ]);
});
afterAll(async () => {
  await sys?.stop();
});

const sha = (c: string) => c.repeat(40);
const send = (action: string, shape: Parameters<typeof pullRequestPayload>[1]) =>
  deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload(action, shape), webhookSecret);
const commentFor = (pr: number, repo = "web") =>
  sys.github.comments.find((c) => c.body.includes(`\`${repo}-pr-${pr}\``));
const upgradesOf = (release: string) => sys.helm.calls().filter((c) => c.argv[0] === "upgrade" && c.argv[2] === release);

describe("trigger policy", () => {
  it("a PR from a fork is never deployed automatically; the PR says a maintainer must approve", async () => {
    const res = await send("opened", { owner: "octo-org", repo: "web", number: 21, sha: sha("a"), installationId, forkOwner: "stranger" });
    expect(res.status).toBe(200);
    const comment = await waitFor("hold comment", () => commentFor(21));
    expect(comment.body).toContain("Not deployed");
    expect(comment.body).toContain("a maintainer must approve");
    await waitFor("neutral check run", () => sys.github.checkRuns.find((c) => c.head_sha === sha("a") && c.conclusion === "neutral"));
    // A push from the fork does not deploy either.
    await send("synchronize", { owner: "octo-org", repo: "web", number: 21, sha: sha("b"), installationId, forkOwner: "stranger" });
    await waitFor("check run on the new push", () => sys.github.checkRuns.find((c) => c.head_sha === sha("b")));
    expect(upgradesOf("web-pr-21")).toHaveLength(0);
    expect(sys.github.deployments.filter((d) => d.environment === "web-pr-21")).toHaveLength(0);
    expect(sys.kube.get("Namespace", undefined, "octostage-web-pr-21")).toBeUndefined();
  });

  it("a draft waits; ready for review deploys it", async () => {
    await send("opened", { owner: "octo-org", repo: "web", number: 22, sha: sha("c"), installationId, draft: true });
    await waitFor("draft comment", () => commentFor(22)?.body.includes("Draft PRs are not deployed"));
    expect(upgradesOf("web-pr-22")).toHaveLength(0);
    await send("ready_for_review", { owner: "octo-org", repo: "web", number: 22, sha: sha("c"), installationId });
    await waitFor("deployed", () => upgradesOf("web-pr-22").length === 1);
    await waitFor("running comment", () => commentFor(22)?.body.includes("Running"));
    expect(sys.github.comments.filter((c) => c.body.includes("`web-pr-22`"))).toHaveLength(1);
  });

  it("with a label policy, the PR deploys when the label is added, not before", async () => {
    await send("opened", { owner: "octo-org", repo: "api", number: 23, sha: sha("d"), installationId });
    await waitFor("label hint", () => commentFor(23, "api")?.body.includes("`staging`"));
    expect(upgradesOf("api-pr-23")).toHaveLength(0);
    await send("labeled", { owner: "octo-org", repo: "api", number: 23, sha: sha("d"), installationId, labels: ["staging"] });
    await waitFor("deployed", () => upgradesOf("api-pr-23").length === 1);
    // Another label on the running staging does not redeploy it.
    await send("labeled", { owner: "octo-org", repo: "api", number: 23, sha: sha("d"), installationId, labels: ["staging", "ui"] });
    await new Promise((r) => setTimeout(r, 500));
    expect(upgradesOf("api-pr-23")).toHaveLength(1);
  });

  it("events for a repository that is not configured are acknowledged and ignored", async () => {
    const res = await send("opened", { owner: "someone", repo: "else", number: 1, sha: sha("e"), installationId });
    expect(res.status).toBe(200);
    expect(await sys.db.store.find({ repoOwner: "someone", repoName: "else", prNumber: 1 })).toBeNull();
    expect(sys.github.violations).toEqual([]);
  });
});
