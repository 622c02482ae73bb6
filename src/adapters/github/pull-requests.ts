import type { PullRequestAnswer, PullRequestRef } from "../../ports/code-host.ts";
import { callGitHub, GitHubError } from "./errors.ts";
import type { GitHubClient } from "./octokit.ts";

/**
 * GET /repos/{owner}/{repo}/pulls/{number} with If-None-Match: an unchanged PR answers 304,
 * which GitHub does not count against the rate limit. Octokit reports the 304 as an error.
 */
export async function getPullRequest(octokit: GitHubClient, pr: PullRequestRef, etag: string | null): Promise<PullRequestAnswer> {
  try {
    const res = await callGitHub("pulls.get", () =>
      octokit.rest.pulls.get({ owner: pr.owner, repo: pr.repo, pull_number: pr.number, ...(etag ? { headers: { "if-none-match": etag } } : {}) }),
    );
    const p = res.data;
    const headRepo = p.head.repo?.full_name?.toLowerCase();
    return {
      notModified: false,
      etag: typeof res.headers.etag === "string" ? res.headers.etag : null,
      pullRequest: {
        state: p.state === "closed" ? "closed" : "open",
        merged: Boolean(p.merged),
        draft: Boolean(p.draft),
        headSha: p.head.sha,
        headRef: p.head.ref,
        labels: p.labels.map((l) => l.name ?? "").filter(Boolean),
        // A deleted fork has no head repo: treat it as a fork, never as trusted.
        fromFork: headRepo === undefined || headRepo !== p.base.repo.full_name.toLowerCase(),
        updatedAt: p.updated_at ? new Date(p.updated_at) : null,
      },
    };
  } catch (err) {
    if (err instanceof GitHubError && err.status === 304) return { notModified: true };
    throw err;
  }
}
