// Slack's use cases (app/slack/slack-commands.ts) on real Postgres and the GitHub double: roles
// per repository decide what each person sees and may do, refusals name the role and who grants
// it, a staging in a repository someone may not read does not exist for them, and every change
// is recorded with the Slack user's id and name.
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitHubCodeHost } from "../../src/adapters/github/code-host.ts";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { creatableRepos, runSlackCommand } from "../../src/app/slack/slack-commands.ts";
import type { SlackAnswer, SlackPerson } from "../../src/app/slack/slack-commands.ts";
import { parseProjectConfig } from "../../src/config/project.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../support/github-double.ts";
import type { GitHubDouble } from "../support/github-double.ts";
import { recordingQueue } from "../support/worker-deps.ts";

let db: TestDb;
let github: GitHubDouble;
let deps: Parameters<typeof runSlackCommand>[0];

const repo = (name: string, slack: unknown) => ({
  repo: `octo-org/${name}`,
  name,
  chart: { repository: "https://charts.example.com", name, version: "1.0.0" },
  values: { replicaCount: 1, smtp: { relay: "relay.internal" } },
  secretKeys: ["smtp.relay"],
  hostTemplate: "{name}.staging.example.com",
  slack,
});

const person = (userId: string, over: Partial<SlackPerson> = {}): SlackPerson => ({ userId, userName: userId.toLowerCase(), groups: [], ...over });
const ops = person("U0OPS");
const qa = person("U0QA", { groups: ["S0QATEAM"] });
const reader = person("U0READER");
const stranger = person("U0STRANGER");
const admin = person("U0ADMIN");

beforeAll(async () => {
  [db, github] = await Promise.all([createTestDb(), startGitHubDouble()]);
  for (const name of ["web", "billing"]) {
    github.installOn("octo-org", name, 77);
    github.setBranch("octo-org", name, "main", "c".repeat(40));
  }
  const probot = new Probot({ appId: 1, privateKey: generateTestPrivateKey(), baseUrl: github.apiUrl, Octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }), log: pino({ level: "silent" }) });
  deps = {
    store: db.store,
    queue: recordingQueue(),
    logger: silentLogger,
    clock: { now: () => new Date() },
    codeHost: createGitHubCodeHost({ getOctokit: (id) => (id === undefined ? probot.auth() : probot.auth(id)), logger: silentLogger }),
    project: parseProjectConfig({
      repositories: [
        repo("web", { roles: { read: [reader.userId, "C0QACHAN"], operate: [ops.userId, "S0QATEAM"], admin: [admin.userId] }, grantedBy: "#devops" }),
        repo("billing", { roles: { read: [], operate: [], admin: [admin.userId] } }),
      ],
    }),
  };
});
afterAll(async () => {
  await Promise.all([db.drop(), github.close()]);
});

async function say(who: SlackPerson, text: string): Promise<SlackAnswer> {
  return runSlackCommand(deps, who, text);
}
const message = (a: SlackAnswer) => (a.kind === "error" ? a.message : a.kind === "help" ? a.text : `${a.kind}${a.kind === "staging" ? `: ${a.line.staging.name} ${a.did ?? ""}` : ""}`);

describe("Slack's /octo use cases", () => {
  it("creates with the operate role, recording the Slack user's id and name; refuses the others naming the role and who grants it", async () => {
    const created = await say(ops, "create qa-main --repo octo-org/web --ref main --set replicaCount=2");
    expect(created).toMatchObject({ kind: "staging", did: "created", line: { staging: { name: "qa-main", headSha: "c".repeat(40) } } });
    const action = (await db.db.action.findMany({ where: { staging: { name: "qa-main" } } }))[0]!;
    expect(action).toMatchObject({ source: "slack", actor: "U0OPS", actorName: "u0ops" });
    expect(message(await say(reader, "create x1 --repo octo-org/web --ref main"))).toBe(
      "/octo create needs the operate role on octo-org/web; you have read. Roles come from Octostage's project config (`slack.roles` of octo-org/web): ask #devops.",
    );
    expect(message(await say(stranger, "create x1 --repo octo-org/billing --ref main"))).toContain("needs the operate role on octo-org/billing; you have no role there");
    expect(message(await say(ops, "create x1 --repo octo-org/nope --ref main"))).toContain("octo-org/nope is not a repository Octostage serves: octo-org/web, octo-org/billing");
    expect(await db.db.staging.count({ where: { name: "x1" } })).toBe(0);
  });

  it("a user group's members and a channel's askers get the role given to them, only there", async () => {
    expect(await say(qa, "keep qa-main 7d")).toMatchObject({ kind: "staging", did: "kept" });
    expect(message(await say(person("U0QA"), "keep qa-main 7d"))).toContain('No staging named "qa-main"');
    expect(await say(person("U0ANY", { channelId: "C0QACHAN" }), "status qa-main")).toMatchObject({ kind: "staging", line: { staging: { name: "qa-main" } } });
    expect(message(await say(person("U0ANY", { channelId: "C0QACHAN" }), "archive qa-main"))).toContain("needs the operate role on octo-org/web; you have read");
  });

  it("a staging someone may not read does not exist for them; suggestions come only from what they may read", async () => {
    expect(await say(admin, "create billing-qa --repo octo-org/billing --ref main")).toMatchObject({ kind: "staging", did: "created" });
    expect(message(await say(reader, "status billing-qa"))).toBe('No staging named "billing-qa".');
    expect(message(await say(reader, "status qa-mian"))).toBe('No staging named "qa-mian". Did you mean `qa-main`?');
    expect(message(await say(stranger, "status qa-main"))).toBe('No staging named "qa-main": you may not see any staging yet (see `/octo help`).');
    expect(message(await say(admin, "status billing-qb"))).toBe('No staging named "billing-qb". Did you mean `billing-qa`?');
  });

  it("list shows only repositories the person may read", async () => {
    const mine = await say(reader, "list");
    expect(mine).toMatchObject({ kind: "list", repos: ["octo-org/web"] });
    expect(mine.kind === "list" && mine.items.map((l) => l.staging.name)).toEqual(["qa-main"]);
    const all = await say(admin, "list");
    expect(all.kind === "list" && all.items.map((l) => l.staging.name).sort()).toEqual(["billing-qa", "qa-main"]);
    expect(message(await say(reader, "list octo-org/billing"))).toContain("/octo list needs the read role on octo-org/billing; you have no role there");
    expect(message(await say(stranger, "list"))).toBe("You may not see any repository's stagings from Slack yet. Roles come from Octostage's project config (`slack.roles`): ask #devops.");
    expect(all.kind === "list" && all.items.find((l) => l.staging.name === "qa-main")?.createdBy).toBe("u0ops");
  });

  it("secrets are refused, by their look or because the project config lists them; nothing is changed", async () => {
    const before = await db.db.override.count();
    expect(message(await say(ops, "update qa-main --set smtp.relay=elsewhere"))).toContain(`"smtp.relay" holds a secret in octo-org/web's project config`);
    expect(message(await say(ops, "update qa-main --set db.password=x"))).toContain("looks like a secret");
    expect(await db.db.override.count()).toBe(before);
  });

  it("delete needs admin; history is newest first with who did it", async () => {
    expect(message(await say(ops, "delete qa-main"))).toContain("needs the admin role on octo-org/web; you have operate");
    expect(await say(admin, "delete qa-main")).toMatchObject({ kind: "staging", did: "deleting" });
    const history = await say(reader, "history qa-main");
    expect(history.kind === "history" && history.actions.map((a) => [a.kind, a.actor])).toEqual([
      ["cleanup", "U0ADMIN"],
      ["keep", "U0QA"],
      ["deploy", "U0OPS"],
    ]);
  });

  it("the form offers the repositories where the person operates; `create` alone opens it; help and typos", async () => {
    expect(creatableRepos(deps, ops)).toEqual([{ repo: "octo-org/web", project: "web" }]);
    expect(creatableRepos(deps, admin)).toEqual([{ repo: "octo-org/web", project: "web" }, { repo: "octo-org/billing", project: "billing" }]);
    expect(creatableRepos(deps, reader)).toEqual([]);
    expect(await say(ops, " Create ")).toEqual({ kind: "create-form" });
    expect(await say(stranger, "")).toMatchObject({ kind: "help" });
    expect(await say(stranger, "restor x")).toMatchObject({ kind: "error", message: 'Unknown command "restor". Did you mean `/octo restore`?', usage: "/octo restore NAME" });
    expect(message(await say(reader, "keys wbe"))).toBe('No project "wbe". Did you mean `web`?');
    expect(message(await say(stranger, "keys web"))).toContain("/octo keys needs the read role on octo-org/web; you have no role there");
  });
});
