// `/octo` commands in PR comments, end to end: real issue_comment payloads, signed, over HTTP;
// permissions from the GitHub double; helm runs and replies observed.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverWebhook, issueCommentPayload, pullRequestPayload } from "../support/webhooks.ts";
import type { CommentShape } from "../support/webhooks.ts";
import { installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem();
  sys.github.setPermission("octo-org", "web", "dev", "write");
  sys.github.setPermission("octo-org", "web", "maintainer", "maintain");
  sys.github.setPermission("octo-org", "web", "reader", "read");
});
afterAll(async () => {
  await sys?.stop();
});

const sha = (c: string) => c.repeat(40);
const base = { owner: "octo-org", repo: "web", installationId };
const upgrades = (release: string) => sys.helm.calls().filter((c) => c.argv[0] === "upgrade" && c.argv[2] === release);
const replies = () => sys.github.comments.filter((c) => c.user?.type === "Bot" && !c.body.includes("<!-- octostage:status -->"));

async function open(number: number, extra: Record<string, unknown> = {}) {
  await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { ...base, number, sha: sha("a"), ...extra }), webhookSecret);
  await waitFor("staging recorded", () => sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: number }));
}

/** The person's comment exists on GitHub (the double) before GitHub sends its webhook. */
async function comment(number: number, body: string, login = "dev", extra: Partial<CommentShape> = {}) {
  const human = new Octokit({ auth: "a-person", baseUrl: sys.github.apiUrl });
  const { data } = await human.rest.issues.createComment({ owner: "octo-org", repo: "web", issue_number: number, body });
  const commentId = data.id;
  const res = await deliverWebhook(sys.webhookUrl, "issue_comment", issueCommentPayload({ ...base, number, body, login, commentId, ...extra }), webhookSecret);
  expect(res.status).toBe(200);
  return commentId;
}


describe("/octo commands in PR comments", () => {
  it("override: 👀, the values file changes, the staging is updated, the reply says what was saved", async () => {
    await open(31);
    await waitFor("deployed", () => upgrades("web-pr-31").length === 1);
    const id = await comment(31, "Let's try two API replicas\n/octo override api.replicas=2 api.debug=true");
    await waitFor("eyes", () => sys.github.reactions.find((r) => r.content === "eyes"));
    await waitFor("redeployed", () => upgrades("web-pr-31").length === 2);
    expect(upgrades("web-pr-31")[1]!.values[0]).toMatchObject({ api: { replicas: 2, debug: true }, image: { tag: sha("a") } });
    const reply = await waitFor("reply", () => replies().find((c) => c.body.includes("api.replicas=2")));
    expect(reply.body).toContain("✅ App overrides");
    const s = await sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 31 });
    const actions = await sys.db.store.listActions(s!.id);
    expect(actions.at(-1)).toMatchObject({ kind: "override", actor: "dev", source: "github" });
    expect(JSON.stringify(actions.at(-1)!.detail)).toContain("api.replicas");
    expect(id).toBeGreaterThan(0);
  });

  it("unset removes a default value for this staging", async () => {
    await comment(31, "/octo unset replicaCount");
    await waitFor("redeployed", () => upgrades("web-pr-31").length === 3);
    expect(upgrades("web-pr-31")[2]!.values[0]).not.toHaveProperty("replicaCount");
    expect(upgrades("web-pr-31")[2]!.values[0]).toMatchObject({ api: { replicas: 2 } });
  });

  it("a deployment override of the chart version reaches helm's --version", async () => {
    await comment(31, "/octo override --deployment chart.version=1.4.2");
    await waitFor("redeployed", () => upgrades("web-pr-31").length === 4);
    const argv = upgrades("web-pr-31")[3]!.argv;
    expect(argv[argv.indexOf("--version") + 1]).toBe("1.4.2");
  });

  it("a namespace quota profile replaces the project's default ResourceQuota, and unset brings the default back", async () => {
    const quota = () => sys.kube.get("ResourceQuota", "octostage-web-pr-31", "octostage-quota")?.spec.hard;
    expect(quota()).toMatchObject({ pods: "40", "limits.memory": "8Gi" }); // the sandbox's default
    await comment(31, "/octo override --deployment namespaceQuota=small");
    await waitFor("small quota", () => quota()?.pods === "20");
    expect(quota()).toMatchObject({ "limits.memory": "4Gi", pods: "20" });
    await waitFor("redeployed", () => upgrades("web-pr-31").length === 5);
    await comment(31, "/octo unset --deployment namespaceQuota");
    await waitFor("default quota again", () => quota()?.pods === "40");
    await waitFor("redeployed", () => upgrades("web-pr-31").length === 6);
  });

  it("a user without write permission is refused politely and nothing changes", async () => {
    await comment(31, "/octo redeploy", "reader");
    const reply = await waitFor("refusal", () => replies().find((c) => c.body.startsWith("@reader")));
    expect(reply.body).toContain("only people with write, maintain or admin permission");
    expect(reply.body).toContain("your permission: read");
    await new Promise((r) => setTimeout(r, 300));
    expect(upgrades("web-pr-31")).toHaveLength(6);
  });

  it("help, status and config are open to anyone who can comment", async () => {
    await comment(31, "/octo config", "reader");
    const reply = await waitFor("config", () => replies().find((c) => c.body.startsWith("@reader") && c.body.includes("chart.version")));
    expect(reply.body).toContain("1.4.2");
  });

  it("a fork PR deploys only on a maintainer's approval, pinned to the approved SHA", async () => {
    await open(32, { forkOwner: "stranger" });
    await waitFor("hold comment", () => sys.github.comments.find((c) => c.body.includes("`web-pr-32`") && c.body.includes("a maintainer must approve")));
    expect(upgrades("web-pr-32")).toHaveLength(0);
    await comment(32, "/octo deploy", "maintainer");
    await waitFor("deployed on approval", () => upgrades("web-pr-32").length === 1);
    expect(upgrades("web-pr-32")[0]!.values[0]).toMatchObject({ image: { tag: sha("a") } });
    // A new push from the fork is not deployed without a new approval.
    await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("synchronize", { ...base, number: 32, sha: sha("b"), forkOwner: "stranger" }), webhookSecret);
    await waitFor("hold again", () => sys.github.comments.find((c) => c.body.includes("`web-pr-32`") && c.body.includes("approves them again")));
    expect(upgrades("web-pr-32")).toHaveLength(1);
  });

  it("a fork's restore brings back only the approved commit, and an approval never covers a commit pushed after the comment", async () => {
    const find = () => sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 36 });
    await open(36, { forkOwner: "stranger" });
    await comment(36, "/octo deploy", "maintainer");
    await waitFor("approved and running", async () => (await find())?.status === "running");
    await comment(36, "/octo archive", "maintainer");
    await waitFor("archived", async () => (await find())?.status === "archived");
    // The fork pushes while the staging is archived.
    const pushedAt = new Date();
    await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("synchronize", { ...base, number: 36, sha: sha("b"), forkOwner: "stranger", updatedAt: pushedAt }), webhookSecret);
    await waitFor("head recorded", async () => (await find())?.headSha === sha("b"));

    // A restore would deploy the fork's new, unreviewed commit: refused, nothing runs.
    await comment(36, "/octo restore", "dev");
    const refused = await waitFor("restore refused", () => replies().find((c) => c.body.startsWith("@dev") && c.body.includes("is not approved")));
    expect(refused.body).toContain(`its head \`${sha("b").slice(0, 7)}\` is not approved (\`${sha("a").slice(0, 7)}\` was)`);
    // The maintainer wrote `/octo deploy` before the push reached the PR: it approves nothing.
    await comment(36, "/octo deploy", "maintainer", { createdAt: new Date(pushedAt.getTime() - 60_000) });
    const unseen = await waitFor("approval refused", () => replies().find((c) => c.body.startsWith("@maintainer") && c.body.includes("after your comment")));
    expect(unseen.body).toContain(`/octo deploy ${sha("b").slice(0, 7)}`);
    expect((await find())!).toMatchObject({ status: "archived", approvedSha: sha("a") });
    expect(upgrades("web-pr-36").map((u) => u.values[0])).toEqual([expect.objectContaining({ image: expect.objectContaining({ tag: sha("a") }) })]);

    // An exact commit that is not the head approves nothing.
    await comment(36, `/octo deploy ${sha("c").slice(0, 7)}`, "maintainer");
    const notHead = await waitFor("not the head", () => replies().find((c) => c.body.includes("is not the head of this PR")));
    expect(notHead.body).toContain(`(the head is \`${sha("b").slice(0, 7)}\`); nothing was approved.`);
    // Approving the exact commit deploys it.
    await comment(36, `/octo deploy ${sha("b").slice(0, 7)}`, "maintainer");
    await waitFor("deployed the approved commit", () => upgrades("web-pr-36").length === 2);
    expect(upgrades("web-pr-36")[1]!.values[0]).toMatchObject({ image: { tag: sha("b") } });
    expect((await find())!).toMatchObject({ approvedSha: sha("b"), approvedBy: "maintainer" });
  });

  it("archive, restore and delete steer the staging from the PR", async () => {
    await open(33);
    await waitFor("running", async () => (await sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 33 }))?.status === "running");
    const find = () => sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 33 });
    await comment(33, "/octo archive");
    await waitFor("archived", async () => (await find())?.status === "archived");
    expect(sys.kube.get("Deployment", "octostage-web-pr-33", "web-pr-33-web").spec.replicas).toBe(0);
    await comment(33, "/octo restore");
    await waitFor("running again", async () => (await find())?.status === "running");
    expect(sys.kube.get("Deployment", "octostage-web-pr-33", "web-pr-33-web").spec.replicas).toBe(2);
    await comment(33, "/octo delete");
    await waitFor("deleted", async () => (await find())?.status === "deleted");
    expect(sys.helm.calls().filter((c) => c.argv[0] === "uninstall" && c.argv[1] === "web-pr-33")).toHaveLength(1);
    expect(sys.kube.get("Namespace", undefined, "octostage-web-pr-33")).toBeUndefined();
    // A push does not bring a deleted staging back; `/octo deploy` does.
    await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("synchronize", { ...base, number: 33, sha: sha("c") }), webhookSecret);
    await new Promise((r) => setTimeout(r, 500));
    expect((await find())?.status).toBe("deleted");
    await comment(33, "/octo deploy");
    await waitFor("recreated", async () => (await find())?.status === "running");
    expect(upgrades("web-pr-33").at(-1)!.values[0]).toMatchObject({ image: { tag: sha("c") } });
  });

  it("the chart's values.schema.json refuses a wrong override in a PR comment, naming the key and the rule", async () => {
    await comment(31, "/octo override replicaCount=many");
    const reply = await waitFor("refusal", () => replies().find((c) => c.body.includes('"replicaCount" must be integer')));
    expect(reply.body).toContain("(the values.schema.json of the chart web");
    expect(reply.body).toContain("Nothing was changed.");
  });

  it("comments by bots (Octostage included) are ignored", async () => {
    const before = sys.github.reactions.length;
    const repliesBefore = replies().length;
    await comment(31, "/octo redeploy", "octostage[bot]", { userType: "Bot" });
    await new Promise((r) => setTimeout(r, 500));
    expect(sys.github.reactions.length).toBe(before);
    expect(replies().length).toBe(repliesBefore);
  });

  it("a typo gets the closest command suggested, with its usage", async () => {
    await comment(31, "/octo overide api.replicas=3");
    const reply = await waitFor("typo reply", () => replies().find((c) => c.body.includes("overide")));
    expect(reply.body).toContain("/octo override");
    expect(upgrades("web-pr-31")).toHaveLength(6);
  });

  it("secret values are refused in PR comments and never echoed", async () => {
    await comment(31, "/octo override db.password=hunter2");
    const reply = await waitFor("secret refusal", () => replies().find((c) => c.body.includes("db.password")));
    expect(reply.body).toContain("looks like a secret");
    expect(reply.body).toContain("not taken from PR comments");
    // Only the person's own comment (made by the test, as on GitHub) holds the value; nothing Octostage sent does.
    const sentByOctostage = sys.github.requests.filter((r) => !String(r.body?.body ?? "").startsWith("/octo"));
    expect(JSON.stringify(sentByOctostage)).not.toContain("hunter2");
    expect(upgrades("web-pr-31")).toHaveLength(6);
  });

  it("a chart repository the operators have not allowed is refused, without echoing it, and nothing changes", async () => {
    await comment(31, "/octo override --deployment chart.repository=https://charts.evil.example/stable");
    const reply = await waitFor("repository refusal", () => replies().find((c) => c.body.includes("chart repository is not allowed")));
    expect(reply.body).toContain("allowed: `https://charts.example.com`");
    expect(reply.body).toContain("Nothing was changed");
    expect(reply.body).not.toContain("evil");
    await new Promise((r) => setTimeout(r, 300));
    expect(upgrades("web-pr-31")).toHaveLength(6);
  });

  it("edited comments do not re-run commands", async () => {
    const repliesBefore = replies().length;
    await comment(31, "/octo redeploy", "dev", { action: "edited" });
    await new Promise((r) => setTimeout(r, 500));
    expect(replies().length).toBe(repliesBefore);
    expect(upgrades("web-pr-31")).toHaveLength(6);
    expect(sys.github.violations).toEqual([]);
  });
});
