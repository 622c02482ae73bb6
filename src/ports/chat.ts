/**
 * A chat workspace's channels (Slack's Web API): post a message or a thread reply, update a
 * message in place. Messages are Block Kit (domain/slack-card.ts) with a plain-text fallback.
 */
import type { SlackMessage } from "../domain/slack-card.ts";

export interface ChatChannel {
  /** Posts to `channel`, in the thread of `threadTs` when given; the posted message's ts. */
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<{ ts: string }>;
  update(channel: string, ts: string, message: SlackMessage): Promise<void>;
}

/**
 * `rate_limited`: wait `retryAfterMs` (Slack's Retry-After); `transient`: the network or Slack
 * failed, try later; `refused`: Slack said no for good (not in the channel, channel gone, token
 * revoked) and retrying cannot help until someone fixes it.
 */
export class ChatError extends Error {
  override readonly name = "ChatError";
  readonly code: "rate_limited" | "transient" | "refused";
  readonly retryAfterMs: number | undefined;
  constructor(code: "rate_limited" | "transient" | "refused", message: string, retryAfterMs?: number) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}
