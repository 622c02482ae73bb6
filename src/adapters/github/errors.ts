/** Octokit failures turned into the CodeHost port's GitHubError: a stable code, never a message to parse. */

import { GitHubError } from "../../ports/code-host.ts";
import type { GitHubErrorCode } from "../../ports/code-host.ts";

export { GitHubError };

interface HttpErrorLike {
  status: number;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** GitHub's secondary rate limit: a 403 (or 429) whose message says so, with or without retry-after. */
function isSecondaryRateLimit(err: HttpErrorLike): boolean {
  const data = err.response?.data;
  const message = typeof data === "object" && data !== null && "message" in data && typeof data.message === "string" ? data.message : "";
  return /secondary rate limit|abuse detection/i.test(message);
}

/** Without retry-after, GitHub asks to wait at least a minute after a secondary rate limit. */
const secondaryRateLimitWaitSeconds = 60;

function isHttpError(err: unknown): err is HttpErrorLike {
  return typeof err === "object" && err !== null && "status" in err && typeof err.status === "number";
}

function codeFor(status: number, headers: Record<string, string | number | undefined>, secondary: boolean): GitHubErrorCode {
  if (status === 429 || secondary) return "rate_limited";
  if (status === 403 && (String(headers["x-ratelimit-remaining"]) === "0" || headers["retry-after"] !== undefined)) {
    return "rate_limited";
  }
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404 || status === 410) return "not_found";
  if (status === 400 || status === 422) return "validation";
  if (status >= 500 || status === 408 || status === 409) return "transient";
  return status >= 400 ? "validation" : "transient";
}

/** Wraps anything an Octokit call threw. Errors without an HTTP status (network) are transient. */
export function toGitHubError(err: unknown, operation: string): GitHubError {
  if (err instanceof GitHubError) return err;
  if (!isHttpError(err)) return new GitHubError("transient", operation, { cause: err });
  const headers = err.response?.headers ?? {};
  const secondary = (err.status === 403 || err.status === 429) && isSecondaryRateLimit(err);
  const retryAfter = headers["retry-after"] === undefined ? Number.NaN : Number(headers["retry-after"]);
  const reset = Number(headers["x-ratelimit-reset"]);
  const untilReset = String(headers["x-ratelimit-remaining"]) === "0" && Number.isFinite(reset) ? Math.max(1, Math.ceil(reset - Date.now() / 1000)) : undefined;
  const requestId = headers["x-github-request-id"];
  const wait = Number.isFinite(retryAfter) ? retryAfter : secondary ? secondaryRateLimitWaitSeconds : untilReset;
  return new GitHubError(codeFor(err.status, headers, secondary), operation, {
    status: err.status,
    requestId: requestId === undefined ? undefined : String(requestId),
    retryAfterSeconds: wait,
    cause: err,
  });
}

/** Runs one API call and rethrows its failure as a GitHubError. */
export async function callGitHub<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toGitHubError(err, operation);
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof GitHubError && err.code === "not_found";
}
