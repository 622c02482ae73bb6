/**
 * Slack's `/octo`: a thin client of the one core (stagings/service.ts). Each command is parsed by
 * the named-staging grammar (the PR comments' tokenizer and rules), the person's role on the
 * staging's repository comes from its `slack.roles` (slack-access.ts), and the use case runs with
 * a Slack actor (user id and name, so the audit log says who). Answers are values; the Slack
 * entrypoint renders them as Block Kit.
 *
 * A staging in a repository the person may not read is answered like one that does not exist:
 * Slack never tells who cannot see it that it is there.
 */
import type { Actor } from "../../domain/actor.ts";
import { closestWord } from "../../domain/command-suggest.ts";
import { summarizeLifecycle } from "../../domain/lifecycle-summary.ts";
import { namedHelpText, parseNamedCommand } from "../../domain/named-command-grammar.ts";
import type { NamedCommand } from "../../domain/named-command-grammar.ts";
import type { OverrideChange } from "../../domain/intent/inputs.ts";
import { isSecretPath } from "../../domain/secrets.ts";
import type { StagingLine as CardLine } from "../../domain/slack-card.ts";
import { hasRole, roleNeededFor } from "../../domain/roles.ts";
import type { Caller, Role, UseCase } from "../../domain/roles.ts";
import type { RepoSettings } from "../../domain/settings.ts";
import { groupsToResolve, slackRefusal, slackRole } from "../../domain/slack-access.ts";
import type { SlackSubject } from "../../domain/slack-access.ts";
import type { ActionRecord, StagingRecord } from "../../ports/store.ts";
import type { ChartKey } from "../charts.ts";
import * as core from "../stagings/service.ts";
import type { CoreDeps, CoreResult, StagingDetails } from "../stagings/service.ts";

/** Who is asking from Slack: user id and name, the user groups they are in, the channel. */
export interface SlackPerson extends SlackSubject {
  userName: string;
}

interface StagingLine extends CardLine {
  staging: StagingRecord;
}

export type SlackAnswer =
  | { kind: "help"; text: string }
  | { kind: "error"; message: string; usage?: string }
  | { kind: "list"; items: StagingLine[]; more: string[]; repos: string[]; all: boolean }
  | { kind: "staging"; line: StagingLine; did?: string }
  | { kind: "config"; details: StagingDetails; line: StagingLine; secretKeys: string[] }
  | { kind: "keys"; project: string; chart: string; version: string | null; keys: ChartKey[] }
  | { kind: "history"; staging: StagingRecord; actions: ActionRecord[] }
  /** `/octo create` alone: open the form. */
  | { kind: "create-form" };

/** Stagings shown per repository in one `/octo list` answer (a message holds at most 50 blocks). */
const listLimit = 15;

const actorOf = (p: SlackPerson): Actor => ({ source: "slack", id: p.userId, name: p.userName });

function roleOn(settings: RepoSettings | undefined, person: SlackSubject): Role | null {
  return settings ? slackRole(settings.slack?.access, person) : null;
}

/** The repositories where the person has at least `needed`. */
function reposWith(deps: Pick<CoreDeps, "project">, person: SlackSubject, needed: Role): RepoSettings[] {
  return deps.project.repositories.filter((r) => hasRole(roleOn(r, person), needed));
}

/** The stagings as cards show them: lifecycle and cost, and who created the named ones (one query). */
async function linesOf(deps: CoreDeps, stagings: readonly StagingRecord[]): Promise<StagingLine[]> {
  const named = stagings.filter((s) => s.origin !== "pull_request").map((s) => s.id);
  const creators = await deps.store.creators(named);
  return stagings.map((staging) => {
    const settings = deps.project.forRepo(`${staging.repoOwner}/${staging.repoName}`);
    const creator = creators.get(staging.id);
    return {
      staging,
      life: summarizeLifecycle(settings?.lifecycle, deps.project.cost, staging, deps.clock.now()),
      ...(creator ? { createdBy: creator.actorName ?? `${creator.source}:${creator.actor}` } : {}),
    };
  });
}

async function lineOf(deps: CoreDeps, staging: StagingRecord): Promise<StagingLine> {
  return (await linesOf(deps, [staging]))[0] as StagingLine;
}

const error = (message: string, usage?: string): SlackAnswer => ({ kind: "error", message, ...(usage ? { usage } : {}) });

function fromCore<T>(r: CoreResult<T>, then: (v: T) => SlackAnswer | Promise<SlackAnswer>): SlackAnswer | Promise<SlackAnswer> {
  return r.ok ? then(r.value) : error(r.message);
}

/** A caller with the person's role on `settings`' repository, or the refusal naming the role needed and who grants it. */
function callerFor(person: SlackPerson, settings: RepoSettings, useCase: UseCase, what: string): Caller | { refusal: string } {
  const role = roleOn(settings, person);
  const needed = roleNeededFor(useCase);
  if (!hasRole(role, needed)) return { refusal: slackRefusal(settings.repo, what, needed, role, settings.slack?.access) };
  return { actor: actorOf(person), role: role as Role };
}

/** The staging by name when the person may read it; else "no staging" with a suggestion among those they may read. */
async function visibleStaging(deps: CoreDeps, person: SlackPerson, name: string): Promise<{ staging: StagingRecord; settings: RepoSettings } | { answer: SlackAnswer }> {
  const found = await deps.store.findByName(name);
  const settings = found ? deps.project.forRepo(`${found.repoOwner}/${found.repoName}`) : undefined;
  if (found && settings && hasRole(roleOn(settings, person), "read")) return { staging: found, settings };
  const names: string[] = [];
  for (const r of reposWith(deps, person, "read")) {
    const [owner, repo] = r.repo.split("/") as [string, string];
    names.push(...(await deps.store.listStagings({ repo: { owner, name: repo }, limit: 500 })).map((s) => s.name));
  }
  const close = closestWord(name.toLowerCase(), names, 3);
  const shown = name.slice(0, 63);
  return { answer: error(`No staging named "${shown}"${close ? `. Did you mean \`${close}\`?` : names.length ? "." : ": you may not see any staging yet (see `/octo help`)."}`, "/octo list") };
}

async function list(deps: CoreDeps, person: SlackPerson, repo: string | undefined, all: boolean): Promise<SlackAnswer> {
  const readable = reposWith(deps, person, "read");
  let repos = readable;
  if (repo !== undefined) {
    const settings = deps.project.forRepo(repo);
    if (!settings) return error(`${repo} is not a repository Octostage serves: ${deps.project.repositories.map((r) => r.repo).join(", ")}`);
    const caller = callerFor(person, settings, "list", "/octo list");
    if ("refusal" in caller) return error(caller.refusal);
    repos = [settings];
  }
  if (repos.length === 0) {
    const who = deps.project.repositories.find((r) => r.slack?.access.grantedBy)?.slack?.access.grantedBy;
    return error(`You may not see any repository's stagings from Slack yet. Roles come from Octostage's project config (\`slack.roles\`): ask ${who ?? "whoever runs Octostage"}.`);
  }
  const items: StagingLine[] = [];
  const more: string[] = [];
  for (const settings of repos) {
    const caller = { actor: actorOf(person), role: roleOn(settings, person) as Role };
    const page = await core.listStagings(deps, caller, { repo: settings.repo, all, limit: listLimit });
    if (!page.ok) return error(page.message);
    items.push(...(await linesOf(deps, page.value.items)));
    if (page.value.next !== null) more.push(settings.repo);
  }
  return { kind: "list", items, more, repos: repos.map((r) => r.repo), all };
}

const did: Partial<Record<NamedCommand["name"], string>> = {
  create: "created",
  update: "updated",
  archive: "archiving",
  restore: "restoring",
  redeploy: "redeploying",
  delete: "deleting",
  keep: "kept",
};

/** The staging as the use case left it (each one returns it read back after its change). */
async function stagingAnswer(deps: CoreDeps, staging: StagingRecord, verb?: string): Promise<SlackAnswer> {
  return { kind: "staging", line: await lineOf(deps, staging), ...(verb ? { did: verb } : {}) };
}

/**
 * A value set under one of the repository's `secretKeys` (or an env entry named like a secret):
 * refused from Slack like secret-looking keys, since everyone in the channel would see it.
 */
function secretChange(settings: RepoSettings, changes: readonly OverrideChange[]): string | undefined {
  const secret = changes.find((c) => c.op === "set" && c.scope === "app" && isSecretPath(settings.values, c.key, settings.secretKeys ?? []));
  if (!secret) return undefined;
  return `"${secret.key.slice(0, 100)}" holds a secret in ${settings.repo}'s project config: its value is not taken from Slack, where everyone in the conversation sees it. Set it with the octo CLI or the API.`;
}

/** Runs one parsed command for a person. */
export async function runNamedCommand(deps: CoreDeps, person: SlackPerson, cmd: NamedCommand): Promise<SlackAnswer> {
  const usage = `/octo ${cmd.name}`;
  switch (cmd.name) {
    case "help":
      return { kind: "help", text: namedHelpText(cmd.topic) };
    case "list":
      return list(deps, person, cmd.repo, cmd.all);
    case "keys": {
      const settings = deps.project.repositories.find((r) => r.name === cmd.project || r.repo.toLowerCase() === cmd.project.toLowerCase());
      const names = deps.project.repositories.map((r) => r.name);
      if (!settings) {
        const close = closestWord(cmd.project, names, 2);
        return error(`No project "${cmd.project.slice(0, 63)}"${close ? `. Did you mean \`${close}\`?` : `: ${names.join(", ")}`}`);
      }
      const caller = callerFor(person, settings, "keys", usage);
      if ("refusal" in caller) return error(caller.refusal);
      return fromCore(await core.chartKeys(deps, caller, settings.name), (v) => ({ kind: "keys", ...v }));
    }
    case "create": {
      const settings = deps.project.forRepo(cmd.repo);
      if (!settings) return error(`${cmd.repo} is not a repository Octostage serves: ${deps.project.repositories.map((r) => r.repo).join(", ")}`);
      const caller = callerFor(person, settings, "create", usage);
      if ("refusal" in caller) return error(caller.refusal);
      const secret = secretChange(settings, cmd.changes);
      if (secret) return error(secret, usage);
      const created = await core.createStaging(deps, caller, { name: cmd.staging, repo: cmd.repo, ...(cmd.ref ? { ref: cmd.ref } : {}), ...(cmd.tag ? { tag: cmd.tag } : {}), changes: cmd.changes });
      return fromCore(created, (s) => stagingAnswer(deps, s, "created"));
    }
    default:
      break;
  }
  const found = await visibleStaging(deps, person, cmd.staging);
  if ("answer" in found) return found.answer;
  const { staging, settings } = found;
  const useCase: UseCase = cmd.name === "status" || cmd.name === "config" ? "get" : cmd.name === "history" ? "actions" : cmd.name;
  const caller = callerFor(person, settings, useCase, usage);
  if ("refusal" in caller) return error(caller.refusal);
  const verb = did[cmd.name];
  switch (cmd.name) {
    case "status":
      return stagingAnswer(deps, staging);
    case "config":
      return fromCore(await core.getStaging(deps, caller, staging.name), async (d) => ({ kind: "config", details: d, line: await lineOf(deps, d.staging), secretKeys: settings.secretKeys ?? [] }));
    case "history":
      return fromCore(await core.listActions(deps, caller, staging.name), (actions) => ({ kind: "history", staging, actions: [...actions].reverse() }));
    case "update": {
      const secret = secretChange(settings, cmd.changes);
      if (secret) return error(secret, usage);
      return fromCore(await core.updateStaging(deps, caller, staging.name, { ...(cmd.ref ? { ref: cmd.ref } : {}), ...(cmd.tag ? { tag: cmd.tag } : {}), changes: cmd.changes }), (v) =>
        stagingAnswer(deps, v.staging, v.changed ? verb : "unchanged"),
      );
    }
    case "keep":
      return fromCore(await core.keepByName(deps, caller, staging.name, cmd.arg), (v) => stagingAnswer(deps, v.staging, cmd.arg === "off" ? "no longer kept" : verb));
    case "archive":
      return fromCore(await core.archiveByName(deps, caller, staging.name), (v) => stagingAnswer(deps, v.staging, verb));
    case "restore":
      return fromCore(await core.restoreByName(deps, caller, staging.name), (v) => stagingAnswer(deps, v.staging, verb));
    case "redeploy":
      return fromCore(await core.redeployByName(deps, caller, staging.name), (v) => stagingAnswer(deps, v.staging, verb));
    case "delete":
      return fromCore(await core.deleteByName(deps, caller, staging.name), (v) => stagingAnswer(deps, v.staging, verb));
  }
}

/** The text after `/octo`: a parse error is answered with the usage and a "did you mean". */
export async function runSlackCommand(deps: CoreDeps, person: SlackPerson, text: string): Promise<SlackAnswer> {
  if (text.trim().toLowerCase() === "create") return { kind: "create-form" };
  const parsed = parseNamedCommand(text);
  if (!parsed.ok) return error(parsed.error, parsed.usage);
  return runNamedCommand(deps, person, parsed.command);
}

/** Where a person may create stagings (the form's repository choices). */
export function creatableRepos(deps: Pick<CoreDeps, "project">, person: SlackSubject): { repo: string; project: string }[] {
  return reposWith(deps, person, "operate").map((r) => ({ repo: r.repo, project: r.name }));
}

/** The chart keys of a repository the person may create in (the form's hint), or why not. */
export async function keysForForm(deps: CoreDeps, person: SlackPerson, repo: string): Promise<CoreResult<ChartKey[]>> {
  const settings = deps.project.forRepo(repo);
  if (!settings) return { ok: false, code: "not_found", message: `${repo} is not a repository Octostage serves` };
  const caller = callerFor(person, settings, "keys", "/octo keys");
  if ("refusal" in caller) return { ok: false, code: "forbidden", message: caller.refusal };
  const keys = await core.chartKeys(deps, caller, settings.name);
  return keys.ok ? { ok: true, value: keys.value.keys } : keys;
}

/** The repositories' user groups whose members decide someone's role (the entrypoint looks them up). */
export function slackGroupsInUse(deps: Pick<CoreDeps, "project">): string[] {
  return [...new Set(deps.project.repositories.flatMap((r) => groupsToResolve(r.slack?.access)))];
}
