/**
 * Jira as the use cases see it: the staging shown on each issue it is linked to, as one remote
 * link per staging, found and updated in place by its global id (never duplicated). Adapter:
 * src/adapters/jira/ (Jira Cloud REST API v3, basic auth with an account's email and API token).
 */

export interface RemoteLinkInput {
  /** Identifies the link on the issue: the same global id updates the link instead of adding one. */
  globalId: string;
  url: string;
  /** Shown as the link's text: the staging's name and status. */
  title: string;
  summary?: string;
  /** Jira strikes a resolved link through (an archived or cleaned-up staging). */
  resolved: boolean;
  iconUrl?: string;
}

export type IssueTrackerErrorCode = "not_found" | "unauthorized" | "forbidden" | "rate_limited" | "invalid" | "transient";

export class IssueTrackerError extends Error {
  readonly code: IssueTrackerErrorCode;
  /** Jira's Retry-After (a 429), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  constructor(code: IssueTrackerErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "IssueTrackerError";
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export interface IssueTracker {
  /** Creates the remote link on the issue, or updates the one with the same global id. Idempotent. */
  upsertRemoteLink(issueKey: string, link: RemoteLinkInput): Promise<void>;
  /** Removes the remote link with this global id from the issue (nothing when there is none). */
  removeRemoteLink(issueKey: string, globalId: string): Promise<void>;
}
