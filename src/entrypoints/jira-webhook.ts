/**
 * POST /jira/webhook: Jira Cloud's `jira:issue_updated` webhooks (registered with a secret: the
 * `X-Hub-Signature: sha256=<HMAC-SHA256 of the raw body>` header), or Jira Automation's "Send
 * web request" with the shared secret in an `X-Octostage-Token` header. A missing or wrong
 * signature is 401 and nothing happens; unknown issues, unlinked keys, other events and
 * payloads that are not an issue update get 200 and change nothing (Jira would only retry
 * them); 503 while Postgres is unreachable (Jira retries). Setup: docs/operators/jira.md.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { issueMoved } from "../app/jira/issue-moved.ts";
import type { AppDeps } from "../app/deps.ts";
import { errorSummary } from "../app/change-staging.ts";
import { isIssueKey } from "../domain/jira.ts";
import { StoreUnavailableError } from "../ports/store.ts";
import { header, jsonReplier } from "./http-server.ts";
import type { Middleware } from "./http-server.ts";

export interface JiraWebhookOptions {
  path: string;
  secret: string;
  deps: Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock">;
  /** Jira's payloads with a changelog are small; default 1 MiB. */
  maxBytes?: number;
}

const payload = z.object({
  webhookEvent: z.string().optional(),
  timestamp: z.number().optional(),
  user: z.object({ accountId: z.string().max(128), displayName: z.string().max(256).optional() }).optional(),
  issue: z.object({
    key: z.string().max(64),
    fields: z.object({ status: z.object({ name: z.string().max(256).optional(), statusCategory: z.object({ key: z.enum(["new", "indeterminate", "done", "undefined"]) }) }) }),
  }),
  changelog: z.object({ items: z.array(z.object({ field: z.string().optional(), fieldId: z.string().optional() })).max(1000) }).optional(),
});

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new TooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Jira's scheme (WebSub): `sha256=` and the hex HMAC-SHA256 of the raw body with the webhook's secret. */
function verifyJiraSignature(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (!signature?.startsWith("sha256=")) return false;
  const expected = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return sameSecret(expected, signature.trim().toLowerCase());
}

export function jiraWebhook(opts: JiraWebhookOptions): Middleware {
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const log = opts.deps.logger.child({ surface: "jira" });
  return async (req, res, next) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== opts.path) return next();
    const reply = jsonReplier(req, res);
    if (req.method !== "POST") return reply(405, { error: "use POST" });
    const signature = header(req, "x-hub-signature");
    const token = header(req, "x-octostage-token");
    if (!signature && !token) return reply(401, { error: "X-Hub-Signature (a Jira webhook with a secret) or X-Octostage-Token (Jira Automation) is required" });
    const length = Number(header(req, "content-length"));
    if (Number.isFinite(length) && length > maxBytes) return reply(413, { error: `payload over ${maxBytes} bytes` });
    let body: Buffer;
    try {
      body = await readBody(req, maxBytes);
    } catch (err) {
      if (err instanceof TooLarge) return reply(413, { error: `payload over ${maxBytes} bytes` });
      throw err;
    }
    const verified = signature ? verifyJiraSignature(opts.secret, body, signature) : sameSecret(opts.secret, token ?? "");
    if (!verified) {
      log.warn({ scheme: signature ? "signature" : "token" }, "Jira webhook with a wrong signature or token: rejected");
      return reply(401, { error: "signature or token does not match JIRA_WEBHOOK_SECRET" });
    }
    let parsed: z.infer<typeof payload>;
    try {
      const out = payload.safeParse(JSON.parse(body.toString("utf8")));
      if (!out.success) return reply(200, { ignored: "not an issue update Octostage reads (no issue key or status)" });
      parsed = out.data;
    } catch {
      return reply(200, { ignored: "the body is not JSON" });
    }
    if (parsed.webhookEvent !== undefined && parsed.webhookEvent !== "jira:issue_updated") return reply(200, { ignored: `event ${parsed.webhookEvent.slice(0, 64)}` });
    const key = parsed.issue.key;
    if (!isIssueKey(key)) return reply(200, { ignored: "not a Jira issue key" });
    const category = parsed.issue.fields.status.statusCategory.key;
    if (category === "undefined") return reply(200, { ignored: "the status has no category" });
    const statusChanged = parsed.changelog ? parsed.changelog.items.some((i) => i.field === "status" || i.fieldId === "status") : parsed.webhookEvent === undefined;
    try {
      const out = await issueMoved(opts.deps, {
        issueKey: key,
        to: category,
        statusChanged,
        user: parsed.user ? { accountId: parsed.user.accountId, displayName: parsed.user.displayName ?? parsed.user.accountId } : null,
        event: "jira:issue_updated",
      });
      return reply(200, { issue: key, result: out.result, stagings: out.stagings });
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        res.setHeader("retry-after", "10");
        return reply(503, { error: "database unavailable; Jira retries" });
      }
      log.error({ issue: key, err: errorSummary(err) }, "Jira webhook failed");
      return reply(500, { error: "internal error" });
    }
  };
}
