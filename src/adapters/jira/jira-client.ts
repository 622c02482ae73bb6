/**
 * The issue-tracker port on the Jira Cloud REST API v3: one remote link per staging, keyed by its
 * global id (POST .../remotelink creates it, 201, or updates the link with the same global id in
 * place, 200; DELETE .../remotelink?globalId= removes it, 204). Basic auth with an Atlassian
 * account's email and API token. Neither the token nor the Authorization header ever appears in an
 * error message. API: https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-remote-links/
 */
import { IssueTrackerError, type IssueTracker, type RemoteLinkInput } from "../../ports/issue-tracker.ts";

interface JiraClientOptions {
  /** The site, e.g. "https://acme.atlassian.net" (a trailing slash is ignored). */
  baseUrl: string;
  email: string;
  apiToken: string;
  fetch?: typeof fetch;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

/** Project key (2+ characters, upper case), a dash, an issue number without leading zeros. */
const issueKeyShape = /^[A-Z][A-Z0-9_]+-[1-9][0-9]*$/;
/** RemoteIssueLinkRequest.globalId: "The maximum length is 255 characters." */
const maxGlobalIdLength = 255;
const maxDetailLength = 300;
const defaultTimeoutMs = 10_000;

const application = { type: "dev.octostage", name: "Octostage" } as const;

function checkIssueKey(issueKey: string): void {
  if (!issueKeyShape.test(issueKey)) throw new IssueTrackerError("invalid", `not a Jira issue key: ${JSON.stringify(issueKey.slice(0, 40))}`);
}

function checkGlobalId(globalId: string): void {
  if (globalId.length === 0 || globalId.length > maxGlobalIdLength) {
    throw new IssueTrackerError("invalid", `a remote link's global id must have 1 to ${maxGlobalIdLength} characters (has ${globalId.length})`);
  }
}

function remoteLinkBody(link: RemoteLinkInput): Record<string, unknown> {
  return {
    globalId: link.globalId,
    application,
    relationship: "Staging",
    object: {
      url: link.url,
      title: link.title,
      ...(link.summary === undefined ? {} : { summary: link.summary }),
      ...(link.iconUrl === undefined ? {} : { icon: { url16x16: link.iconUrl, title: "Octostage staging" } }),
      status: { resolved: link.resolved },
    },
  };
}

/** Retry-After in seconds (what Jira sends) or as an HTTP date, in milliseconds. */
function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Jira's ErrorCollection ({errorMessages: string[], errors: {field: message}}) as one line. */
function jiraDetail(text: string): string {
  let detail = text.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null) {
      const { errorMessages, errors } = parsed as { errorMessages?: unknown; errors?: unknown };
      const messages = Array.isArray(errorMessages) ? errorMessages.filter((m): m is string => typeof m === "string") : [];
      const fields = typeof errors === "object" && errors !== null ? Object.entries(errors).map(([field, message]) => `${field}: ${String(message)}`) : [];
      if (messages.length + fields.length > 0) detail = [...messages, ...fields].join("; ");
    }
  } catch {
    // Not JSON (a proxy's page): the text as it is.
  }
  return detail.replace(/\s+/g, " ").slice(0, maxDetailLength);
}

export function createJiraClient(options: JiraClientOptions): IssueTracker {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const credential = Buffer.from(`${options.email}:${options.apiToken}`, "utf8").toString("base64");
  const secrets = [options.apiToken, credential].filter((s) => s.length > 0);
  /** Whatever Jira or the network said, without the token or the encoded credential in it. */
  const redact = (text: string): string => secrets.reduce((out, secret) => out.replaceAll(secret, "[redacted]"), text);
  const fail = (code: IssueTrackerError["code"], message: string, retryAfter?: number): IssueTrackerError =>
    new IssueTrackerError(code, redact(message), retryAfter);

  const remoteLinks = (issueKey: string): string => `/rest/api/3/issue/${encodeURIComponent(issueKey)}/remotelink`;

  /** Sends the request; answers the status and body text, or throws transient for a network failure or timeout. */
  async function send(method: "POST" | "DELETE", path: string, body?: unknown): Promise<{ status: number; headers: Headers; text: string; what: string }> {
    const what = `${method} ${path.split("?")[0]}`;
    try {
      const response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Basic ${credential}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, what };
    } catch (err) {
      const name = err instanceof Error ? err.name : "Error";
      const reason = name === "TimeoutError" || name === "AbortError" ? `no answer within ${timeoutMs} ms` : `network error (${name})`;
      throw fail("transient", `Jira ${what}: ${reason}`);
    }
  }

  function toError(status: number, headers: Headers, text: string, what: string): IssueTrackerError {
    const detail = jiraDetail(text);
    const said = detail ? `: ${detail}` : "";
    if (status === 401) return fail("unauthorized", `Jira ${what} answered 401: the email and API token were not accepted`);
    if (status === 403) return fail("forbidden", `Jira ${what} answered 403: the account may not link issues here${said}`);
    if (status === 404) return fail("not_found", `Jira ${what} answered 404: the issue does not exist or the account cannot see it`);
    if (status === 429) return fail("rate_limited", `Jira ${what} answered 429: rate limited`, retryAfterMs(headers.get("retry-after"), Date.now()));
    if (status >= 400 && status < 500) return fail("invalid", `Jira ${what} answered ${status}${said}`);
    return fail("transient", `Jira ${what} answered ${status}${said}`);
  }

  return {
    async upsertRemoteLink(issueKey, link) {
      checkIssueKey(issueKey);
      checkGlobalId(link.globalId);
      const { status, headers, text, what } = await send("POST", remoteLinks(issueKey), remoteLinkBody(link));
      if (status === 200 || status === 201) return;
      throw toError(status, headers, text, what);
    },

    async removeRemoteLink(issueKey, globalId) {
      checkIssueKey(issueKey);
      checkGlobalId(globalId);
      const { status, headers, text, what } = await send("DELETE", `${remoteLinks(issueKey)}?globalId=${encodeURIComponent(globalId)}`);
      // 404: no such link (or no such issue): nothing to remove.
      if (status === 204 || status === 200 || status === 404) return;
      throw toError(status, headers, text, what);
    },
  };
}
