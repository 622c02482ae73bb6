import { commandLimits, helpText, parseComment } from "../domain/command-grammar.ts";
import type { OctoCommand, ParsedLine } from "../domain/command-grammar.ts";
import { chartRepositoryAllowed, describeEffectiveConfig, effectiveConfig, isSecretKey } from "../domain/overrides.ts";
import { statusLabel } from "../domain/report-view.ts";
import type { RepoSettings } from "../domain/settings.ts";
import type { PullRequestRef, RepoPermission } from "../ports/code-host.ts";
import type { CommentCommandsJob } from "../ports/queue.ts";
import type { DesiredState, IntentInput, OverrideChange, StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { desiredSpecFor } from "./desired-spec.ts";
import { recordIntentAndEnqueue } from "./record-intent.ts";

export type CommentCommands = CommentCommandsJob;

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "codeHost" | "logger">;

/** Commands anyone who can comment may run; the rest change something and need write access. */
const readOnly = new Set<OctoCommand["name"]>(["help", "status", "config"]);
const writers: readonly RepoPermission[] = ["admin", "maintain", "write"];

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function statusReply(s: StagingRecord, history: { to: string; at: Date; reason: string | null }[]): string {
  const lines = [
    `**${code(s.name)}**: ${statusLabel(s.status)}${s.reason ? ` (${s.reason})` : ""}`,
    `- URL: ${s.desiredSpec.url}`,
    `- SHA: ${code(s.deployedSha?.slice(0, 7) ?? "not deployed")}${s.headSha !== s.deployedSha ? ` (head ${code(s.headSha.slice(0, 7))})` : ""}`,
    `- Since: ${s.statusChangedAt.toISOString().replace(/\.\d+Z$/, "Z")}`,
  ];
  if (s.skipReason && s.desiredState !== "active") lines.push(`- Held: ${s.skipReason}`);
  if (history.length) lines.push(`- Recent: ${history.slice(-5).map((h) => `${h.to} ${h.at.toISOString().slice(11, 19)}Z`).join(" → ")}`);
  return lines.join("\n");
}

interface Context {
  deps: Deps;
  job: CommentCommands;
  settings: RepoSettings;
  staging: StagingRecord;
}

/** Records a change of intent made by a command and queues what it implies. */
async function change(ctx: Context, kind: IntentInput["action"]["kind"], desiredState: DesiredState, extra: Partial<IntentInput> & { detail?: unknown } = {}): Promise<StagingRecord> {
  const { staging: s, settings, job } = ctx;
  const edits = await ctx.deps.store.listOverrides(s.id);
  const pending = extra.overrides ?? [];
  const merged = [...edits, ...pending.map((o) => ({ ...o, actor: job.actor, source: "github", at: new Date() }))];
  const head = { owner: job.owner, repo: job.repo, number: job.number, sha: s.headSha, ref: s.headRef };
  const { detail, ...rest } = extra;
  const out = await recordIntentAndEnqueue(ctx.deps, {
    event: "issue_comment.created",
    key: { repoOwner: s.repoOwner, repoName: s.repoName, prNumber: s.prNumber },
    create: { name: s.name, namespace: s.namespace, installationId: s.installationId },
    desiredState,
    desiredSpec: desiredSpecFor(settings, merged, head, s.name),
    skipReason: desiredState === "active" ? null : s.skipReason,
    action: { kind, actor: job.actor, source: "github", detail: { commentId: job.commentId, ...(detail as object | undefined) } },
    // An override only redeploys what runs; archived, held or deleted stagings pick it up later.
    bumpGeneration: kind === "override" ? desiredState === "active" : desiredState !== "held",
    ...rest,
  });
  if (out.outcome !== "recorded") throw new Error("intent not recorded");
  return out.staging;
}

function overrideChanges(cmd: Extract<OctoCommand, { name: "override" | "unset" }>): OverrideChange[] {
  return cmd.name === "override"
    ? cmd.set.map((p) => ({ scope: cmd.scope, key: p.key, op: "set" as const, value: p.value }))
    : cmd.keys.map((key) => ({ scope: cmd.scope, key, op: "unset" as const }));
}

async function execute(ctx: Context, cmd: OctoCommand): Promise<string> {
  const s = ctx.staging;
  switch (cmd.name) {
    case "help":
      return helpText();
    case "status":
      return statusReply(s, await ctx.deps.store.listTransitions(s.id));
    case "config":
      return describeEffectiveConfig(effectiveConfig(ctx.settings, await ctx.deps.store.listOverrides(s.id)));
    case "override":
    case "unset": {
      const changes = overrideChanges(cmd);
      const secret = changes.find((c) => isSecretKey(c.key));
      if (secret && cmd.name === "override") {
        return `🔒 ${code(secret.key)} looks like a secret. Secret values are never accepted in PR comments (everyone can read them): set it from Slack or the \`octo\` CLI. Nothing was changed.`;
      }
      const repository = changes.find((c) => c.key === "chart.repository" && c.op === "set");
      if (repository && !chartRepositoryAllowed(ctx.settings, repository.value as string)) {
        const allowed = [ctx.settings.chart.repository, ...(ctx.settings.allowedChartRepositories ?? [])].map(code).join(", ");
        return `🚫 ${shown(`/octo override --deployment chart.repository=x`)}: this chart repository is not allowed for ${ctx.job.owner}/${ctx.job.repo}; allowed: ${allowed} (the project config's \`chart.allowedRepositories\`, set by your operators: a chart runs with Octostage's rights on the cluster). Nothing was changed.`;
      }
      const active = s.desiredState === "active";
      await change(ctx, "override", s.desiredState, { overrides: changes, detail: { command: cmd.name, scope: cmd.scope, changes } });
      const what = changes.map((c) => (c.op === "set" ? `${c.key}=${JSON.stringify(c.value)}` : `unset ${c.key}`)).join(", ");
      return `✅ ${cmd.scope === "deployment" ? "Deployment" : "App"} override${changes.length > 1 ? "s" : ""} ${code(what)} saved.${active ? " Updating the staging." : " It applies when the staging is deployed."}`;
    }
    case "redeploy":
      if (s.desiredState !== "active") return `⚠️ ${code(s.name)} is not deployed (${s.desiredState}); use \`/octo deploy\` or \`/octo restore\`.`;
      await change(ctx, "deploy", "active", { detail: { command: "redeploy" } });
      return `🔁 Redeploying ${code(s.name)} at ${code(s.headSha.slice(0, 7))}.`;
    case "deploy":
      await change(ctx, "deploy", "active", { approval: { sha: s.headSha, by: ctx.job.actor }, detail: { command: "deploy", approvedSha: s.headSha } });
      return `🚀 Approved ${code(s.headSha.slice(0, 7))}: deploying ${code(s.name)}.${s.skipReason ? " Later pushes from a fork need a new approval." : ""}`;
    case "archive":
      if (s.desiredState === "archived") return `📦 ${code(s.name)} is already archived.`;
      await change(ctx, "archive", "archived", { detail: { command: "archive" } });
      return `📦 Archiving ${code(s.name)}: scaled to zero, volumes kept. \`/octo restore\` brings it back.`;
    case "restore":
      if (s.desiredState === "active") return `ℹ️ ${code(s.name)} is not archived.`;
      await change(ctx, "restore", "active", { detail: { command: "restore" } });
      return `♻️ Restoring ${code(s.name)}.`;
    case "delete":
      await change(ctx, "cleanup", "deleted", { detail: { command: "delete" } });
      return `🗑️ Deleting ${code(s.name)}: helm uninstall and namespace ${code(s.namespace)} with its volumes. \`/octo deploy\` recreates it.`;
  }
}

/** The command as typed, without its values: a reply never repeats a value (it may be a secret). */
function shown(text: string): string {
  return code(text.trim().replace(/=("(?:[^"\\]|\\.)*"?|'[^']*'?|\S*)/g, "=…"));
}

function errorReply(line: Extract<ParsedLine, { ok: false }>): string {
  // A zero-width space after "@" so a quoted "@team" in an error does not notify anyone.
  return `❌ ${shown(line.text)}: ${line.error.replace(/@/g, "@\u200b")}${line.usage ? `\nUsage: ${code(line.usage)}` : ""}`;
}

/**
 * Runs the `/octo` commands of one PR comment: 👀 on receipt, permission check for anything
 * that changes something, one reply with the result of each command (or a precise error with
 * the command's usage line).
 */
export async function runCommentCommands(deps: Deps, job: CommentCommands): Promise<void> {
  const parsed = parseComment(job.body);
  if (parsed.length === 0) return;
  const pr: PullRequestRef = { installationId: job.installationId, owner: job.owner, repo: job.repo, number: job.number };
  // A retried job (the reply could not be posted) posts the saved reply: the commands ran once.
  const previous = await deps.store.getCommandRun(job.deliveryId);
  if (previous?.repliedAt) return;
  if (previous) {
    await deps.codeHost.postComment(pr, previous.reply);
    await deps.store.markCommandReplied(job.deliveryId);
    return;
  }
  await deps.codeHost.addReaction(pr, job.commentId, "eyes");
  const settings = deps.project.forRepo(`${job.owner}/${job.repo}`);
  const staging = await deps.store.find({ repoOwner: job.owner, repoName: job.repo, prNumber: job.number });
  const replies: string[] = [];
  let permission: RepoPermission | undefined;
  for (const line of parsed.slice(0, commandLimits.maxCommandsPerComment)) {
    if (!line.ok) {
      replies.push(errorReply(line));
      continue;
    }
    const cmd = line.command;
    if (cmd.name === "help") {
      replies.push(helpText());
      continue;
    }
    if (!settings || !staging) {
      replies.push(`ℹ️ ${shown(line.text)}: this PR has no staging: ${settings ? "Octostage has not seen it opened or pushed yet" : `${job.owner}/${job.repo} is not configured in Octostage`}.`);
      continue;
    }
    if (!readOnly.has(cmd.name)) {
      permission ??= await deps.codeHost.getPermission(pr, job.actor);
      if (!writers.includes(permission)) {
        replies.push(`🚫 ${shown(line.text)}: only people with write, maintain or admin permission on ${job.owner}/${job.repo} may run \`/octo ${cmd.name}\` (your permission: ${permission}). \`/octo help\`, \`status\` and \`config\` are open to everyone.`);
        continue;
      }
    }
    const current = (await deps.store.get(staging.id)) ?? staging;
    replies.push(await execute({ deps, job, settings, staging: current }, cmd));
  }
  if (parsed.length > commandLimits.maxCommandsPerComment) {
    replies.push(`⚠️ Only the first ${commandLimits.maxCommandsPerComment} commands of a comment run.`);
  }
  const reply = `@${job.actor}\n\n${replies.join("\n\n")}`;
  await deps.store.saveCommandRun(job.deliveryId, reply);
  await deps.codeHost.postComment(pr, reply);
  await deps.store.markCommandReplied(job.deliveryId);
}
