// Lifecycle policies end to end, with the clock moved instead of waited on: the running limit
// (both ways), close and merge policies, cost figures from known requests, keep (comment, API,
// label), the idle archive, the notice a day before, retention cleanup after 14 days (namespace
// and volumes gone) and a cleanup that fails and is retried. Real entry points: signed webhooks,
// the HTTP API, BullMQ's lifecycle job scheduler (every second here), helm and Kubernetes doubles.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore } from "../../src/adapters/db/token-store.ts";
import { createToken, operatorCaller } from "../../src/app/tokens.ts";
import { defaultTiming } from "../../src/app/timing.ts";
import { systemClock } from "../../src/ports/clock.ts";
import { checkedApi } from "../support/api-client.ts";
import type { CheckedApi } from "../support/api-client.ts";
import { days, hours, movableClock } from "../support/clock.ts";
import { realisticPod } from "../support/realistic-pod.ts";
import { e2eRepository, installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";
import { deliverWebhook, issueCommentPayload, pullRequestPayload } from "../support/webhooks.ts";

const clock = movableClock();
const t0 = clock.now().getTime();
/** Moves the clock to `ms` after the start of the test (never back). */
function at(ms: number): void {
  const now = clock.now().getTime();
  if (t0 + ms > now) clock.advance(t0 + ms - now);
}

const repos = [
  { ...e2eRepository, lifecycle: { onMerge: "cleanup" } },
  { ...e2eRepository, repo: "octo-org/api", name: "api", lifecycle: { idleDays: 7, retentionDays: null, maxRunning: 2 } },
  { ...e2eRepository, repo: "octo-org/docs", name: "docs", lifecycle: { maxRunning: 1, onLimit: "refuse", retentionDays: null } },
];
const prices = { currency: "USD", cpuHour: 0.04, memoryGiBHour: 0.005, storageGiBMonth: 0.1 };

let sys: TestSystem;
let api: CheckedApi;
beforeAll(async () => {
  // A failed cleanup is retried after half a second of real time (BullMQ's delay), whatever the test clock says.
  sys = await startTestSystem(repos, { OCTOSTAGE_LIFECYCLE_SECONDS: "1" }, { clock, project: { cost: prices }, timing: { ...defaultTiming, cleanupRetryBaseMs: 500 } });
  for (const repo of ["web", "api", "docs"]) sys.github.setPermission("octo-org", repo, "dev", "write");
  const token = await createToken({ tokens: createTokenStore(sys.db.db), clock: systemClock }, operatorCaller, { name: "ops", role: "operate" });
  if (!token.ok) throw new Error(token.message);
  api = await checkedApi(sys.app.url!, token.value.token);
});
afterAll(async () => {
  expect(api?.violations ?? []).toEqual([]);
  await sys?.stop();
});

const sha = (n: number) => n.toString(16).padStart(40, "a");
const find = (repo: string, number: number) => sys.db.store.find({ repoOwner: "octo-org", repoName: repo, prNumber: number });

async function pr(repo: string, number: number, action: "opened" | "closed" | "synchronize", extra: Record<string, unknown> = {}) {
  const res = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload(action, { owner: "octo-org", repo, number, installationId, sha: sha(number), ...extra }), webhookSecret);
  expect(res.status).toBe(200);
}

async function state(repo: string, number: number, status: string) {
  return waitFor(`${repo}#${number} ${status}`, async () => {
    const s = await find(repo, number);
    return s?.status === status ? s : null;
  });
}

async function comment(repo: string, number: number, body: string) {
  const human = new Octokit({ auth: "a-person", baseUrl: sys.github.apiUrl });
  const { data } = await human.rest.issues.createComment({ owner: "octo-org", repo, issue_number: number, body });
  const res = await deliverWebhook(sys.webhookUrl, "issue_comment", issueCommentPayload({ owner: "octo-org", repo, installationId, number, body, login: "dev", commentId: data.id }), webhookSecret);
  expect(res.status).toBe(200);
  return waitFor(`reply to ${body}`, () => sys.github.comments.find((c) => c.user?.type === "Bot" && c.issue_url.endsWith(`/repos/octo-org/${repo}/issues/${number}`) && c.body.includes(`octostage:reply:`) && c.id > data.id));
}

function statusComment(repo: string, number: number) {
  return sys.github.comments.find((c) => c.issue_url.endsWith(`/repos/octo-org/${repo}/issues/${number}`) && c.body.includes("<!-- octostage:status -->"));
}

async function actions(repo: string, number: number) {
  const s = await find(repo, number);
  return sys.db.store.listActions(s!.id);
}

describe("lifecycle policies", () => {
  it("running limit, archive-oldest: a third PR in a repository limited to 2 archives the least recently active one", async () => {
    await pr("api", 1, "opened");
    await state("api", 1, "running");
    await pr("api", 2, "opened");
    await state("api", 2, "running");
    await pr("api", 3, "opened");
    await state("api", 3, "running");
    const first = await state("api", 1, "archived");
    expect(first.desiredState).toBe("archived");
    const archive = (await actions("api", 1)).find((a) => a.kind === "archive")!;
    expect(archive).toMatchObject({ source: "system", actor: "octostage", actorName: "running limit", detail: expect.objectContaining({ policy: "maxRunning", limit: 2, for: "api-pr-3" }) });
    expect((await find("api", 2))!.desiredState).toBe("active");
  });

  it("running limit, refuse: the PR is not deployed, its comment names the limit and the candidates, /octo deploy is refused", async () => {
    await pr("docs", 1, "opened");
    await state("docs", 1, "running");
    await pr("docs", 2, "opened");
    const held = await waitFor("docs#2 held", async () => ((await find("docs", 2))?.desiredState === "held" ? find("docs", 2) : null));
    expect(held.skipReason).toContain("octo-org/docs may run at most 1 stagings at once (policy maxRunning)");
    expect(held.skipReason).toContain("docs-pr-1");
    expect(sys.helm.calls().filter((c) => c.argv[0] === "upgrade" && c.argv[2] === "docs-pr-2")).toHaveLength(0);
    await waitFor("comment names the limit", () => statusComment("docs", 2)?.body.includes("maxRunning"));
    const reply = await comment("docs", 2, "/octo deploy");
    expect(reply.body).toContain("may run at most 1 stagings at once");
    expect((await find("docs", 2))!.desiredState).toBe("held");
  });

  it("close and merge policies: closed archives (onClose: archive), merged cleans up (onMerge: cleanup)", async () => {
    await pr("web", 2, "opened");
    await pr("web", 3, "opened");
    await state("web", 2, "running");
    await state("web", 3, "running");
    await pr("web", 2, "closed", { merged: true });
    await pr("web", 3, "closed");
    await state("web", 2, "deleted");
    await state("web", 3, "archived");
    expect(sys.kube.get("Namespace", undefined, "octostage-web-pr-2")).toBeUndefined();
    expect(sys.kube.get("Namespace", undefined, "octostage-web-pr-3")).toBeDefined();
    expect((await actions("web", 2)).find((a) => a.kind === "cleanup")!.detail).toMatchObject({ event: "closed", policy: "onMerge" });
    expect((await actions("web", 3)).find((a) => a.kind === "archive")!.detail).toMatchObject({ event: "closed", policy: "onClose" });
  });

  it("cost: estimated from the pods' requests and the volumes' sizes at the configured prices, in the API and the PR comment", async () => {
    await pr("web", 1, "opened");
    await state("web", 1, "running");
    const ns = "octostage-web-pr-1";
    // Two pods requesting 100m CPU and 256Mi each, one 10Gi volume.
    sys.kube.put(realisticPod(ns, "web-pr-1-web-7f9c5d8b6-aaaaa"));
    sys.kube.put(realisticPod(ns, "web-pr-1-web-7f9c5d8b6-bbbbb"));
    sys.kube.put({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data-web-pr-1-db-0", namespace: ns }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } }, status: { phase: "Bound", capacity: { storage: "10Gi" } } });
    expect((await api.request("POST", "/api/v1/stagings/web-pr-1/redeploy")).status).toBe(202);
    await waitFor("usage observed", async () => {
      const u = (await find("web", 1))?.usage;
      return u && u.current.storageGiB === 10 && Math.abs(u.current.cpuCores - 0.2) < 1e-9 ? u : null;
    });
    // Per day: 0.2 cores × 0.04 × 24 + 0.5 GiB × 0.005 × 24 + 10 GiB × 0.10 / 730 × 24.
    const perDay = 0.2 * 0.04 * 24 + 0.5 * 0.005 * 24 + (10 * 0.1 * 24) / 730;
    const got = await api.request("GET", "/api/v1/stagings/web-pr-1");
    expect(got.body.cost).toMatchObject({ estimate: true, currency: "USD" });
    expect(got.body.cost.perDay).toBeCloseTo(perDay, 4);
    at(days(1));
    const later = await api.request("GET", "/api/v1/stagings/web-pr-1");
    expect(later.body.cost.toDate).toBeCloseTo(perDay, 2);
    await waitFor("comment shows the estimate", () => statusComment("web", 1)?.body.includes("Estimated cost: ≈ $0.28 per day"));
    // Archived: CPU and memory stop and count as saved, the volume still costs.
    await pr("web", 1, "closed");
    await state("web", 1, "archived");
    at(days(2));
    const archived = await api.request("GET", "/api/v1/stagings/web-pr-1");
    expect(archived.body.cost.perDay).toBeCloseTo((10 * 0.1 * 24) / 730, 4);
    expect(archived.body.cost.savedToDate).toBeCloseTo(0.2 * 0.04 * 24 + 0.5 * 0.005 * 24, 2);
    // Per repository: the total per day and to date, and what archiving saved.
    const project = await api.request("GET", "/api/v1/projects/web/cost");
    expect(project.status).toBe(200);
    expect(project.body).toMatchObject({ project: "web", repo: "octo-org/web", cost: { estimate: true, currency: "USD" } });
    expect(project.body.cost.savedToDate).toBeCloseTo(archived.body.cost.savedToDate, 4);
    expect(project.body.cost.toDate).toBeGreaterThanOrEqual(archived.body.cost.toDate);
    expect(project.body.cost.savedPerDay).toBeCloseTo(0.2 * 0.04 * 24 + 0.5 * 0.005 * 24, 4);
    expect((await api.request("GET", "/api/v1/projects/nope/cost")).status).toBe(404);
  });

  it("keep: until a date (PR comment), until `keep off` (API), and by the PR's label", async () => {
    for (const n of [4, 5]) await pr("web", n, "opened");
    await pr("web", 6, "opened", { labels: ["octostage/keep"] });
    for (const n of [4, 5, 6]) await state("web", n, "running");
    for (const n of [4, 5]) await pr("web", n, "closed");
    await pr("web", 6, "closed", { labels: ["octostage/keep"] });
    for (const n of [4, 5, 6]) await state("web", n, "archived");
    const until = new Date(t0 + days(19)).toISOString().slice(0, 10);
    const reply = await comment("web", 4, `/octo keep until ${until}`);
    expect(reply.body).toContain("Keeping `web-pr-4` from idle archive and retention cleanup until");
    const status = await comment("web", 4, "/octo status");
    expect(status.body).toContain("📌 Kept from idle archive and retention cleanup until");
    expect(status.body).toMatch(/💰 Estimated cost: .* per day, .* to date \(estimate\)/);
    const kept = await api.request("POST", "/api/v1/stagings/web-pr-5/keep", { body: { keep: "" } });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ result: "kept", staging: { kept: { by: "keep", until: null } } });
    expect((await api.request("GET", "/api/v1/stagings/web-pr-6")).body.kept).toMatchObject({ by: "label", label: "octostage/keep" });
    const bad = await api.request("POST", "/api/v1/stagings/web-pr-5/keep", { body: { keep: "forever and ever" } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.message).toContain("keep takes nothing");
    expect((await actions("web", 4)).find((a) => a.kind === "keep")).toMatchObject({ actor: "dev", source: "github" });
  });

  it("idle: a day before, the PR comment says the staging will be archived and how to keep it; a push puts it off; then it is archived", async () => {
    at(days(6) + hours(2));
    await waitFor("idle notice on api#2", async () => (await find("api", 2))?.notice?.policy === "idle");
    await waitFor("comment warns", () => statusComment("api", 2)?.body.includes("will be **archived**"));
    expect(statusComment("api", 2).body).toContain("`/octo keep 7d`");
    expect(statusComment("api", 2).body).toContain("octostage/keep");
    await pr("api", 3, "synchronize", { sha: "c".repeat(40) });
    await waitFor("api#3 notice taken back", async () => (await find("api", 3))?.notice === null && (await find("api", 3))?.headSha === "c".repeat(40));
    at(days(7) + hours(3));
    await state("api", 2, "archived");
    const archive = (await actions("api", 2)).find((a) => a.kind === "archive")!;
    expect(archive).toMatchObject({ source: "system", actor: "octostage", actorName: "idle policy", detail: expect.objectContaining({ policy: "idle" }) });
    expect((await find("api", 3))!.desiredState).toBe("active");
  });

  it("retention: the notice a day before, cleanup after 14 days (namespace and volumes gone); a cleanup that fails is retried", async () => {
    // web#3 was archived at the start: its namespace is held by a finalizer, so its cleanup fails first.
    sys.kube.holdFinalizer("Namespace", undefined, "octostage-web-pr-3", "example.com/held");
    at(days(13) + hours(2));
    await waitFor("retention notice on web#3", async () => (await find("web", 3))?.notice?.policy === "retention");
    await waitFor("comment warns of the cleanup", () => statusComment("web", 3)?.body.includes("will be **cleaned up**"));
    expect(statusComment("web", 3).body).toContain("archived stagings are cleaned up 14 days after they were archived");
    expect((await find("web", 4))!.notice).toBeNull();
    at(days(14) + hours(3));
    await waitFor("cleanup waits for the namespace", async () => (await find("web", 3))?.reason?.includes("example.com/held"));
    clock.advance(hours(1)); // past the time a cleanup waits for its namespace: it fails, and is tried again later
    const failed = await waitFor("cleanup failed, to be retried", async () => {
      const s = await find("web", 3);
      return s?.reason?.startsWith("retrying after: namespace octostage-web-pr-3 is still terminating") ? s : null;
    });
    expect(failed.reason).toContain("example.com/held");
    expect(failed.retryAt).not.toBeNull();
    const cleanup = (await actions("web", 3)).find((a) => a.kind === "cleanup")!;
    expect(cleanup).toMatchObject({ source: "system", actorName: "retention policy", detail: expect.objectContaining({ policy: "retention" }) });
    sys.kube.releaseFinalizer("Namespace", undefined, "octostage-web-pr-3", "example.com/held");
    at(days(14) + hours(6));
    await state("web", 3, "deleted");
    expect(sys.kube.get("Namespace", undefined, "octostage-web-pr-3")).toBeUndefined();

    // web#1 was archived a day later: its notice comes now, then its namespace and volume go.
    at(days(15) + hours(4));
    await state("web", 1, "deleted");
    expect(sys.kube.get("Namespace", undefined, "octostage-web-pr-1")).toBeUndefined();
    expect(sys.kube.list("PersistentVolumeClaim", "octostage-web-pr-1")).toEqual([]);
    for (const n of [4, 5, 6]) expect((await find("web", n))!.desiredState).toBe("archived");
  });

  it("keep ends: a dated keep is cleaned up after its day; `keep off` gives a full day's notice first; the label keeps", async () => {
    const keepEnd = (await find("web", 4))!.keepUntil!.getTime();
    at(keepEnd - t0 + hours(1));
    await waitFor("notice on web#4", async () => (await find("web", 4))?.notice?.policy === "retention");
    at(keepEnd - t0 + hours(26));
    await state("web", 4, "deleted");
    const off = await api.request("POST", "/api/v1/stagings/web-pr-5/keep", { body: { keep: "off" } });
    expect(off.body.result).toBe("unkept");
    const notice = await waitFor("notice on web#5", async () => (await find("web", 5))?.notice);
    expect(notice.at.getTime() - clock.now().getTime()).toBeGreaterThan(hours(23));
    expect((await find("web", 5))!.desiredState).toBe("archived");
    at(keepEnd - t0 + hours(52));
    await state("web", 5, "deleted");
    expect((await find("web", 6))!.desiredState).toBe("archived");
  });
});
