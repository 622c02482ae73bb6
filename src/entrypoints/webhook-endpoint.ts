import type { IncomingMessage, ServerResponse } from "node:http";
import { verify } from "@octokit/webhooks-methods";
import { StoreUnavailableError } from "../ports/store.ts";
import type { Logger } from "../ports/logger.ts";
import { header, jsonReplier } from "./http-server.ts";
import type { Middleware } from "./http-server.ts";

/** The part of Probot that dispatches a verified event to the app's handlers. */
interface WebhookReceiver {
  receive(event: { id: string; name: string; payload: unknown }): Promise<void>;
}

export interface WebhookEndpointOptions {
  path: string;
  secret: string;
  receiver: WebhookReceiver;
  logger: Logger;
  /** The largest payload taken (GitHub caps them at 25 MB; pull_request and issue_comment payloads are far smaller). Default 2 MiB. */
  maxBytes?: number;
  /** Bytes being received across all requests at once; past it, requests are refused with 503 before being read. Default 64 MiB. */
  maxInFlightBytes?: number;
  /**
   * Webhooks being handled at once (read, verified, recorded); past it, a new one is refused with
   * 503 and Retry-After at once instead of queueing behind the others for longer than GitHub's
   * 10 s. Default 128.
   */
  maxInFlight?: number;
}

class BodyTooLarge extends Error {
  readonly code = "body_too_large";
}

class Overloaded extends Error {
  readonly code = "overloaded";
}

/** Bytes being received by all webhook requests together, reserved as they arrive. */
interface InFlight {
  bytes: number;
  readonly max: number;
}

async function readBody(req: IncomingMessage, maxBytes: number, inFlight: InFlight, reserved: { bytes: number }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLarge(`payload over ${maxBytes} bytes`);
    if (size > reserved.bytes) {
      // Sent without Content-Length (chunked): reserve as it comes.
      const more = size - reserved.bytes;
      if (inFlight.bytes + more > inFlight.max) throw new Overloaded("too many bytes in flight");
      inFlight.bytes += more;
      reserved.bytes += more;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Every error a handler threw (Probot reports several as one AggregateError). */
function causes(err: unknown): unknown[] {
  if (err instanceof AggregateError) return err.errors.flatMap(causes);
  return [err];
}

function isInvalidPayload(err: unknown): boolean {
  return err instanceof Error && err.name === "ZodError";
}

/**
 * The JSON payload: GitHub sends `application/json`, or with the "form" content type a
 * `payload=` form field holding the same JSON.
 */
function payloadText(contentType: string | undefined, body: string): string {
  if (contentType?.split(";")[0]?.trim() !== "application/x-www-form-urlencoded") return body;
  return new URLSearchParams(body).get("payload") ?? "";
}

/**
 * POST {path}: GitHub webhooks. Requests without GitHub's headers, or announcing a body over
 * the limit, are refused before the body is read. The signature (X-Hub-Signature-256, HMAC
 * SHA-256 of the raw body) is verified before anything is parsed: missing or wrong → 401 and
 * nothing happens. Then Probot's handlers record intent in Postgres and answer: 200 once the
 * intent is recorded (a queue outage does not fail the webhook), 400 for a payload that does
 * not have the shape GitHub documents, 503 while Postgres is unreachable (GitHub shows a failed
 * delivery to redeliver), 500 for a bug.
 */
export function webhookEndpoint(opts: WebhookEndpointOptions): Middleware {
  const maxBytes = opts.maxBytes ?? 2 * 1024 * 1024;
  const inFlight: InFlight = { bytes: 0, max: opts.maxInFlightBytes ?? 64 * 1024 * 1024 };
  const maxRequests = opts.maxInFlight ?? 128;
  let handling = 0;
  let shedSince: number | undefined;
  let shed = 0;
  return async (req, res, next) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== opts.path) return next();
    if (handling >= maxRequests) {
      // Overload: answer at once (GitHub marks the delivery failed; the PR sync applies a lost push later).
      shed++;
      if (shedSince === undefined) shedSince = Date.now();
      res.setHeader("retry-after", "10");
      return jsonReplier(req, res)(503, { error: "Octostage is overloaded; redeliver this webhook" });
    }
    if (shedSince !== undefined) {
      opts.logger.warn({ shed, forMs: Date.now() - shedSince, maxInFlight: maxRequests }, "overloaded: webhooks were refused with 503 (WEBHOOK_MAX_IN_FLIGHT)");
      shedSince = undefined;
      shed = 0;
    }
    handling++;
    try {
      await handle(req, res);
    } finally {
      handling--;
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = jsonReplier(req, res);
    if (req.method !== "POST") return reply(405, { error: "use POST" });
    const id = header(req, "x-github-delivery");
    const name = header(req, "x-github-event");
    const signature = header(req, "x-hub-signature-256");
    const log = opts.logger.child({ deliveryId: id, event: name });
    if (!signature) {
      log.warn({}, "webhook without X-Hub-Signature-256: rejected");
      return reply(401, { error: "X-Hub-Signature-256 is missing: set a webhook secret on the GitHub App" });
    }
    if (!id || !name) return reply(400, { error: "X-GitHub-Delivery and X-GitHub-Event headers are required" });
    const length = Number(header(req, "content-length"));
    if (Number.isFinite(length) && length > maxBytes) return reply(413, { error: `payload over ${maxBytes} bytes` });
    const reserved = { bytes: Number.isFinite(length) ? length : 0 };
    if (inFlight.bytes + reserved.bytes > inFlight.max) {
      log.warn({ inFlightBytes: inFlight.bytes }, "too many webhook bytes in flight: refused with 503");
      res.setHeader("retry-after", "5");
      return reply(503, { error: "too many requests in flight; redeliver this webhook" });
    }
    inFlight.bytes += reserved.bytes;
    let body: string;
    try {
      body = await readBody(req, maxBytes, inFlight, reserved);
    } catch (err) {
      if (err instanceof Overloaded) res.setHeader("retry-after", "5");
      return reply(err instanceof BodyTooLarge ? 413 : err instanceof Overloaded ? 503 : 400, { error: (err as Error).message });
    } finally {
      inFlight.bytes -= reserved.bytes;
    }
    if (!(await verify(opts.secret, body, signature).catch(() => false))) {
      log.warn({}, "webhook signature wrong: rejected");
      return reply(401, { error: "signature does not match the payload and the webhook secret" });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(payloadText(header(req, "content-type"), body));
    } catch {
      return reply(400, { error: "payload is not JSON" });
    }
    try {
      await opts.receiver.receive({ id, name, payload });
    } catch (err) {
      const all = causes(err);
      if (all.some(isInvalidPayload)) {
        log.warn({ issues: all.filter(isInvalidPayload).map((e) => (e as Error).message.slice(0, 500)) }, "signed webhook payload does not have the documented shape: refused");
        return reply(400, { error: "the payload does not have the shape GitHub documents for this event", deliveryId: id });
      }
      if (all.some((e) => e instanceof StoreUnavailableError)) {
        log.warn({}, "database unavailable: webhook refused with 503 (redeliver it)");
        return reply(503, { error: "Octostage's database is unavailable; redeliver this webhook", deliveryId: id });
      }
      log.error({ err: all[0] instanceof Error ? { name: all[0].name, message: all[0].message } : String(all[0]) }, "webhook handler failed");
      return reply(500, { error: "handler failed; redeliver the webhook once fixed", deliveryId: id });
    }
    reply(200, { ok: true });
  }
}
