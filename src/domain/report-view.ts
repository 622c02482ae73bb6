/** What GitHub shows for a staging: pure rendering of its state into check run, comment, deployment. */
import { formatCost } from "./cost.ts";
import type { CostEstimate } from "./cost.ts";
import { formatTime } from "./lifecycle.ts";
import type { LifecyclePolicyName } from "./lifecycle.ts";
import type { LifecycleSummary } from "./lifecycle-summary.ts";
import type { StagingStatus } from "./state-machine.ts";

export interface StagingView {
  name: string;
  namespace: string;
  status: StagingStatus;
  reason: string | null;
  /** Set when policy holds the PR back (draft, labels, fork). */
  holdReason: string | null;
  held: boolean;
  url: string | null;
  /** The PR's head SHA. */
  sha: string;
  /** The SHA the staging runs (last successful deploy), if any. */
  deployedSha: string | null;
  statusChangedAt: Date;
  /** Keep, the coming policy action people were told about, and the cost estimate (lifecycle-summary.ts). */
  lifecycle?: LifecycleView;
}

export interface LifecycleView {
  /** The notice given a day before a policy acts; null when none. */
  notice: { at: Date; policy: LifecyclePolicyName; rule: string } | null;
  kept: LifecycleSummary["kept"];
  keepLabel: string;
  cost: CostEstimate | null;
}

/** The lifecycle lines of the PR comment (and `/octo status`): the notice first, people must act on it. */
export function lifecycleLines(l: LifecycleView): string[] {
  const lines: string[] = [];
  if (l.notice) {
    const what = l.notice.policy === "retention" ? "**cleaned up** (helm uninstall, namespace and volumes deleted)" : "**archived** (scaled to zero, volumes kept)";
    lines.push(`> ⏳ This staging will be ${what} on ${formatTime(l.notice.at)}: ${l.notice.rule}. To keep it, comment \`/octo keep 7d\` (or \`/octo keep until YYYY-MM-DD\`), or add the label \`${l.keepLabel}\`.`);
  }
  if (l.kept) {
    lines.push(
      l.kept.by === "label"
        ? `📌 Kept from idle archive and retention cleanup by the label \`${l.kept.label}\`.`
        : `📌 Kept from idle archive and retention cleanup ${l.kept.until ? `until ${formatTime(l.kept.until)}` : "until `/octo keep off`"}.`,
    );
  }
  if (l.cost) {
    const c = l.cost;
    lines.push(
      `💰 Estimated cost: ${formatCost(c.perDay, c.currency)} per day, ${formatCost(c.toDate, c.currency)} to date${c.savedToDate > 0 ? `; archiving saved ${formatCost(c.savedToDate, c.currency)}` : ""} <sub>(from resource requests and volume sizes at the configured prices; an estimate, not a bill)</sub>`,
    );
  }
  return lines;
}

/** Held back by policy and the head SHA is not what runs: GitHub must not call the head deployed. */
function headHeld(v: StagingView): boolean {
  return v.held && v.deployedSha !== v.sha;
}

type CheckConclusion = "success" | "failure" | "neutral" | "cancelled" | "skipped";
export type CheckView =
  | { status: "queued" | "in_progress"; title: string; summary: string }
  | { status: "completed"; conclusion: CheckConclusion; title: string; summary: string };
export type DeploymentView = { state: "in_progress" | "success" | "failure" | "inactive" | "queued"; description: string } | null;

const labels: Record<StagingStatus, string> = {
  pending: "⏳ Pending",
  deploying: "🚀 Deploying",
  running: "✅ Running",
  degraded: "⚠️ Degraded",
  failed: "❌ Failed",
  archiving: "📦 Archiving",
  archived: "📦 Archived",
  restoring: "♻️ Restoring",
  cleaning: "🧹 Cleaning up",
  cleanup_failed: "❌ Cleanup failed",
  deleted: "🗑️ Deleted",
};

export function statusLabel(status: StagingStatus): string {
  return labels[status];
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

/** GitHub refuses a check run's output.summary over 65,535 UTF-8 bytes ("exceeds a maximum bytesize"). */
export const maxCheckSummaryBytes = 65_535;
/** The most of a reason the sticky comment shows (GitHub refuses comments over 65,536 characters). */
const maxCommentReasonChars = 2_000;

/** `text` cut to at most `maxBytes` UTF-8 bytes, at a character boundary, ending in "…" when cut. */
export function clipUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength("…", "utf8");
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, "utf8");
    if (bytes + size > budget) break;
    bytes += size;
    end += ch.length;
  }
  return `${text.slice(0, end)}…`;
}

/** GitHub limits a deployment status description to 140 characters. */
function clip(text: string, max = 140): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function checkView(v: StagingView): CheckView {
  const view = checkViewOf(v);
  return { ...view, summary: clipUtf8(view.summary, maxCheckSummaryBytes) };
}

function checkViewOf(v: StagingView): CheckView {
  const where = v.url ? `\n\n**URL:** ${v.url}` : "";
  const why = v.reason ? `\n\n**Reason:** ${v.reason}` : "";
  const base = `Staging \`${v.name}\` (namespace \`${v.namespace}\`) for ${short(v.sha)}.`;
  if (headHeld(v)) {
    return { status: "completed", conclusion: "neutral", title: "Not deployed", summary: `${v.holdReason ?? "Held back by policy."}\n\n${base}` };
  }
  switch (v.status) {
    case "pending":
      // In progress from the first second: the deploy is on its way.
      return { status: "in_progress", title: "Queued", summary: `${base} Waiting for a worker.` };
    case "deploying":
    case "restoring":
      return { status: "in_progress", title: `${v.status === "restoring" ? "Restoring" : "Deploying"} ${short(v.sha)}`, summary: `${base}${why}${where}` };
    case "running":
      return { status: "completed", conclusion: "success", title: `Running at ${v.url ?? v.name}`, summary: `${base}${where}` };
    case "degraded":
      return { status: "completed", conclusion: "neutral", title: `Degraded: ${v.reason ?? "replicas not ready"}`, summary: `${base}${why}${where}` };
    case "failed":
    case "cleanup_failed":
      return { status: "completed", conclusion: "failure", title: `Failed: ${v.reason ?? "unknown reason"}`.slice(0, 200), summary: `${base}${why}` };
    case "archiving":
    case "archived":
      return { status: "completed", conclusion: "neutral", title: "Archived", summary: `${base} Scaled to zero; volumes kept.` };
    case "cleaning":
    case "deleted":
      return { status: "completed", conclusion: "neutral", title: "Deleted", summary: base };
  }
}

export function deploymentView(v: StagingView): DeploymentView {
  if (headHeld(v)) return null;
  switch (v.status) {
    case "pending":
      return { state: "queued", description: "Queued" };
    case "deploying":
    case "restoring":
      return { state: "in_progress", description: clip(`Deploying ${short(v.sha)}`) };
    case "running":
      return { state: "success", description: "Running" };
    case "degraded":
      return { state: "success", description: clip(`Degraded: ${v.reason ?? ""}`) };
    case "failed":
    case "cleanup_failed":
      return { state: "failure", description: clip(`Failed: ${v.reason ?? ""}`) };
    default:
      return { state: "inactive", description: clip(statusLabel(v.status).replace(/^\S+ /, "")) };
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function commentBody(v: StagingView): string {
  const url = v.url && (v.status === "running" || v.status === "degraded" || v.status === "deploying") ? v.url : "—";
  const reason = clip(headHeld(v) ? (v.holdReason ?? "") : (v.reason ?? ""), maxCommentReasonChars);
  const notDeployed = headHeld(v) && v.deployedSha === null;
  const shown = v.deployedSha ?? v.sha;
  return [
    "### Octostage staging",
    "",
    "| Staging | Status | URL | SHA | Last change | Reason |",
    "|---|---|---|---|---|---|",
    `| \`${v.name}\` | ${notDeployed ? "⏸️ Not deployed" : statusLabel(v.status)} | ${cell(url)} | \`${short(shown)}\` | ${v.statusChangedAt.toISOString().replace(/\.\d+Z$/, "Z")} | ${cell(reason) || "—"} |`,
    "",
    headHeld(v) ? `> ${v.deployedSha ? `\`${short(v.sha)}\` is not deployed. ` : ""}${v.holdReason ?? ""}\n` : "",
    ...(v.lifecycle ? lifecycleLines(v.lifecycle).flatMap((l) => [l, ""]) : []),
    "<sub>Updated by Octostage on every change. Commands: `/octo help`.</sub>",
  ]
    .filter((l, i, all) => !(l === "" && all[i - 1] === ""))
    .join("\n");
}
