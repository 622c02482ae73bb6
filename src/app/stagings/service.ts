/**
 * The one application core every surface calls (the HTTP API and `octo` today; PR comments for
 * what they share; Slack, Jira and the dashboard next): list, get, create, update, archive,
 * restore, redeploy, delete, forget, the audit log and the log of one run. Each takes a caller
 * (an actor and a role) and checks the role first; each change is one transaction
 * (steer.ts / changeAndEnqueue). Results are values, never exceptions, with a stable code.
 */
import type { CommandResult } from "../../domain/intent/commands.ts";
import type { OverrideChange } from "../../domain/intent/inputs.ts";
import { decideCreate, decideUpdate } from "../../domain/intent/named.ts";
import type { NamedHead } from "../../domain/intent/named.ts";
import { gitRefProblem, imageTagProblem, namedStagingNameProblem } from "../../domain/origin.ts";
import { effectiveConfig } from "../../domain/overrides.ts";
import type { EffectiveConfig } from "../../domain/overrides.ts";
import { roleRefusal } from "../../domain/roles.ts";
import type { Caller, UseCase } from "../../domain/roles.ts";
import type { RepoSettings } from "../../domain/settings.ts";
import { namedIdentity } from "../../domain/spec.ts";
import type { StagingStatus } from "../../domain/state-machine.ts";
import { GitHubError } from "../../ports/code-host.ts";
import type { ActionRecord, OverrideRecord, StagingRecord } from "../../ports/store.ts";
import { changeAndEnqueue } from "../change-staging.ts";
import type { AppDeps } from "../deps.ts";
import { pullRequestSpec } from "../desired-spec.ts";
import { archiveStaging } from "./archive-staging.ts";
import { deleteStaging } from "./delete-staging.ts";
import { chartSchemaProblem, overridesProblem } from "./override-rules.ts";
import type { ChartKey } from "../charts.ts";
import { redeployStaging } from "./redeploy-staging.ts";
import { restoreStaging } from "./restore-staging.ts";
import { keepStaging } from "./keep-staging.ts";
import { saveIssueLinks } from "../jira/link-issues.ts";
import { checkRunningLimit, makeRoom, withinLimit } from "../lifecycle/running-limit.ts";
import { isIssueKey, maxKeysPerStaging, projectOf } from "../../domain/jira.ts";
import { estimate, sumEstimates } from "../../domain/cost.ts";
import type { CostEstimate } from "../../domain/cost.ts";
import { refuse } from "../../domain/intent/commands.ts";
import { steerStaging } from "./steer.ts";
import type { SteerRequest } from "./steer.ts";

export type CoreDeps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock" | "codeHost"> & Partial<Pick<AppDeps, "charts" | "issueTracker">>;

export type CoreErrorCode = "not_found" | "forbidden" | "invalid" | "conflict" | "unavailable";
export type CoreResult<T> = { ok: true; value: T } | { ok: false; code: CoreErrorCode; message: string };

const fail = (code: CoreErrorCode, message: string): { ok: false; code: CoreErrorCode; message: string } => ({ ok: false, code, message });

function allowed(caller: Caller, useCase: UseCase): CoreResult<never> | undefined {
  const refusal = roleRefusal(caller, useCase);
  return refusal ? fail("forbidden", refusal) : undefined;
}

/** A refused decision as a core error: a wrong override is invalid input, anything else a conflict with the staging's state. */
function fromCommand(r: Extract<CommandResult, { ok: false }>): CoreResult<never> {
  return fail(r.code === "invalid_override" || r.code === "invalid_keep" ? "invalid" : "conflict", r.message);
}

/** A staging as the API shows it. */
export interface StagingDetails {
  staging: StagingRecord;
  /** Only with `get`: the effective configuration and where each value comes from. */
  config?: EffectiveConfig;
  overrides?: OverrideRecord[];
  /** The chart's own defaults for keys neither the project nor an override sets (when the chart could be read). */
  chartDefaults?: { key: string; value: unknown }[];
}

export interface ListQuery {
  repo?: string;
  status?: StagingStatus;
  /** Deleted stagings too. */
  all?: boolean;
  /** The name after which to continue (a cursor). */
  after?: string;
  limit: number;
}

export async function listStagings(deps: CoreDeps, caller: Caller, q: ListQuery): Promise<CoreResult<{ items: StagingRecord[]; next: string | null }>> {
  const refused = allowed(caller, "list");
  if (refused) return refused;
  let repo: { owner: string; name: string } | undefined;
  if (q.repo !== undefined) {
    const [owner, name, extra] = q.repo.split("/");
    if (!owner || !name || extra !== undefined) return fail("invalid", `repo must be owner/name, not "${q.repo}"`);
    repo = { owner, name };
  }
  const items = await deps.store.listStagings({ ...(repo ? { repo } : {}), ...(q.status ? { status: q.status } : {}), includeDeleted: q.all === true, ...(q.after ? { after: q.after } : {}), limit: q.limit + 1 });
  const page = items.slice(0, q.limit);
  return { ok: true, value: { items: page, next: items.length > q.limit ? (page.at(-1)?.name ?? null) : null } };
}

async function byName(deps: CoreDeps, name: string): Promise<CoreResult<StagingRecord>> {
  const staging = await deps.store.findByName(name);
  return staging ? { ok: true, value: staging } : fail("not_found", `no staging named "${name}"`);
}

function settingsOf(deps: CoreDeps, s: StagingRecord): RepoSettings | undefined {
  return deps.project.forRepo(`${s.repoOwner}/${s.repoName}`);
}

export async function getStaging(deps: CoreDeps, caller: Caller, name: string): Promise<CoreResult<StagingDetails>> {
  const refused = allowed(caller, "get");
  if (refused) return refused;
  const found = await byName(deps, name);
  if (!found.ok) return found;
  const overrides = await deps.store.listOverrides(found.value.id);
  const settings = settingsOf(deps, found.value);
  if (!settings) return { ok: true, value: { staging: found.value, overrides } };
  const config = effectiveConfig(settings, overrides);
  const info = deps.charts ? await deps.charts.info(config.chart) : undefined;
  const set = new Set(config.entries.map((e) => e.key));
  // A chart default under a key the project or an override replaced (a whole object) is not in effect either.
  const covered = (key: string) => [...set].some((k) => key === k || key.startsWith(`${k}.`) || key.startsWith(`${k}[`));
  const chartDefaults = info?.ok ? info.value.keys.filter((k) => "default" in k && !covered(k.key)).map((k) => ({ key: k.key, value: k.default })) : undefined;
  return { ok: true, value: { staging: found.value, overrides, config, ...(chartDefaults ? { chartDefaults } : {}) } };
}

export interface NamedInput {
  /** A branch, tag or commit SHA of the repository. */
  ref?: string;
  /** An explicit image tag; null on update removes it. */
  tag?: string | null;
  follow?: boolean;
  changes?: OverrideChange[];
  /** Jira issue keys to link (`--jira KEY`): replaces the keys given this way before. */
  jira?: string[];
}

/** `--jira` keys: Jira's shape, of a project the repository links, at most 10. */
function jiraProblem(settings: RepoSettings, keys: readonly string[] | undefined): string | undefined {
  if (keys === undefined || keys.length === 0) return undefined;
  const projects = settings.jira?.projects ?? [];
  if (projects.length === 0) return `${settings.repo} links no Jira projects: add a \`jira.projects\` list to its project config first`;
  if (keys.length > maxKeysPerStaging) return `at most ${maxKeysPerStaging} Jira issues per staging (got ${keys.length})`;
  for (const key of keys) {
    if (!isIssueKey(key)) return `"${key.slice(0, 40)}" is not a Jira issue key (PROJECT-123)`;
    if (!projects.includes(projectOf(key))) return `${key} is not in a Jira project ${settings.repo} links (${projects.join(", ")})`;
  }
  return undefined;
}

async function linkApiIssues(deps: CoreDeps, stagingId: string, keys: readonly string[] | undefined): Promise<void> {
  if (keys === undefined) return;
  await saveIssueLinks(deps, stagingId, ["api"], [...new Set(keys)].map((issueKey) => ({ issueKey, source: "api" as const })));
}

export interface CreateInput extends NamedInput {
  name: string;
  /** owner/name, as in the project config. */
  repo: string;
}

/** Checks the ref and tag, and resolves the ref to a commit through the repository's installation. */
async function resolveHead(deps: CoreDeps, installationId: number, owner: string, repo: string, input: NamedInput): Promise<CoreResult<NamedHead>> {
  const head: NamedHead = {};
  if (input.tag !== undefined && input.tag !== null) {
    const problem = imageTagProblem(input.tag);
    if (problem) return fail("invalid", problem);
  }
  if (input.tag !== undefined) head.imageTag = input.tag;
  if (input.follow !== undefined) head.follow = input.follow;
  if (input.ref !== undefined) {
    const problem = gitRefProblem(input.ref);
    if (problem) return fail("invalid", problem);
    let sha: string | null;
    try {
      sha = await deps.codeHost.resolveRef(installationId, owner, repo, input.ref);
    } catch (err) {
      return fail("unavailable", `could not ask GitHub about ${input.ref} in ${owner}/${repo}: ${err instanceof GitHubError ? err.code : (err as Error).message}`);
    }
    if (!sha) return fail("invalid", `${owner}/${repo} has no branch, tag or commit "${input.ref}"`);
    head.commit = { sha, ref: input.ref };
  }
  return { ok: true, value: head };
}

export async function createStaging(deps: CoreDeps, caller: Caller, input: CreateInput): Promise<CoreResult<StagingRecord>> {
  const refused = allowed(caller, "create");
  if (refused) return refused;
  const nameProblem = namedStagingNameProblem(input.name);
  if (nameProblem) return fail("invalid", nameProblem);
  const settings = deps.project.forRepo(input.repo);
  if (!settings) return fail("invalid", `${input.repo} is not a repository of the project config: ${deps.project.repositories.map((r) => r.repo).join(", ")}`);
  if (input.ref === undefined && (input.tag === undefined || input.tag === null)) return fail("invalid", "give a git ref (branch, tag or SHA) or an image tag");
  if (input.follow && input.ref === undefined) return fail("invalid", "--follow needs a branch (--ref) to follow");
  const jira = jiraProblem(settings, input.jira);
  if (jira) return fail("invalid", jira);
  const [owner, repo] = settings.repo.split("/") as [string, string];
  let identity;
  try {
    identity = namedIdentity(settings, input.name);
  } catch (err) {
    return fail("invalid", (err as Error).message);
  }
  if (await deps.store.findByName(input.name)) return fail("conflict", `a staging named "${input.name}" already exists`);
  let installationId: number | null;
  try {
    installationId = await deps.codeHost.findInstallation(owner, repo);
  } catch (err) {
    return fail("unavailable", `could not ask GitHub for the app's installation on ${settings.repo}: ${err instanceof GitHubError ? err.code : (err as Error).message}`);
  }
  if (installationId === null) return fail("invalid", `the GitHub App is not installed on ${settings.repo}: install it there first`);
  const head = await resolveHead(deps, installationId, owner, repo, input);
  if (!head.ok) return head;
  const changes = input.changes ?? [];
  const problem = overridesProblem(settings, [], changes) ?? (await chartSchemaProblem(deps, settings, [], changes));
  const limit = await checkRunningLimit(deps, settings, null);
  const out = await changeAndEnqueue(deps, {
    target: { name: input.name, create: { ...identity, installationId, repoOwner: owner, repoName: repo } },
    event: "api.create",
    decide: (current) => withinLimit(limit, current?.staging ?? null, decideCreate(current?.staging ?? null, caller.actor, head.value, changes, problem), (message) => refuse("running_limit", message)),
    spec: pullRequestSpec(settings, owner, repo, null),
  });
  if (out.outcome === "duplicate") throw new Error("a create has no delivery id");
  if (!out.result.ok) return fromCommand(out.result);
  if (out.outcome !== "changed") return fail("conflict", out.reason);
  await linkApiIssues(deps, out.staging.id, input.jira);
  if (out.staging.desiredState === "active") await makeRoom(deps, settings, limit, out.staging.name);
  return { ok: true, value: out.staging };
}

/**
 * Checks override changes as a create or update of `name` would (the value rules, the project's
 * value policy, the chart's values.schema.json), without changing anything: the form's fields
 * are checked as they are typed.
 */
export async function checkChanges(deps: CoreDeps, caller: Caller, repo: string, changes: readonly OverrideChange[], name?: string): Promise<CoreResult<{ problem: string | null }>> {
  const refused = allowed(caller, "keys");
  if (refused) return refused;
  const settings = deps.project.forRepo(repo);
  if (!settings) return fail("not_found", `${repo} is not a repository of the project config`);
  const staging = name ? await deps.store.findByName(name) : null;
  // GitHub's names are case-insensitive: a staging stored as GitHub spells its repository is still this one.
  const existing = staging && `${staging.repoOwner}/${staging.repoName}`.toLowerCase() === settings.repo.toLowerCase() ? await deps.store.listOverrides(staging.id) : [];
  const problem = overridesProblem(settings, existing, changes) ?? (await chartSchemaProblem(deps, settings, existing, changes));
  return { ok: true, value: { problem: problem ?? null } };
}

export interface UpdateOptions {
  /** Create the staging when there is none (with `repo`): CI's `octo update NAME --tag SHA --create`. */
  create?: { repo: string };
}

export async function updateStaging(deps: CoreDeps, caller: Caller, name: string, input: NamedInput, options: UpdateOptions = {}): Promise<CoreResult<{ staging: StagingRecord; created: boolean; changed: boolean }>> {
  const refused = allowed(caller, "update");
  if (refused) return refused;
  const found = await deps.store.findByName(name);
  if (!found) {
    if (!options.create) return fail("not_found", `no staging named "${name}"`);
    const created = await createStaging(deps, caller, { ...input, name, repo: options.create.repo });
    return created.ok ? { ok: true, value: { staging: created.value, created: true, changed: true } } : created;
  }
  const settings = settingsOf(deps, found);
  if (!settings) return fail("conflict", `${found.repoOwner}/${found.repoName} is no longer in the project config`);
  if (input.follow && input.ref === undefined && !found.headRef) return fail("invalid", "--follow needs a branch (--ref) to follow");
  const jira = jiraProblem(settings, input.jira);
  if (jira) return fail("invalid", jira);
  const head = await resolveHead(deps, found.installationId, found.repoOwner, found.repoName, input);
  if (!head.ok) return head;
  const changes = input.changes ?? [];
  let changed = false;
  const schemaProblem = await chartSchemaProblem(deps, settings, await deps.store.listOverrides(found.id), changes);
  const out = await steerStaging(deps, { stagingId: found.id, actor: caller.actor, event: "api.update" }, (current, overrides) => {
    const decision = decideUpdate({ ...current, origin: found.origin }, caller.actor, head.value, changes, overridesProblem(settings, overrides, changes) ?? schemaProblem);
    changed = decision.change;
    return decision;
  });
  if (!out.ok) return fromCommand(out);
  await linkApiIssues(deps, found.id, input.jira);
  const staging = await deps.store.get(found.id);
  if (!staging) return fail("not_found", `no staging named "${name}"`);
  return { ok: true, value: { staging, created: false, changed } };
}

type Steer = (deps: CoreDeps, req: SteerRequest) => Promise<CommandResult>;

async function steerByName(deps: CoreDeps, caller: Caller, useCase: UseCase, name: string, steer: Steer): Promise<CoreResult<{ staging: StagingRecord; result: CommandResult }>> {
  const refused = allowed(caller, useCase);
  if (refused) return refused;
  const found = await byName(deps, name);
  if (!found.ok) return found;
  // A fork PR's restore and redeploy still deploy only the commit a maintainer approved (forkGate).
  const result = await steer(deps, { stagingId: found.value.id, actor: caller.actor, event: `api.${useCase}` });
  if (!result.ok) return fromCommand(result);
  const staging = (await deps.store.get(found.value.id)) ?? found.value;
  return { ok: true, value: { staging, result } };
}

export const archiveByName = (deps: CoreDeps, caller: Caller, name: string) => steerByName(deps, caller, "archive", name, archiveStaging);
export const restoreByName = (deps: CoreDeps, caller: Caller, name: string) => steerByName(deps, caller, "restore", name, restoreStaging);
export const redeployByName = (deps: CoreDeps, caller: Caller, name: string) => steerByName(deps, caller, "redeploy", name, redeployStaging);
export const deleteByName = (deps: CoreDeps, caller: Caller, name: string) => steerByName(deps, caller, "delete", name, deleteStaging);
/** `keep` as people type it: `7d`, `until 2027-01-15`, "" (until `keep off`) or `off`. */
export const keepByName = (deps: CoreDeps, caller: Caller, name: string, keep: string) => steerByName(deps, caller, "keep", name, (d, req) => keepStaging(d, { ...req, arg: keep }));

/** Removes a staging's record and history without touching the cluster (its namespace, if any, stays). */
export async function forgetStaging(deps: CoreDeps, caller: Caller, name: string): Promise<CoreResult<StagingRecord>> {
  const refused = allowed(caller, "forget");
  if (refused) return refused;
  const found = await byName(deps, name);
  if (!found.ok) return found;
  await deps.store.forget(found.value.id);
  deps.logger.info({ staging: name, actor: caller.actor.id, source: caller.actor.source }, "staging forgotten: its record and history are removed, the cluster is untouched");
  return found;
}

export async function listActions(deps: CoreDeps, caller: Caller, name: string): Promise<CoreResult<ActionRecord[]>> {
  const refused = allowed(caller, "actions");
  if (refused) return refused;
  const found = await byName(deps, name);
  if (!found.ok) return found;
  return { ok: true, value: await deps.store.listActions(found.value.id) };
}

/** The configurable keys of a project's chart, with types, defaults and descriptions. */
export async function chartKeys(deps: CoreDeps, caller: Caller, project: string): Promise<CoreResult<{ project: string; chart: string; version: string | null; schema: boolean; keys: ChartKey[] }>> {
  const refused = allowed(caller, "keys");
  if (refused) return refused;
  const settings = deps.project.repositories.find((r) => r.name === project || r.repo.toLowerCase() === project.toLowerCase());
  if (!settings) return fail("not_found", `no project "${project}": ${deps.project.repositories.map((r) => r.name).join(", ")}`);
  if (!deps.charts) return fail("unavailable", "chart keys need helm on this server (HELM_BIN)");
  const info = await deps.charts.info(settings.chart);
  if (!info.ok) return fail("unavailable", info.message);
  return { ok: true, value: { project: settings.name, chart: settings.chart.name ?? settings.chart.repository, version: info.value.version ?? settings.chart.version ?? null, schema: info.value.schema !== null, keys: info.value.keys } };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One run's audit entry with helm's output (secrets redacted when it was recorded, capped). */
export async function getAction(deps: CoreDeps, caller: Caller, id: string): Promise<CoreResult<{ action: ActionRecord; staging: StagingRecord | null }>> {
  const refused = allowed(caller, "actionLog");
  if (refused) return refused;
  const action = uuid.test(id) ? await deps.store.getAction(id) : null;
  if (!action) return fail("not_found", `no action ${id}`);
  return { ok: true, value: { action, staging: await deps.store.get(action.stagingId) } };
}

export interface ProjectCost {
  project: string;
  repo: string;
  /** Stagings counted: running (or deploying) and archived ones. */
  running: number;
  archived: number;
  /** Null when no prices are configured (project config `cost`). */
  cost: { currency: string; perDay: number; toDate: number; savedToDate: number; savedPerDay: number } | null;
}

/**
 * A repository's stagings' cost, estimated (lifecycle-summary.ts): what they cost per day now,
 * to date (cleaned-up ones included, for what they cost while they existed), and what archiving saved.
 */
export async function projectCost(deps: CoreDeps, caller: Caller, project: string): Promise<CoreResult<ProjectCost>> {
  const refused = allowed(caller, "cost");
  if (refused) return refused;
  const settings = deps.project.repositories.find((r) => r.name === project || r.repo.toLowerCase() === project.toLowerCase());
  if (!settings) return fail("not_found", `no project "${project}": ${deps.project.repositories.map((r) => r.name).join(", ")}`);
  const [owner, name] = settings.repo.split("/") as [string, string];
  const now = deps.clock.now();
  const estimates: CostEstimate[] = [];
  let running = 0;
  let archived = 0;
  let after: string | undefined;
  for (;;) {
    const page = await deps.store.listStagings({ repo: { owner, name }, includeDeleted: true, limit: 500, ...(after ? { after } : {}) });
    for (const s of page) {
      if (s.desiredState === "active") running++;
      if (s.desiredState === "archived") archived++;
      if (deps.project.cost && s.usage) estimates.push(estimate(s.usage, deps.project.cost, now));
    }
    if (page.length < 500) break;
    after = page.at(-1)!.name;
  }
  const total = deps.project.cost ? (sumEstimates(estimates) ?? { currency: deps.project.cost.currency, perDay: 0, toDate: 0, savedToDate: 0, savedPerDay: 0 }) : null;
  return { ok: true, value: { project: settings.name, repo: settings.repo, running, archived, cost: total } };
}
