/**
 * The Slack channel of a repository's stagings (project config `slack.channel`): one thread per
 * staging. Its first message is the staging's card (domain/slack-card.ts), updated in place;
 * each new status worth telling (running, failed with its reason, archived, cleaned up...) is a
 * reply in the thread, and a lifecycle warning (archive or cleanup coming) a reply with a Keep
 * button. Like the GitHub and Jira reports: under the staging's report lease, only what changed
 * is written (a fingerprint of the card, the last status and notice told), Slack's Retry-After
 * pauses the channel (`notBefore`), and a refusal for good (not in the channel, channel gone)
 * stops retries until the status moves again. Report jobs are coalesced per staging, so a burst
 * of changes is one update.
 */
import { z } from "zod";
import { summarizeLifecycle } from "../../domain/lifecycle-summary.ts";
import { cardText, context, esc, keepButton, section, stagingBlocks, statusText } from "../../domain/slack-card.ts";
import type { SlackMessage, StagingLine } from "../../domain/slack-card.ts";
import type { StagingStatus } from "../../domain/state-machine.ts";
import { ChatError } from "../../ports/chat.ts";
import type { ChatChannel } from "../../ports/chat.ts";
import { LeaseLostError } from "../../ports/store.ts";
import type { Lease, StagingRecord } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import { errorSummary } from "../change-staging.ts";
import { fingerprint } from "../report-status.ts";

type Deps = Pick<AppDeps, "store" | "logger" | "workerId" | "clock" | "queue" | "timing" | "project"> & { chat?: ChatChannel };

const slackState = z.object({
  channel: z.string().optional(),
  ts: z.string().optional(),
  card: z.string().optional(),
  status: z.string().optional(),
  notice: z.string().optional(),
});
type SlackState = z.infer<typeof slackState>;

/** Statuses told in the thread; the others (pending, deploying, archiving...) only move the card. */
const told: Partial<Record<StagingStatus, string>> = {
  running: "is running",
  degraded: "is degraded",
  failed: "failed",
  archived: "was archived",
  cleanup_failed: "could not be cleaned up",
  deleted: "was cleaned up",
};

function card(line: StagingLine): SlackMessage {
  return { text: cardText(line.staging), blocks: stagingBlocks(line, { buttons: true }) };
}

function statusReply(s: StagingRecord): SlackMessage {
  const verb = told[s.status] ?? s.status;
  return { text: `${s.name} ${verb}${s.reason ? `: ${s.reason.slice(0, 200)}` : ""}`, blocks: [section(`*${esc(s.name, 63)}* ${verb}  ${statusText(s)}`)] };
}

/** The warning people were given (the lifecycle sweep's notice): what happens when, with a Keep button. */
function noticeReply(s: StagingRecord): SlackMessage | undefined {
  if (!s.notice) return undefined;
  const day = s.notice.at.toISOString().slice(0, 10);
  const what = s.notice.policy === "idle" ? "archived (idle)" : "cleaned up (archived too long)";
  return {
    text: `${s.name} will be ${what} on ${day}`,
    blocks: [
      section(`:alarm_clock: *${esc(s.name, 63)}* will be ${what} on ${day}.`),
      context(`The ${s.notice.policy} policy of ${esc(`${s.repoOwner}/${s.repoName}`)}: keep it to skip this.`),
      { type: "actions", block_id: `notice:${s.name}`.slice(0, 255), elements: [keepButton(s.name, { style: "primary" })] },
    ],
  };
}

export async function reportSlack(deps: Deps, stagingId: string): Promise<"none" | "busy" | "done" | "deferred" | "failed" | "stopped"> {
  const s = await deps.store.get(stagingId);
  if (!s) return "none";
  const channelId = deps.project.forRepo(`${s.repoOwner}/${s.repoName}`)?.slack?.channel;
  const row = await deps.store.getChannel(stagingId, "slack");
  // No channel for the repository (or no Slack): nothing to tell, unless a row waits to be closed.
  if ((!channelId || !deps.chat) && (!row || row.reportedVersion >= s.statusVersion)) return "none";
  if (row && row.reportedVersion >= s.statusVersion) return "none";
  if (row?.error && row.error.version !== null && row.error.version >= s.statusVersion) return "none";
  if (row?.notBefore && row.notBefore > deps.clock.now()) return "deferred";
  const lease = await deps.store.acquireLease(stagingId, "report", deps.workerId, deps.timing.reportLeaseMs);
  if (!lease) return "busy";
  try {
    const current = (await deps.store.get(stagingId)) ?? s;
    if (!channelId || !deps.chat) {
      await deps.store.updateChannel(lease, "slack", { reportedVersion: current.statusVersion, reportedAt: deps.clock.now(), error: null, notBefore: null });
      return "done";
    }
    const state: SlackState = slackState.safeParse(row?.state).data ?? {};
    await tell(deps, deps.chat, lease, channelId, current, state);
    await deps.store.updateChannel(lease, "slack", { reportedVersion: current.statusVersion, reportedAt: deps.clock.now(), state, error: null, notBefore: null });
    return "done";
  } catch (err) {
    if (err instanceof LeaseLostError) return "stopped";
    if (!(err instanceof ChatError)) throw err;
    const log = { staging: s.name, code: err.code, error: err.message };
    if (err.code === "refused") {
      deps.logger.warn(log, "Slack refused a notification for good: not retried until the status changes (invite the app to the channel, or check slack.channel)");
      await deps.store.updateChannel(lease, "slack", { error: { code: err.code, message: err.message.slice(0, 300), version: s.statusVersion } });
      return "failed";
    }
    const waitMs = err.retryAfterMs ?? 30_000;
    deps.logger.warn({ ...log, waitMs }, "Slack is rate limiting or unavailable: the notification waits");
    await deps.store.updateChannel(lease, "slack", { notBefore: new Date(deps.clock.now().getTime() + waitMs) });
    await deps.queue.enqueueReport(s.id, s.statusVersion, waitMs).catch((e: unknown) => deps.logger.warn({ err: errorSummary(e) }, "enqueue failed; the reconciler will retry"));
    return "deferred";
  } finally {
    await deps.store.releaseLease(lease).catch(() => undefined);
  }
}

/**
 * Brings the thread up to date; `state` is saved as soon as Slack took each post, so a failure
 * half-way (a 429, Slack down, the worker killed) never posts the same thing twice.
 */
async function tell(deps: Deps, chat: ChatChannel, lease: Lease, channel: string, s: StagingRecord, state: SlackState): Promise<void> {
  const creator = s.origin === "pull_request" ? undefined : (await deps.store.creators([s.id])).get(s.id);
  const line: StagingLine = {
    staging: s,
    life: summarizeLifecycle(deps.project.forRepo(`${s.repoOwner}/${s.repoName}`)?.lifecycle, deps.project.cost, s, deps.clock.now()),
    ...(creator ? { createdBy: creator.actorName ?? `${creator.source}:${creator.actor}` } : {}),
  };
  const message = card(line);
  const cardHash = fingerprint(message);
  if (!state.ts || state.channel !== channel) {
    const posted = await chat.post(channel, message);
    // A new thread has told nothing yet: saved at once, so a failure after this posts no second card.
    Object.assign(state, { channel, ts: posted.ts, card: cardHash });
    delete state.status;
    delete state.notice;
    await deps.store.updateChannel(lease, "slack", { state });
  } else if (state.card !== cardHash) {
    await chat.update(channel, state.ts, message);
    state.card = cardHash;
  }
  // A staging first seen already settled (Slack turned on later) tells its status once too.
  if (state.status !== s.status) {
    if (told[s.status]) await chat.post(channel, statusReply(s), state.ts);
    state.status = s.status;
    // Saved before the next post: a failure after this reply never repeats it.
    await deps.store.updateChannel(lease, "slack", { state });
  }
  const notice = noticeReply(s);
  const noticeKey = s.notice ? `${s.notice.policy}@${s.notice.at.toISOString()}` : undefined;
  if (notice && noticeKey && state.notice !== noticeKey) {
    await chat.post(channel, notice, state.ts);
    state.notice = noticeKey;
  }
}
