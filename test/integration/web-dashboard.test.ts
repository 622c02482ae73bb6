// The web dashboard's use cases (app/web/dashboard.ts) on real Postgres, the GitHub double and the
// helm double's chart: a person's role on each repository is GitHub's collaborator permission
// (read/triage see, write/maintain operate, admin deletes); a staging in a repository they may not
// read is answered as one that does not exist; every change asks GitHub again (a permission just
// removed counts at once) while views use the answer cached for the TTL; refusals name the access
// GitHub must grant; every change is recorded with the signed-in login, from the web.
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitHubCodeHost } from "../../src/adapters/github/code-host.ts";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { createHelmCli } from "../../src/adapters/helm/helm-cli.ts";
import { createAjvChecker } from "../../src/adapters/json-schema/ajv.ts";
import { createChartCatalog } from "../../src/app/charts.ts";
import * as core from "../../src/app/stagings/service.ts";
import type { CoreDeps } from "../../src/app/stagings/service.ts";
import { act, actionLog, checkOverride, creatableRepos, createFromForm, createRepoRoles, keysOf, listForPerson, listMark, overview, stagingPage, updateFromForm } from "../../src/app/web/dashboard.ts";
import type { WebDeps, WebPerson } from "../../src/app/web/dashboard.ts";
import { parseProjectConfig } from "../../src/config/project.ts";
import type { Caller } from "../../src/domain/roles.ts";
import type { StagingStatus } from "../../src/domain/state-machine.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import type { StagingRecord, StagingStore } from "../../src/ports/store.ts";
import { pushed, sha } from "../support/builders.ts";
import { days, movableClock } from "../support/clock.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../support/github-double.ts";
import type { GitHubDouble } from "../support/github-double.ts";
import { createHelmDouble } from "../support/helm-double.ts";
import type { HelmDouble } from "../support/helm-double.ts";
import { recordingQueue } from "../support/worker-deps.ts";

const ttlMs = 60_000;
const mainSha = "c".repeat(40);

let db: TestDb;
let github: GitHubDouble;
let helm: HelmDouble;
let store: StagingStore;
let base: CoreDeps;
let deps: WebDeps;
const clock = movableClock();
const queue = recordingQueue();

const repo = (name: string, over: Record<string, unknown> = {}) => ({
  repo: `octo-org/${name}`,
  name,
  chart: { repository: "https://charts.example.com", name: "web", version: "1.2.3" },
  values: { replicaCount: 1, smtp: { relay: "relay.internal" } },
  hostTemplate: "{name}.staging.example.com",
  ...over,
});
const project = parseProjectConfig({
  repositories: [repo("web", { secretKeys: ["smtp.relay"], lifecycle: { idleDays: 30 } }), repo("billing")],
  cost: { currency: "EUR", cpuHour: 0.03, memoryGiBHour: 0.004, storageGiBMonth: 0.1 },
});

const person = (login: string): WebPerson => ({ login, name: `${login[0]!.toUpperCase()}${login.slice(1)} Example` });
// GitHub permissions (web / billing); the double answers "read" for a login it was not told about.
const rita = person("rita"); // read / none
const tess = person("tess"); // triage / none
const wendy = person("wendy"); // write / read
const max = person("max"); // maintain / none
const ada = person("ada"); // admin / admin
const mallory = person("mallory"); // none / none

// An API token whose display name differs from its id: the list shows who created a staging by name.
const seedCaller: Caller = { actor: { source: "api", id: "seed-token", name: "Seed Token" }, role: "admin" };

/** Collaborator-permission requests GitHub got for `login` (on any repository). */
const permissionAsks = (login: string) => github.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/collaborators/${login}/permission`)).length;

async function seed(name: string, repoName: string, input: { tag?: string; ref?: string } = { tag: "1.0.0" }): Promise<StagingRecord> {
  const out = await core.createStaging(base, seedCaller, { name, repo: `octo-org/${repoName}`, ...input });
  if (!out.ok) throw new Error(`seeding ${name}: ${out.message}`);
  return out.value;
}

async function moveTo(s: StagingRecord, ...statuses: StagingStatus[]): Promise<void> {
  for (const to of statuses) {
    const out = await store.transition(s.id, { to, reason: null, cause: "test", actor: "test" });
    if (!out.applied) throw new Error(`${s.name} → ${to}: ${out.refused ?? "stale"}`);
  }
}

async function seedArchived(name: string): Promise<void> {
  const s = await seed(name, "web");
  const out = await core.archiveByName(base, seedCaller, name);
  if (!out.ok) throw new Error(out.message);
  await moveTo(s, "archived");
}

const names = (rows: readonly { staging: StagingRecord }[]) => rows.map((r) => r.staging.name);
const found = async (name: string) => (await store.findByName(name))!;

beforeAll(async () => {
  [db, github] = await Promise.all([createTestDb(), startGitHubDouble()]);
  helm = createHelmDouble();
  store = db.storeWith({ clock });
  for (const name of ["web", "billing"]) {
    github.installOn("octo-org", name, 77);
    github.setBranch("octo-org", name, "main", mainSha);
  }
  const perms: [string, string, string][] = [
    ["rita", "read", "none"],
    ["tess", "triage", "none"],
    ["wendy", "write", "read"],
    ["max", "maintain", "none"],
    ["ada", "admin", "admin"],
    ["mallory", "none", "none"],
  ];
  for (const [login, web, billing] of perms) {
    github.setPermission("octo-org", "web", login, web as "read");
    github.setPermission("octo-org", "billing", login, billing as "read");
  }
  const probot = new Probot({ appId: 1, privateKey: generateTestPrivateKey(), baseUrl: github.apiUrl, Octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }), log: pino({ level: "silent" }) });
  base = {
    store,
    queue,
    logger: silentLogger,
    clock,
    codeHost: createGitHubCodeHost({ getOctokit: (id) => (id === undefined ? probot.auth() : probot.auth(id)), logger: silentLogger }),
    project,
    charts: createChartCatalog({ helm: createHelmCli({ helmBin: helm.bin, env: helm.env, logger: silentLogger }), checker: createAjvChecker(), clock }),
  };
  deps = { ...base, roles: createRepoRoles(base, ttlMs) };

  // web: one running, one failed, a PR's staging pending, two archived (a day apart); billing: one running.
  await moveTo(await seed("web-alpha", "web"), "deploying", "running");
  const beta = await seed("web-beta", "web", { ref: "main" });
  await db.db.action.updateMany({ where: { stagingId: beta.id }, data: { actorName: null } });
  await moveTo(beta, "failed");
  await pushed(store, 7, sha(7), { project: parseProjectConfig({ repositories: [repo("web")] }) });
  await seedArchived("web-old2");
  clock.advance(days(1));
  await seedArchived("web-old");
  await moveTo(await seed("bill-main", "billing"), "deploying", "running");
});

afterAll(async () => {
  helm?.cleanup();
  await Promise.all([db?.drop(), github?.close()]);
});

describe("what a person sees", () => {
  it("lists the stagings of the repositories GitHub lets them read, newest status change first, with their role and creator", async () => {
    const mine = await listForPerson(deps, rita, {});
    if (!mine.ok) throw new Error(mine.message);
    expect(mine.value.repos).toEqual([{ repo: "octo-org/web", role: "read" }]);
    expect(mine.value.unchecked).toEqual([]);
    expect(mine.value.truncated).toEqual([]);
    expect(names(mine.value.rows)).toEqual(["web-pr-7", "web-beta", "web-alpha"]);
    expect(mine.value.rows.every((r) => r.role === "read")).toBe(true);
    expect(mine.value.rows.find((r) => r.staging.name === "web-pr-7")?.createdBy).toBe("dev");
    expect(mine.value.rows.find((r) => r.staging.name === "web-alpha")?.createdBy).toBe("Seed Token");
    // A creator recorded without a display name is shown by id.
    expect(mine.value.rows.find((r) => r.staging.name === "web-beta")?.createdBy).toBe("seed-token");
    // web archives stagings idle for 30 days: that is what comes next for a running one.
    expect(mine.value.rows.find((r) => r.staging.name === "web-alpha")?.life.next).toMatchObject({ action: "archive", policy: "idle" });

    const triage = await listForPerson(deps, tess, {});
    expect(triage.ok && triage.value.repos).toEqual([{ repo: "octo-org/web", role: "read" }]);
    const writer = await listForPerson(deps, wendy, {});
    expect(writer.ok && writer.value.repos).toEqual([
      { repo: "octo-org/web", role: "operate" },
      { repo: "octo-org/billing", role: "read" },
    ]);
    const maintainer = await listForPerson(deps, max, {});
    expect(maintainer.ok && maintainer.value.repos).toEqual([{ repo: "octo-org/web", role: "operate" }]);
    const all = await listForPerson(deps, ada, {});
    if (!all.ok) throw new Error(all.message);
    expect(all.value.repos).toEqual([
      { repo: "octo-org/web", role: "admin" },
      { repo: "octo-org/billing", role: "admin" },
    ]);
    expect(names(all.value.rows).sort()).toEqual(["bill-main", "web-alpha", "web-beta", "web-pr-7"]);
    expect(all.value.rows.find((r) => r.staging.name === "bill-main")?.role).toBe("admin");
    expect(await listForPerson(deps, mallory, {})).toEqual({ ok: true, value: { rows: [], repos: [], unchecked: [], truncated: [] } });
  });

  it("filters by repository, status and a part of the name; archived stagings only when asked for", async () => {
    const list = async (who: WebPerson, filter: Parameters<typeof listForPerson>[2]) => {
      const out = await listForPerson(deps, who, filter);
      if (!out.ok) throw new Error(out.message);
      return names(out.value.rows);
    };
    expect(await list(ada, { repo: "Octo-Org/Billing" })).toEqual(["bill-main"]);
    expect(await list(ada, { repo: "octo-org/web" })).toEqual(["web-pr-7", "web-beta", "web-alpha"]);
    // A repository the person may not read shows nothing, rather than its stagings.
    expect(await list(rita, { repo: "octo-org/billing" })).toEqual([]);
    expect(await list(ada, { status: "running" })).toEqual(["bill-main", "web-alpha"]);
    expect(await list(rita, { status: "failed" })).toEqual(["web-beta"]);
    expect(await list(rita, { q: "  BETA " })).toEqual(["web-beta"]);
    expect(await list(rita, { q: "pr-" })).toEqual(["web-pr-7"]);
    expect(await list(rita, { q: "old" })).toEqual([]);
    expect(await list(rita, { q: "old", archived: true })).toEqual(["web-old", "web-old2"]);
    expect(await list(rita, { archived: true })).toEqual(["web-old", "web-old2", "web-pr-7", "web-beta", "web-alpha"]);
    expect(await list(rita, { status: "archived" })).toEqual(["web-old", "web-old2"]);
    expect(await list(rita, { status: "archived", archived: false })).toEqual(["web-old", "web-old2"]);
  });

  it("when GitHub cannot answer for one repository, the other is still listed and the unchecked one named; a failure is not remembered", async () => {
    const uma = person("uma"); // unknown to the double: read on both
    github.failNext("GET", /^\/repos\/octo-org\/billing\/collaborators\/uma\/permission$/, 403);
    const out = await listForPerson(deps, uma, {});
    if (!out.ok) throw new Error(out.message);
    expect(out.value.repos).toEqual([{ repo: "octo-org/web", role: "read" }]);
    expect(out.value.unchecked).toEqual(["octo-org/billing"]);
    expect(names(out.value.rows)).toEqual(["web-pr-7", "web-beta", "web-alpha"]);
    const again = await listForPerson(deps, uma, {});
    expect(again.ok && again.value.unchecked).toEqual([]);
    expect(again.ok && names(again.value.rows)).toContain("bill-main");
  });

  it("a repository GitHub could not be asked about is logged for the operators", async () => {
    const warned: [object, string][] = [];
    const logger = { ...silentLogger, warn: (meta: object, msg: string) => void warned.push([meta, msg]) };
    const roles = createRepoRoles({ ...base, logger }, ttlMs);
    github.failNext("GET", /^\/repos\/octo-org\/billing\/collaborators\/uli\/permission$/, 403);
    expect((await roles.readable("uli")).unchecked).toEqual(["octo-org/billing"]);
    expect(warned).toEqual([[{ repo: "octo-org/billing", login: "uli", err: expect.stringMatching(/.+/) }, "could not ask GitHub for a dashboard user's permission"]]);
  });

  it("a staging in a repository the person may not read is answered exactly like a missing one", async () => {
    const missing = await stagingPage(deps, rita, "no-such");
    expect(missing).toEqual({ ok: false, code: "not_found", message: 'no staging named "no-such"' });
    expect(await stagingPage(deps, rita, "bill-main")).toEqual({ ok: false, code: "not_found", message: 'no staging named "bill-main"' });
    expect(await stagingPage(deps, mallory, "web-alpha")).toEqual({ ok: false, code: "not_found", message: 'no staging named "web-alpha"' });
    expect(await act(deps, rita, "bill-main", "archive")).toEqual({ ok: false, code: "not_found", message: 'no staging named "bill-main"' });
    expect(await updateFromForm(deps, mallory, "web-alpha", { changes: [] })).toEqual({ ok: false, code: "not_found", message: 'no staging named "web-alpha"' });
    // A name too long to be a staging's is not echoed whole.
    const long = "x".repeat(100);
    expect(await stagingPage(deps, rita, long)).toEqual({ ok: false, code: "not_found", message: `no staging named "${"x".repeat(63)}"` });
    expect((await found("bill-main")).desiredState).toBe("active");
  });

  it("a staging's page: its row with the person's role, the audit log, the status history, the repository's secret keys", async () => {
    const page = await stagingPage(deps, rita, "web-alpha");
    if (!page.ok) throw new Error(page.message);
    expect(page.value.row).toMatchObject({ role: "read", createdBy: "Seed Token", staging: { name: "web-alpha", status: "running" } });
    expect(page.value.details.staging.name).toBe("web-alpha");
    expect(page.value.actions.map((a) => [a.kind, a.actor, a.source])).toEqual([["deploy", "seed-token", "api"]]);
    expect(page.value.transitions.map((t) => t.to)).toEqual(["deploying", "running"]);
    expect(page.value.secretKeys).toEqual(["smtp.relay"]);
    expect(page.value.issues).toEqual([]);
    // Jira issues linked to it, each once whatever linked it (the branch and the title here).
    await store.setIssueLinks(page.value.row.staging.id, ["branch", "title"], [
      { issueKey: "WEB-12", source: "branch" },
      { issueKey: "WEB-12", source: "title" },
      { issueKey: "WEB-7", source: "title" },
    ], false);
    const linked = await stagingPage(deps, rita, "web-alpha");
    expect(linked.ok && [...linked.value.issues].sort()).toEqual(["WEB-12", "WEB-7"]);
    const billing = await stagingPage(deps, ada, "bill-main");
    expect(billing.ok && billing.value.row.role).toBe("admin");
    expect(billing.ok && billing.value.secretKeys).toEqual([]);
  });

  it("a page GitHub cannot be asked about says so, instead of pretending the staging does not exist", async () => {
    github.failNext("GET", /^\/repos\/octo-org\/web\/collaborators\/gus\/permission$/, 403);
    const out = await stagingPage(deps, person("gus"), "web-alpha");
    expect(out).toMatchObject({ ok: false, code: "unavailable" });
    expect(!out.ok && out.message).toContain("could not ask GitHub for your access to octo-org/web");
  });

  it("the overview counts each readable repository's stagings by status and lists those due for cleanup, soonest first", async () => {
    const rows = await overview(deps, rita);
    if (!rows.ok) throw new Error(rows.message);
    const [old2, old] = [await found("web-old2"), await found("web-old")];
    expect(rows.value).toEqual({
      repos: [
        {
          repo: "octo-org/web",
          project: "web",
          role: "read",
          counts: { running: 1, failed: 1, pending: 1, archived: 2 },
          cost: { currency: "EUR", perDay: 0, toDate: 0, savedToDate: 0, savedPerDay: 0 },
          // Archived stagings are cleaned up 14 days after their archive (the default retention).
          dueForCleanup: [
            { name: "web-old2", at: new Date(old2.archivedAt!.getTime() + days(14)) },
            { name: "web-old", at: new Date(old.archivedAt!.getTime() + days(14)) },
          ],
        },
      ],
      unchecked: [],
    });
    const all = await overview(deps, ada);
    expect(all.ok && all.value.repos.map((r) => [r.repo, r.role, r.counts, r.dueForCleanup])).toEqual([
      ["octo-org/web", "admin", { running: 1, failed: 1, pending: 1, archived: 2 }, expect.any(Array)],
      ["octo-org/billing", "admin", { running: 1 }, []],
    ]);
    expect(await overview(deps, mallory)).toEqual({ ok: true, value: { repos: [], unchecked: [] } });
  });

  it("the create form offers only the repositories where GitHub grants write", async () => {
    expect(await creatableRepos(deps, rita)).toEqual([]);
    expect(await creatableRepos(deps, tess)).toEqual([]);
    expect(await creatableRepos(deps, wendy)).toEqual([{ repo: "octo-org/web", project: "web" }]);
    expect(await creatableRepos(deps, max)).toEqual([{ repo: "octo-org/web", project: "web" }]);
    expect(await creatableRepos(deps, ada)).toEqual([
      { repo: "octo-org/web", project: "web" },
      { repo: "octo-org/billing", project: "billing" },
    ]);
    expect(await creatableRepos(deps, mallory)).toEqual([]);
  });
});

describe("changes from the dashboard", () => {
  it("someone who may only read cannot act: the refusal names the write access GitHub must grant, and nothing changes", async () => {
    const s = await seed("act-read", "web");
    const before = await store.listActions(s.id);
    for (const who of [rita, tess]) {
      for (const action of ["archive", "redeploy", "keep", "restore"] as const) {
        const what = `${action[0]!.toUpperCase()}${action.slice(1)}`;
        expect(await act(deps, who, "act-read", action)).toEqual({ ok: false, code: "forbidden", message: `${what} needs write access to octo-org/web on GitHub; you have read` });
      }
      expect(await act(deps, who, "act-read", "delete")).toEqual({ ok: false, code: "forbidden", message: "Delete needs admin access to octo-org/web on GitHub; you have read" });
    }
    expect(await store.listActions(s.id)).toEqual(before);
    expect(await found("act-read")).toMatchObject({ desiredState: "active", keepUntil: null, generation: s.generation });
  });

  it("write access archives, restores, redeploys and keeps, recorded with the login from the web; deleting needs admin", async () => {
    const s = await seed("act-write", "web");
    expect(await act(deps, wendy, "act-write", "archive")).toMatchObject({ ok: true, value: { done: "archived", staging: { name: "act-write", desiredState: "archived" } } });
    // Redeploying an archived staging is a conflict with its state, not a permission problem.
    expect(await act(deps, wendy, "act-write", "redeploy")).toMatchObject({ ok: false, code: "conflict", message: expect.stringContaining("restore") });
    expect(await act(deps, wendy, "act-write", "restore")).toMatchObject({ ok: true, value: { done: "restoring", staging: { desiredState: "active" } } });
    expect(await act(deps, max, "act-write", "redeploy")).toMatchObject({ ok: true, value: { done: "redeploying" } });
    const kept = await act(deps, wendy, "act-write", "keep");
    expect(kept).toMatchObject({ ok: true, value: { done: "kept" } });
    // keep's default is a week.
    const keepUntil = (await found("act-write")).keepUntil!;
    expect(Math.abs(keepUntil.getTime() - (clock.now().getTime() + days(7)))).toBeLessThan(60_000);
    expect(await act(deps, wendy, "act-write", "keep", "until 2099-01-01")).toMatchObject({ ok: false, code: "invalid" });
    expect(await act(deps, wendy, "act-write", "keep", "off")).toMatchObject({ ok: true, value: { done: "unkept" } });
    expect(await act(deps, wendy, "act-write", "keep", "3d")).toMatchObject({ ok: true, value: { done: "kept" } });
    expect(Math.abs((await found("act-write")).keepUntil!.getTime() - (clock.now().getTime() + days(3)))).toBeLessThan(60_000);
    expect(await act(deps, wendy, "act-write", "delete")).toEqual({ ok: false, code: "forbidden", message: "Delete needs admin access to octo-org/web on GitHub; you have write" });
    expect(await act(deps, max, "act-write", "delete")).toMatchObject({ ok: false, code: "forbidden", message: expect.stringContaining("you have write") });
    expect((await found("act-write")).desiredState).toBe("active");
    const log = (await store.listActions(s.id)).filter((a) => a.source === "web");
    expect(log.map((a) => [a.kind, a.actor, a.actorName]).sort()).toEqual(
      [
        ["archive", "wendy", "wendy"],
        ["restore", "wendy", "wendy"],
        ["deploy", "max", "max"], // a redeploy is a deploy of the same head
        ["keep", "wendy", "wendy"],
        ["keep", "wendy", "wendy"],
        ["keep", "wendy", "wendy"],
      ].sort(),
    );
  });

  it("admin access deletes", async () => {
    const s = await seed("act-admin", "web");
    expect(await act(deps, ada, "act-admin", "delete")).toMatchObject({ ok: true, value: { done: "deleting", staging: { desiredState: "deleted" } } });
    expect((await store.listActions(s.id)).find((a) => a.kind === "cleanup")).toMatchObject({ source: "web", actor: "ada", actorName: "ada" });
  });

  it("every change asks GitHub again: a permission lowered within the cache's TTL is refused at once", async () => {
    const walt = person("walt");
    github.setPermission("octo-org", "web", "walt", "write");
    await seed("act-fresh", "web");
    expect(await stagingPage(deps, walt, "act-fresh")).toMatchObject({ ok: true, value: { row: { role: "operate" } } });
    expect(permissionAsks("walt")).toBe(1);
    await stagingPage(deps, walt, "act-fresh");
    expect(permissionAsks("walt")).toBe(1);
    expect(await act(deps, walt, "act-fresh", "archive")).toMatchObject({ ok: true });
    expect(permissionAsks("walt")).toBe(2);
    expect(await act(deps, walt, "act-fresh", "restore")).toMatchObject({ ok: true });
    expect(permissionAsks("walt")).toBe(3);
    github.setPermission("octo-org", "web", "walt", "read");
    expect(await act(deps, walt, "act-fresh", "redeploy")).toEqual({ ok: false, code: "forbidden", message: "Redeploy needs write access to octo-org/web on GitHub; you have read" });
    expect(await updateFromForm(deps, walt, "act-fresh", { changes: [{ scope: "app", key: "replicaCount", op: "set", value: 2 }] })).toEqual({
      ok: false,
      code: "forbidden",
      message: "Editing a staging needs write access to octo-org/web on GitHub; you have read",
    });
    expect(await createFromForm(deps, walt, { name: "walt-new", repo: "octo-org/web", ref: "main", changes: [] })).toMatchObject({ ok: false, code: "forbidden" });
    // The answer asked for the change is the one views use next.
    expect(await stagingPage(deps, walt, "act-fresh")).toMatchObject({ ok: true, value: { row: { role: "read" } } });
    expect(permissionAsks("walt")).toBe(6);
    github.setPermission("octo-org", "web", "walt", "none");
    expect(await act(deps, walt, "act-fresh", "archive")).toEqual({ ok: false, code: "forbidden", message: "Archive needs write access to octo-org/web on GitHub; you have no access" });
    expect(await stagingPage(deps, walt, "act-fresh")).toMatchObject({ ok: false, code: "not_found" });
    expect(await store.findByName("walt-new")).toBeNull();
    expect((await found("act-fresh")).desiredState).toBe("active");
  });

  it("a change GitHub cannot be asked about is refused as unavailable", async () => {
    await seed("act-down", "web");
    const otto = person("otto");
    github.setPermission("octo-org", "web", "otto", "write");
    expect(await stagingPage(deps, otto, "act-down")).toMatchObject({ ok: true });
    github.failNext("GET", /^\/repos\/octo-org\/web\/collaborators\/otto\/permission$/, 403);
    const out = await act(deps, otto, "act-down", "archive");
    expect(out).toMatchObject({ ok: false, code: "unavailable", message: expect.stringContaining("could not ask GitHub for your access to octo-org/web") });
    expect((await found("act-down")).desiredState).toBe("active");
  });
});

describe("the roles cache", () => {
  it("views within the TTL do not ask GitHub again, views after it do", async () => {
    const vera = person("vera"); // read on both
    await listForPerson(deps, vera, {});
    expect(permissionAsks("vera")).toBe(2);
    github.setPermission("octo-org", "web", "vera", "none");
    clock.advance(ttlMs - 5_000);
    const cached = await listForPerson(deps, vera, {});
    await stagingPage(deps, vera, "web-alpha");
    await overview(deps, vera);
    await creatableRepos(deps, vera);
    await keysOf(deps, vera, "octo-org/web");
    await checkOverride(deps, vera, "octo-org/web", { scope: "app", key: "replicaCount", op: "set", value: 2 });
    expect(permissionAsks("vera")).toBe(2);
    expect(cached.ok && cached.value.repos.map((r) => r.repo)).toEqual(["octo-org/web", "octo-org/billing"]);
    clock.advance(10_000);
    const later = await listForPerson(deps, vera, {});
    expect(permissionAsks("vera")).toBe(4);
    expect(later.ok && later.value.repos.map((r) => r.repo)).toEqual(["octo-org/billing"]);
  });

  it("an answer is kept for exactly the TTL, per login and repository whatever their case; forget drops one person's answers", async () => {
    let now = Date.parse("2027-03-01T10:00:00Z");
    const roles = createRepoRoles({ ...base, clock: { now: () => new Date(now) } }, 1_000);
    github.setPermission("octo-org", "web", "vic", "write");
    github.setPermission("octo-org", "web", "vicky", "read");
    expect(await roles.roleOn("vic", "octo-org/web")).toBe("operate");
    expect(await roles.roleOn("vicky", "octo-org/web")).toBe("read");
    expect([permissionAsks("vic"), permissionAsks("vicky")]).toEqual([1, 1]);
    now += 999;
    expect(await roles.roleOn("VIC", "Octo-Org/Web")).toBe("operate");
    expect(permissionAsks("vic") + permissionAsks("VIC")).toBe(1);
    expect(await roles.roleOn("vic", "octo-org/web", { fresh: true })).toBe("operate");
    expect(permissionAsks("vic")).toBe(2);
    now += 501; // the fresh answer counts from when it was asked
    await roles.roleOn("vic", "octo-org/web");
    expect(permissionAsks("vic")).toBe(2);
    now += 499; // exactly the TTL since it was asked
    await roles.roleOn("vic", "octo-org/web");
    expect(permissionAsks("vic")).toBe(3);
    await roles.roleOn("vicky", "octo-org/web");
    expect(permissionAsks("vicky")).toBe(2);
    // Forgetting vic (whatever the case) keeps the answers of vicky, whose login starts the same.
    roles.forget("VIC");
    await roles.roleOn("vicky", "octo-org/web");
    expect(permissionAsks("vicky")).toBe(2);
    await roles.roleOn("vic", "octo-org/web");
    expect(permissionAsks("vic")).toBe(4);
  });

  it("a repository the app is not installed on is readable by nobody, and not counted as unchecked", async () => {
    const withDocs = parseProjectConfig({ repositories: [repo("web"), repo("docs")] });
    const roles = createRepoRoles({ ...base, project: withDocs }, ttlMs);
    const out = await roles.readable("ada");
    expect(out).toEqual({ repos: [{ settings: withDocs.repositories[0], role: "admin" }], unchecked: [] });
    expect(github.requests.some((r) => r.path === "/repos/octo-org/docs/collaborators/ada/permission")).toBe(false);
  });
});

describe("the create and edit forms", () => {
  it("creates a named staging, recorded in the audit log with source web and the login", async () => {
    const out = await createFromForm(deps, wendy, { name: "form-one", repo: "octo-org/web", ref: "main", follow: true, changes: [{ scope: "app", key: "replicaCount", op: "set", value: 2 }] });
    expect(out).toMatchObject({ ok: true, value: { name: "form-one", headSha: mainSha, headRef: "main", follow: true, desiredState: "active", repoOwner: "octo-org", repoName: "web" } });
    const created = await found("form-one");
    expect(await store.listActions(created.id)).toEqual([expect.objectContaining({ kind: "deploy", source: "web", actor: "wendy", actorName: "wendy" })]);
    expect(await store.listOverrides(created.id)).toEqual([expect.objectContaining({ scope: "app", key: "replicaCount", value: 2, source: "web", actor: "wendy" })]);
    const page = await stagingPage(deps, wendy, "form-one");
    expect(page.ok && page.value.row.createdBy).toBe("wendy");
    // With an image tag and no ref.
    expect(await createFromForm(deps, ada, { name: "form-two", repo: "Octo-Org/Billing", tag: "v2.0.1", changes: [] })).toMatchObject({ ok: true, value: { name: "form-two", imageTag: "v2.0.1", repoName: "billing", follow: false } });
  });

  it("invalid input is refused as invalid and changes nothing", async () => {
    const count = () => db.db.staging.count();
    const deploys = queue.deploys.length;
    const before = await count();
    const create = (name: string, repoName: string, extra: Partial<Parameters<typeof createFromForm>[2]> = {}) => createFromForm(deps, ada, { name, repo: repoName, ref: "main", changes: [], ...extra });
    expect(await create("Bad_Name", "octo-org/web")).toMatchObject({ ok: false, code: "invalid", message: expect.stringContaining("is not a valid staging name") });
    expect(await create("ok-name", "octo-org/nope")).toEqual({ ok: false, code: "invalid", message: "octo-org/nope is not a repository Octostage serves" });
    expect(await create("ok-name", "octo-org/web", { ref: "no-such-branch" })).toMatchObject({ ok: false, code: "invalid", message: expect.stringContaining('no branch, tag or commit "no-such-branch"') });
    expect(await create("ok-name", "octo-org/web", { changes: [{ scope: "app", key: "replicaCount", op: "set", value: -1 }] })).toMatchObject({
      ok: false,
      code: "invalid",
      message: expect.stringContaining('"replicaCount" must be >= 0 (the values.schema.json of the chart web 1.2.3)'),
    });
    expect(await create("ok-name", "octo-org/web", { changes: [{ scope: "app", key: "securityContext.privileged", op: "set", value: true }] })).toMatchObject({
      ok: false,
      code: "invalid",
      message: expect.stringContaining('refuses keys matching "*securityContext*"'),
    });
    expect(await create("form-one", "octo-org/web")).toMatchObject({ ok: false, code: "conflict" });
    // No access to a repository at all: it is not one they may see.
    expect(await createFromForm(deps, mallory, { name: "ok-name", repo: "octo-org/billing", ref: "main", changes: [] })).toEqual({ ok: false, code: "not_found", message: "octo-org/billing is not a repository you may see" });
    expect(await createFromForm(deps, wendy, { name: "ok-name", repo: "octo-org/billing", ref: "main", changes: [] })).toEqual({
      ok: false,
      code: "forbidden",
      message: "Creating a staging needs write access to octo-org/billing on GitHub; you have read",
    });
    expect(await count()).toBe(before);
    expect(queue.deploys.length).toBe(deploys);
  });

  it("the edit form changes overrides, the ref, the tag and follow; nothing given is nothing changed", async () => {
    const s = await found("form-one");
    const out = await updateFromForm(deps, wendy, "form-one", { changes: [{ scope: "app", key: "replicaCount", op: "set", value: 3 }] });
    expect(out).toMatchObject({ ok: true, value: { changed: true, staging: { name: "form-one", generation: s.generation + 1 } } });
    expect((await store.listOverrides(s.id)).map((o) => [o.key, o.value, o.actor, o.source])).toEqual([["replicaCount", 3, "wendy", "web"]]);
    expect(await updateFromForm(deps, wendy, "form-one", { changes: [] })).toMatchObject({ ok: true, value: { changed: false } });
    expect(await updateFromForm(deps, max, "form-one", { tag: "v9", follow: false, changes: [] })).toMatchObject({ ok: true, value: { changed: true, staging: { imageTag: "v9", follow: false } } });
    expect(await updateFromForm(deps, max, "form-one", { tag: "", changes: [] })).toMatchObject({ ok: true, value: { changed: true, staging: { imageTag: null } } });
    github.setBranch("octo-org", "web", "release", "d".repeat(40));
    expect(await updateFromForm(deps, max, "form-one", { ref: "release", changes: [] })).toMatchObject({ ok: true, value: { changed: true, staging: { headSha: "d".repeat(40), headRef: "release" } } });
    expect(await updateFromForm(deps, max, "form-one", { ref: "", changes: [] })).toMatchObject({ ok: true, value: { changed: false, staging: { headRef: "release" } } });
    expect(await updateFromForm(deps, max, "form-one", { tag: "bad tag!", changes: [] })).toMatchObject({ ok: false, code: "invalid" });
    expect(await updateFromForm(deps, wendy, "form-one", { changes: [{ scope: "app", key: "replicaCount", op: "set", value: -2 }] })).toMatchObject({ ok: false, code: "invalid" });
    expect((await store.listOverrides(s.id)).map((o) => o.value)).toEqual([3]);
    const actions = (await store.listActions(s.id)).filter((a) => a.kind === "update");
    expect(actions.map((a) => [a.actor, a.source])).toEqual([
      ["wendy", "web"],
      ["max", "web"],
      ["max", "web"],
      ["max", "web"],
    ]);
  });

  it("an override is checked as it is typed: the rule it breaks, or null; only in repositories the person may read", async () => {
    const check = (who: WebPerson, key: string, value: unknown, repoName = "octo-org/web", staging?: string) => checkOverride(deps, who, repoName, { scope: "app", key, op: "set", value }, staging);
    expect(await check(rita, "replicaCount", 2)).toEqual({ ok: true, value: { problem: null } });
    const schema = await check(rita, "replicaCount", -1);
    expect(schema.ok && schema.value.problem).toBe('"replicaCount" must be >= 0 (the values.schema.json of the chart web 1.2.3)');
    const policy = await check(rita, "securityContext.privileged", true);
    expect(policy.ok && policy.value.problem).toContain('refuses keys matching "*securityContext*"');
    const key = await check(rita, "bad key!", "x");
    expect(key.ok && key.value.problem).toEqual(expect.any(String));
    expect(await check(ada, "replicaCount", 2, "Octo-Org/Billing")).toEqual({ ok: true, value: { problem: null } });
    expect(await check(rita, "replicaCount", 2, "octo-org/billing")).toEqual({ ok: false, code: "not_found", message: "octo-org/billing is not a repository you may see" });
    expect(await check(rita, "replicaCount", 2, "octo-org/nope")).toEqual({ ok: false, code: "not_found", message: "octo-org/nope is not a repository you may see" });
    // GitHub not answering: not a repository they may see (for now).
    github.failNext("GET", /^\/repos\/octo-org\/web\/collaborators\/cole\/permission$/, 403);
    expect(await check(person("cole"), "replicaCount", 2)).toMatchObject({ ok: false, code: "not_found" });
  });

  it("the chart's keys, for a repository the person may read", async () => {
    const keys = await keysOf(deps, rita, "octo-org/web");
    if (!keys.ok) throw new Error(keys.message);
    expect(keys.value).toMatchObject({ project: "web", chart: "web", version: "1.2.3", schema: true });
    expect(keys.value.keys.map((k) => k.key)).toContain("replicaCount");
    expect(await keysOf(deps, rita, "octo-org/billing")).toEqual({ ok: false, code: "not_found", message: "octo-org/billing is not a repository you may see" });
    expect(await keysOf(deps, ada, "octo-org/nope")).toEqual({ ok: false, code: "not_found", message: "octo-org/nope is not a repository you may see" });
    github.failNext("GET", /^\/repos\/octo-org\/web\/collaborators\/kai\/permission$/, 403);
    expect(await keysOf(deps, person("kai"), "octo-org/web")).toMatchObject({ ok: false, code: "not_found" });
  });
});

describe("a run's log", () => {
  it("is shown to those who may read its staging; for anyone else the action does not exist", async () => {
    const bill = await found("bill-main");
    const [deploy] = await store.listActions(bill.id);
    await db.db.action.update({ where: { id: deploy!.id }, data: { output: "Release \"bill-main\" has been upgraded." } });
    expect(await actionLog(deps, ada, deploy!.id)).toEqual({ ok: true, value: { id: deploy!.id, staging: "bill-main", kind: "deploy", state: deploy!.state, log: 'Release "bill-main" has been upgraded.' } });
    expect(await actionLog(deps, wendy, deploy!.id)).toMatchObject({ ok: true, value: { staging: "bill-main" } });
    expect(await actionLog(deps, rita, deploy!.id)).toEqual({ ok: false, code: "not_found", message: `no action ${deploy!.id}` });
    expect(await actionLog(deps, mallory, deploy!.id)).toEqual({ ok: false, code: "not_found", message: `no action ${deploy!.id}` });
    expect(await actionLog(deps, ada, "not-an-id")).toEqual({ ok: false, code: "not_found", message: "no action not-an-id" });
    // An action without output has an empty log.
    const [alpha] = await store.listActions((await found("web-alpha")).id);
    expect(await actionLog(deps, rita, alpha!.id)).toMatchObject({ ok: true, value: { staging: "web-alpha", log: "" } });
    // GitHub not answering is not "not found".
    deps.roles.forget("ada");
    github.failNext("GET", /^\/repos\/octo-org\/billing\/collaborators\/ada\/permission$/, 403);
    expect(await actionLog(deps, ada, deploy!.id)).toMatchObject({ ok: false, code: "unavailable" });
  });
});

describe("the live table's mark", () => {
  it("moves when a staging the person may read changes status, not when one they may not read does", async () => {
    const [ritaBefore, adaBefore] = [await listMark(deps, rita), await listMark(deps, ada)];
    await moveTo(await found("bill-main"), "degraded");
    expect(await listMark(deps, rita)).toBe(ritaBefore);
    const adaAfter = await listMark(deps, ada);
    expect(adaAfter).not.toBe(adaBefore);
    await moveTo(await found("web-alpha"), "degraded");
    expect(await listMark(deps, rita)).not.toBe(ritaBefore);
    expect(await listMark(deps, ada)).not.toBe(adaAfter);
    expect(await listMark(deps, mallory)).toBe("0");
  });
});

describe("edges", () => {
  it("a staging of a repository no longer in the project config still has a page, with the default policies and no secret keys", async () => {
    const s = await seed("legacy-one", "web");
    await db.db.staging.update({ where: { id: s.id }, data: { repoName: "legacy" } });
    github.installOn("octo-org", "legacy", 77);
    const page = await stagingPage(deps, rita, "legacy-one");
    if (!page.ok) throw new Error(page.message);
    expect(page.value.row).toMatchObject({ role: "read", staging: { repoName: "legacy" }, life: { kept: null, next: null } });
    expect(page.value.secretKeys).toEqual([]);
  });

  it("the overview counts every staging the list shows, whatever the case GitHub spelled the repository in", async () => {
    // GitHub's webhooks carry the owner as GitHub spells it; the project config may spell it otherwise.
    const s = await seed("web-cased", "web");
    await db.db.staging.update({ where: { id: s.id }, data: { repoOwner: "Octo-Org" } });
    const list = await listForPerson(deps, ada, { repo: "octo-org/web", archived: true });
    if (!list.ok) throw new Error(list.message);
    expect(names(list.value.rows)).toContain("web-cased");
    const view = await overview(deps, ada);
    if (!view.ok) throw new Error(view.message);
    const web = view.value.repos.find((r) => r.repo === "octo-org/web")!;
    const counted = Object.values(web.counts).reduce((n, c) => n + c, 0);
    expect(counted).toBe(list.value.rows.length);
  });

  it("shows at most 2000 stagings per repository and says which repositories have more", async () => {
    const bulkProject = parseProjectConfig({ repositories: [repo("bulk")] });
    github.installOn("octo-org", "bulk", 77);
    const template = await found("web-alpha");
    const spec = (await db.db.staging.findUniqueOrThrow({ where: { id: template.id } })).desiredSpec as object;
    await db.db.staging.createMany({
      data: Array.from({ length: 2003 }, (_, i) => ({
        name: `bulk-${String(i).padStart(4, "0")}`,
        repoOwner: "octo-org",
        repoName: "bulk",
        installationId: 77n,
        namespace: `bulk-${i}`,
        desiredSpec: spec,
        headSha: sha(i),
        headRef: "main",
      })),
    });
    const bulkBase = { ...base, project: bulkProject };
    const bulk: WebDeps = { ...bulkBase, roles: createRepoRoles(bulkBase, ttlMs) };
    const out = await listForPerson(bulk, rita, {});
    if (!out.ok) throw new Error(out.message);
    expect(out.value.truncated).toEqual(["octo-org/bulk"]);
    expect(out.value.rows).toHaveLength(2000);
    expect(new Set(names(out.value.rows)).size).toBe(2000);
    expect(names(out.value.rows)).not.toContain("bulk-2000");
    const few = await listForPerson(bulk, rita, { q: "bulk-19" });
    expect(few.ok && few.value.rows).toHaveLength(100);
    await db.db.staging.deleteMany({ where: { repoName: "bulk", name: { gte: "bulk-1500" } } });
    const under = await listForPerson(bulk, rita, {});
    expect(under.ok && under.value.truncated).toEqual([]);
    expect(under.ok && under.value.rows).toHaveLength(1500);
  });
});
