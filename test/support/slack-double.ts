/**
 * Slack double: a node:http server on 127.0.0.1 (random port) standing in for Slack's Web API
 * (`url`, ending in /api/, for `new WebClient(token, { slackApiUrl: double.url })`) and for the
 * response_url webhooks Slack hands out in interaction payloads (`responseUrl()`).
 *
 * CHECKS, in this order, every Web API call (each is recorded in `calls`, args decoded: urlencoded
 * fields holding JSON, as WebClient sends `blocks`/`view`, are parsed back; other values stay strings):
 * - the body: urlencoded, JSON (token then only in the header, as Slack requires) or a GET query;
 *   another content type is invalid_post_type, bad JSON invalid_json;
 * - auth: `Authorization: Bearer <botToken>` (or a `token` form field): none is not_authed, another
 *   invalid_auth (HTTP 200, as Slack answers);
 * - the method name against @slack/web-api: a method exists iff walking its dotted path on a
 *   `new WebClient()` reaches a function; unknown is unknown_method, known but not faked here
 *   not_implemented_in_double;
 * - an injected rate limit (`rateLimit`): HTTP 429 with Retry-After and {ok:false,error:"ratelimited"};
 * - the method's own checks, with Slack's error codes: channel ids (channel_not_found), message text
 *   (no_text, msg_too_long at 40 000), Block Kit limits (block-kit.ts → invalid_blocks with
 *   `errors` for chat.*, invalid_arguments with `response_metadata.messages` for views.*), trigger ids
 *   (issued by `issueTriggerId()`, single use, 3 s by `now()`: invalid_trigger_id /
 *   exchanged_trigger_id / expired_trigger_id), view ids and hashes (not_found, hash_conflict).
 * Contract breaches (auth, unknown or unfaked methods, invalid blocks or views, bad bodies, replies
 * to threads the double never saw, bad response_url posts) are also recorded in `violations`;
 * `assertCallsMatchWebApi()` throws on any, and type-checks every call's args against
 * @slack/web-api's argument types with the TypeScript compiler (excess and missing properties fail).
 *
 * FAKES: auth.test, chat.postMessage (threads, reply_broadcast), chat.update, chat.postEphemeral,
 * views.open, views.update, views.push, usergroups.users.list, users.info, conversations.info; the
 * response_url webhook (JSON bodies as Bolt's respond() sends: replace_original, delete_original,
 * response_type; at most 5 uses within 30 minutes, then HTTP 404 used_url / expired_url; success is
 * HTTP 200 "ok", bad payloads HTTP 400 with Slack's error word).
 * SOCKET MODE (with `appToken`): apps.connections.open takes only the app-level token (the bot token
 * there, or the app token elsewhere, is not_allowed_token_type) and answers a ws:// URL on this server;
 * a client that connects gets Slack's `hello`; `sendOverSocket(type, payload)` delivers an envelope
 * ({envelope_id, type, payload, accepts_response_payload}) and resolves with the client's ack.
 * DOES NOT FAKE: scopes (every call is allowed), channel membership, message deletion (chat.delete),
 * Home tabs, files, generated block_ids, Slack's overall payload size limits, Events API deliveries.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { WebClient } from "@slack/web-api";
import ts from "typescript";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import { blockKitProblems, messageTextLimit, modalViewProblems } from "./block-kit.ts";
import { readBody } from "./http-body.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const triggerLifetimeMs = 3_000;
const responseUrlLifetimeMs = 30 * 60_000;
const responseUrlMaxUses = 5;
const maxViewStack = 3;

interface SlackApiCall {
  method: string;
  /** Decoded arguments (urlencoded JSON fields parsed; numbers and booleans arrive as strings). */
  args: Record<string, unknown>;
  /** By the double's `now()`. */
  at: number;
  encoding: "form" | "json" | "query";
  ok: boolean;
  error?: string;
  status: number;
}

interface SlackMessage {
  type: "message";
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  /** The bot user for the app's messages; the author for `addMessage`. */
  user: string;
  bot_id?: string;
  app_id?: string;
  team: string;
  edited?: { user: string; ts: string };
  reply_broadcast?: boolean;
}

interface SlackEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
}

/** A view as Slack stores and returns it. */
interface SlackView {
  id: string;
  team_id: string;
  type: string;
  blocks: unknown[];
  private_metadata: string;
  callback_id: string;
  state: { values: Record<string, unknown> };
  hash: string;
  title: unknown;
  clear_on_close: boolean;
  notify_on_close: boolean;
  close: unknown;
  submit: unknown;
  previous_view_id: string | null;
  root_view_id: string;
  app_id: string;
  external_id: string;
  app_installed_team_id: string;
  bot_id: string;
  [key: string]: unknown;
}

interface SlackResponsePost {
  /** The response URL's id (last path segment). */
  id: string;
  body: any;
  at: number;
  status: number;
  /** What the double answered ("ok", "used_url", "invalid_blocks"...). */
  answer: string;
}

/** What the user sees for a response URL's message. */
interface SlackResponseMessage {
  response_type: "ephemeral" | "in_channel";
  text?: string;
  blocks?: unknown[];
  /** When the message is a channel message (in_channel, or the interaction's own message). */
  channel?: string;
  ts?: string;
}

export interface SlackDoubleOptions {
  botToken: string;
  /** Socket Mode: the app-level token (xapp-...) apps.connections.open accepts. */
  appToken?: string;
  teamId?: string;
  botUserId?: string;
  /** Only channels added with `addChannel` exist (default: any id matching /^[CGD][A-Z0-9]+$/). */
  strictChannels?: boolean;
  /** The double's clock for trigger ids and response URLs (default Date.now). */
  now?: () => number;
}

export interface SlackDouble {
  /** Web API base, ending in /api/. */
  url: string;
  /** http://127.0.0.1:port */
  baseUrl: string;
  teamId: string;
  botUserId: string;
  botId: string;
  appId: string;
  calls: SlackApiCall[];
  callsOf(method: string): SlackApiCall[];
  violations: string[];
  /** 429 answers given, by method. */
  rateLimited: Record<string, number>;
  responses: SlackResponsePost[];
  addChannel(id: string, opts?: { name?: string; isPrivate?: boolean }): void;
  /** A message by someone else (a user), e.g. to reply to in its thread; returns its ts. */
  addMessage(channel: string, message: { text: string; user: string; thread_ts?: string }): string;
  /** The channel's top-level messages (and broadcast replies), oldest first, as they are now. */
  messages(channel: string): SlackMessage[];
  /** The replies in the thread of `ts`, oldest first. */
  thread(channel: string, ts: string): SlackMessage[];
  ephemerals(channel?: string): SlackEphemeral[];
  view(idOrExternalId: string): SlackView | undefined;
  views(): SlackView[];
  /**
   * A new response URL. `channel`: where the interaction happened; `message`: the message the
   * interaction came from, either the ts of a channel message or an ephemeral message's content.
   */
  responseUrl(opts?: { channel?: string; message?: { ts: string } | { text?: string; blocks?: unknown[] } }): string;
  /** The response URL's message as the user sees it now (after replacements); undefined once deleted. */
  responseMessage(idOrUrl: string): SlackResponseMessage | undefined;
  /** Every message posted through the response URL that is still visible, oldest first. */
  responseMessages(idOrUrl: string): SlackResponseMessage[];
  /** A trigger id as in an interaction payload; `viewId` when the interaction was in that modal. */
  issueTriggerId(opts?: { viewId?: string }): string;
  setUser(id: string, user: { name: string; real_name?: string; [key: string]: unknown }): void;
  setUsergroupMembers(groupId: string, userIds: string[]): void;
  /** The next `times` calls of `method` answer HTTP 429 with Retry-After: `retryAfterSeconds`. */
  rateLimit(method: string, retryAfterSeconds: number, times?: number): void;
  /** Throws on recorded violations and on calls whose args do not type against @slack/web-api. */
  assertCallsMatchWebApi(): Promise<void>;
  /** Socket Mode: resolves once a client connected and was greeted with `hello`. */
  socketConnected(): Promise<void>;
  /** Socket Mode: delivers an envelope (`slash_commands`, `interactive`...) and resolves with the client's ack. */
  sendOverSocket(type: string, payload: unknown): Promise<{ envelope_id: string; payload?: any }>;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

type Handler = (args: Record<string, unknown>) => Reply;

interface TriggerState {
  issuedAt: number;
  used: boolean;
  viewId?: string;
}

type Original = { kind: "channel"; channel: string; ts: string } | { kind: "ephemeral"; message: SlackResponseMessage } | undefined;

interface ResponseUrlState {
  id: string;
  createdAt: number;
  uses: number;
  channel?: string;
  original: Original;
  deleted: boolean;
  posted: SlackResponseMessage[];
}

/** Top-level arguments that are plain strings even when they look like JSON. */
const plainStringArgs = new Set([
  "text", "markdown_text", "username", "icon_emoji", "icon_url", "ts", "thread_ts", "channel", "user", "users", "trigger_id",
  "interactivity_pointer", "view_id", "external_id", "hash", "usergroup", "query", "cursor", "message_ts", "post_at",
]);
const respondKeys = new Set([
  "text", "blocks", "attachments", "response_type", "replace_original", "delete_original", "thread_ts", "mrkdwn", "unfurl_links",
  "unfurl_media", "metadata", "parse", "link_names",
]);

const ok = (body: Record<string, unknown> = {}): Reply => ({ status: 200, body: { ok: true, ...body } });
const fail = (error: string, extra: Record<string, unknown> = {}): Reply => ({ status: 200, body: { ok: false, error, ...extra } });
/** A decoded argument as the text Slack would see. */
const asText = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v) ?? "");
const truthy = (v: unknown) => v === true || v === "true" || v === "1" || v === 1;
const isObject = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);
const randomId = (prefix: string, length: number) => prefix + randomBytes(length).toString("base64").replace(/[^A-Z0-9]/gi, "").toUpperCase().padEnd(length, "7").slice(0, length);

/** A Web API method exists iff its dotted path walks own properties of `new WebClient()` to a function. */
function webApiMethodExists(client: WebClient, method: string): boolean {
  const parts = method.split(".");
  if (parts.length < 2) return false;
  let node: unknown = client;
  for (const part of parts) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, part)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === "function";
}

/** Decodes a urlencoded/query field: JSON arrays and objects are parsed (WebClient JSON-encodes them). */
function decodeField(key: string, value: string): unknown {
  if (plainStringArgs.has(key) || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Ends a test file's double: fails on any recorded violation or call that does not type against @slack/web-api. */
export async function closeCheckedSlackDouble(slack: SlackDouble | undefined): Promise<void> {
  if (!slack) return;
  try {
    if (slack.violations.length) throw new Error(`Slack double violations:\n${slack.violations.join("\n")}`);
    await slack.assertCallsMatchWebApi();
  } finally {
    await slack.close();
  }
}

export async function startSlackDouble(opts: SlackDoubleOptions): Promise<SlackDouble> {
  const now = opts.now ?? Date.now;
  const teamId = opts.teamId ?? "T0OCTOSTG";
  const botUserId = opts.botUserId ?? "U0OCTOBOT1";
  const botId = "B0OCTOSTG1";
  const appId = "A0OCTOSTG1";
  const domain = "octostage-test";
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = new WebClient();
  // Socket Mode: clients connect to ws://.../socket/<ticket> from apps.connections.open.
  const wss = new WebSocketServer({ noServer: true });
  const sockets: WebSocket[] = [];
  const tickets = new Set<string>();
  const acks = new Map<string, (ack: { envelope_id: string; payload?: any }) => void>();
  let greeted: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (greeted = resolve));
  server.on("upgrade", (req, socket, head) => {
    const ticket = /^\/socket\/([a-f0-9]+)$/.exec(new URL(req.url ?? "/", "http://x").pathname)?.[1];
    if (!ticket || !tickets.delete(ticket)) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      ws.on("message", (data) => {
        let ack: { envelope_id?: unknown; payload?: unknown };
        try {
          ack = JSON.parse(Buffer.from(data as Buffer).toString("utf8")) as typeof ack;
        } catch {
          violation("socket mode: a message that is not JSON");
          return;
        }
        const resolve = typeof ack.envelope_id === "string" ? acks.get(ack.envelope_id) : undefined;
        if (!resolve) {
          violation(`socket mode: an ack for an unknown envelope ${String(ack.envelope_id)}`);
          return;
        }
        acks.delete(ack.envelope_id as string);
        resolve(ack as { envelope_id: string; payload?: any });
      });
      ws.send(JSON.stringify({ type: "hello", num_connections: sockets.length, debug_info: { host: "applink-octostage-double", approximate_connection_time: 18060 }, connection_info: { app_id: appId } }));
      greeted();
    });
  });

  const channels = new Map<string, { name: string; isPrivate: boolean; created: number }>();
  const channelMessages = new Map<string, SlackMessage[]>();
  const ephemeralMessages: SlackEphemeral[] = [];
  const viewsById = new Map<string, SlackView>();
  const triggers = new Map<string, TriggerState>();
  const users = new Map<string, { name: string; real_name?: string; [key: string]: unknown }>();
  const usergroups = new Map<string, string[]>();
  const rateLimits = new Map<string, { retryAfter: number; remaining: number }>();
  const responseUrls = new Map<string, ResponseUrlState>();
  let lastTsMicros = 0;
  let triggerCounter = 0;

  /** Unique, increasing message timestamps ("1700000000.000100") by the double's clock. */
  const nextTs = (): string => {
    lastTsMicros = Math.max(Math.floor(now()) * 1000, lastTsMicros + 1);
    return `${Math.floor(lastTsMicros / 1_000_000)}.${String(lastTsMicros % 1_000_000).padStart(6, "0")}`;
  };
  const channelExists = (id: unknown): id is string =>
    typeof id === "string" && (channels.has(id) || (!opts.strictChannels && /^[CGD][A-Z0-9]+$/.test(id)));
  const messagesIn = (channel: string): SlackMessage[] => {
    let list = channelMessages.get(channel);
    if (!list) channelMessages.set(channel, (list = []));
    return list;
  };
  const findMessage = (channel: string, ts: string) => channelMessages.get(channel)?.find((m) => m.ts === ts);
  const responseStateOf = (idOrUrl: string) => responseUrls.get(idOrUrl.replace(/\/+$/, "").split("/").pop() ?? "");

  const double: SlackDouble = {
    url: `${baseUrl}/api/`,
    baseUrl,
    teamId,
    botUserId,
    botId,
    appId,
    calls: [],
    callsOf: (method) => double.calls.filter((c) => c.method === method),
    violations: [],
    rateLimited: {},
    responses: [],
    addChannel: (id, o = {}) => void channels.set(id, { name: o.name ?? id.toLowerCase(), isPrivate: o.isPrivate ?? id.startsWith("G"), created: Math.floor(now() / 1000) }),
    addMessage(channel, message) {
      const ts = nextTs();
      messagesIn(channel).push({ type: "message", channel, ts, text: message.text, user: message.user, team: teamId, ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}) });
      return ts;
    },
    messages: (channel) => structuredClone((channelMessages.get(channel) ?? []).filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast)),
    thread: (channel, ts) => structuredClone((channelMessages.get(channel) ?? []).filter((m) => m.thread_ts === ts && m.ts !== ts)),
    ephemerals: (channel) => structuredClone(ephemeralMessages.filter((m) => channel === undefined || m.channel === channel)),
    view: (id) => structuredClone(viewsById.get(id) ?? [...viewsById.values()].find((v) => v.external_id !== "" && v.external_id === id)),
    views: () => structuredClone([...viewsById.values()]),
    responseUrl(o = {}) {
      const id = randomBytes(12).toString("hex");
      let original: Original;
      if (o.message && "ts" in o.message) {
        if (!o.channel) throw new Error("responseUrl: a channel message needs opts.channel");
        original = { kind: "channel", channel: o.channel, ts: o.message.ts };
      } else if (o.message) {
        original = { kind: "ephemeral", message: { response_type: "ephemeral", ...structuredClone(o.message) } };
      }
      responseUrls.set(id, { id, createdAt: now(), uses: 0, ...(o.channel ? { channel: o.channel } : {}), original, deleted: false, posted: [] });
      return `${baseUrl}/response/${id}`;
    },
    responseMessage(idOrUrl) {
      const state = responseStateOf(idOrUrl);
      if (!state || state.deleted || !state.original) return undefined;
      return structuredClone(visibleOriginal(state.original));
    },
    responseMessages(idOrUrl) {
      const state = responseStateOf(idOrUrl);
      if (!state) return [];
      const first = state.deleted || !state.original ? [] : [visibleOriginal(state.original)];
      return structuredClone([...first, ...state.posted].filter((m): m is SlackResponseMessage => m !== undefined));
    },
    issueTriggerId(o = {}) {
      const id = `${10_000 + ++triggerCounter}.${Math.floor(now() / 1000)}.${randomBytes(16).toString("hex")}`;
      triggers.set(id, { issuedAt: now(), used: false, ...(o.viewId ? { viewId: o.viewId } : {}) });
      return id;
    },
    setUser: (id, user) => void users.set(id, { ...user }),
    setUsergroupMembers: (groupId, userIds) => void usergroups.set(groupId, [...userIds]),
    rateLimit: (method, retryAfterSeconds, times = 1) => void rateLimits.set(method, { retryAfter: retryAfterSeconds, remaining: times }),
    assertCallsMatchWebApi: () => assertCallsMatchWebApi(double),
    socketConnected: () => connected,
    sendOverSocket(type, payload) {
      const socket = sockets.at(-1);
      if (!socket) return Promise.reject(new Error("no Socket Mode client is connected"));
      const envelopeId = randomBytes(8).toString("hex");
      return new Promise((resolve) => {
        acks.set(envelopeId, resolve);
        socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== "events_api" }));
      });
    },
    close: () => new Promise<void>((resolve, reject) => {
      for (const socket of sockets) socket.terminate();
      wss.close();
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };

  function visibleOriginal(original: NonNullable<Original>): SlackResponseMessage | undefined {
    if (original.kind === "ephemeral") return original.message;
    const m = findMessage(original.channel, original.ts);
    return m && { response_type: "in_channel", channel: m.channel, ts: m.ts, ...(m.text === undefined ? {} : { text: m.text }), ...(m.blocks ? { blocks: m.blocks } : {}) };
  }

  const violation = (what: string) => void double.violations.push(what);

  /** Slack's content checks shared by chat.postMessage, chat.postEphemeral and chat.update. */
  function contentProblem(method: string, args: Record<string, unknown>, requireContent: boolean): Reply | undefined {
    const { text, blocks, attachments, markdown_text: markdown } = args;
    if (markdown !== undefined && (text !== undefined || blocks !== undefined)) return fail("markdown_text_conflict");
    if (requireContent && [text, blocks, attachments, markdown].every((v) => v === undefined || v === "")) return fail("no_text");
    if (typeof text === "string" && text.length > messageTextLimit) {
      violation(`${method}: text of ${text.length} characters (Slack's limit is ${messageTextLimit})`);
      return fail("msg_too_long");
    }
    if (blocks !== undefined) {
      if (!Array.isArray(blocks)) {
        violation(`${method}: blocks is not a JSON array`);
        return fail("invalid_blocks_format");
      }
      const problems = blockKitProblems(blocks, "message");
      if (problems.length > 0) {
        violation(`${method}: invalid_blocks\n  ${problems.join("\n  ")}`);
        return fail("invalid_blocks", { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
      }
    }
    return undefined;
  }

  const botMessageFields = () => ({ user: botUserId, bot_id: botId, app_id: appId, team: teamId });

  function viewProblemReply(method: string, view: unknown): Reply | undefined {
    const problems = modalViewProblems(view);
    if (problems.length === 0) return undefined;
    violation(`${method}: invalid view\n  ${problems.join("\n  ")}`);
    return fail("invalid_arguments", { response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
  }

  /** Exchanges a trigger id (or interactivity pointer) as Slack does: once, within 3 s. */
  /** What views.open and views.push check first: a valid view, a free external_id, a live trigger id. */
  function openingView(method: string, args: Record<string, unknown>): { error: Reply } | { view: Record<string, any>; trigger: TriggerState } {
    const invalid = viewProblemReply(method, args.view);
    if (invalid) return { error: invalid };
    const view = args.view as Record<string, any>;
    if (externalIdTaken(view.external_id)) return { error: fail("duplicate_external_id") };
    const exchanged = exchangeTrigger(args);
    if ("error" in exchanged) return exchanged;
    return { view, trigger: exchanged.trigger };
  }

  function exchangeTrigger(args: Record<string, unknown>): { error: Reply } | { trigger: TriggerState } {
    const id = args.trigger_id ?? args.interactivity_pointer;
    const trigger = typeof id === "string" ? triggers.get(id) : undefined;
    if (!trigger) return { error: fail("invalid_trigger_id") };
    if (trigger.used) return { error: fail("exchanged_trigger_id") };
    if (now() - trigger.issuedAt > triggerLifetimeMs) return { error: fail("expired_trigger_id") };
    trigger.used = true;
    return { trigger };
  }

  const newHash = () => `${Math.floor(now() / 1000)}.${randomBytes(4).toString("hex")}`;
  function storeView(input: Record<string, any>, id: string, rootId: string, previousId: string | null): SlackView {
    const stored: SlackView = {
      id,
      team_id: teamId,
      type: input.type,
      blocks: input.blocks,
      private_metadata: input.private_metadata ?? "",
      callback_id: input.callback_id ?? "",
      state: { values: {} },
      hash: newHash(),
      title: input.title,
      clear_on_close: truthy(input.clear_on_close),
      notify_on_close: truthy(input.notify_on_close),
      close: input.close ?? null,
      submit: input.submit ?? null,
      previous_view_id: previousId,
      root_view_id: rootId,
      app_id: appId,
      external_id: input.external_id ?? "",
      app_installed_team_id: teamId,
      bot_id: botId,
    };
    viewsById.set(id, stored);
    return stored;
  }
  const externalIdTaken = (externalId: unknown, except?: string) =>
    typeof externalId === "string" && externalId !== "" && [...viewsById.values()].some((v) => v.external_id === externalId && v.id !== except);

  const handlers: Record<string, Handler> = {
    "auth.test": () => ok({ url: `https://${domain}.slack.com/`, team: "Octostage Test", user: "octostage", team_id: teamId, user_id: botUserId, bot_id: botId, is_enterprise_install: false }),

    "chat.postMessage"(args) {
      if (!channelExists(args.channel)) return fail("channel_not_found");
      const problem = contentProblem("chat.postMessage", args, true);
      if (problem) return problem;
      const channel = args.channel;
      let threadTs: string | undefined;
      if (args.thread_ts !== undefined && args.thread_ts !== "") {
        const parent = findMessage(channel, asText(args.thread_ts));
        if (!parent) violation(`chat.postMessage: thread_ts ${asText(args.thread_ts)} is no message in ${channel} (Slack accepts it and the reply is lost)`);
        threadTs = parent?.thread_ts ?? asText(args.thread_ts);
      }
      const message: SlackMessage = {
        type: "message",
        channel,
        ts: nextTs(),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(args.text !== undefined ? { text: asText(args.text) } : { text: "" }),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        ...(Array.isArray(args.attachments) ? { attachments: args.attachments } : {}),
        ...(args.metadata !== undefined ? { metadata: args.metadata } : {}),
        ...(threadTs && truthy(args.reply_broadcast) ? { reply_broadcast: true } : {}),
        ...botMessageFields(),
      };
      messagesIn(channel).push(message);
      const { channel: _c, ...shown } = message;
      return ok({ channel, ts: message.ts, message: structuredClone(shown) });
    },

    "chat.update"(args) {
      if (!channelExists(args.channel)) return fail("channel_not_found");
      const message = typeof args.ts === "string" ? findMessage(args.channel, args.ts) : undefined;
      if (!message) return fail("message_not_found");
      if (message.user !== botUserId) return fail("cant_update_message");
      const problem = contentProblem("chat.update", args, true);
      if (problem) return problem;
      // Fields left out keep their value (blocks, attachments, metadata); an empty array removes them.
      if (args.text !== undefined) message.text = asText(args.text);
      for (const field of ["blocks", "attachments"] as const) {
        const value = args[field];
        if (Array.isArray(value)) {
          if (value.length === 0) delete message[field];
          else message[field] = value;
        }
      }
      if (args.metadata !== undefined) message.metadata = args.metadata;
      message.edited = { user: botUserId, ts: nextTs() };
      const { channel: _c, ...shown } = message;
      return ok({ channel: message.channel, ts: message.ts, text: message.text ?? "", message: structuredClone(shown) });
    },

    "chat.postEphemeral"(args) {
      if (!channelExists(args.channel)) return fail("channel_not_found");
      if (typeof args.user !== "string" || args.user === "") return fail("user_not_in_channel");
      const problem = contentProblem("chat.postEphemeral", args, true);
      if (problem) return problem;
      const messageTs = nextTs();
      ephemeralMessages.push({
        channel: args.channel, user: args.user, message_ts: messageTs,
        ...(typeof args.thread_ts === "string" ? { thread_ts: args.thread_ts } : {}),
        ...(args.text !== undefined ? { text: asText(args.text) } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
      });
      return ok({ message_ts: messageTs });
    },

    "views.open"(args) {
      const opening = openingView("views.open", args);
      if ("error" in opening) return opening.error;
      const id = randomId("V", 10);
      return ok({ view: structuredClone(storeView(opening.view, id, id, null)) });
    },

    "views.push"(args) {
      const opening = openingView("views.push", args);
      if ("error" in opening) return opening.error;
      const { view, trigger } = opening;
      const from = trigger.viewId ? viewsById.get(trigger.viewId) : [...viewsById.values()].at(-1);
      if (!from) {
        violation("views.push: no modal is open to push onto (issue the trigger with issueTriggerId({ viewId }))");
        return fail("invalid_arguments", { response_metadata: { messages: ["[ERROR] no open modal for this trigger"] } });
      }
      const stack = [...viewsById.values()].filter((v) => v.root_view_id === from.root_view_id);
      if (stack.length >= maxViewStack) return fail("push_limit_reached");
      const top = stack.at(-1)!;
      return ok({ view: structuredClone(storeView(view, randomId("V", 10), from.root_view_id, top.id)) });
    },

    "views.update"(args) {
      if (args.view_id === undefined && args.external_id === undefined) {
        violation("views.update: neither view_id nor external_id");
        return fail("invalid_arguments", { response_metadata: { messages: ["[ERROR] either view_id or external_id is required"] } });
      }
      const invalid = viewProblemReply("views.update", args.view);
      if (invalid) return invalid;
      const existing = typeof args.view_id === "string"
        ? viewsById.get(args.view_id)
        : [...viewsById.values()].find((v) => v.external_id !== "" && v.external_id === args.external_id);
      if (!existing) return fail("not_found");
      if (args.hash !== undefined && args.hash !== existing.hash) return fail("hash_conflict");
      const view = args.view as Record<string, any>;
      if (externalIdTaken(view.external_id, existing.id)) return fail("duplicate_external_id");
      const input = { ...view, external_id: view.external_id ?? existing.external_id };
      return ok({ view: structuredClone(storeView(input, existing.id, existing.root_view_id, existing.previous_view_id)) });
    },

    "usergroups.users.list"(args) {
      const members = typeof args.usergroup === "string" ? usergroups.get(args.usergroup) : undefined;
      return members ? ok({ users: [...members] }) : fail("no_such_subteam");
    },

    "users.info"(args) {
      const user = typeof args.user === "string" ? users.get(args.user) : undefined;
      if (!user) return fail("user_not_found");
      const id = args.user as string;
      const { name: _name, real_name: _realName, ...extra } = user;
      const realName = user.real_name ?? user.name;
      return ok({
        user: {
          id, team_id: teamId, name: user.name, deleted: false, real_name: realName, tz: "Europe/Berlin", is_admin: false, is_owner: false,
          is_bot: false, is_app_user: false, updated: Math.floor(now() / 1000),
          profile: { real_name: realName, display_name: user.name, real_name_normalized: realName, display_name_normalized: user.name, team: teamId },
          ...extra,
        },
      });
    },

    "apps.connections.open"() {
      const ticket = randomBytes(12).toString("hex");
      tickets.add(ticket);
      return ok({ url: `${baseUrl.replace(/^http/, "ws")}/socket/${ticket}` });
    },

    "conversations.info"(args) {
      if (!channelExists(args.channel)) return fail("channel_not_found");
      const id = args.channel;
      const known = channels.get(id);
      const name = known?.name ?? id.toLowerCase();
      const isIm = id.startsWith("D");
      return ok({
        channel: {
          id, name, name_normalized: name, created: known?.created ?? Math.floor(now() / 1000), is_channel: !isIm && !(known?.isPrivate ?? id.startsWith("G")),
          is_group: false, is_im: isIm, is_mpim: false, is_private: known?.isPrivate ?? id.startsWith("G"), is_archived: false, is_general: false,
          is_member: true, is_shared: false, is_ext_shared: false, is_org_shared: false, context_team_id: teamId,
        },
      });
    },
  };

  /** Decodes the body; a Reply when Slack would refuse it before looking at the method. */
  function decodeArgs(req: http.IncomingMessage, raw: string, query: URLSearchParams): { args: Record<string, unknown>; encoding: SlackApiCall["encoding"] } | Reply {
    const type = (req.headers["content-type"] ?? "").toLowerCase();
    if ((req.method ?? "GET").toUpperCase() === "GET" || raw.length === 0) {
      return { args: Object.fromEntries([...query].map(([k, v]) => [k, decodeField(k, v)])), encoding: "query" };
    }
    if (type.startsWith("application/x-www-form-urlencoded")) {
      return { args: Object.fromEntries([...new URLSearchParams(raw)].map(([k, v]) => [k, decodeField(k, v)])), encoding: "form" };
    }
    if (type.startsWith("application/json")) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (!isObject(parsed)) return fail("invalid_json");
        return { args: parsed, encoding: "json" };
      } catch {
        return fail("invalid_json");
      }
    }
    return fail(type === "" ? "missing_post_type" : "invalid_post_type");
  }

  function dispatch(method: string, req: http.IncomingMessage, raw: string, query: URLSearchParams, record: SlackApiCall): Reply {
    const decoded = decodeArgs(req, raw, query);
    if ("status" in decoded) {
      violation(`${method}: ${String(decoded.body.error)} (content-type ${req.headers["content-type"] ?? "none"})`);
      return decoded;
    }
    record.args = decoded.args;
    record.encoding = decoded.encoding;
    const header = req.headers.authorization;
    const bearer = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
    // Slack reads a token from the body only in urlencoded/query requests, never from JSON bodies.
    const bodyToken = decoded.encoding !== "json" && typeof decoded.args.token === "string" ? decoded.args.token : undefined;
    const token = bearer ?? bodyToken;
    if (token === undefined || token === "") {
      violation(`${method}: not_authed (no Authorization: Bearer header${decoded.encoding === "json" ? "; JSON bodies cannot carry the token" : ""})`);
      return fail("not_authed");
    }
    const appLevel = method === "apps.connections.open";
    if (opts.appToken !== undefined && (token === opts.appToken) !== appLevel && (token === opts.appToken || token === opts.botToken)) {
      violation(`${method}: not_allowed_token_type (${appLevel ? "needs the app-level token" : "the app-level token only opens Socket Mode connections"})`);
      return fail("not_allowed_token_type");
    }
    if (token !== (appLevel ? opts.appToken : opts.botToken)) {
      violation(`${method}: invalid_auth (a token other than the bot token)`);
      return fail("invalid_auth");
    }
    if (!webApiMethodExists(probe, method)) {
      violation(`${method}: unknown_method (not a method of @slack/web-api's WebClient)`);
      return fail("unknown_method");
    }
    const limit = rateLimits.get(method);
    if (limit && limit.remaining > 0) {
      limit.remaining -= 1;
      double.rateLimited[method] = (double.rateLimited[method] ?? 0) + 1;
      return { status: 429, body: { ok: false, error: "ratelimited" }, headers: { "retry-after": String(limit.retryAfter) } };
    }
    const handler = handlers[method];
    if (!handler) {
      violation(`${method}: not_implemented_in_double`);
      return fail("not_implemented_in_double");
    }
    const reply = handler(decoded.args);
    if (decoded.encoding === "json" && !/charset=/i.test(req.headers["content-type"] ?? "")) {
      reply.body.warning = "missing_charset";
      reply.body.response_metadata = { ...(reply.body.response_metadata as object | undefined), warnings: ["missing_charset"] };
    }
    return reply;
  }

  /** A POST to a response URL: returns HTTP status and Slack's one-word answer. */
  function respond(id: string, req: http.IncomingMessage, raw: string): { status: number; answer: string; body: unknown } {
    const state = responseUrls.get(id);
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
    const refuse = (status: number, answer: string, why?: string) => {
      if (why) violation(`response_url ${id}: ${why}`);
      return { status, answer, body };
    };
    if (!state) return refuse(404, "no_service", "not a response URL the double issued");
    if (now() - state.createdAt > responseUrlLifetimeMs) return refuse(404, "expired_url", "used after 30 minutes");
    if (state.uses >= responseUrlMaxUses) return refuse(404, "used_url", `used more than ${responseUrlMaxUses} times`);
    if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json") || !isObject(body)) {
      return refuse(400, "invalid_payload", "the body is not a JSON object sent as application/json");
    }
    const unknown = Object.keys(body).filter((k) => !respondKeys.has(k));
    if (unknown.length > 0) violation(`response_url ${id}: unknown fields ${unknown.join(", ")} (Slack ignores them)`);
    const responseType = body.response_type ?? "ephemeral";
    if (responseType !== "ephemeral" && responseType !== "in_channel") return refuse(400, "invalid_response_type", `response_type ${String(responseType)}`);
    const deleting = truthy(body.delete_original);
    if (!deleting) {
      if ([body.text, body.blocks, body.attachments].every((v) => v === undefined || v === "")) return refuse(400, "no_text", "no text, blocks or attachments");
      if (typeof body.text === "string" && body.text.length > messageTextLimit) return refuse(400, "msg_too_long", `text of ${body.text.length} characters`);
      if (body.blocks !== undefined) {
        const problems = Array.isArray(body.blocks) ? blockKitProblems(body.blocks, "message") : ["must be an array [json-pointer:/blocks]"];
        if (problems.length > 0) return refuse(400, "invalid_blocks", `invalid_blocks\n  ${problems.join("\n  ")}`);
      }
    }
    state.uses += 1;
    const content: SlackResponseMessage = {
      response_type: responseType,
      ...(body.text !== undefined ? { text: String(body.text) } : {}),
      ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
    };
    const original = state.original;
    if (deleting) {
      if (original?.kind === "channel") {
        const list = channelMessages.get(original.channel) ?? [];
        const index = list.findIndex((m) => m.ts === original.ts);
        if (index >= 0) list.splice(index, 1);
      }
      state.deleted = true;
    } else if (truthy(body.replace_original) && original && !state.deleted) {
      if (original.kind === "channel") {
        const message = findMessage(original.channel, original.ts);
        if (message) {
          if (content.text !== undefined) message.text = content.text;
          if (content.blocks) message.blocks = content.blocks;
          else delete message.blocks;
          message.edited = { user: botUserId, ts: nextTs() };
        }
      } else {
        state.original = { kind: "ephemeral", message: { ...content, response_type: "ephemeral" } };
      }
    } else if (responseType === "in_channel" && state.channel) {
      const ts = nextTs();
      const threadTs = typeof body.thread_ts === "string" ? body.thread_ts : undefined;
      messagesIn(state.channel).push({
        type: "message", channel: state.channel, ts, text: content.text ?? "", ...(content.blocks ? { blocks: content.blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}), ...botMessageFields(),
      });
      if (!original || state.deleted) {
        state.original = { kind: "channel", channel: state.channel, ts };
        state.deleted = false;
      } else state.posted.push({ ...content, channel: state.channel, ts });
    } else if (!original || state.deleted) {
      state.original = { kind: "ephemeral", message: { ...content, response_type: "ephemeral" } };
      state.deleted = false;
    } else {
      state.posted.push({ ...content, response_type: "ephemeral" });
    }
    return { status: 200, answer: "ok", body };
  }

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    void readBody(req).then((raw) => {
      const parsed = new URL(req.url ?? "/", baseUrl);
      const api = /^\/api\/([^/]+)$/.exec(parsed.pathname);
      const response = /^\/response\/([^/]+)$/.exec(parsed.pathname);
      if (api) {
        const method = decodeURIComponent(api[1]!);
        const record: SlackApiCall = { method, args: {}, at: now(), encoding: "form", ok: false, status: 0 };
        const reply = dispatch(method, req, raw, parsed.searchParams, record);
        record.ok = reply.body.ok === true;
        record.status = reply.status;
        if (!record.ok) record.error = String(reply.body.error);
        double.calls.push(record);
        res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...reply.headers });
        res.end(JSON.stringify(reply.body));
      } else if (response && (req.method ?? "").toUpperCase() === "POST") {
        const id = response[1]!;
        const result = respond(id, req, raw);
        double.responses.push({ id, body: result.body, at: now(), status: result.status, answer: result.answer });
        res.writeHead(result.status, { "content-type": "text/html" });
        res.end(result.answer);
      } else {
        violation(`${req.method ?? "?"} ${parsed.pathname}: not a Slack endpoint`);
        res.writeHead(404, { "content-type": "text/html" });
        res.end("not_found");
      }
    }, () => res.destroy());
  });
  return double;
}

/* ------------------------------------------------------------------------------------------------
 * Type-checking recorded calls against @slack/web-api's argument types.
 * One virtual source file declares each call's args as `Parameters<WebClient["chat"]["postMessage"]>[0]`
 * (with the transport fields `token` and `team_id` allowed); one program checks it. Urlencoded
 * calls lose their primitive types on the wire ("true", "42"), so such values are emitted as
 * `__wire("true")` (typed any) and checked against the property's contextual type afterwards.
 * ---------------------------------------------------------------------------------------------- */

const virtualFile = path.join(repoRoot, "test/support/__slack-double-calls__.ts");
const compilerOptions: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ["node"],
  lib: ["lib.es2024.d.ts"],
};
/** Parsed declaration files, shared by the programs of this process (node_modules does not change under a test run). */
const sourceFileCache = new Map<string, ts.SourceFile>();

const looksWired = (value: string) => value === "true" || value === "false" || /^-?\d+(\.\d+)?$/.test(value);

const propertyKey = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key));

/** A TypeScript literal for a decoded value (identifier keys unquoted, so diagnostics name them plainly). */
function literal(value: unknown, wireStrings: boolean): string {
  if (typeof value === "string" && wireStrings && looksWired(value)) return `__wire(${JSON.stringify(value)})`;
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, false)).join(", ")}]`;
  if (isObject(value)) return `{ ${Object.entries(value).map(([k, v]) => `${propertyKey(k)}: ${literal(v, false)}`).join(", ")} }`;
  return JSON.stringify(value) ?? "undefined";
}

/** Does a contextual type accept the urlencoded `raw` value (a string, or the boolean/number it spells)? */
function acceptsWire(checker: ts.TypeChecker, type: ts.Type, raw: string): boolean {
  const parts = type.isUnion() ? type.types : [type];
  return parts.some((t) => {
    if (t.isIntersection()) return t.types.some((p) => acceptsWire(checker, p, raw));
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.String | ts.TypeFlags.TemplateLiteral)) return true;
    if (t.isStringLiteral()) return t.value === raw;
    if (t.flags & ts.TypeFlags.BooleanLiteral) return checker.typeToString(t) === raw;
    if (t.flags & ts.TypeFlags.Boolean) return raw === "true" || raw === "false";
    if (t.flags & ts.TypeFlags.Number) return /^-?\d+(\.\d+)?$/.test(raw);
    if (t.isNumberLiteral()) return t.value === Number(raw);
    return false;
  });
}

async function assertCallsMatchWebApi(double: SlackDouble): Promise<void> {
  const failures: string[] = double.violations.map((v) => `violation: ${v}`);
  const probe = new WebClient();
  const checked = double.calls.map((call, index) => ({ call, index })).filter(({ call }) => webApiMethodExists(probe, call.method));
  if (checked.length > 0) {
    const lines = [
      `import type { WebClient } from "@slack/web-api";`,
      `type Transport<T> = T extends object ? T & { token?: string; team_id?: string } : T;`,
      `declare function __wire(raw: string): any;`,
    ];
    const header = lines.length;
    for (const { call, index } of checked) {
      const access = call.method.split(".").map((p) => `[${JSON.stringify(p)}]`).join("");
      const wire = call.encoding !== "json";
      const props = Object.entries(call.args).map(([k, v]) => `${propertyKey(k)}: ${literal(v, wire)}`).join(", ");
      lines.push(`const call${index}: Transport<Parameters<WebClient${access}>[0]> = { ${props} };`);
    }
    const source = lines.join("\n");
    const host = ts.createCompilerHost(compilerOptions, true);
    const baseGetSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
      if (fileName === virtualFile) return ts.createSourceFile(fileName, source, languageVersion, true);
      const key = `${fileName}\0${JSON.stringify(languageVersion)}`;
      let file = sourceFileCache.get(key);
      if (!file) {
        file = baseGetSourceFile(fileName, languageVersion, onError, shouldCreate);
        if (file && fileName.includes("node_modules")) sourceFileCache.set(key, file);
      }
      return file;
    };
    const baseFileExists = host.fileExists.bind(host);
    host.fileExists = (fileName) => fileName === virtualFile || baseFileExists(fileName);
    const baseReadFile = host.readFile.bind(host);
    host.readFile = (fileName) => (fileName === virtualFile ? source : baseReadFile(fileName));
    const program = ts.createProgram({ rootNames: [virtualFile], options: compilerOptions, host });
    const file = program.getSourceFile(virtualFile)!;
    const checker = program.getTypeChecker();
    const callAtLine = (line: number) => checked[line - header];
    const label = (line: number) => {
      const entry = callAtLine(line);
      return entry ? `calls[${entry.index}] ${entry.call.method}` : `line ${line}`;
    };
    for (const d of [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]) {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n    ");
      const span = d.file && d.start !== undefined && d.length ? d.file.text.slice(d.start, d.start + Math.min(d.length, 80)) : "";
      const where = span && !span.startsWith("call") ? ` (at \`${span}\`)` : "";
      failures.push(`${label(line)}${where}: ${message.length > 2000 ? `${message.slice(0, 2000)}…` : message}`);
    }
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "__wire") {
        const raw = (node.arguments[0] as ts.StringLiteral).text;
        const contextual = checker.getContextualType(node);
        if (contextual && !acceptsWire(checker, contextual, raw)) {
          const property = ts.isPropertyAssignment(node.parent) && (ts.isIdentifier(node.parent.name) || ts.isStringLiteral(node.parent.name)) ? node.parent.name.text : "?";
          const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
          failures.push(`${label(line)}: ${property} = "${raw}" (urlencoded) does not fit type ${checker.typeToString(contextual)}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  if (failures.length > 0) {
    throw new Error(`Slack double: ${failures.length} problem(s) with the app's Slack calls:\n- ${failures.join("\n- ")}`);
  }
}
