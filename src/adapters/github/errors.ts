/** GitHub API failures as the rest of Octostage sees them: a stable code, never a message to parse. */

export type GitHubErrorCode = "not_found" | "forbidden" | "rate_limited" | "unauthorized" | "validation" | "transient";

const PERMANENT_CODES: ReadonlySet<GitHubErrorCode> = new Set(["not_found", "forbidden", "unauthorized", "validation"]);

export interface GitHubErrorDetails {
  /** HTTP status, when GitHub answered. */
  status?: number;
  /** GitHub's x-github-request-id, for support tickets. */
  requestId?: string;
  /** Seconds GitHub asked to wait (retry-after), when rate limited. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class GitHubError extends Error {
  override readonly name = "GitHubError";
  readonly code: GitHubErrorCode;
  /** The API call that failed, e.g. "checks.update". */
  readonly operation: string;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: GitHubErrorCode, operation: string, details: GitHubErrorDetails = {}) {
    const status = details.status === undefined ? "" : ` (HTTP ${details.status})`;
    super(`GitHub ${operation} failed: ${code}${status}`, { cause: details.cause });
    this.code = code;
    this.operation = operation;
    this.status = details.status;
    this.requestId = details.requestId;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  /** True when retrying the same call cannot help (the job should fail for good). */
  get permanent(): boolean {
    return PERMANENT_CODES.has(this.code);
  }
}

interface HttpErrorLike {
  status: number;
  response?: { headers?: Record<string, string | number | undefined> };
}

function isHttpError(err: unknown): err is HttpErrorLike {
  return typeof err === "object" && err !== null && "status" in err && typeof err.status === "number";
}

function codeFor(status: number, headers: Record<string, string | number | undefined>): GitHubErrorCode {
  if (status === 429) return "rate_limited";
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
  const retryAfter = Number(headers["retry-after"]);
  const requestId = headers["x-github-request-id"];
  return new GitHubError(codeFor(err.status, headers), operation, {
    status: err.status,
    requestId: requestId === undefined ? undefined : String(requestId),
    retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
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
