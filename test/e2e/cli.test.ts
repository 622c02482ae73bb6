// The `octo` CLI, end to end: the real executable (node src/cli/octo.ts) against the running
// server (real Postgres and Redis; Kubernetes API, helm and GitHub doubles), through /api/v1.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore } from "../../src/adapters/db/token-store.ts";
import { createToken, operatorCaller } from "../../src/app/tokens.ts";
import type { Role } from "../../src/domain/roles.ts";
import { systemClock } from "../../src/ports/clock.ts";
import { installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { waitFor } from "../support/wait.ts";
import { deliverWebhook, pushPayload } from "../support/webhooks.ts";

const root = resolve(import.meta.dirname, "../..");
const octoBin = join(root, "src/cli/octo.ts");
let sys: TestSystem;
let admin: string;
let reader: string;
let operator: string;
const home = mkdtempSync(join(tmpdir(), "octo-home-"));

async function token(name: string, role: Role, expiresInDays?: number): Promise<string> {
  const out = await createToken({ tokens: createTokenStore(sys.db.db), clock: systemClock }, operatorCaller, { name, role, ...(expiresInDays ? { expiresInDays } : {}) });
  if (!out.ok) throw new Error(out.message);
  return out.value.token;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `octo` with a clean environment (its own config dir) and `auth` as its token. */
function octo(args: string[], auth: string | null = admin, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", XDG_CONFIG_HOME: home, NO_COLOR: "1", ...(auth ? { OCTOSTAGE_URL: sys.app.url!, OCTOSTAGE_TOKEN: auth } : {}), ...extraEnv };
  return new Promise((done) => {
    execFile(process.execPath, [octoBin, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  sys = await startTestSystem(undefined, {}, { apiEventPollMs: 100 });
  sys.github.installOn("octo-org", "web", installationId);
  sys.github.setBranch("octo-org", "web", "release-2.4", "2".repeat(40));
  sys.github.setBranch("octo-org", "web", "main", "1".repeat(40));
  admin = await token("ci-admin", "admin");
  reader = await token("dashboard", "read");
  operator = await token("qa", "operate");
});
afterAll(async () => {
  await sys?.stop();
});

const upgrades = (release: string) => sys.helm.calls().filter((c) => c.argv[0] === "upgrade" && c.argv[2] === release);

describe("octo", () => {
  it("create from a branch --wait: resolved through GitHub, deployed, exit 0 once running", async () => {
    const r = await octo(["create", "release-2-4", "--repo", "octo-org/web", "--ref", "release-2.4", "--set", "api.replicas=2", "--wait", "--timeout", "60"], operator);
    expect(r.stderr).toContain("created release-2-4");
    expect(r.code).toBe(0);
    expect(upgrades("release-2-4")).toHaveLength(1);
    expect(upgrades("release-2-4")[0]!.values[0]).toMatchObject({ api: { replicas: 2 }, image: { tag: "2".repeat(40) } });
    const info = JSON.parse((await octo(["info", "release-2-4", "--json"], reader)).stdout);
    expect(info).toMatchObject({ name: "release-2-4", origin: "named", ref: "release-2.4", sha: "2".repeat(40), status: "running" });
    expect(info.config.entries).toContainEqual(expect.objectContaining({ scope: "app", key: "api.replicas", value: 2, source: "override", by: "api:qa" }));
    expect(info.config.entries).toContainEqual(expect.objectContaining({ scope: "app", key: "replicaCount", value: 2, source: "project", by: null }));
    // The chart's own defaults, for keys the project does not set; not for those it does.
    expect(info.config.entries).toContainEqual({ scope: "app", key: "service.port", value: 8080, source: "chart", by: null, at: null });
    expect(info.config.entries.filter((e: { key: string }) => e.key === "replicaCount")).toHaveLength(1);
  });

  it("list (table and --json) and info show it", async () => {
    const table = await octo(["list"], reader);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+REPO/);
    expect(table.stdout).toMatch(/release-2-4\s+running\s+octo-org\/web\s+release-2\.4/);
    const list = JSON.parse((await octo(["list", "--json"], reader)).stdout) as { name: string }[];
    expect(list.map((s) => s.name)).toContain("release-2-4");
    const info = await octo(["info", "release-2-4"], reader);
    expect(info.stdout).toMatch(/status\s+running/);
    expect(info.stdout).toMatch(/api\.replicas\s+2\s+override by api:qa/);
  });

  it("update merges overrides: keys not named survive; a read token is refused with the role it needs", async () => {
    const refused = await octo(["update", "release-2-4", "--set", "api.debug=true"], reader);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("update needs the operate role; dashboard has read");
    const r = await octo(["update", "release-2-4", "--set", "api.debug=true", "--wait", "--timeout", "60"], operator);
    expect(r.code).toBe(0);
    expect(upgrades("release-2-4").at(-1)!.values[0]).toMatchObject({ api: { replicas: 2, debug: true } });
  });

  it("a push to a followed branch updates the staging", async () => {
    expect((await octo(["update", "release-2-4", "--follow"], operator)).code).toBe(0);
    sys.github.setBranch("octo-org", "web", "release-2.4", "3".repeat(40));
    const res = await deliverWebhook(sys.webhookUrl, "push", pushPayload({ owner: "octo-org", repo: "web", installationId, ref: "refs/heads/release-2.4", before: "2".repeat(40), after: "3".repeat(40) }), webhookSecret);
    expect(res.status).toBe(200);
    await waitFor("deployed the pushed commit", () => upgrades("release-2-4").some((u) => (u.values[0] as { image?: { tag?: string } }).image?.tag === "3".repeat(40)));
  });

  it("--wait exits 1 with the reason when the staging fails", async () => {
    sys.helm.failNext("upgrade", "invalidValues");
    const r = await octo(["redeploy", "release-2-4", "--wait", "--timeout", "60"], operator);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/release-2-4 failed: .*invalid_values/);
    // The run's log, by its action id from the audit log.
    const actions = JSON.parse((await octo(["actions", "release-2-4", "--json"], reader)).stdout) as { id: string; state: string; hasLog: boolean }[];
    const failed = actions.filter((a) => a.state === "failed").at(-1)!;
    expect(failed.hasLog).toBe(true);
    const log = await octo(["logs", failed.id], reader);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain("values don't meet the specifications of the schema(s)");
    expect((await octo(["logs", "00000000-0000-4000-8000-000000000000"], reader)).code).toBe(4);
  });

  it("--wait exits 5 when --timeout passes first, naming the last status", async () => {
    sys.helm.hang(4000, "upgrade", 1);
    const r = await octo(["redeploy", "release-2-4", "--wait", "--timeout", "1"], operator);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/timed out after 1 s waiting for release-2-4 \(last: deploying/);
    // The deploy itself goes on and finishes.
    expect((await octo(["redeploy", "release-2-4", "--wait", "--timeout", "60"], operator)).code).toBe(0);
  });

  it("token create, list and revoke: the secret is shown once, the list never shows it", async () => {
    const created = await octo(["token", "create", "pipeline", "--role", "operate"], admin);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('token "pipeline" (operate) created: it is shown only now');
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^octo_/);
    const list = await octo(["token", "list", "--json"], admin);
    const names = (JSON.parse(list.stdout) as { name: string; role: string }[]).map((t) => `${t.name}:${t.role}`);
    expect(names).toContain("pipeline:operate");
    expect(list.stdout).not.toContain(secret);
    expect((await octo(["token", "create", "sneaky", "--role", "admin"], operator)).code).toBe(3);
    expect((await octo(["list", "--json"], secret)).code).toBe(0);
    expect((await octo(["token", "revoke", "pipeline"], admin)).code).toBe(0);
    expect((await octo(["list"], secret)).code).toBe(3);
  });

  it("an Idempotency-Key replay does not create twice", async () => {
    const args = ["create", "demo", "--repo", "octo-org/web", "--tag", "v1.2.3", "--idempotency-key", "ci-run-77"];
    const first = await octo(args, operator);
    const second = await octo(args, operator);
    expect([first.code, second.code]).toEqual([0, 0]);
    const actions = JSON.parse((await octo(["actions", "demo", "--json"], reader)).stdout) as { kind: string }[];
    expect(actions.filter((a) => a.kind === "deploy")).toHaveLength(1);
  });

  it("keys lists the chart's keys; its values.schema.json refuses a wrong override, naming the key and the rule", async () => {
    const keys = JSON.parse((await octo(["keys", "web", "--json"], reader)).stdout);
    expect(keys).toMatchObject({ project: "web", chart: "web", version: "1.2.3", schema: true });
    expect(keys.keys).toContainEqual({ key: "replicaCount", type: "integer", default: 1, description: "Pods of the web Deployment." });
    expect(keys.keys).toContainEqual(expect.objectContaining({ key: "persistence.enabled", type: "boolean", default: false }));
    const table = await octo(["keys", "web"], reader);
    expect(table.stdout).toMatch(/replicaCount\s+integer\s+1\s+Pods of the web Deployment\./);
    const wrong = await octo(["update", "demo", "--set", "replicaCount=-1"], operator);
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toContain('"replicaCount" must be >= 0 (the values.schema.json of the chart web 1.2.3). Nothing was changed.');
    const typed = await octo(["update", "demo", "--set-string", "replicaCount=3"], operator);
    expect(typed.stderr).toContain('"replicaCount" must be integer');
    expect((await octo(["update", "demo", "--set", "replicaCount=3"], operator)).code).toBe(0);
  });

  it("unknown names and commands get a did-you-mean; exit codes say what went wrong", async () => {
    const typo = await octo(["info", "release-2-5"], reader);
    expect(typo.code).toBe(4);
    expect(typo.stderr).toContain("did you mean release-2-4?");
    const command = await octo(["arhive", "demo"], reader);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("(Did you mean archive?)");
  });

  it("bad, expired and revoked tokens are refused (exit 3)", async () => {
    expect((await octo(["list"], "octo_not-a-real-token")).stderr).toContain("invalid token");
    const expiring = await token("short-lived", "read", 1);
    await sys.db.db.apiToken.update({ where: { name: "short-lived" }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await octo(["list"], expiring);
    expect(expired.code).toBe(3);
    expect(expired.stderr).toContain('token "short-lived" expired');
    const revoked = await token("to-revoke", "read");
    expect((await octo(["token", "revoke", "to-revoke"], admin)).code).toBe(0);
    const r = await octo(["list"], revoked);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('token "to-revoke" was revoked');
  });

  it("login checks the token and saves it with mode 0600", async () => {
    const r = await octo(["login", sys.app.url!, "--token", operator], null);
    expect(r.code).toBe(0);
    const file = join(home, "octostage", "login.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ url: sys.app.url, token: operator });
    expect((await octo(["list", "--json"], null)).code).toBe(0);
  });

  it("keep and cost: a keep is shown by info and ended with off; cost says when no prices are configured", async () => {
    const kept = await octo(["keep", "release-2-4", "until", "2099-01-15"], operator);
    expect(kept).toMatchObject({ code: 6 }); // refused: invalid input
    expect(kept.stderr).toContain("keep reaches at most 366 days ahead");
    const week = await octo(["keep", "release-2-4", "7d"], operator);
    expect(week.code).toBe(0);
    expect(week.stderr).toMatch(/^release-2-4: kept until \d{4}-\d\d-\d\dT/);
    expect((await octo(["info", "release-2-4"], reader)).stdout).toMatch(/kept\s+until \d{4}-/);
    expect((await octo(["keep", "release-2-4", "7d"], reader)).code).toBe(3);
    const off = await octo(["keep", "release-2-4", "off"], operator);
    expect(off.stderr).toContain("release-2-4: not kept");
    expect((await octo(["info", "release-2-4"], reader)).stdout).toMatch(/kept\s+no/);
    const cost = await octo(["cost", "web"], reader);
    expect(cost).toMatchObject({ code: 0 });
    expect(cost.stdout).toContain("octo-org/web: ");
    expect(cost.stdout).toContain("no cost estimate: the project config has no prices");
  });

  it("archive, restore, delete and forget", async () => {
    expect((await octo(["archive", "release-2-4", "--wait", "--timeout", "60"], operator)).code).toBe(0);
    expect((await octo(["restore", "release-2-4", "--wait", "--timeout", "60"], operator)).code).toBe(0);
    const del = await octo(["delete", "release-2-4", "--wait", "--timeout", "60"], operator);
    expect(del.code).toBe(3); // delete needs admin
    expect((await octo(["delete", "release-2-4", "--wait", "--timeout", "60"], admin)).code).toBe(0);
    expect(sys.kube.get("Namespace", undefined, "octostage-release-2-4")).toBeUndefined();
    expect((await octo(["forget", "release-2-4"], admin)).code).toBe(0);
    expect((await octo(["info", "release-2-4"], admin)).code).toBe(4);
  });

  it("completion scripts name the commands", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await octo(["completion", shell], null);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("create");
      expect(r.stdout).toContain("archive");
    }
  });
});
