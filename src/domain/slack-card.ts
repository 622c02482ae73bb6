/**
 * A staging as a Slack Block Kit card, shared by `/octo`'s answers (entrypoints/slack) and the
 * channel notifications (app/slack/report-slack.ts): status emoji, word and reason, link,
 * origin, last change, cost, keep and the next policy action, and the buttons that make sense
 * for its state. Pure data within Block Kit's limits (3,000 characters a section text, 75 a
 * button label); user text is escaped so it cannot mention, link or format.
 */
import type { LifecycleSummary } from "./lifecycle-summary.ts";
import type { StagingOrigin } from "./origin.ts";
import type { DesiredState } from "./intent/inputs.ts";
import type { StagingStatus } from "./state-machine.ts";

/* eslint-disable @typescript-eslint/no-explicit-any -- Block Kit is JSON */
export type Block = Record<string, any>;

export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** What a card shows of a staging (a StagingRecord has all of it). */
export interface CardStaging {
  name: string;
  repoOwner: string;
  repoName: string;
  origin: StagingOrigin;
  prNumber: number | null;
  imageTag: string | null;
  headRef: string;
  follow: boolean;
  status: StagingStatus;
  reason: string | null;
  url: string | null;
  desiredState: DesiredState;
  statusChangedAt: Date;
}

export interface StagingLine {
  staging: CardStaging;
  life: LifecycleSummary;
  /** Who created a named staging (its first action's actor), shown as its origin. */
  createdBy?: string;
}

export const actionIds = {
  redeploy: "octo_redeploy",
  keep: "octo_keep",
  archive: "octo_archive",
  restore: "octo_restore",
  open: "octo_open",
  createRepo: "octo_create_repo",
} as const;


export const maxBlocks = 50;
export const sectionLimit = 3000;

/** Text for mrkdwn: Slack's three control characters escaped, and cut to `max` characters. */
export function esc(text: string, max = sectionLimit): string {
  const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return escaped.length <= max ? escaped : `${escaped.slice(0, max - 1)}…`;
}

export const plain = (text: string, max = 75) => ({ type: "plain_text", text: text.length <= max ? text : `${text.slice(0, max - 1)}…`, emoji: true });
const mrkdwn = (text: string) => ({ type: "mrkdwn", text: text.length <= sectionLimit ? text : `${text.slice(0, sectionLimit - 1)}…` });
export const section = (text: string): Block => ({ type: "section", text: mrkdwn(text) });
export const context = (text: string): Block => ({ type: "context", elements: [mrkdwn(text)] });

const emoji: Record<StagingStatus, string> = {
  pending: ":white_circle:",
  deploying: ":hourglass_flowing_sand:",
  running: ":large_green_circle:",
  degraded: ":large_yellow_circle:",
  failed: ":red_circle:",
  archiving: ":hourglass_flowing_sand:",
  archived: ":file_cabinet:",
  restoring: ":hourglass_flowing_sand:",
  cleaning: ":broom:",
  cleanup_failed: ":warning:",
  deleted: ":wastebasket:",
};

/** The status as people read it: emoji, word and reason. */
export function statusText(s: Pick<CardStaging, "status" | "reason">): string {
  return `${emoji[s.status]} *${s.status.replace("_", " ")}*${s.reason ? `: ${esc(s.reason, 500)}` : ""}`;
}

function origin(s: CardStaging): string {
  if (s.origin === "pull_request" && s.prNumber !== null) return `<https://github.com/${s.repoOwner}/${s.repoName}/pull/${s.prNumber}|${esc(`${s.repoOwner}/${s.repoName}#${s.prNumber}`)}>`;
  const what = s.imageTag ? `tag \`${esc(s.imageTag, 128)}\`` : `\`${esc(s.headRef, 128)}\``;
  return `${esc(`${s.repoOwner}/${s.repoName}`)} · ${what}${s.follow ? " (follows the branch)" : ""}`;
}

const day = (d: Date) => d.toISOString().slice(0, 10);
export const when = (d: Date) => `<!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} {time}|${d.toISOString().slice(0, 16).replace("T", " ")} UTC>`;

function costText(line: StagingLine): string | undefined {
  const c = line.life.cost;
  return c ? `~${c.perDay.toFixed(2)} ${esc(c.currency, 8)}/day` : undefined;
}

export function facts(line: StagingLine): string {
  const s = line.staging;
  const by = s.origin !== "pull_request" && line.createdBy ? ` · created by ${esc(line.createdBy, 100)}` : "";
  const bits = [`${origin(s)}${by}`, `changed ${when(s.statusChangedAt)}`];
  const cost = costText(line);
  if (cost) bits.push(cost);
  if (line.life.kept) bits.push(line.life.kept.by === "label" ? `kept by the \`${esc(line.life.kept.label, 50)}\` label` : line.life.kept.until ? `kept until ${day(line.life.kept.until)}` : "kept until `keep off`");
  if (line.life.next) bits.push(`${line.life.next.action} on ${day(line.life.next.at)} (${line.life.next.policy})`);
  return bits.join(" · ");
}

export function titleOf(s: CardStaging): string {
  return s.url && s.status !== "archived" && s.status !== "deleted" ? `<${s.url}|*${esc(s.name, 63)}*>` : `*${esc(s.name, 63)}*`;
}

function button(actionId: string, text: string, value: string, extra: Block = {}): Block {
  return { type: "button", action_id: actionId, text: plain(text), value, ...extra };
}

/** A card's plain-text fallback (notifications, screen readers): name, status and reason. */
export function cardText(s: Pick<CardStaging, "name" | "status" | "reason">): string {
  return `${s.name}: ${s.status}${s.reason ? ` (${s.reason.slice(0, 200)})` : ""}`;
}

/** Keep a staging 7 days: on its card, and on a lifecycle warning. */
export function keepButton(name: string, extra: Block = {}): Block {
  return button(actionIds.keep, "Keep 7 days", name, extra);
}

/** The buttons that make sense for the staging's state (the use cases check the role again). */
function buttons(s: CardStaging): Block | undefined {
  if (s.desiredState === "deleted") return undefined;
  const elements: Block[] = [];
  if (s.url && s.desiredState === "active") elements.push({ type: "button", action_id: actionIds.open, text: plain("Open"), url: s.url.slice(0, 3000), value: s.name });
  if (s.desiredState === "active") {
    elements.push(button(actionIds.redeploy, "Redeploy", s.name));
    elements.push(keepButton(s.name));
    elements.push(
      button(actionIds.archive, "Archive", s.name, {
        style: "danger",
        confirm: { title: plain("Archive this staging?"), text: mrkdwn(`*${esc(s.name, 63)}* is scaled to zero; its volumes are kept and \`/octo restore\` brings it back.`), confirm: plain("Archive"), deny: plain("Cancel"), style: "danger" },
      }),
    );
  }
  if (s.desiredState === "archived") elements.push(button(actionIds.restore, "Restore", s.name, { style: "primary" }));
  return elements.length ? { type: "actions", block_id: `staging:${s.name}`.slice(0, 255), elements } : undefined;
}

/** One staging as a card: title and status, facts, buttons. */
export function stagingBlocks(line: StagingLine, opts: { buttons: boolean }): Block[] {
  const s = line.staging;
  const blocks: Block[] = [section(`${titleOf(s)}  ${statusText(s)}`), context(facts(line))];
  const actions = opts.buttons ? buttons(s) : undefined;
  if (actions) blocks.push(actions);
  return blocks;
}

