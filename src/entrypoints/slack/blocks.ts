/**
 * Block Kit for Slack's answers: one card per staging (status emoji, reason, link, origin, cost,
 * buttons), lists, configuration (secret values masked), keys, history and the create form.
 * Within Block Kit's limits: at most 50 blocks a message, 3,000 characters a section text, 10
 * fields of 2,000, 25 elements an actions block, 75 characters a button label.
 */
import type { SlackAnswer } from "../../app/slack/slack-commands.ts";
import type { ChartKey } from "../../app/charts.ts";
import { formatValue } from "../../domain/command-tokens.ts";
import { actionIds, cardText, context, esc, maxBlocks, plain, section, sectionLimit, stagingBlocks, statusText, titleOf, facts, when } from "../../domain/slack-card.ts";
import type { Block, SlackMessage, StagingLine } from "../../domain/slack-card.ts";
import type { ActionRecord } from "../../ports/store.ts";
import { stagingDetailsView } from "../http-api/views.ts";

export { actionIds };

export const createCallbackId = "octo_create";
export type { SlackMessage };

function stagingMessage(line: StagingLine, did?: string): SlackMessage {
  const s = line.staging;
  const blocks = stagingBlocks(line, { buttons: s.desiredState !== "deleted" });
  if (did) blocks.unshift(context(`${esc(s.name, 63)}: ${esc(did, 100)}`));
  return { text: `${did ? `${s.name} ${did}. ` : ""}${cardText(s)}`, blocks };
}

function listMessage(a: Extract<SlackAnswer, { kind: "list" }>): SlackMessage {
  if (a.items.length === 0) return { text: "No stagings", blocks: [section(`No ${a.all ? "" : "live "}stagings in ${a.repos.map((r) => esc(r)).join(", ")}${a.all ? "" : " (`--all` shows deleted ones too)"}.`)] };
  const blocks: Block[] = [];
  // Three blocks per staging at most, and room for the "more" note.
  const room = Math.floor((maxBlocks - 2) / 2);
  for (const line of a.items.slice(0, room)) blocks.push(section(`${titleOf(line.staging)}  ${statusText(line.staging)}`), context(facts(line)));
  const left = a.items.length - Math.min(a.items.length, room);
  const more = [...(left > 0 ? [`${left} more not shown`] : []), ...a.more.map((r) => `${esc(r)} has more: \`/octo list ${esc(r)}\` shows them by repository`)];
  if (more.length) blocks.push(context(more.join(" · ")));
  return { text: `${a.items.length} stagings`, blocks };
}

function configMessage(a: Extract<SlackAnswer, { kind: "config" }>): SlackMessage {
  const view = stagingDetailsView(a.details, a.secretKeys, a.line.life);
  const entries = view.config?.entries ?? [];
  const lines = entries.map((e) => {
    const value = "value" in e ? `\`${esc(formatValue(e.value), 200)}\`` : "_(unset)_";
    const by = e.by ? ` by ${esc(e.by, 80)}` : "";
    return `• ${e.scope === "deployment" ? "deployment " : ""}\`${esc(e.key, 200)}\` = ${value} (${e.source}${by})`;
  });
  const blocks: Block[] = [section(`${titleOf(a.line.staging)}  ${statusText(a.line.staging)}`)];
  if (view.config) blocks.push(context(`chart ${esc(view.config.chart.name ?? view.config.chart.repository, 200)}${view.config.chart.version ? ` ${esc(view.config.chart.version, 40)}` : ""} · timeout ${view.config.deployTimeoutSeconds}s`));
  else blocks.push(section("The repository is no longer in Octostage's project config."));
  const { blocks: entryBlocks, shown } = chunked(lines, maxBlocks - blocks.length - 1);
  blocks.push(...entryBlocks);
  if (shown < lines.length) blocks.push(context(`${lines.length - shown} more keys than a message holds: \`octo info NAME\` shows them all.`));
  return { text: `Configuration of ${a.line.staging.name}`, blocks };
}

function keyLine(k: ChartKey): string {
  const def = "default" in k ? ` = \`${esc(formatValue(k.default), 80)}\`` : "";
  return `• \`${esc(k.key, 120)}\` (${esc(k.type, 20)})${def}${k.description ? `: ${esc(k.description, 120)}` : ""}`;
}

/** Lines into sections, each under the section limit, at most `maxSections`. */
function chunked(lines: readonly string[], maxSections: number): { blocks: Block[]; shown: number } {
  const blocks: Block[] = [];
  let chunk = "";
  let shown = 0;
  for (const l of lines) {
    if (chunk.length + l.length + 1 > sectionLimit - 10) {
      blocks.push(section(chunk));
      chunk = "";
      if (blocks.length >= maxSections) return { blocks, shown };
    }
    chunk += (chunk ? "\n" : "") + l;
    shown++;
  }
  if (chunk) blocks.push(section(chunk));
  return { blocks, shown };
}

function keysMessage(a: Extract<SlackAnswer, { kind: "keys" }>): SlackMessage {
  const { blocks, shown } = chunked(a.keys.map(keyLine), maxBlocks - 3);
  return {
    text: `Keys of ${a.chart}`,
    blocks: [
      section(`*${esc(a.project, 63)}*: chart ${esc(a.chart, 200)}${a.version ? ` ${esc(a.version, 40)}` : ""}, ${a.keys.length} keys`),
      ...blocks,
      ...(shown < a.keys.length ? [context(`${a.keys.length - shown} more: \`octo keys ${esc(a.project, 63)}\` lists them all.`)] : []),
      context("Set one with `/octo update NAME --set key=value`."),
    ],
  };
}

function actionLine(a: ActionRecord): string {
  const who = a.actorName && a.actorName !== a.actor ? `${a.actorName} (${a.source}:${a.actor})` : `${a.source}:${a.actor}`;
  return `• ${when(a.createdAt)} *${a.kind}* by ${esc(who, 120)}: ${a.state}${a.error ? ` (${esc(a.error, 200)})` : ""}`;
}

function historyMessage(a: Extract<SlackAnswer, { kind: "history" }>): SlackMessage {
  if (a.actions.length === 0) return { text: `No history for ${a.staging.name}`, blocks: [section(`Nothing was done to *${esc(a.staging.name, 63)}* yet.`)] };
  const { blocks, shown } = chunked(a.actions.map(actionLine), maxBlocks - 2);
  return {
    text: `History of ${a.staging.name}`,
    blocks: [section(`*${esc(a.staging.name, 63)}*: newest first`), ...blocks, ...(shown < a.actions.length ? [context(`${a.actions.length - shown} older entries: \`octo actions ${esc(a.staging.name, 63)}\`.`)] : [])],
  };
}

function helpMessage(text: string): SlackMessage {
  const { blocks } = chunked(text.split("\n"), 10);
  return { text: "Octostage commands", blocks };
}

/** What Slack shows for an answer (never the create form: that is a modal). */
export function renderAnswer(a: Exclude<SlackAnswer, { kind: "create-form" }>): SlackMessage {
  switch (a.kind) {
    case "help":
      return helpMessage(a.text);
    case "error": {
      const blocks = [section(`:warning: ${esc(a.message)}`)];
      if (a.usage) blocks.push(context(`Usage: \`${esc(a.usage, 500)}\` · \`/octo help\` lists every command`));
      return { text: a.message.slice(0, 3000), blocks };
    }
    case "list":
      return listMessage(a);
    case "staging":
      return stagingMessage(a.line, a.did);
    case "config":
      return configMessage(a);
    case "keys":
      return keysMessage(a);
    case "history":
      return historyMessage(a);
  }
}

/** The create modal's fields: each input's block id and action id. */
export const createFields = {
  name: "name",
  repo: "repo",
  ref: "ref",
  tag: "tag",
  overrides: "overrides",
} as const;

export interface CreateFormState {
  repos: { repo: string; project: string }[];
  repo?: string;
  keys?: ChartKey[];
  keysError?: string;
  /** JSON of where to answer (channel). */
  privateMetadata: string;
}

/** The create modal: name, repository (its keys appear when chosen), ref or tag, overrides. */
export function createModal(state: CreateFormState): Block {
  const options = state.repos.slice(0, 100).map((r) => ({ text: plain(r.repo), value: r.repo }));
  const selected = options.find((o) => o.value === state.repo);
  const blocks: Block[] = [
    { type: "input", block_id: createFields.name, label: plain("Name"), hint: plain("Lowercase letters, digits and dashes, as in the staging's URL", 150), element: { type: "plain_text_input", action_id: createFields.name, max_length: 40, placeholder: plain("checkout-redesign", 150) } },
    {
      type: "input",
      block_id: createFields.repo,
      label: plain("Repository"),
      dispatch_action: true,
      element: { type: "static_select", action_id: actionIds.createRepo, options, placeholder: plain("Choose a repository", 150), ...(selected ? { initial_option: selected } : {}) },
    },
    { type: "input", block_id: createFields.ref, optional: true, label: plain("Branch, tag or commit"), element: { type: "plain_text_input", action_id: createFields.ref, max_length: 255, placeholder: plain("main", 150) } },
    { type: "input", block_id: createFields.tag, optional: true, label: plain("Or an image tag"), hint: plain("Deploy an image that is already built instead of a commit's", 150), element: { type: "plain_text_input", action_id: createFields.tag, max_length: 128 } },
    {
      type: "input",
      block_id: createFields.overrides,
      optional: true,
      label: plain("Overrides"),
      hint: plain("key=value, one per line. Secrets are refused here: use octo or the API.", 150),
      element: { type: "plain_text_input", action_id: createFields.overrides, multiline: true, max_length: 3000, placeholder: plain("replicaCount=2", 150) },
    },
  ];
  if (state.keysError) blocks.push(context(`:warning: ${esc(state.keysError, 2000)}`));
  else if (state.keys) {
    const lines = state.keys.map(keyLine);
    const { blocks: keyBlocks, shown } = chunked(lines, 8);
    blocks.push({ type: "divider" }, section(`*Keys of ${esc(state.repo ?? "", 140)}'s chart*`), ...keyBlocks);
    if (shown < lines.length) blocks.push(context(`${lines.length - shown} more: \`/octo keys\` lists them all.`));
  } else blocks.push(context("Choose a repository to see its chart's keys."));
  return {
    type: "modal",
    callback_id: createCallbackId,
    title: plain("New staging", 24),
    submit: plain("Create", 24),
    close: plain("Cancel", 24),
    private_metadata: state.privateMetadata.slice(0, 3000),
    blocks: blocks.slice(0, 100),
  };
}
