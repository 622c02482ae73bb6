#!/usr/bin/env node
/**
 * `octo`: Octostage from a terminal or a CI job, over the HTTP API (/api/v1). Reference:
 * docs/users/cli.md. It loads no server code: commander, Node's fetch and file system.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { Client, Login } from "./client.ts";
import { CliError, configPath, createClient, exitCodes, loadLogin, saveLogin, serverEvents } from "./client.ts";
import type { Output } from "./output.ts";
import { closest, paint, status, table, terminalOutput } from "./output.ts";

interface Staging {
  name: string;
  repo: string;
  origin: "pull_request" | "named";
  pullRequest: number | null;
  namespace: string;
  ref: string;
  sha: string;
  imageTag: string | null;
  follow: boolean;
  desiredState: string;
  status: string;
  reason: string | null;
  url: string | null;
  deployedSha: string | null;
  generation: number;
  observedGeneration: number;
  statusVersion: number;
  statusChangedAt: string;
  archivedAt: string | null;
  lastActivityAt: string;
  kept: { by: "label" | "keep"; label?: string; until: string | null } | null;
  nextPolicyAction: { action: "archive" | "cleanup"; policy: "idle" | "retention"; at: string } | null;
  cost: { estimate: true; currency: string; perDay: number; toDate: number; savedToDate: number } | null;
}

interface ConfigEntry {
  scope: string;
  key: string;
  value?: unknown;
  source: string;
  by: string | null;
  at: string | null;
}

interface StagingDetails extends Staging {
  config: { chart: { repository: string; name?: string; version?: string }; deployTimeoutSeconds: number; namespaceQuota: string | null; entries: ConfigEntry[] } | null;
}

interface Action {
  id: string;
  kind: string;
  actor: string;
  source: string;
  generation: number;
  state: string;
  exitCode: number | null;
  durationMs: number | null;
  error: string | null;
  hasLog: boolean;
  createdAt: string;
}

interface Token {
  name: string;
  role: string;
  prefix: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const short = (sha: string | null) => (sha ? sha.slice(0, 7) : "—");
const path = (name: string) => `/api/v1/stagings/${encodeURIComponent(name)}`;

/** `k=v`, the value typed as in PR comments (numbers, true/false, null), or kept a string. */
function pair(typed: boolean) {
  return (raw: string, previous: [string, unknown][] = []): [string, unknown][] => {
    const at = raw.indexOf("=");
    if (at <= 0) throw new InvalidArgumentError(`"${raw}": expected key=value`);
    const key = raw.slice(0, at);
    const text = raw.slice(at + 1);
    let value: unknown = text;
    if (typed) {
      if (text === "true" || text === "false") value = text === "true";
      else if (text === "null") value = null;
      else if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text) && Number.isFinite(Number(text))) value = Number(text);
    }
    return [...previous, [key, value]];
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a whole number of seconds");
  return n;
};

interface WaitFor {
  /** The staging's generation after the change: what the worker must have acted on. */
  generation: number;
  done: readonly string[];
  failed: readonly string[];
  timeoutSeconds: number;
}

/** Streams the staging's status until it reaches `done` (0) or `failed` (1), or the timeout (5). */
async function wait(o: Output, client: Client, name: string, w: WaitFor): Promise<number> {
  const deadline = Date.now() + w.timeoutSeconds * 1000;
  let lastId: string | undefined;
  let lastLine = "";
  const show = (s: Staging) => {
    const line = `${status(o, s.status)}${s.reason ? `: ${s.reason}` : ""}`;
    if (line === lastLine) return;
    lastLine = line;
    if (o.tty) process.stderr.write(`\r\u001b[K${name} ${line}`);
    else o.err(`${name} ${line}`);
  };
  const end = (code: number, message?: string) => {
    if (o.tty) process.stderr.write("\n");
    if (message) o.err(message);
    return code;
  };
  while (Date.now() < deadline) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
    try {
      const res = await client.stream(`${path(name)}/events`, lastId, controller.signal);
      for await (const e of serverEvents(res)) {
        lastId = e.id ?? lastId;
        if (e.event === "gone") return end(exitCodes.notFound, `${name} was forgotten`);
        if (e.event !== "status") continue;
        const s = JSON.parse(e.data) as Staging;
        show(s);
        if (s.observedGeneration < w.generation) continue;
        if (w.done.includes(s.status)) return end(exitCodes.ok);
        if (w.failed.includes(s.status)) return end(exitCodes.failed, `${name} ${s.status}: ${s.reason ?? "no reason given"}`);
      }
    } catch (err) {
      if (err instanceof CliError && err.exitCode !== exitCodes.unavailable) throw err;
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 1_000)); // the stream broke (a restart): reconnect with Last-Event-ID
    } finally {
      clearTimeout(timer);
    }
  }
  return end(exitCodes.timeout, `timed out after ${w.timeoutSeconds} s waiting for ${name} (last: ${lastLine || "no status"})`);
}

/** An estimate, never a bill: "≈ 1.23 USD". */
function money(amount: number, currency: string): string {
  return `≈ ${amount !== 0 && Math.abs(amount) < 0.005 ? "<0.01" : amount.toFixed(2)} ${currency}`;
}

function printStaging(o: Output, s: StagingDetails | Staging): void {
  const rows: [string, string][] = [
    ["name", paint(o, "bold", s.name)],
    ["repo", s.repo],
    ["origin", s.origin === "pull_request" ? `pull request #${s.pullRequest}` : "named"],
    ["status", `${status(o, s.status)}${s.reason ? ` (${s.reason})` : ""}`],
    ["url", s.url ?? "—"],
    ["ref", `${s.ref || "—"}${s.follow ? " (followed)" : ""}`],
    ["commit", `${short(s.sha)}${s.deployedSha && s.deployedSha !== s.sha ? ` (running ${short(s.deployedSha)})` : ""}`],
    ...(s.imageTag ? ([["image tag", s.imageTag]] as [string, string][]) : []),
    ["namespace", s.namespace],
    ["desired", `${s.desiredState}, generation ${s.generation} (acted on ${s.observedGeneration})`],
    ["changed", s.statusChangedAt],
    ["kept", !s.kept ? "no" : s.kept.by === "label" ? `by the label ${s.kept.label ?? ""}` : s.kept.until ? `until ${s.kept.until}` : "until `octo keep NAME off`"],
    ...(s.nextPolicyAction ? ([["next", `${s.nextPolicyAction.action} at ${s.nextPolicyAction.at} (${s.nextPolicyAction.policy} policy; \`octo keep ${s.name} 7d\` keeps it)`]] as [string, string][]) : []),
    ...(s.cost ? ([["cost", `${money(s.cost.perDay, s.cost.currency)}/day, ${money(s.cost.toDate, s.cost.currency)} to date${s.cost.savedToDate ? `, archiving saved ${money(s.cost.savedToDate, s.cost.currency)}` : ""} (estimate)`]] as [string, string][]) : []),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) o.out(`${k.padEnd(w)}  ${v}`);
  const config = "config" in s ? s.config : null;
  if (config) {
    o.out("");
    o.out(`chart ${config.chart.name ? `${config.chart.name} from ` : ""}${config.chart.repository}${config.chart.version ? ` ${config.chart.version}` : ""}, timeout ${config.deployTimeoutSeconds} s${config.namespaceQuota ? `, quota ${config.namespaceQuota}` : ""}`);
    table(
      o,
      ["SCOPE", "KEY", "VALUE", "FROM"],
      config.entries.map((e) => [e.scope, e.key, e.value === undefined ? "—" : JSON.stringify(e.value), e.source === "override" ? `override by ${e.by} at ${e.at}` : e.source]),
    );
  }
}

export function buildProgram(o: Output, env: NodeJS.ProcessEnv, setExit: (code: number) => void): Command {
  let cachedClient: Client | undefined;
  const client = (): Client => (cachedClient ??= createClient(loadLogin(env)));
  const json = (value: unknown) => o.out(JSON.stringify(value, null, 2));

  /** On "not found", a "did you mean" from the staging names. */
  async function withSuggestion<T>(name: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof CliError && err.code === "not_found") {
        const names = await client()
          .request<{ items: Staging[] }>("GET", "/api/v1/stagings?limit=500&all=true")
          .then((l) => l.items.map((s) => s.name))
          .catch(() => []);
        const guess = closest(name, names);
        throw new CliError(`${err.message}${guess ? `; did you mean ${guess}?` : ""}`, err.exitCode, err.code);
      }
      throw err;
    }
  }

  const program = new Command("octo")
    .description("Octostage stagings from a terminal or CI: list, create, update, archive, restore, delete. Docs: docs/users/cli.md")
    .version("1.0.0")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  const waitOptions = (c: Command) =>
    c
      .option("--wait", "stream status and reason until the staging is done (exit 0), failed (exit 1) or --timeout passes (exit 5)")
      .option("--timeout <seconds>", "how long --wait waits", seconds, 900);
  const idempotency = (c: Command) => c.option("--idempotency-key <key>", "a retry with the same key does not do it twice (CI)");

  program
    .command("login")
    .argument("<url>", "Octostage's URL, e.g. https://octostage.example.com")
    .option("--token <token>", "an API token (default: read from stdin, or OCTOSTAGE_TOKEN)")
    .description(`check the URL and token and save them (${configPath(env)}, mode 0600)`)
    .action(async (url: string, opts: { token?: string }) => {
      let token = opts.token ?? env.OCTOSTAGE_TOKEN;
      if (!token) {
        o.err("API token (octostage token create on the server, or an admin's octo token create):");
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        token = Buffer.concat(chunks).toString("utf8").trim();
      }
      if (!token) throw new CliError("no token given", exitCodes.usage);
      const login: Login = { url: url.replace(/\/+$/, ""), token };
      await createClient(login).request("GET", "/api/v1/stagings?limit=1");
      o.err(`logged in to ${login.url}; saved in ${saveLogin(login, env)}`);
    });

  program
    .command("list")
    .alias("ls")
    .description("list stagings")
    .option("--repo <owner/name>", "only this repository's")
    .option("--status <status>", "only stagings in this status")
    .option("--all", "deleted ones too")
    .option("--json", "JSON output")
    .action(async (opts: { repo?: string; status?: string; all?: boolean; json?: boolean }) => {
      const items: Staging[] = [];
      let cursor: string | null = null;
      do {
        const q = new URLSearchParams({ limit: "500", ...(opts.repo ? { repo: opts.repo } : {}), ...(opts.status ? { status: opts.status } : {}), ...(opts.all ? { all: "true" } : {}), ...(cursor ? { cursor } : {}) });
        const page: { items: Staging[]; next: string | null } = await client().request("GET", `/api/v1/stagings?${q.toString()}`);
        items.push(...page.items);
        cursor = page.next;
      } while (cursor);
      if (opts.json) return json(items);
      if (items.length === 0) return o.err("no stagings");
      table(
        o,
        ["NAME", "STATUS", "REPO", "ORIGIN", "COMMIT", "URL", "COST/DAY (EST.)"],
        items.map((s) => [s.name, status(o, s.status), s.repo, s.origin === "pull_request" ? `PR #${s.pullRequest}` : s.ref || s.imageTag || "—", short(s.deployedSha ?? s.sha), s.url ?? "—", s.cost ? money(s.cost.perDay, s.cost.currency) : "—"]),
      );
    });

  program
    .command("info")
    .argument("<name>")
    .description("a staging: status, reason, URL, commit, and the effective config with where each value comes from")
    .option("--json", "JSON output")
    .action(async (name: string, opts: { json?: boolean }) => {
      const s = await withSuggestion(name, () => client().request<StagingDetails>("GET", path(name)));
      if (opts.json) return json(s);
      printStaging(o, s);
    });

  const overrideOptions = (c: Command) =>
    c
      .option("--set <key=value>", "an app override (Helm value), typed: numbers, true/false, null; repeatable", pair(true))
      .option("--set-string <key=value>", "an app override kept as a string; repeatable", pair(false))
      .option("--deployment <key=value>", "a deployment override: chart.version, chart.repository, deployTimeoutSeconds, namespaceQuota; repeatable", pair(true));
  const mapOf = (pairs: [string, unknown][] | undefined) => (pairs?.length ? Object.fromEntries(pairs) : undefined);

  interface ChangeOptions {
    set?: [string, unknown][];
    setString?: [string, unknown][];
    deployment?: [string, unknown][];
    wait?: boolean;
    timeout: number;
    idempotencyKey?: string;
  }
  const headers = (opts: { idempotencyKey?: string }): Record<string, string> => (opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {});
  const appSets = (opts: ChangeOptions) => mapOf([...(opts.set ?? []), ...(opts.setString ?? [])]);
  const finish = async (name: string, s: Staging, opts: ChangeOptions, done: readonly string[], failed: readonly string[]) => {
    if (!opts.wait) return;
    setExit(await wait(o, client(), name, { generation: s.generation, done, failed, timeoutSeconds: opts.timeout }));
  };

  idempotency(
    waitOptions(
      overrideOptions(
        program
          .command("create")
          .argument("<name>", "the staging's name: lowercase letters, digits, dashes")
          .requiredOption("--repo <owner/name>", "a repository of the project config")
          .option("--ref <ref>", "a branch, tag or commit SHA")
          .option("--tag <tag>", "an image tag to run (instead of the commit's)")
          .option("--follow", "track the branch: a push to it updates the staging")
          .option("--jira <KEY>", "link a Jira issue (its moves archive and restore the staging); repeatable", collect)
          .description("create a staging by name"),
      ),
    ),
  ).action(async (name: string, opts: ChangeOptions & { repo: string; ref?: string; tag?: string; follow?: boolean; jira?: string[] }) => {
    if (!opts.ref && !opts.tag) throw new CliError("give --ref or --tag", exitCodes.usage);
    const s = await client().request<Staging>(
      "POST",
      "/api/v1/stagings",
      { name, repo: opts.repo, ...(opts.ref ? { ref: opts.ref } : {}), ...(opts.tag ? { tag: opts.tag } : {}), ...(opts.follow ? { follow: true } : {}), ...(opts.jira?.length ? { jira: opts.jira } : {}), ...(appSets(opts) ? { set: appSets(opts) } : {}), ...(mapOf(opts.deployment) ? { deployment: mapOf(opts.deployment) } : {}) },
      headers(opts),
    );
    o.err(`created ${s.name} (${s.repo}${s.sha ? ` at ${short(s.sha)}` : ""}${s.imageTag ? `, image tag ${s.imageTag}` : ""})`);
    await finish(name, s, opts, ["running"], ["failed"]);
  });

  idempotency(
    waitOptions(
      overrideOptions(
        program
          .command("update")
          .argument("<name>")
          .option("--ref <ref>", "deploy this branch, tag or commit SHA")
          .option("--tag <tag>", "run this image tag")
          .option("--no-tag", "run the commit's image again (drop an explicit tag)")
          .option("--follow", "track the branch")
          .option("--no-follow", "stop tracking the branch")
          .option("--unset <key>", "remove an app override (back to the default); repeatable", collect)
          .option("--unset-deployment <key>", "remove a deployment override; repeatable", collect)
          .option("--jira <KEY>", "link Jira issues, replacing those linked with --jira before; repeatable", collect)
          .option("--create", "create the staging when there is none (with --repo): for CI")
          .option("--repo <owner/name>", "with --create: the repository")
          .description("update a staging: ref or image tag, and overrides merged (keys not named stay)"),
      ),
    ),
  ).action(async (name: string, opts: ChangeOptions & { ref?: string; tag?: string | false; follow?: boolean; unset?: string[]; unsetDeployment?: string[]; create?: boolean; repo?: string; jira?: string[] }, cmd: Command) => {
    if (opts.create && !opts.repo) throw new CliError("--create needs --repo", exitCodes.usage);
    const followGiven = cmd.getOptionValueSource("follow") === "cli";
    const tagGiven = cmd.getOptionValueSource("tag") === "cli";
    const body = {
      ...(opts.ref ? { ref: opts.ref } : {}),
      ...(tagGiven ? { tag: opts.tag === false ? null : opts.tag } : {}),
      ...(followGiven ? { follow: opts.follow } : {}),
      ...(appSets(opts) ? { set: appSets(opts) } : {}),
      ...(mapOf(opts.deployment) ? { deployment: mapOf(opts.deployment) } : {}),
      ...(opts.unset?.length ? { unset: opts.unset } : {}),
      ...(opts.unsetDeployment?.length ? { unsetDeployment: opts.unsetDeployment } : {}),
      ...(opts.jira?.length ? { jira: opts.jira } : {}),
      ...(opts.create ? { create: { repo: opts.repo } } : {}),
    };
    const out = await withSuggestion(name, () => client().request<{ staging: Staging; created: boolean; changed: boolean }>("PATCH", path(name), body, headers(opts)));
    o.err(out.created ? `created ${name}` : out.changed ? `updated ${name}` : `${name}: nothing to change`);
    if (!out.changed) return;
    await finish(name, out.staging, opts, out.staging.desiredState === "archived" ? ["archived"] : ["running"], ["failed"]);
  });

  const steer = (verb: "archive" | "restore" | "redeploy", describe: string, done: readonly string[], failed: readonly string[]) =>
    idempotency(waitOptions(program.command(verb).argument("<name>").description(describe))).action(async (name: string, opts: ChangeOptions) => {
      const out = await withSuggestion(name, () => client().request<{ staging: Staging; result: string }>("POST", `${path(name)}/${verb}`, undefined, headers(opts)));
      o.err(`${name}: ${out.result.replaceAll("_", " ")}`);
      await finish(name, out.staging, opts, done, failed);
    });
  steer("archive", "scale a staging to zero, keeping its volumes", ["archived"], ["failed"]);
  steer("restore", "bring an archived staging back", ["running"], ["failed"]);
  steer("redeploy", "deploy a staging's commit again", ["running"], ["failed"]);

  idempotency(
    program
      .command("keep")
      .argument("<name>")
      .argument("[keep...]", 'how long: "7d", "until 2027-01-15", nothing (until "off"), or "off"')
      .description("keep a staging from idle archive and retention cleanup, or end the keep (off)"),
  ).action(async (name: string, words: string[], opts: { idempotencyKey?: string }) => {
    const out = await withSuggestion(name, () => client().request<{ staging: Staging; result: string }>("POST", `${path(name)}/keep`, { keep: words.join(" ") }, headers(opts)));
    const k = out.staging.kept;
    o.err(out.result === "unkept" ? `${name}: not kept; the idle and retention policies apply again` : `${name}: kept ${k?.until ? `until ${k.until}` : `until \`octo keep ${name} off\``}`);
  });

  waitOptions(program.command("delete").argument("<name>").description("uninstall a staging and delete its namespace and volumes")).action(async (name: string, opts: ChangeOptions) => {
    const out = await withSuggestion(name, () => client().request<{ staging: Staging; result: string }>("DELETE", path(name)));
    o.err(`${name}: ${out.result.replaceAll("_", " ")}`);
    await finish(name, out.staging, opts, ["deleted"], ["cleanup_failed"]);
  });

  program
    .command("forget")
    .argument("<name>")
    .description("remove a staging's record and history without touching the cluster (admin)")
    .action(async (name: string) => {
      await withSuggestion(name, () => client().request<Staging>("POST", `${path(name)}/forget`));
      o.err(`${name} forgotten (its namespace, if any, is left as it is)`);
    });

  program
    .command("actions")
    .argument("<name>")
    .description("a staging's audit log, oldest first")
    .option("--json", "JSON output")
    .action(async (name: string, opts: { json?: boolean }) => {
      const { items } = await withSuggestion(name, () => client().request<{ items: Action[] }>("GET", `${path(name)}/actions`));
      if (opts.json) return json(items);
      table(
        o,
        ["ID", "WHEN", "KIND", "BY", "STATE", "DURATION"],
        items.map((a) => [a.id, a.createdAt, a.kind, `${a.source}:${a.actor}`, a.state === "failed" ? paint(o, "red", a.state) : a.state, a.durationMs === null ? "—" : `${(a.durationMs / 1000).toFixed(1)} s`]),
      );
    });

  program
    .command("logs")
    .argument("<action>", "an action id (octo actions NAME)")
    .description("the output of one run (helm's, secrets redacted)")
    .action(async (id: string) => {
      const log = await client().request<{ log: string; note: string | null }>("GET", `/api/v1/actions/${encodeURIComponent(id)}/log`);
      if (log.note) o.err(log.note);
      if (log.log) o.out(log.log);
    });

  program
    .command("keys")
    .argument("<project>", "a project name (or owner/name)")
    .description("the chart's configurable keys, with defaults and types")
    .option("--json", "JSON output")
    .action(async (project: string, opts: { json?: boolean }) => {
      const keys = await client().request<{ chart: string; version: string | null; keys: { key: string; type: string; default?: unknown; description?: string }[] }>("GET", `/api/v1/projects/${encodeURIComponent(project)}/keys`);
      if (opts.json) return json(keys);
      o.err(`${keys.chart}${keys.version ? ` ${keys.version}` : ""}`);
      table(o, ["KEY", "TYPE", "DEFAULT", "DESCRIPTION"], keys.keys.map((k) => [k.key, k.type, k.default === undefined ? "—" : JSON.stringify(k.default), k.description ?? ""]));
    });

  program
    .command("cost")
    .argument("<project>", "a project name (or owner/name)")
    .description("what a repository's stagings cost (an estimate): per day, to date, and what archiving saved")
    .option("--json", "JSON output")
    .action(async (project: string, opts: { json?: boolean }) => {
      const c = await client().request<{ project: string; repo: string; running: number; archived: number; cost: { currency: string; perDay: number; toDate: number; savedToDate: number; savedPerDay: number } | null }>(
        "GET",
        `/api/v1/projects/${encodeURIComponent(project)}/cost`,
      );
      if (opts.json) return json(c);
      o.out(`${c.repo}: ${c.running} running, ${c.archived} archived`);
      if (!c.cost) return o.out("no cost estimate: the project config has no prices (docs/users/lifecycle.md#cost)");
      o.out(`per day   ${money(c.cost.perDay, c.cost.currency)}`);
      o.out(`to date   ${money(c.cost.toDate, c.cost.currency)}`);
      o.out(`archiving saved ${money(c.cost.savedToDate, c.cost.currency)} so far, ${money(c.cost.savedPerDay, c.cost.currency)} per day now`);
      o.out("(estimates from resource requests and volume sizes at the configured prices)");
    });

  const token = program.command("token").description("API tokens (admin)");
  token
    .command("create")
    .argument("<name>")
    .addOption(new Option("--role <role>", "what it may do").choices(["read", "operate", "admin"]).makeOptionMandatory())
    .option("--expires-in-days <days>", "expire after this many days", seconds)
    .description("create a token; it is printed once")
    .action(async (name: string, opts: { role: string; expiresInDays?: number }) => {
      const out = await client().request<{ token: string }>("POST", "/api/v1/tokens", { name, role: opts.role, ...(opts.expiresInDays ? { expiresInDays: opts.expiresInDays } : {}) });
      o.out(out.token);
      o.err(`token "${name}" (${opts.role}) created: it is shown only now`);
    });
  token
    .command("list")
    .option("--json", "JSON output")
    .description("list tokens (never the tokens themselves)")
    .action(async (opts: { json?: boolean }) => {
      const { items } = await client().request<{ items: Token[] }>("GET", "/api/v1/tokens");
      if (opts.json) return json(items);
      table(o, ["NAME", "ROLE", "PREFIX", "STATE", "EXPIRES", "LAST USED"], items.map((t) => [t.name, t.role, `${t.prefix}…`, t.revokedAt ? "revoked" : t.expiresAt && new Date(t.expiresAt) < new Date() ? "expired" : "active", t.expiresAt ?? "never", t.lastUsedAt ?? "—"]));
    });
  token
    .command("revoke")
    .argument("<name>")
    .description("revoke a token at once")
    .action(async (name: string) => {
      await client().request("DELETE", `/api/v1/tokens/${encodeURIComponent(name)}`);
      o.err(`token "${name}" revoked`);
    });

  program
    .command("completion")
    .addArgument(new Command().createArgument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .description("print a shell completion script: octo completion bash > /etc/bash_completion.d/octo")
    .action((shell: "bash" | "zsh" | "fish") => o.out(completion(program, shell)));

  return program;
}

/** A completion script for the program's commands and options (generated from commander's tree). */
export function completion(program: Command, shell: "bash" | "zsh" | "fish"): string {
  const commands = program.commands.map((c) => ({ name: c.name(), options: c.options.map((opt) => opt.long).filter((l): l is string => Boolean(l)), subs: c.commands.map((s) => s.name()) }));
  if (shell === "fish") {
    const lines = ["complete -c octo -f"];
    for (const c of commands) {
      lines.push(`complete -c octo -n __fish_use_subcommand -a ${c.name}`);
      for (const s of c.subs) lines.push(`complete -c octo -n "__fish_seen_subcommand_from ${c.name}" -a ${s}`);
      for (const opt of c.options) lines.push(`complete -c octo -n "__fish_seen_subcommand_from ${c.name}" -l ${opt.replace(/^--/, "")}`);
    }
    return lines.join("\n");
  }
  const cases = commands.map((c) => `    ${c.name}) words="${[...c.subs, ...c.options].join(" ")}" ;;`).join("\n");
  const bash = `_octo() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local words
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${commands.map((c) => c.name).join(" ")}"
  else
    case "\${COMP_WORDS[1]}" in
${cases}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _octo octo`;
  return shell === "zsh" ? `autoload -U +X bashcompinit && bashcompinit\n${bash}` : bash;
}

/** Runs `octo` with these arguments; resolves with the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, o: Output = terminalOutput(env)): Promise<number> {
  let code: number = exitCodes.ok;
  const program = buildProgram(o, env, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CliError) {
      o.err(`${paint(o, "red", "error")}: ${err.message}`);
      return err.exitCode;
    }
    const commanderExit = (err as { exitCode?: number; code?: string }).exitCode;
    if (typeof commanderExit === "number") return commanderExit === 0 ? exitCodes.ok : exitCodes.usage;
    o.err(`${paint(o, "red", "error")}: ${(err as Error).message}`);
    return exitCodes.unavailable;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
