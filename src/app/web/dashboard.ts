/**
 * The web dashboard's use cases: the core's (src/app/stagings/service.ts), run for a person
 * signed in with GitHub whose role on each repository comes from GitHub itself
 * (domain/web-access.ts). Like Slack, a staging in a repository the person may not read is
 * answered as one that does not exist; every change re-asks GitHub (a permission just removed
 * counts at once), views use the answer cached for a minute.
 */
import type { Actor } from "../../domain/actor.ts";
import { summarizeLifecycle } from "../../domain/lifecycle-summary.ts";
import type { LifecycleSummary } from "../../domain/lifecycle-summary.ts";
import { hasRole, roleNeededFor } from "../../domain/roles.ts";
import type { Caller, Role, UseCase } from "../../domain/roles.ts";
import type { RepoSettings } from "../../domain/settings.ts";
import type { StagingStatus } from "../../domain/state-machine.ts";
import { roleFromPermission, webRefusal } from "../../domain/web-access.ts";
import type { OverrideChange } from "../../domain/intent/inputs.ts";
import type { ActionRecord, StagingRecord } from "../../ports/store.ts";
import * as core from "../stagings/service.ts";
import type { CoreDeps, CoreResult, StagingDetails } from "../stagings/service.ts";

/** Someone signed in to the dashboard with GitHub. */
export interface WebPerson {
  login: string;
  name: string;
}

const webActor = (p: WebPerson): Actor => ({ source: "web", id: p.login, name: p.login });

type AccessDeps = Pick<CoreDeps, "codeHost" | "project" | "clock" | "logger">;

/** A person's role on each repository, from GitHub, cached briefly. */
export interface RepoRoles {
  /** The role on one repository; `fresh` asks GitHub again (before a change). Throws when GitHub cannot answer. */
  roleOn(login: string, repo: string, options?: { fresh?: boolean }): Promise<Role | null>;
  /** The repositories the person may at least read, and those GitHub could not be asked about. */
  readable(login: string): Promise<{ repos: { settings: RepoSettings; role: Role }[]; unchecked: string[] }>;
  /** Forgets the person's cached roles (sign-out, sign-in). */
  forget(login: string): void;
}

export function createRepoRoles(deps: AccessDeps, ttlMs = 60_000): RepoRoles {
  const cache = new Map<string, { at: number; role: Role | null }>();
  const keyOf = (login: string, repo: string) => `${login.toLowerCase()}\u0000${repo.toLowerCase()}`;
  const ask = async (login: string, repo: string): Promise<Role | null> => {
    const [owner, name] = repo.split("/") as [string, string];
    const installationId = await deps.codeHost.findInstallation(owner, name);
    // Not installed there: nobody steers its stagings through the app.
    if (installationId === null) return null;
    // The permission endpoint names a repository, not a pull request: number 0 is never read.
    const permission = await deps.codeHost.getPermission({ installationId, owner, repo: name, number: 0 }, login);
    return roleFromPermission(permission);
  };
  const roles: RepoRoles = {
    async roleOn(login, repo, options = {}) {
      const key = keyOf(login, repo);
      const now = deps.clock.now().getTime();
      const hit = cache.get(key);
      if (!options.fresh && hit && now - hit.at < ttlMs) return hit.role;
      const role = await ask(login, repo);
      cache.set(key, { at: now, role });
      return role;
    },
    async readable(login) {
      const unchecked: string[] = [];
      const answers = await Promise.all(
        deps.project.repositories.map(async (settings) => {
          try {
            return { settings, role: await roles.roleOn(login, settings.repo) };
          } catch (err) {
            deps.logger.warn({ repo: settings.repo, login, err: (err as Error).message }, "could not ask GitHub for a dashboard user's permission");
            unchecked.push(settings.repo);
            return { settings, role: null };
          }
        }),
      );
      return { repos: answers.filter((a): a is { settings: RepoSettings; role: Role } => a.role !== null), unchecked };
    },
    forget(login) {
      for (const key of cache.keys()) if (key.startsWith(`${login.toLowerCase()}\u0000`)) cache.delete(key);
    },
  };
  return roles;
}

export interface WebDeps extends CoreDeps {
  roles: RepoRoles;
}

const fail = (code: core.CoreErrorCode, message: string): { ok: false; code: core.CoreErrorCode; message: string } => ({ ok: false, code, message });

const repoOf = (s: StagingRecord) => `${s.repoOwner}/${s.repoName}`;

/** A staging as the dashboard lists it. */
export interface StagingRow {
  staging: StagingRecord;
  life: LifecycleSummary;
  /** Who started it (its first audit entry): the PR's author, or who created a named staging. */
  createdBy?: string;
  role: Role;
}

async function rowsOf(deps: CoreDeps, stagings: readonly { staging: StagingRecord; role: Role }[]): Promise<StagingRow[]> {
  const creators = await deps.store.creators(stagings.map((s) => s.staging.id));
  return stagings.map(({ staging, role }) => {
    const creator = creators.get(staging.id);
    return {
      staging,
      role,
      life: summarizeLifecycle(deps.project.forRepo(repoOf(staging))?.lifecycle, deps.project.cost, staging, deps.clock.now()),
      ...(creator ? { createdBy: creator.actorName ?? creator.actor } : {}),
    };
  });
}

export interface ListFilter {
  repo?: string;
  status?: StagingStatus;
  /** A part of the name. */
  q?: string;
  /** Archived stagings too (hidden unless asked for). */
  archived?: boolean;
}

/** Stagings shown per repository at most (the page says when there are more). */
const listCap = 2000;

export interface StagingList {
  rows: StagingRow[];
  repos: { repo: string; role: Role }[];
  unchecked: string[];
  truncated: string[];
}

/** The stagings of every repository the person may read, filtered. */
export async function listForPerson(deps: WebDeps, person: WebPerson, filter: ListFilter): Promise<CoreResult<StagingList>> {
  const { repos, unchecked } = await deps.roles.readable(person.login);
  const chosen = filter.repo ? repos.filter((r) => r.settings.repo.toLowerCase() === filter.repo!.toLowerCase()) : repos;
  const found: { staging: StagingRecord; role: Role }[] = [];
  const truncated: string[] = [];
  const q = filter.q?.trim().toLowerCase();
  for (const { settings, role } of chosen) {
    let after: string | undefined;
    let seen = 0;
    for (;;) {
      const page = await core.listStagings(deps, { actor: webActor(person), role }, { repo: settings.repo, ...(filter.status ? { status: filter.status } : {}), limit: 500, ...(after ? { after } : {}) });
      if (!page.ok) return page;
      for (const staging of page.value.items) {
        if (!filter.archived && filter.status !== "archived" && staging.status === "archived") continue;
        if (q && !staging.name.includes(q)) continue;
        found.push({ staging, role });
      }
      seen += page.value.items.length;
      if (page.value.next === null) break;
      if (seen >= listCap) {
        truncated.push(settings.repo);
        break;
      }
      after = page.value.next;
    }
  }
  found.sort((a, b) => b.staging.statusChangedAt.getTime() - a.staging.statusChangedAt.getTime() || a.staging.name.localeCompare(b.staging.name));
  return { ok: true, value: { rows: await rowsOf(deps, found), repos: repos.map((r) => ({ repo: r.settings.repo, role: r.role })), unchecked, truncated } };
}

/** A mark of the stagings the person may read that moves whenever one of them changes status (the live table's cheap check). */
export async function listMark(deps: WebDeps, person: WebPerson): Promise<string> {
  const { repos } = await deps.roles.readable(person.login);
  return deps.store.listMark(repos.map((r) => r.settings.repo));
}

/** The staging when the person may read it (its repository's role), else not found. */
async function visible(deps: WebDeps, person: WebPerson, name: string, options: { fresh?: boolean } = {}): Promise<CoreResult<{ staging: StagingRecord; role: Role }>> {
  const staging = await deps.store.findByName(name);
  const notFound = fail("not_found", `no staging named "${name.slice(0, 63)}"`);
  if (!staging) return notFound;
  let role: Role | null;
  try {
    role = await deps.roles.roleOn(person.login, repoOf(staging), options);
  } catch (err) {
    return fail("unavailable", `could not ask GitHub for your access to ${repoOf(staging)}: ${(err as Error).message}`);
  }
  return role === null ? notFound : { ok: true, value: { staging, role } };
}

export interface StagingPage {
  row: StagingRow;
  details: StagingDetails;
  actions: ActionRecord[];
  transitions: Awaited<ReturnType<CoreDeps["store"]["listTransitions"]>>;
  /** Jira issue keys linked to it. */
  issues: string[];
  secretKeys: string[];
}

/** Everything the staging's page shows. */
export async function stagingPage(deps: WebDeps, person: WebPerson, name: string): Promise<CoreResult<StagingPage>> {
  const seen = await visible(deps, person, name);
  if (!seen.ok) return seen;
  const caller: Caller = { actor: webActor(person), role: seen.value.role };
  const details = await core.getStaging(deps, caller, name);
  if (!details.ok) return details;
  const actions = await core.listActions(deps, caller, name);
  if (!actions.ok) return actions;
  const [row] = await rowsOf(deps, [{ staging: details.value.staging, role: seen.value.role }]);
  const settings = deps.project.forRepo(repoOf(details.value.staging));
  const links = await deps.store.listIssueLinks(details.value.staging.id);
  return {
    ok: true,
    value: {
      row: row!,
      details: details.value,
      actions: actions.value,
      transitions: await deps.store.listTransitions(details.value.staging.id),
      issues: [...new Set(links.map((l) => l.issueKey))],
      secretKeys: settings?.secretKeys ?? [],
    },
  };
}

/** The caller for a change on `repo`, asking GitHub again; or the refusal naming the access needed. */
async function changeCaller(deps: WebDeps, person: WebPerson, repo: string, useCase: UseCase, what: string, known?: Role): Promise<CoreResult<Caller>> {
  let role: Role | null;
  try {
    role = await deps.roles.roleOn(person.login, repo, { fresh: true });
  } catch (err) {
    return fail("unavailable", `could not ask GitHub for your access to ${repo}: ${(err as Error).message}`);
  }
  if (role === null && known === undefined) return fail("not_found", `${repo} is not a repository you may see`);
  const needed = roleNeededFor(useCase);
  if (!hasRole(role, needed)) return fail("forbidden", webRefusal(repo, what, needed, role));
  return { ok: true, value: { actor: webActor(person), role: role! } };
}

export type WebAction = "redeploy" | "archive" | "restore" | "delete" | "keep";

const steer = { redeploy: core.redeployByName, archive: core.archiveByName, restore: core.restoreByName, delete: core.deleteByName } as const;

/** A button on the staging's page. `keep` takes Slack's and PR comments' keep argument (7d, a date, off). */
export async function act(deps: WebDeps, person: WebPerson, name: string, action: WebAction, keep = "7d"): Promise<CoreResult<{ staging: StagingRecord; done: string }>> {
  const seen = await visible(deps, person, name);
  if (!seen.ok) return seen;
  const caller = await changeCaller(deps, person, repoOf(seen.value.staging), action, `${action[0]!.toUpperCase()}${action.slice(1)}`, seen.value.role);
  if (!caller.ok) return caller;
  const out = action === "keep" ? await core.keepByName(deps, caller.value, name, keep) : await steer[action](deps, caller.value, name);
  if (!out.ok) return out;
  if (!out.value.result.ok) return fail("conflict", out.value.result.message);
  return { ok: true, value: { staging: out.value.staging, done: out.value.result.done } };
}

export interface FormInput {
  ref?: string;
  tag?: string;
  follow?: boolean;
  changes: OverrideChange[];
}

/** Creates a staging by name from the form. */
export async function createFromForm(deps: WebDeps, person: WebPerson, input: FormInput & { name: string; repo: string }): Promise<CoreResult<StagingRecord>> {
  const settings = deps.project.forRepo(input.repo);
  if (!settings) return fail("invalid", `${input.repo} is not a repository Octostage serves`);
  const caller = await changeCaller(deps, person, settings.repo, "create", "Creating a staging");
  if (!caller.ok) return caller;
  return core.createStaging(deps, caller.value, {
    name: input.name,
    repo: settings.repo,
    ...(input.ref ? { ref: input.ref } : {}),
    ...(input.tag ? { tag: input.tag } : {}),
    ...(input.follow !== undefined ? { follow: input.follow } : {}),
    changes: input.changes,
  });
}

/** Updates a staging from the edit form (overrides merged: given keys set, removed ones unset). */
export async function updateFromForm(deps: WebDeps, person: WebPerson, name: string, input: FormInput): Promise<CoreResult<{ staging: StagingRecord; changed: boolean }>> {
  const seen = await visible(deps, person, name);
  if (!seen.ok) return seen;
  const caller = await changeCaller(deps, person, repoOf(seen.value.staging), "update", "Editing a staging", seen.value.role);
  if (!caller.ok) return caller;
  const out = await core.updateStaging(deps, caller.value, name, {
    ...(input.ref ? { ref: input.ref } : {}),
    ...(input.tag !== undefined ? { tag: input.tag === "" ? null : input.tag } : {}),
    ...(input.follow !== undefined ? { follow: input.follow } : {}),
    changes: input.changes,
  });
  return out.ok ? { ok: true, value: { staging: out.value.staging, changed: out.value.changed } } : out;
}

/** The repositories the person may create stagings in. */
export async function creatableRepos(deps: WebDeps, person: WebPerson): Promise<{ repo: string; project: string }[]> {
  const { repos } = await deps.roles.readable(person.login);
  return repos.filter((r) => hasRole(r.role, "operate")).map((r) => ({ repo: r.settings.repo, project: r.settings.name }));
}

/** The chart's keys of a repository the person may read. */
export async function keysOf(deps: WebDeps, person: WebPerson, repo: string): Promise<ReturnType<typeof core.chartKeys>> {
  const settings = deps.project.forRepo(repo);
  const role = settings ? await deps.roles.roleOn(person.login, settings.repo).catch(() => null) : null;
  if (!settings || role === null) return fail("not_found", `${repo} is not a repository you may see`);
  return core.chartKeys(deps, { actor: webActor(person), role }, settings.name);
}

/** One override checked as the form's field is typed: the rule it breaks, or null. */
export async function checkOverride(deps: WebDeps, person: WebPerson, repo: string, change: OverrideChange, staging?: string): Promise<CoreResult<{ problem: string | null }>> {
  const settings = deps.project.forRepo(repo);
  const role = settings ? await deps.roles.roleOn(person.login, settings.repo).catch(() => null) : null;
  if (!settings || role === null) return fail("not_found", `${repo} is not a repository you may see`);
  return core.checkChanges(deps, { actor: webActor(person), role }, settings.repo, [change], staging);
}

export interface RepoOverview {
  repo: string;
  project: string;
  role: Role;
  counts: Partial<Record<StagingStatus, number>>;
  cost: core.ProjectCost["cost"];
  /** Stagings whose next policy action is a cleanup, soonest first. */
  dueForCleanup: { name: string; at: Date }[];
}

/** Per repository the person may read: counts by status, cost, stagings due for cleanup. */
export async function overview(deps: WebDeps, person: WebPerson): Promise<CoreResult<{ repos: RepoOverview[]; unchecked: string[] }>> {
  const list = await listForPerson(deps, person, { archived: true });
  if (!list.ok) return list;
  const out: RepoOverview[] = [];
  for (const { repo, role } of list.value.repos) {
    const settings = deps.project.forRepo(repo)!;
    const cost = await core.projectCost(deps, { actor: webActor(person), role }, settings.name);
    if (!cost.ok) return cost;
    const rows = list.value.rows.filter((r) => repoOf(r.staging).toLowerCase() === repo.toLowerCase());
    const counts: Partial<Record<StagingStatus, number>> = {};
    for (const r of rows) counts[r.staging.status] = (counts[r.staging.status] ?? 0) + 1;
    const dueForCleanup = rows
      .flatMap((r) => (r.life.next?.action === "cleanup" ? [{ name: r.staging.name, at: r.life.next.at }] : []))
      .sort((a, b) => a.at.getTime() - b.at.getTime());
    out.push({ repo, project: settings.name, role, counts, cost: cost.value.cost, dueForCleanup });
  }
  return { ok: true, value: { repos: out, unchecked: list.value.unchecked } };
}

/** One run's helm log, when the person may read its staging. */
export async function actionLog(deps: WebDeps, person: WebPerson, id: string): Promise<CoreResult<{ id: string; staging: string | null; kind: string; state: string; log: string }>> {
  const notFound = fail("not_found", `no action ${id.slice(0, 64)}`);
  const found = await core.getAction(deps, { actor: webActor(person), role: "read" }, id);
  if (!found.ok) return found;
  const staging = found.value.staging;
  if (!staging) return notFound;
  const seen = await visible(deps, person, staging.name);
  if (!seen.ok) return seen.code === "not_found" ? notFound : seen;
  const a = found.value.action;
  return { ok: true, value: { id: a.id, staging: staging.name, kind: a.kind, state: a.state, log: a.output ?? "" } };
}
