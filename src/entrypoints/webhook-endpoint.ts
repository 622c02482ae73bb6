import type { IncomingMessage } from "node:http";
import { verify } from "@octokit/webhooks-methods";
import type { Logger } from "../ports/logger.ts";
import type { Middleware } from "./http-server.ts";

/** The part of Probot that dispatches a verified event to the app's handlers. */
export interface WebhookReceiver {
  receive(event: { id: string; name: string; payload: unknown }): Promise<void>;
}

export interface WebhookEndpointOptions {
  path: string;
  secret: string;
  receiver: WebhookReceiver;
  logger: Logger;
  /** GitHub caps payloads at 25 MB. */
  maxBytes?: number;
}

class BodyTooLarge extends Error {
  readonly code = "body_too_large";
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLarge(`payload over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * POST {path}: GitHub webhooks. The signature (X-Hub-Signature-256, HMAC SHA-256 of the raw
 * body) is verified before anything is parsed: missing or wrong → 401 and nothing happens.
 * Then Probot's handlers run (they record intent and enqueue; they never wait for helm).
 */
export function webhookEndpoint(opts: WebhookEndpointOptions): Middleware {
  const maxBytes = opts.maxBytes ?? 25 * 1024 * 1024;
  return async (req, res, next) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== opts.path) return next();
    const reply = (status: number, body: Record<string, unknown>) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method !== "POST") return reply(405, { error: "use POST" });
    const id = header(req, "x-github-delivery");
    const name = header(req, "x-github-event");
    const signature = header(req, "x-hub-signature-256");
    const log = opts.logger.child({ deliveryId: id, event: name });
    let body: string;
    try {
      body = await readBody(req, maxBytes);
    } catch (err) {
      return reply(err instanceof BodyTooLarge ? 413 : 400, { error: (err as Error).message });
    }
    if (!signature || !(await verify(opts.secret, body, signature).catch(() => false))) {
      log.warn({ hasSignature: Boolean(signature) }, "webhook signature missing or wrong: rejected");
      return reply(401, { error: "signature does not match the payload and the webhook secret" });
    }
    if (!id || !name) return reply(400, { error: "X-GitHub-Delivery and X-GitHub-Event headers are required" });
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return reply(400, { error: "payload is not JSON" });
    }
    try {
      await opts.receiver.receive({ id, name, payload });
    } catch (err) {
      log.error({ err }, "webhook handler failed");
      return reply(500, { error: "handler failed; redeliver the webhook once fixed", deliveryId: id });
    }
    reply(200, { ok: true });
  };
}
