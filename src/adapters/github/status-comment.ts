import type { Logger } from "../../ports/logger.ts";
import type { CommentInput, PullRequestRef } from "../../ports/code-host.ts";
import { callGitHub, isNotFound } from "./errors.ts";
import type { GitHubClient } from "./octokit.ts";

/** Hidden marker that identifies Octostage's one sticky comment on a pull request. */
export const STATUS_COMMENT_MARKER = "<!-- octostage:status -->";

interface FoundComment {
  id: number;
  body: string;
}

async function findStatusComment(octokit: GitHubClient, pr: PullRequestRef): Promise<FoundComment | undefined> {
  return callGitHub("issues.listComments", async () => {
    const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      per_page: 100,
    });
    for await (const { data } of pages) {
      const mine = data.find((c) => c.user?.type === "Bot" && c.body?.includes(STATUS_COMMENT_MARKER));
      if (mine) return { id: mine.id, body: mine.body ?? "" };
    }
    return undefined;
  });
}

async function updateComment(octokit: GitHubClient, pr: PullRequestRef, id: number, body: string): Promise<void> {
  await callGitHub("issues.updateComment", () =>
    octokit.rest.issues.updateComment({ owner: pr.owner, repo: pr.repo, comment_id: id, body }),
  );
}

/** Edits the sticky comment in place (by stored id, else found by marker from a bot), or creates it. */
export async function ensureStatusComment(
  octokit: GitHubClient,
  pr: PullRequestRef,
  input: CommentInput,
  log: Logger,
): Promise<{ id: number }> {
  const body = `${STATUS_COMMENT_MARKER}\n${input.body}`;
  if (input.existingId !== undefined) {
    try {
      await updateComment(octokit, pr, input.existingId, body);
      log.debug({ commentId: input.existingId }, "status comment updated");
      return { id: input.existingId };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      log.info({ commentId: input.existingId }, "stored status comment is gone; searching by marker");
    }
  }
  const found = await findStatusComment(octokit, pr);
  if (found) {
    if (found.body === body) {
      log.debug({ commentId: found.id }, "status comment unchanged");
      return { id: found.id };
    }
    await updateComment(octokit, pr, found.id, body);
    log.debug({ commentId: found.id }, "status comment updated");
    return { id: found.id };
  }
  const { data } = await callGitHub("issues.createComment", () =>
    octokit.rest.issues.createComment({ owner: pr.owner, repo: pr.repo, issue_number: pr.number, body }),
  );
  log.debug({ commentId: data.id }, "status comment created");
  return { id: data.id };
}
