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

export type DeploymentState = "in_progress" | "success" | "failure" | "error" | "inactive" | "queued" | "pending";

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

export interface CodeHost {
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
