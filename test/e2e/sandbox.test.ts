// A staging can touch only its own namespace, end to end: the whole system through its real
// entry points (signed webhooks and PR comments over HTTP), its worker authenticated to an API
// server that enforces RBAC and Pod Security admission with exactly the chart's worker
// ClusterRole (test/support/octostage-rbac.ts), helm running as each staging's deployer.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployerName } from "../../src/adapters/kube/rbac.ts";
import { plantedPrivateKey } from "../support/octostage-rbac.ts";
import { e2eRepository, installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";
import { deliverWebhook, issueCommentPayload, pullRequestPayload } from "../support/webhooks.ts";

let sys: TestSystem;
const logs: string[] = [];
// A second repository whose own chart values ask for a privileged container (set by whoever
// edits the project config, not by a PR: overrides of securityContext are refused outright).
const privileged = { ...e2eRepository, repo: "octo-org/ops", name: "ops", values: { ...e2eRepository.values, securityContext: { privileged: true } } };

beforeAll(async () => {
  sys = await startTestSystem([e2eRepository, privileged], { LOG_LEVEL: "debug" }, { rbac: true, logs });
  sys.github.setPermission("octo-org", "web", "dev", "write");
});
afterAll(async () => {
  await sys?.stop();
});

const sha = (c: string) => c.repeat(40);
const find = (repo: string, prNumber: number) => sys.db.store.find({ repoOwner: "octo-org", repoName: repo, prNumber });
const replies = () => sys.github.comments.filter((c) => c.user?.type === "Bot" && !c.body.includes("<!-- octostage:status -->"));

async function open(repo: string, number: number) {
  await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { owner: "octo-org", repo, installationId, number, sha: sha("a") }), webhookSecret);
  await waitFor("staging recorded", () => find(repo, number));
}

async function comment(number: number, body: string) {
  const human = new Octokit({ auth: "a-person", baseUrl: sys.github.apiUrl });
  const { data } = await human.rest.issues.createComment({ owner: "octo-org", repo: "web", issue_number: number, body });
  const res = await deliverWebhook(sys.webhookUrl, "issue_comment", issueCommentPayload({ owner: "octo-org", repo: "web", installationId, number, body, login: "dev", commentId: data.id }), webhookSecret);
  expect(res.status).toBe(200);
}

describe("a staging acts only inside its own namespace", () => {
  it("an override that makes the chart lookup Octostage's own Secret is refused by the API server, and the key shows up nowhere", async () => {
    await open("web", 60);
    await waitFor("running", async () => (await find("web", 60))?.status === "running");
    const ns = (await find("web", 60))!.namespace;
    expect(sys.kube.denials).toEqual([]);

    await comment(60, "/octo override lookup.namespace=octostage lookup.name=octostage-secrets");
    await waitFor("saved", () => replies().find((c) => c.body.includes('`lookup.namespace="octostage", lookup.name="octostage-secrets"` saved')));
    await waitFor("failed", async () => (await find("web", 60))?.status === "failed");

    expect(sys.kube.denials).toEqual([
      expect.objectContaining({ user: `system:serviceaccount:${ns}:${deployerName}`, verb: "get", resource: "secrets", namespace: "octostage", name: "octostage-secrets" }),
    ]);
    const staging = (await find("web", 60))!;
    expect(staging.reason).toContain("failed (forbidden)");
    await waitFor("failure on the check run", () => sys.github.checkRuns.find((c) => c.head_sha === sha("a") && c.conclusion === "failure" && c.output?.summary?.includes("forbidden")));
    expect(sys.kube.list("ConfigMap", ns)).toEqual([]);
    const keyLine = plantedPrivateKey.split("\n")[1]!;
    expect(JSON.stringify(sys.github.requests.map((r) => r.body))).not.toContain(keyLine);
    expect(logs.join("")).not.toContain(keyLine);
  });

  it("a privileged container is refused by the namespace's Pod Security level, and the staging fails saying so", async () => {
    await open("ops", 61);
    await waitFor("failed", async () => (await find("ops", 61))?.status === "failed");
    const staging = (await find("ops", 61))!;
    expect(sys.kube.get("Namespace", undefined, staging.namespace).metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "baseline" });
    expect(sys.kube.podSecurityDenials).toContainEqual(expect.objectContaining({ namespace: staging.namespace, level: "baseline:latest" }));
    expect(staging.reason).toContain("pods cannot be created");
    expect(staging.reason).toContain('violates PodSecurity "baseline:latest": privileged');
  });

  it("no request of the worker or of helm was refused besides the lookup", () => {
    expect(sys.kube.denials).toHaveLength(1);
  });
});
