import type { PullRequestRef, Reaction, RepoPermission } from "../../ports/code-host.ts";
import { callGitHub, isNotFound } from "./errors.ts";
import type { GitHubClient } from "./octokit.ts";

const roles: readonly RepoPermission[] = ["admin", "maintain", "write", "triage", "read"];

/**
 * The user's role. GitHub's `permission` field folds maintain into write and triage into read;
 * `role_name` has the real role. A user without access is "none" (GitHub's answer, or a 404).
 */
export async function getPermission(octokit: GitHubClient, pr: PullRequestRef, login: string): Promise<RepoPermission> {
  try {
    const { data } = await callGitHub("repos.getCollaboratorPermissionLevel", () =>
      octokit.rest.repos.getCollaboratorPermissionLevel({ owner: pr.owner, repo: pr.repo, username: login }),
    );
    // GitHub answers "none" (not a 404) for a user without access to a repository they can see.
    if (data.permission === "none") return "none";
    const role = (data as { role_name?: string }).role_name ?? data.permission;
    return roles.find((r) => r === role) ?? (data.permission === "write" || data.permission === "admin" ? data.permission : "read");
  } catch (err) {
    if (isNotFound(err)) return "none";
    throw err;
  }
}

export async function addReaction(octokit: GitHubClient, pr: PullRequestRef, commentId: number, reaction: Reaction): Promise<void> {
  await callGitHub("reactions.createForIssueComment", () =>
    octokit.rest.reactions.createForIssueComment({ owner: pr.owner, repo: pr.repo, comment_id: commentId, content: reaction }),
  );
}

export async function postComment(octokit: GitHubClient, pr: PullRequestRef, body: string): Promise<{ id: number }> {
  const { data } = await callGitHub("issues.createComment", () =>
    octokit.rest.issues.createComment({ owner: pr.owner, repo: pr.repo, issue_number: pr.number, body }),
  );
  return { id: data.id };
}

/** Posts the comment unless one carrying the hidden marker is already on the PR (newest pages first). */
export async function ensureComment(octokit: GitHubClient, pr: PullRequestRef, marker: string, body: string): Promise<{ id: number }> {
  const tag = `<!-- ${marker} -->`;
  const existing = await callGitHub("issues.listComments", async () => {
    const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, { owner: pr.owner, repo: pr.repo, issue_number: pr.number, per_page: 100 });
    for await (const { data } of pages) {
      const mine = data.find((c) => c.user?.type === "Bot" && c.body?.includes(tag));
      if (mine) return { id: mine.id };
    }
    return undefined;
  });
  return existing ?? postComment(octokit, pr, `${body}\n\n${tag}`);
}
