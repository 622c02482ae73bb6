// End to end through the real entry points: signed webhook in over HTTP, intent in Postgres,
// job through Redis (BullMQ), helm (double) run, health observed by informers on the
// Kubernetes API double, reports out to the GitHub API double (checked against GitHub's OpenAPI).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverWebhook, pullRequestPayload } from "../support/webhooks.ts";
import { installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";

const sha1 = "1111111111111111111111111111111111111111";
const sha2 = "2222222222222222222222222222222222222222";
const pr = { owner: "octo-org", repo: "web", number: 7, installationId };
const name = "web-pr-7";
const namespace = "octostage-web-pr-7";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem();
});
afterAll(async () => {
  await sys?.stop();
});

async function staging() {
  return sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 7 });
}

function upgradeCalls() {
  return sys.helm.calls().filter((c) => c.argv[0] === "upgrade");
}

describe("a pull request's staging, opened → synchronize → closed", () => {
  let openedDelivery = "";

  it("opened: answers fast, deploys with helm, becomes running and reports on GitHub", async () => {
    const res = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { ...pr, sha: sha1 }), webhookSecret);
    openedDelivery = res.id;
    expect(res.status).toBe(200);

    const running = await waitFor("staging running", async () => ((await staging())?.status === "running" ? staging() : null));
    expect(running).toMatchObject({ name, namespace, headSha: sha1, generation: 1, observedGeneration: 1, url: `https://${name}.staging.example.com` });

    const calls = upgradeCalls();
    expect(calls).toHaveLength(1);
    const argv = calls[0]!.argv;
    expect(argv.slice(0, 8)).toEqual(["upgrade", "--install", name, "web", "--namespace", namespace, "--values", expect.any(String)]);
    expect(argv).toEqual(expect.arrayContaining(["--version", "1.2.3", "--repo", "https://charts.example.com", "--timeout", "600s"]));
    expect(argv.join(" ")).not.toContain("--set");
    expect(calls[0]!.values[0]).toMatchObject({ replicaCount: 2, image: { repository: "ghcr.io/octo-org/web", tag: sha1 }, ingress: { enabled: true, hostname: `${name}.staging.example.com` } });
    expect(sys.kube.get("Deployment", namespace, `${name}-web`)).toBeDefined();

    // GitHub: check run on the head SHA, one sticky comment, a transient deployment with its URL.
    await waitFor("check run success", () => sys.github.checkRuns.find((c) => c.head_sha === sha1 && c.conclusion === "success"));
    const check = sys.github.checkRuns.find((c) => c.head_sha === sha1)!;
    expect(check).toMatchObject({ name: "Octostage", status: "completed", details_url: `https://${name}.staging.example.com` });
    expect(check.output.title).toContain(`https://${name}.staging.example.com`);
    await waitFor("comment says running", () => sys.github.comments.find((c) => c.body.includes("Running")));
    expect(sys.github.comments).toHaveLength(1);
    expect(sys.github.comments[0].body).toContain("<!-- octostage:status -->");
    expect(sys.github.comments[0].body).toContain(`https://${name}.staging.example.com`);
    await waitFor("deployment success", () => sys.github.deploymentStatuses.find((s) => s.state === "success"));
    expect(sys.github.deployments).toHaveLength(1);
    expect(sys.github.deployments[0]).toMatchObject({ environment: name, transient_environment: true, production_environment: false, sha: sha1 });
    const success = sys.github.deploymentStatuses.find((s) => s.state === "success");
    expect(success.environment_url).toBe(`https://${name}.staging.example.com`);
    const posted = sys.github.requests.filter((r) => r.method === "POST" && r.path.endsWith("/statuses")).map((r) => r.body.state);
    expect(posted).toContain("in_progress");
    expect(sys.github.violations).toEqual([]);
  });

  it("a redelivered webhook (same delivery id) changes nothing", async () => {
    const before = await staging();
    const res = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { ...pr, sha: sha1 }), webhookSecret, openedDelivery);
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    const after = await staging();
    expect(after!.generation).toBe(before!.generation);
    expect(upgradeCalls()).toHaveLength(1);
    expect(await sys.db.store.listActions(after!.id)).toHaveLength(1);
  });

  it("synchronize: updates to the new SHA, edits the comment in place, new check run on the new SHA", async () => {
    const res = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("synchronize", { ...pr, sha: sha2 }), webhookSecret);
    expect(res.status).toBe(200);
    await waitFor("running at sha2", async () => {
      const s = await staging();
      return s?.status === "running" && s.observedGeneration === 2 && s.headSha === sha2;
    });
    const calls = upgradeCalls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.values[0]).toMatchObject({ image: { tag: sha2 } });
    await waitFor("check run on sha2", () => sys.github.checkRuns.find((c) => c.head_sha === sha2 && c.conclusion === "success"));
    expect(sys.github.checkRuns.filter((c) => c.head_sha === sha1)).toHaveLength(1);
    await waitFor("comment shows sha2", () => sys.github.comments[0]?.body.includes(sha2.slice(0, 7)));
    expect(sys.github.comments).toHaveLength(1);
    await waitFor("deployment for sha2", () => sys.github.deployments.find((d) => d.sha === sha2));
    expect(sys.github.violations).toEqual([]);
  });

  it("closed: archives (scaled to zero, volumes kept) and marks the deployment inactive", async () => {
    const res = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("closed", { ...pr, sha: sha2 }), webhookSecret);
    expect(res.status).toBe(200);
    const archived = await waitFor("archived", async () => ((await staging())?.status === "archived" ? staging() : null));
    expect(archived.archivedReplicas).toEqual({ [`Deployment/${name}-web`]: 2 });
    expect(sys.kube.get("Deployment", namespace, `${name}-web`).spec.replicas).toBe(0);
    expect(sys.kube.get("Namespace", undefined, namespace)).toBeDefined();
    expect(upgradeCalls()).toHaveLength(2);
    await waitFor("deployment inactive", () => sys.github.deploymentStatuses.find((s) => s.state === "inactive"));
    await waitFor("comment says archived", () => sys.github.comments[0]?.body.includes("Archived"));
    expect(sys.github.comments).toHaveLength(1);
    const actions = await sys.db.store.listActions(archived.id);
    expect(actions.map((a) => [a.kind, a.state])).toEqual([
      ["deploy", "succeeded"],
      ["update", "succeeded"],
      ["archive", "succeeded"],
    ]);
    expect(sys.github.violations).toEqual([]);
  });

  it("rejects a webhook with a bad signature (401) and records nothing", async () => {
    const res = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { ...pr, number: 99, sha: sha1 }), "wrong-secret");
    expect(res.status).toBe(401);
    expect(await sys.db.store.find({ repoOwner: "octo-org", repoName: "web", prNumber: 99 })).toBeNull();
  });
});
