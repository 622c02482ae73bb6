import { githubActor } from "../domain/actor.ts";
import { commandLimits, helpText, parseComment } from "../domain/command-grammar.ts";
import type { OctoCommand, ParsedLine } from "../domain/command-grammar.ts";
import type { CommandResult } from "../domain/intent/commands.ts";
import { shortSha } from "../domain/intent/inputs.ts";
import { formatTime, keepForever } from "../domain/lifecycle.ts";
import { describeEffectiveConfig } from "../domain/overrides-describe.ts";
import { chartRepositoryAllowed, effectiveConfig, isSecretKey } from "../domain/overrides.ts";
import { redactText } from "../domain/redact.ts";
import { lifecycleLines, statusLabel } from "../domain/report-view.ts";
import type { LifecycleView } from "../domain/report-view.ts";
import { secretValues } from "../domain/secrets.ts";
import type { RepoSettings } from "../domain/settings.ts";
import { GitHubError } from "../ports/code-host.ts";
import type { PullRequestRef, RepoPermission } from "../ports/code-host.ts";
import type { CommandRecord, OverrideChange, ReportChannelRecord, StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { lifecycleView } from "./report-status.ts";
import { approveStaging } from "./stagings/approve-staging.ts";
import { archiveStaging } from "./stagings/archive-staging.ts";
import { deleteStaging } from "./stagings/delete-staging.ts";
import { keepStaging } from "./stagings/keep-staging.ts";
import { redeployStaging } from "./stagings/redeploy-staging.ts";
import { restoreStaging } from "./stagings/restore-staging.ts";
import { setOverrides } from "./stagings/set-overrides.ts";
import type { SteerRequest } from "./stagings/steer.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "codeHost" | "logger" | "clock">;

/** Commands anyone who can comment may run; the rest change something and need write access. */
const readOnly = new Set<OctoCommand["name"]>(["help", "status", "config"]);
const writers: readonly RepoPermission[] = ["admin", "maintain", "write"];

/** GitHub refuses comments over 65,536 characters; replies are split well below it. */
const maxReplyChars = 60_000;

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function statusReply(s: StagingRecord, history: { to: string; at: Date; reason: string | null }[], channel: ReportChannelRecord | null, lifecycle: LifecycleView | undefined): string {
  const lines = [
    `**${code(s.name)}**: ${statusLabel(s.status)}${s.reason ? ` (${s.reason})` : ""}`,
    `- URL: ${s.desiredSpec.url}`,
    `- SHA: ${code(s.deployedSha?.slice(0, 7) ?? "not deployed")}${s.headSha !== s.deployedSha ? ` (head ${code(s.headSha.slice(0, 7))})` : ""}`,
    `- Since: ${s.statusChangedAt.toISOString().replace(/\.\d+Z$/, "Z")}`,
  ];
  if (s.skipReason && s.desiredState !== "active") lines.push(`- Held: ${s.skipReason}`);
  if (lifecycle) lines.push(...lifecycleLines({ ...lifecycle, notice: null }).map((l) => `- ${l.replace(/ <sub>.*<\/sub>$/, " (estimate)")}`));
  if (lifecycle?.notice) lines.push("", ...lifecycleLines({ ...lifecycle, kept: null, cost: null }));
  if (history.length) lines.push(`- Recent: ${history.slice(-5).map((h) => `${h.to} ${h.at.toISOString().slice(11, 19)}Z`).join(" → ")}`);
  if (channel?.error) {
    lines.push(`- ⚠️ Reporting to GitHub stopped: ${channel.error.message}. Octostage tries again at the next status change; check the GitHub App's installation and permissions.`);
  }
  return lines.join("\n");
}

/** The command as typed, without its values: a reply never repeats a value (it may be a secret). */
function shown(text: string): string {
  return code(text.trim().replace(/=("(?:[^"\\]|\\.)*"?|'[^']*'?|\S*)/g, "=…"));
}

function errorReply(line: Extract<ParsedLine, { ok: false }>): string {
  // A zero-width space after "@" so a quoted "@team" in an error does not notify anyone.
  return `❌ ${shown(line.text)}: ${line.error.replace(/@/g, "@\u200b")}${line.usage ? `\nUsage: ${code(line.usage)}` : ""}`;
}

function resultReply(s: StagingRecord, r: CommandResult, extra = ""): string {
  if (!r.ok) return `${r.code === "unapproved_fork_commit" || r.code === "unseen_commit" ? "🚫" : "⚠️"} ${r.message}`;
  const sha = r.sha ? code(shortSha(r.sha)) : "";
  switch (r.done) {
    case "archived":
      return `📦 Archiving ${code(s.name)}: scaled to zero, volumes kept. \`/octo restore\` brings it back.`;
    case "already_archived":
      return `📦 ${code(s.name)} is already archived.`;
    case "restoring":
      return `♻️ Restoring ${code(s.name)} at ${sha}.`;
    case "redeploying":
      return `🔁 Redeploying ${code(s.name)} at ${sha}.`;
    case "approved":
      return `🚀 Approved ${sha}: deploying ${code(s.name)}.${s.headFromFork ? " Later pushes from the fork need a new approval." : ""}`;
    case "deleting":
      return `🗑️ Deleting ${code(s.name)}: helm uninstall and namespace ${code(s.namespace)} with its volumes. \`/octo deploy\` recreates it.`;
    case "already_deleted":
      return `🗑️ ${code(s.name)} is already deleted. \`/octo deploy\` recreates it.`;
    case "kept":
      return `📌 Keeping ${code(s.name)} from idle archive and retention cleanup ${r.until && r.until.getTime() >= keepForever.getTime() ? "until `/octo keep off`" : `until ${formatTime(r.until ?? new Date(0))}`}.`;
    case "unkept":
      return `📌 ${code(s.name)} is not kept: the repository's idle and retention policies apply to it again.`;
    case "overrides_saved":
    case "created":
    case "updated":
    case "unchanged":
      return extra;
  }
}

function overrideChanges(cmd: Extract<OctoCommand, { name: "override" | "unset" }>): OverrideChange[] {
  return cmd.name === "override"
    ? cmd.set.map((p) => ({ scope: cmd.scope, key: p.key, op: "set" as const, value: p.value }))
    : cmd.keys.map((key) => ({ scope: cmd.scope, key, op: "unset" as const }));
}

interface Context {
  deps: Deps;
  cmd: CommandRecord;
  settings: RepoSettings;
  staging: StagingRecord;
}

async function execute(ctx: Context, command: OctoCommand): Promise<string> {
  const s = ctx.staging;
  const req: SteerRequest = { stagingId: s.id, actor: githubActor(ctx.cmd.actor), event: "issue_comment.created", detail: { commentId: ctx.cmd.commentId } };
  const { deps } = ctx;
  switch (command.name) {
    case "help":
      return helpText();
    case "status":
      return statusReply(s, await deps.store.listTransitions(s.id), await deps.store.getChannel(s.id, "github"), lifecycleView(deps.project, s, deps.clock.now()));
    case "config":
      return describeEffectiveConfig(effectiveConfig(ctx.settings, await deps.store.listOverrides(s.id)), ctx.settings.secretKeys);
    case "override":
    case "unset": {
      const changes = overrideChanges(command);
      const secret = changes.find((c) => c.op === "set" && isSecretKey(c.key));
      if (secret) {
        return `🔒 ${code(secret.key)} looks like a secret. Secret values are never accepted in PR comments (everyone can read them): set it from Slack or the \`octo\` CLI. Nothing was changed.`;
      }
      const repository = changes.find((c) => c.key === "chart.repository" && c.op === "set");
      if (repository && !chartRepositoryAllowed(ctx.settings, repository.value as string)) {
        const allowed = [ctx.settings.chart.repository, ...(ctx.settings.allowedChartRepositories ?? [])].map(code).join(", ");
        return `🚫 ${shown(`/octo override --deployment chart.repository=x`)}: this chart repository is not allowed for ${s.repoOwner}/${s.repoName}; allowed: ${allowed} (the project config's \`chart.allowedRepositories\`, set by your operators: a chart runs with Octostage's rights on the cluster). Nothing was changed.`;
      }
      const result = await setOverrides(deps, { ...req, scope: command.scope, changes });
      const what = changes.map((c) => (c.op === "set" ? `${c.key}=${JSON.stringify(c.value)}` : `unset ${c.key}`)).join(", ");
      const active = s.desiredState === "active";
      return resultReply(s, result, `✅ ${command.scope === "deployment" ? "Deployment" : "App"} override${changes.length > 1 ? "s" : ""} ${code(what)} saved.${active ? " Updating the staging." : " It applies when the staging is deployed."}`);
    }
    case "redeploy":
      return resultReply(s, await redeployStaging(deps, req));
    case "deploy":
      return resultReply(s, await approveStaging(deps, { ...req, seenAt: ctx.cmd.commentedAt, ...(command.sha ? { sha: command.sha } : {}) }));
    case "archive":
      return resultReply(s, await archiveStaging(deps, req));
    case "restore":
      return resultReply(s, await restoreStaging(deps, req));
    case "delete":
      return resultReply(s, await deleteStaging(deps, req));
    case "keep":
      return resultReply(s, await keepStaging(deps, { ...req, arg: command.arg }));
  }
}

/**
 * Splits a reply into comments under GitHub's limit, between lines (a table that continues in
 * the next comment gets its header again); a single line that is still too long is cut with a note.
 */
function splitReply(reply: string, max = maxReplyChars): string[] {
  const parts: string[] = [];
  let current: string[] = [];
  let size = 0;
  let tableHeader: string[] = [];
  const lines = reply.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.length > max - 200 ? `${raw.slice(0, max - 200)}… (cut: ${raw.length - (max - 200)} more characters)` : raw;
    if (line.startsWith("|") && /^\|[\s:|-]+\|$/.test(lines[i + 1] ?? "") && !/^\|[\s:|-]+\|$/.test(line)) tableHeader = [line, lines[i + 1]!];
    else if (!line.startsWith("|")) tableHeader = [];
    if (size + line.length + 1 > max && current.length) {
      parts.push(current.join("\n"));
      current = line.startsWith("|") && tableHeader.length && !tableHeader.includes(line) ? [...tableHeader] : [];
      size = current.reduce((n, l) => n + l.length + 1, 0);
    }
    current.push(line);
    size += line.length + 1;
  });
  if (current.length) parts.push(current.join("\n"));
  return parts.map((p, i) => (parts.length > 1 ? `${p}\n\n<sub>(${i + 1}/${parts.length})</sub>` : p));
}

/** Posts each part with its hidden marker; after a crash, a part already on the PR is not posted again. */
async function postReply(deps: Deps, pr: PullRequestRef, cmd: CommandRecord, reply: string, retry: boolean): Promise<void> {
  const parts = splitReply(reply);
  for (const [i, part] of parts.entries()) {
    const marker = `octostage:reply:${cmd.id}:${i}`;
    if (retry) await deps.codeHost.ensureComment(pr, marker, part);
    else await deps.codeHost.postComment(pr, `${part}\n\n<!-- ${marker} -->`);
  }
}

/**
 * Runs the `/octo` commands of one recorded PR comment: 👀 on receipt, permission check for
 * anything that changes something, then one reply with the result of each command (or a
 * precise error with its usage line). The reply is saved before it is posted: a retried job
 * posts the saved reply (once) and never runs the commands again.
 */
export async function runCommentCommands(deps: Deps, commandId: string): Promise<void> {
  const cmd = await deps.store.getCommand(commandId);
  if (!cmd || cmd.state === "replied") return;
  try {
    await runOnce(deps, cmd);
  } catch (err) {
    // GitHub refuses for good (the app was uninstalled, lost a permission, the PR is gone): retrying
    // cannot help, so the command is settled (what ran, ran) instead of being retried for ever.
    if (!(err instanceof GitHubError) || !err.permanent) throw err;
    deps.logger.warn({ commandId: cmd.id, code: err.code, operation: err.operation, status: err.status }, "GitHub refuses the command's reply for good: settled without a reply");
    await deps.store.markCommandReplied(cmd.id);
  }
}

async function runOnce(deps: Deps, cmd: CommandRecord): Promise<void> {
  const pr: PullRequestRef = { installationId: cmd.installationId, owner: cmd.repoOwner, repo: cmd.repoName, number: cmd.prNumber };
  if (cmd.reply !== null) {
    await postReply(deps, pr, cmd, cmd.reply, true);
    await deps.store.markCommandReplied(cmd.id);
    return;
  }
  const parsed = parseComment(cmd.body);
  if (parsed.length === 0) {
    await deps.store.markCommandReplied(cmd.id);
    return;
  }
  await deps.codeHost.addReaction(pr, cmd.commentId, "eyes");
  const settings = deps.project.forRepo(`${cmd.repoOwner}/${cmd.repoName}`);
  const replies: string[] = [];
  let permission: RepoPermission | undefined;
  for (const line of parsed.slice(0, commandLimits.maxCommandsPerComment)) {
    if (!line.ok) {
      replies.push(errorReply(line));
      continue;
    }
    const command = line.command;
    if (command.name === "help") {
      replies.push(helpText());
      continue;
    }
    const staging = await deps.store.find({ repoOwner: cmd.repoOwner, repoName: cmd.repoName, prNumber: cmd.prNumber });
    if (!settings || !staging) {
      replies.push(`ℹ️ ${shown(line.text)}: this PR has no staging: ${settings ? "Octostage has not seen it opened or pushed yet" : `${cmd.repoOwner}/${cmd.repoName} is not configured in Octostage`}.`);
      continue;
    }
    if (!readOnly.has(command.name)) {
      permission ??= await deps.codeHost.getPermission(pr, cmd.actor);
      if (!writers.includes(permission)) {
        replies.push(`🚫 ${shown(line.text)}: only people with write, maintain or admin permission on ${cmd.repoOwner}/${cmd.repoName} may run \`/octo ${command.name}\` (your permission: ${permission}). \`/octo help\`, \`status\` and \`config\` are open to everyone.`);
        continue;
      }
    }
    replies.push(await execute({ deps, cmd, settings, staging }, command));
  }
  if (parsed.length > commandLimits.maxCommandsPerComment) {
    replies.push(`⚠️ Only the first ${commandLimits.maxCommandsPerComment} commands of a comment run.`);
  }
  // Replies go through the one redactor: a credential in a value (a token under an innocent key)
  // or in a reason never reaches the PR, whoever can read it.
  const staging = await deps.store.find({ repoOwner: cmd.repoOwner, repoName: cmd.repoName, prNumber: cmd.prNumber });
  const secrets = staging ? secretValues(staging.desiredSpec.values, settings?.secretKeys ?? staging.desiredSpec.secretKeys) : [];
  const reply = redactText(`@${cmd.actor}\n\n${replies.join("\n\n")}`, secrets);
  await deps.store.saveCommandReply(cmd.id, reply);
  await postReply(deps, pr, cmd, reply, false);
  await deps.store.markCommandReplied(cmd.id);
}
