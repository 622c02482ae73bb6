/**
 * Slack's Web API as a ChatChannel (the worker's notifications). Rate-limited calls are not
 * waited for inside the client (`rejectRateLimitedCalls`): the 429's Retry-After becomes the
 * channel's `notBefore`, so a worker is not held up and no other staging's report waits behind
 * it. Network failures and Slack's 5xx are retried twice by the client, then reported transient.
 */
import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";
import type { ChatPostMessageArguments } from "@slack/web-api";
import { ChatError } from "../../ports/chat.ts";
import type { ChatChannel } from "../../ports/chat.ts";

export interface SlackChatOptions {
  botToken: string;
  /** The Web API's base URL (ends in /api/); Slack's by default. */
  apiUrl?: string;
}

/** Slack's answers that retrying cannot fix (the rest is treated as transient). */
const transientPlatformErrors = new Set(["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"]);

function chatError(err: unknown): ChatError {
  const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number };
  if (e.code === ErrorCode.RateLimitedError) return new ChatError("rate_limited", "Slack rate limit", (e.retryAfter ?? 30) * 1000);
  if (e.code === ErrorCode.PlatformError) {
    const code = e.data?.error ?? "unknown_error";
    return new ChatError(transientPlatformErrors.has(code) ? "transient" : "refused", `Slack: ${code}`);
  }
  if (e.code === ErrorCode.HTTPError) return new ChatError("transient", `Slack answered HTTP ${e.statusCode ?? "?"}`);
  return new ChatError("transient", `Slack unreachable: ${(err as Error).message}`);
}

export function createSlackChat(opts: SlackChatOptions): ChatChannel {
  const client = new WebClient(opts.botToken, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
    logLevel: LogLevel.ERROR,
  });
  return {
    async post(channel, message, threadTs) {
      const args: ChatPostMessageArguments = { channel, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false, ...(threadTs ? { thread_ts: threadTs } : {}) };
      try {
        const r = await client.chat.postMessage(args);
        if (!r.ts) throw new ChatError("transient", "Slack answered without the message's ts");
        return { ts: r.ts };
      } catch (err) {
        throw err instanceof ChatError ? err : chatError(err);
      }
    },
    async update(channel, ts, message) {
      try {
        await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never });
      } catch (err) {
        throw chatError(err);
      }
    },
  };
}
