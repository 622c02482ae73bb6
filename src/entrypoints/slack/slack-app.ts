/**
 * Slack on Octostage's own HTTP server (or over Socket Mode): Bolt verifies every request
 * (signing secret, 5-minute window) and routes the `/octo` command, the buttons and the create
 * form to the Slack use cases (app/slack/slack-commands.ts). Each handler acks at once (Slack
 * wants an answer within 3 s), then answers through the response URL; an answer about a change
 * follows the staging and replaces itself as its status moves, until it settles.
 * Setup: docs/operators/slack.md; commands: docs/users/slack.md.
 */
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from "@slack/bolt";
import type { Logger as BoltLogger, RespondFn } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { creatableRepos, keysForForm, runNamedCommand, runSlackCommand, slackGroupsInUse } from "../../app/slack/slack-commands.ts";
import type { SlackAnswer, SlackPerson } from "../../app/slack/slack-commands.ts";
import type { CoreDeps } from "../../app/stagings/service.ts";
import { errorSummary } from "../../app/change-staging.ts";
import { parseOverrideList } from "../../domain/named-command-grammar.ts";
import type { NamedCommand } from "../../domain/named-command-grammar.ts";
import { namedStagingNameProblem } from "../../domain/origin.ts";
import type { StagingStatus } from "../../domain/state-machine.ts";
import type { Logger } from "../../ports/logger.ts";
import { StoreUnavailableError } from "../../ports/store.ts";
import type { Middleware } from "../http-server.ts";
import { actionIds, createCallbackId, createFields, createModal, renderAnswer } from "./blocks.ts";
import type { SlackMessage } from "./blocks.ts";

export interface SlackSurfaceOptions {
  deps: CoreDeps;
  logger: Logger;
  botToken: string;
  /** HTTP mode: requests to `path` are verified with it. */
  signingSecret?: string;
  /** Socket Mode (no public URL): an app-level token with connections:write. */
  appToken?: string;
  /** The Web API's base URL (ends in /api/); Slack's by default. */
  apiUrl?: string;
  path: string;
  /** How often a followed answer looks at its staging (default 2 s), and for how long (default 15 min). */
  followPollMs?: number;
  followForMs?: number;
  /** How long user group members are cached (default 60 s). */
  groupCacheMs?: number;
}

export interface SlackSurface {
  /** The HTTP handler for `path` (HTTP mode); undefined in Socket Mode. */
  middleware: Middleware | undefined;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Statuses a change ends in: a followed answer stops there. */
const settled: ReadonlySet<StagingStatus> = new Set(["running", "degraded", "failed", "archived", "cleanup_failed", "deleted"]);
/** Slack lets a response URL be used five times. */
const responseUrlUses = 5;

/** Bolt's logger on Octostage's (pino) logger: one line per message, no secrets in it (Bolt logs none). */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : typeof m === "string" ? m : JSON.stringify(m))).join(" ");
  return {
    debug: (...m: unknown[]) => log.debug({ surface: "slack" }, text(m)),
    info: (...m: unknown[]) => log.info({ surface: "slack" }, text(m)),
    warn: (...m: unknown[]) => log.warn({ surface: "slack" }, text(m)),
    error: (...m: unknown[]) => log.error({ surface: "slack" }, text(m)),
    setLevel: (l: LogLevel) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** What people read when something broke on Octostage's side (the details go to the log only). */
function failureText(err: unknown): string {
  if (err instanceof StoreUnavailableError) return "Octostage's database is unreachable right now; nothing was changed. Try again in a minute.";
  return "Octostage could not finish that (the error is in its log); nothing more was changed. Try again, or ask whoever runs Octostage.";
}

const failure = (err: unknown): SlackMessage => ({ text: failureText(err), blocks: [{ type: "section", text: { type: "mrkdwn", text: `:warning: ${failureText(err)}` } }] });

/** The channel the form was opened from (its private metadata), where roles given to channels apply. */
function formChannel(privateMetadata: string | undefined): string | undefined {
  try {
    const meta = JSON.parse(privateMetadata || "{}") as { channel?: unknown };
    return typeof meta.channel === "string" && /^[CGD][A-Z0-9]+$/.test(meta.channel) ? meta.channel : undefined;
  } catch {
    return undefined;
  }
}

export function createSlackSurface(opts: SlackSurfaceOptions): SlackSurface {
  const log = opts.logger.child({ surface: "slack" });
  const { deps } = opts;
  const clientOptions = opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {};
  const receiver = opts.appToken ? undefined : new HTTPReceiver({ signingSecret: opts.signingSecret ?? "", endpoints: [opts.path], logger: boltLogger(log) });
  // Socket Mode's own client (apps.connections.open) takes its Web API options from installerOptions.
  const socket = opts.appToken ? new SocketModeReceiver({ appToken: opts.appToken, logger: boltLogger(log), installerOptions: { clientOptions } }) : undefined;
  const app = new App({
    token: opts.botToken,
    logger: boltLogger(log),
    // Bolt waits Slack's Retry-After on 429 and retries (WebClient's default).
    clientOptions,
    receiver: receiver ?? socket,
  });
  const followPollMs = opts.followPollMs ?? 2_000;
  const followForMs = opts.followForMs ?? 15 * 60_000;
  const groupCacheMs = opts.groupCacheMs ?? 60_000;
  let stopped = false;
  const following = new Set<Promise<void>>();

  const groupCache = new Map<string, { at: number; members: Set<string> }>();
  async function groupsOf(client: WebClient, userId: string): Promise<string[]> {
    const groups: string[] = [];
    for (const id of slackGroupsInUse(deps)) {
      let cached = groupCache.get(id);
      if (!cached || Date.now() - cached.at > groupCacheMs) {
        try {
          const r = await client.usergroups.users.list({ usergroup: id });
          cached = { at: Date.now(), members: new Set(r.users ?? []) };
          groupCache.set(id, cached);
        } catch (err) {
          log.warn({ usergroup: id, err: errorSummary(err) }, "could not read a user group's members: its members get no role from it for now");
          continue;
        }
      }
      if (cached.members.has(userId)) groups.push(id);
    }
    return groups;
  }

  async function person(client: WebClient, user: { id: string; name?: string; username?: string }, channelId: string | undefined): Promise<SlackPerson> {
    return { userId: user.id, userName: (user.username ?? user.name ?? user.id).slice(0, 80), groups: await groupsOf(client, user.id), ...(channelId ? { channelId } : {}) };
  }

  /**
   * Replaces the answer as the staging's status moves (at most the response URL's uses left),
   * until it settles after the change, or `followForMs` passes.
   */
  function follow(answer: SlackAnswer, replace: (m: SlackMessage) => Promise<unknown>, usesLeft: number): void {
    if (answer.kind !== "staging" || !answer.did || answer.did === "unchanged") return;
    const first = answer.line.staging;
    const run = (async () => {
      let version = first.statusVersion;
      let left = usesLeft;
      const deadline = Date.now() + followForMs;
      while (!stopped && left > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, followPollMs));
        if (stopped) return;
        const now = await deps.store.get(first.id).catch(() => undefined);
        if (now === undefined) continue;
        if (now === null) return;
        if (now.statusVersion === version) continue;
        version = now.statusVersion;
        const line = { ...answer.line, staging: now };
        await replace(renderAnswer({ ...answer, line }));
        left--;
        if (settled.has(now.status)) return;
      }
    })().catch((err: unknown) => log.warn({ staging: first.name, err: errorSummary(err) }, "stopped following a staging in Slack"));
    following.add(run);
    void run.finally(() => following.delete(run));
  }

  async function answerWith(respond: RespondFn, answer: SlackAnswer, replaceOriginal: boolean): Promise<void> {
    if (answer.kind === "create-form") return;
    const message = renderAnswer(answer);
    // A change is shown to the channel (who did what); everything else only to the person asking.
    const shared = answer.kind === "staging" && answer.did !== undefined && answer.did !== "unchanged";
    await respond({ ...message, response_type: shared ? "in_channel" : "ephemeral", replace_original: replaceOriginal && answer.kind === "staging" });
    follow(answer, (m) => respond({ ...m, replace_original: true }), responseUrlUses - 1);
  }

  app.command("/octo", async ({ command, ack, respond, client }) => {
    await ack();
    try {
      const who = await person(client, { id: command.user_id, name: command.user_name }, command.channel_id);
      const answer = await runSlackCommand(deps, who, command.text);
      log.info({ user: who.userId, command: command.text.split(/\s+/)[0] ?? "", kind: answer.kind }, "slack command");
      if (answer.kind === "create-form") {
        const repos = creatableRepos(deps, who);
        if (repos.length === 0) {
          await respond({ response_type: "ephemeral", text: "You may not create stagings in any repository from Slack: that needs the operate role (project config `slack.roles`)." });
          return;
        }
        await client.views.open({ trigger_id: command.trigger_id, view: createModal({ repos, privateMetadata: JSON.stringify({ channel: command.channel_id }) }) as never });
        return;
      }
      await answerWith(respond, answer, false);
    } catch (err) {
      log.error({ err: errorSummary(err) }, "slack command failed");
      await respond({ ...failure(err), response_type: "ephemeral" }).catch(() => undefined);
    }
  });

  const buttons: [string, (staging: string) => NamedCommand][] = [
    [actionIds.redeploy, (staging) => ({ name: "redeploy", staging })],
    [actionIds.keep, (staging) => ({ name: "keep", staging, arg: "7d" })],
    [actionIds.archive, (staging) => ({ name: "archive", staging })],
    [actionIds.restore, (staging) => ({ name: "restore", staging })],
  ];
  for (const [actionId, command] of buttons) {
    app.action({ type: "block_actions", action_id: actionId }, async ({ ack, body, action, respond, client }) => {
      await ack();
      try {
        const staging = "value" in action && typeof action.value === "string" ? action.value.slice(0, 100) : "";
        const who = await person(client, body.user, body.channel?.id);
        const answer = await runNamedCommand(deps, who, command(staging));
        log.info({ user: who.userId, action: actionId, staging, kind: answer.kind }, "slack button");
        if (answer.kind === "error") {
          // The card stays as it was; only the person who clicked sees why nothing happened.
          await respond({ ...renderAnswer(answer), response_type: "ephemeral", replace_original: false });
          return;
        }
        await answerWith(respond, answer, true);
      } catch (err) {
        log.error({ err: errorSummary(err) }, "slack button failed");
        await respond({ ...failure(err), response_type: "ephemeral", replace_original: false }).catch(() => undefined);
      }
    });
  }
  // The Open button is a link; Slack still tells the app it was clicked.
  app.action({ type: "block_actions", action_id: actionIds.open }, async ({ ack }) => ack());

  // Choosing the form's repository shows its chart's keys.
  app.action({ type: "block_actions", action_id: actionIds.createRepo }, async ({ ack, body, action, client }) => {
    await ack();
    const view = body.view;
    if (!view || action.type !== "static_select") return;
    try {
      const who = await person(client, body.user, formChannel(view.private_metadata));
      const repo = action.selected_option.value;
      const keys = await keysForForm(deps, who, repo);
      await client.views.update({
        view_id: view.id,
        hash: view.hash,
        view: createModal({ repos: creatableRepos(deps, who), repo, privateMetadata: view.private_metadata, ...(keys.ok ? { keys: keys.value } : { keysError: keys.message }) }) as never,
      });
    } catch (err) {
      log.warn({ err: errorSummary(err) }, "could not show the chart's keys in the create form");
    }
  });

  app.view(createCallbackId, async ({ ack, body, view, client }) => {
    const values = view.state.values;
    const text = (field: string) => (values[field]?.[field]?.value ?? "").trim();
    const name = text(createFields.name);
    const repo = values[createFields.repo]?.[actionIds.createRepo]?.selected_option?.value ?? "";
    const ref = text(createFields.ref);
    const tag = text(createFields.tag);
    const errors: Record<string, string> = {};
    const nameProblem = namedStagingNameProblem(name);
    if (nameProblem) errors[createFields.name] = nameProblem;
    if (!repo) errors[createFields.repo] = "Choose a repository";
    if (ref && tag) errors[createFields.tag] = "Give a branch, tag or commit, or an image tag: not both";
    if (!ref && !tag) errors[createFields.ref] = "Give a branch, tag or commit (or an image tag below)";
    const overrides = parseOverrideList(text(createFields.overrides));
    if ("error" in overrides) errors[createFields.overrides] = overrides.error;
    if (Object.keys(errors).length || "error" in overrides) {
      await ack({ response_action: "errors", errors: Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, v.slice(0, 150)])) });
      return;
    }
    // No channel: answer in the person's messages with the app.
    const channel = formChannel(view.private_metadata) ?? body.user.id;
    try {
      const who = await person(client, body.user, channel);
      const answer = await runNamedCommand(deps, who, { name: "create", staging: name, repo, ...(ref ? { ref } : {}), ...(tag ? { tag } : {}), changes: overrides.changes });
      if (answer.kind === "error") {
        const field = /already exists|name/i.test(answer.message) ? createFields.name : /override|key|value|schema/i.test(answer.message) ? createFields.overrides : /tag/i.test(answer.message) && !ref ? createFields.tag : /ref|branch|commit/i.test(answer.message) ? createFields.ref : createFields.repo;
        await ack({ response_action: "errors", errors: { [field]: answer.message.slice(0, 150) } });
        return;
      }
      await ack();
      const message = renderAnswer(answer as Exclude<SlackAnswer, { kind: "create-form" }>);
      let posted = await client.chat.postMessage({ channel, ...message }).catch(() => undefined);
      // The app may not be in that channel: the person's messages with the app then.
      if (!posted?.ts && channel !== who.userId) posted = await client.chat.postMessage({ channel: who.userId, ...message });
      const ts = posted?.ts;
      const at = posted?.channel;
      if (ts && at) follow(answer, (m) => client.chat.update({ channel: at, ts, ...m }), Number.POSITIVE_INFINITY);
    } catch (err) {
      log.error({ err: errorSummary(err) }, "slack create form failed");
      await ack({ response_action: "errors", errors: { [createFields.name]: failureText(err).slice(0, 150) } }).catch(() => undefined);
    }
  });

  app.error((err) => {
    log.error({ err: errorSummary(err) }, "slack handler error");
    return Promise.resolve();
  });

  const listener = receiver ? receiver.requestListener : undefined;
  return {
    middleware: listener
      ? (req, res, next) => {
          const path = new URL(req.url ?? "/", "http://localhost").pathname;
          if (path !== opts.path) return next();
          return listener(req, res);
        }
      : undefined,
    async start() {
      // Bolt's App starts its receiver in start(); the HTTP receiver is served by Octostage's own server instead.
      if (!receiver) await app.start();
    },
    async close() {
      stopped = true;
      if (!receiver) await app.stop();
      await Promise.allSettled([...following]);
    },
  };
}
