// Slack request payloads in the exact wire format Slack sends to an app's Request URL (slash commands
// as application/x-www-form-urlencoded fields; interactions as a form field `payload` holding JSON),
// signed with Slack's signing scheme: v0=HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body).
// Shapes follow Slack's documented examples (docs.slack.dev: slash commands, block_actions payload,
// view interaction payloads); ids default to a fixed test workspace.
import { createHmac, randomBytes } from "node:crypto";

const slackTestTeam = { id: "T0OCTOSTG", domain: "octostage-test" } as const;
const slackTestAppId = "A0OCTOSTG1";
/** The deprecated verification token Slack still puts in every payload (apps must not rely on it). */
const slackVerificationToken = "gIkuvaNzQIHg97ATvDxqgjtO";

export interface SlackSignatureHeaders {
  "x-slack-signature": string;
  "x-slack-request-timestamp": string;
}

/** Slack's request signature for `rawBody` sent at `timestampSeconds`. */
export function signSlackRequest(rawBody: string, signingSecret: string, timestampSeconds: number = Math.floor(Date.now() / 1000)): SlackSignatureHeaders {
  const digest = createHmac("sha256", signingSecret).update(`v0:${timestampSeconds}:${rawBody}`, "utf8").digest("hex");
  return { "x-slack-signature": `v0=${digest}`, "x-slack-request-timestamp": String(timestampSeconds) };
}

/** An action_ts / message ts in Slack's "seconds.micros" form. */
function slackTs(date: Date = new Date(), micros: number = Math.floor(Math.random() * 1_000_000)): string {
  return `${Math.floor(date.getTime() / 1000)}.${String(micros).padStart(6, "0")}`;
}

/** A trigger id shaped as Slack's ("12345.98765.abcd2358fdea"); the Slack double only honours its own. */
function fakeTriggerId(): string {
  return `${Math.floor(Math.random() * 1e12)}.${Math.floor(Math.random() * 1e11)}.${randomBytes(16).toString("hex")}`;
}

export interface SlashCommandFields {
  text: string;
  userId: string;
  userName?: string;
  channelId?: string;
  channelName?: string;
  responseUrl: string;
  triggerId: string;
  teamId?: string;
  teamDomain?: string;
  /** With its leading slash (default "/octo"). */
  command?: string;
  apiAppId?: string;
}

/** A slash command's urlencoded body, fields in the order Slack sends them. */
export function slashCommandBody(f: SlashCommandFields): string {
  return new URLSearchParams([
    ["token", slackVerificationToken],
    ["team_id", f.teamId ?? slackTestTeam.id],
    ["team_domain", f.teamDomain ?? slackTestTeam.domain],
    ["channel_id", f.channelId ?? "C0OCTOSTG1"],
    ["channel_name", f.channelName ?? "staging"],
    ["user_id", f.userId],
    ["user_name", f.userName ?? "alice"],
    ["command", f.command ?? "/octo"],
    ["text", f.text],
    ["api_app_id", f.apiAppId ?? slackTestAppId],
    ["is_enterprise_install", "false"],
    ["response_url", f.responseUrl],
    ["trigger_id", f.triggerId],
  ]).toString();
}

const userOf = (userId: string, userName: string | undefined, teamId: string) => ({ id: userId, username: userName ?? "alice", name: userName ?? "alice", team_id: teamId });

/** Finds the element with `actionId` in a message's or view's blocks, with the block holding it. */
function findElement(blocks: unknown, actionId: string): { block: any; element: any } | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const block of blocks) {
    const elements: any[] = [...(Array.isArray(block?.elements) ? block.elements : []), ...(block?.accessory ? [block.accessory] : []), ...(block?.element ? [block.element] : [])];
    const element = elements.find((e) => e?.action_id === actionId);
    if (element) return { block, element };
  }
  return undefined;
}

export interface BlockActionsFields {
  userId: string;
  userName?: string;
  actionId: string;
  value: string;
  /** Default: the block holding the button in `message`, else "actions". */
  blockId?: string;
  responseUrl: string;
  triggerId: string;
  channelId?: string;
  channelName?: string;
  /** The message holding the button (e.g. one of the Slack double's `messages(channel)`). */
  message?: Record<string, unknown>;
  /** Default: `message.ts`, else a fresh ts. */
  messageTs?: string;
  /** The button was in an ephemeral message (then Slack sends no `message`). */
  isEphemeral?: boolean;
  teamId?: string;
}

/** A button click's `block_actions` payload (container type "message"), as Slack documents it. */
export function blockActionsPayload(f: BlockActionsFields): any {
  const teamId = f.teamId ?? slackTestTeam.id;
  const channelId = f.channelId ?? (typeof f.message?.channel === "string" ? f.message.channel : "C0OCTOSTG1");
  const messageTs = f.messageTs ?? (typeof f.message?.ts === "string" ? f.message.ts : slackTs());
  const found = findElement(f.message?.blocks, f.actionId);
  const text = found?.element?.text ?? { type: "plain_text", text: f.actionId, emoji: true };
  const message = f.message
    ? structuredClone(f.message)
    : {
      type: "message", subtype: "bot_message", text: "", ts: messageTs, bot_id: "B0OCTOSTG1", app_id: slackTestAppId, team: teamId,
      blocks: [{ type: "actions", block_id: f.blockId ?? "actions", elements: [{ type: "button", action_id: f.actionId, text, value: f.value }] }],
    };
  return {
    type: "block_actions",
    user: userOf(f.userId, f.userName, teamId),
    api_app_id: slackTestAppId,
    token: slackVerificationToken,
    container: { type: "message", message_ts: messageTs, channel_id: channelId, is_ephemeral: f.isEphemeral ?? false },
    trigger_id: f.triggerId,
    team: { id: teamId, domain: slackTestTeam.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channelId, name: f.channelName ?? "staging" },
    ...(f.isEphemeral ? {} : { message }),
    state: { values: {} },
    response_url: f.responseUrl,
    actions: [{ action_id: f.actionId, block_id: f.blockId ?? found?.block?.block_id ?? "actions", text, value: f.value, type: "button", action_ts: slackTs() }],
  };
}

/** State values as Slack sends them: values[block_id][action_id] = { type, value | selected_option | ... }. */
type ViewStateValues = Record<string, Record<string, Record<string, unknown>>>;

interface ViewFields {
  userId: string;
  userName?: string;
  callbackId: string;
  privateMetadata?: string;
  values: ViewStateValues;
  /** The view as Slack stored it (e.g. the Slack double's `view(id)`): its id, blocks, title, hash... are reused. */
  view?: Record<string, any>;
  viewId?: string;
  triggerId?: string;
  teamId?: string;
}

/** The `view` object of a view interaction payload (Slack's stored view plus the user's state). */
function viewObject(f: ViewFields, teamId: string): any {
  const v = f.view ?? {};
  const id = f.viewId ?? v.id ?? "V0OCTOSTG1";
  return {
    id,
    team_id: teamId,
    type: "modal",
    blocks: v.blocks ?? [],
    private_metadata: f.privateMetadata ?? v.private_metadata ?? "",
    callback_id: f.callbackId,
    state: { values: f.values },
    hash: v.hash ?? "1700000000.9f8e7d6c",
    title: v.title ?? { type: "plain_text", text: "Octostage", emoji: true },
    clear_on_close: v.clear_on_close ?? false,
    notify_on_close: v.notify_on_close ?? false,
    close: v.close ?? null,
    submit: v.submit ?? null,
    previous_view_id: v.previous_view_id ?? null,
    root_view_id: v.root_view_id ?? id,
    app_id: slackTestAppId,
    external_id: v.external_id ?? "",
    app_installed_team_id: teamId,
    bot_id: "B0OCTOSTG1",
  };
}

export type ViewSubmissionFields = ViewFields;

/** A modal's `view_submission` payload, as Slack documents it. */
export function viewSubmissionPayload(f: ViewSubmissionFields): any {
  const teamId = f.teamId ?? slackTestTeam.id;
  return {
    type: "view_submission",
    team: { id: teamId, domain: slackTestTeam.domain },
    user: userOf(f.userId, f.userName, teamId),
    api_app_id: slackTestAppId,
    token: slackVerificationToken,
    trigger_id: f.triggerId ?? fakeTriggerId(),
    view: viewObject(f, teamId),
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export interface ViewBlockActionsFields extends ViewFields {
  actionId: string;
  blockId: string;
  selectedValue: string;
  /** The chosen option's text (default: the option's text in the view's blocks, else the value). */
  selectedText?: string;
  viewId: string;
}

/** A select's `block_actions` inside a modal (container type "view", `dispatch_action`): no response_url. */
export function viewBlockActionsPayload(f: ViewBlockActionsFields): any {
  const teamId = f.teamId ?? slackTestTeam.id;
  const found = findElement(f.view?.blocks, f.actionId);
  const option = (found?.element?.options as any[] | undefined)?.find((o) => o?.value === f.selectedValue);
  const selectedOption = { text: { type: "plain_text", text: f.selectedText ?? option?.text?.text ?? f.selectedValue, emoji: true }, value: f.selectedValue };
  return {
    type: "block_actions",
    user: userOf(f.userId, f.userName, teamId),
    api_app_id: slackTestAppId,
    token: slackVerificationToken,
    container: { type: "view", view_id: f.viewId },
    trigger_id: f.triggerId ?? fakeTriggerId(),
    team: { id: teamId, domain: slackTestTeam.domain },
    enterprise: null,
    is_enterprise_install: false,
    view: viewObject(f, teamId),
    actions: [{
      type: "static_select",
      action_id: f.actionId,
      block_id: f.blockId,
      selected_option: selectedOption,
      ...(found?.element?.placeholder ? { placeholder: found.element.placeholder } : {}),
      action_ts: slackTs(),
    }],
  };
}
