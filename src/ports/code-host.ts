/** GitHub as the use cases see it. Adapter: src/adapters/github/. Every call is an idempotent ensure. */

export interface PullRequestRef {
  installationId: number;
  owner: string;
  repo: string;
  number: number;
}

export type CheckRunState =
  | { status: "queued" | "in_progress" }
  | { status: "completed"; conclusion: "success" | "failure" | "neutral" | "cancelled" | "skipped" };

export interface CheckRunInput {
  /** The head SHA the check run belongs to. */
  sha: string;
  /** The check run Octostage made last, if any; reused when it is for the same SHA. */
  existing?: { id: number; sha: string };
  state: CheckRunState;
  title: string;
  summary: string;
  detailsUrl?: string;
}

export interface CommentInput {
  /** The comment id Octostage stored; when absent or gone, the comment is found by its hidden marker. */
  existingId?: number;
  /** Markdown; the adapter adds the hidden marker. */
  body: string;
}

type DeploymentState = "in_progress" | "success" | "failure" | "error" | "inactive" | "queued" | "pending";

export interface DeploymentInput {
  sha: string;
  ref: string;
  /** Environment name (the staging's name). */
  environment: string;
  existing?: { id: number; sha: string };
  state: DeploymentState;
  description: string;
  environmentUrl?: string;
}

/** A person's role on a repository, highest first. */
export type RepoPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export type Reaction = "eyes" | "+1" | "-1" | "confused" | "rocket";

export interface CodeHost extends CodeHostReads {
  /** The user's role on the PR's repository ("none" when they have no access). */
  getPermission(pr: PullRequestRef, login: string): Promise<RepoPermission>;
  /** Reacts to a PR comment (idempotent on GitHub's side). */
  addReaction(pr: PullRequestRef, commentId: number, reaction: Reaction): Promise<void>;
  /** Posts a new PR comment (a reply to a command; the sticky comment uses ensureStatusComment). */
  postComment(pr: PullRequestRef, body: string): Promise<{ id: number }>;
  /** Creates a check run for the SHA or updates the existing one for that SHA. */
  ensureCheckRun(pr: PullRequestRef, input: CheckRunInput): Promise<{ id: number; sha: string }>;
  /** Creates the one sticky comment or edits it in place. */
  ensureStatusComment(pr: PullRequestRef, input: CommentInput): Promise<{ id: number }>;
  /**
   * Creates a GitHub Deployment for the SHA (transient environment) unless `existing` is for
   * the same SHA, then adds a deployment status when it differs from the latest one.
   */
  ensureDeployment(pr: PullRequestRef, input: DeploymentInput): Promise<{ id: number; sha: string }>;
}

/** A pull request as GitHub says it is now. */
interface PullRequestState {
  state: "open" | "closed";
  merged: boolean;
  draft: boolean;
  headSha: string;
  headRef: string;
  labels: string[];
  fromFork: boolean;
  updatedAt: Date | null;
}

export type PullRequestAnswer =
  /** Unchanged since the ETag given (a conditional request: it costs no rate limit). */
  | { notModified: true }
  | { notModified: false; etag: string | null; pullRequest: PullRequestState };

interface CodeHostReads {
  /**
   * The pull request as GitHub has it, asked conditionally with the ETag of the last answer.
   * A failure throws GitHubError: it never means "closed".
   */
  getPullRequest(pr: PullRequestRef, etag: string | null): Promise<PullRequestAnswer>;
  /**
   * Posts a comment unless a comment carrying `marker` (hidden in the body) is already on the PR:
   * a reply retried after a crash is not posted twice.
   */
  ensureComment(pr: PullRequestRef, marker: string, body: string): Promise<{ id: number }>;
  /** Adds an `inactive` status to an older Deployment of the staging's environment. */
  deactivateDeployment(pr: PullRequestRef, deploymentId: number, environment: string): Promise<void>;
  /** The installation of the app on a repository; null when the app is not installed there. */
  findInstallation(owner: string, repo: string): Promise<number | null>;
  /** The commit a branch, tag or SHA (prefix) names in the repository; null when it names none. */
  resolveRef(installationId: number, owner: string, repo: string, ref: string): Promise<string | null>;
}

export type GitHubErrorCode = "not_found" | "forbidden" | "rate_limited" | "unauthorized" | "validation" | "transient";

const PERMANENT_CODES: ReadonlySet<GitHubErrorCode> = new Set(["not_found", "forbidden", "unauthorized", "validation"]);

export interface GitHubErrorDetails {
  /** HTTP status, when GitHub answered. */
  status?: number;
  /** GitHub's x-github-request-id, for support tickets. */
  requestId?: string;
  /** Seconds GitHub asked to wait (retry-after, or until the rate limit resets). */
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

/** Every failure of a CodeHost call: a stable code, whether retrying can help, how long to wait. */
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

  /** True when retrying the same call cannot help (the app was uninstalled, a permission removed). */
  get permanent(): boolean {
    return PERMANENT_CODES.has(this.code);
  }
}
