import type { CodeHost, PullRequestRef } from "../../ports/code-host.ts";
import { systemClock, type Clock } from "../../ports/clock.ts";
import type { Logger } from "../../ports/logger.ts";
import { ensureCheckRun } from "./check-runs.ts";
import { addReaction, ensureComment, getPermission, postComment } from "./comment-commands.ts";
import { deactivateDeployment, ensureDeployment } from "./deployments.ts";
import { getPullRequest } from "./pull-requests.ts";
import { GitHubError } from "../../ports/code-host.ts";
import { callGitHub, isNotFound } from "./errors.ts";
import type { GetGitHubClient } from "./octokit.ts";
import { ensureStatusComment } from "./status-comment.ts";

export interface GitHubCodeHostDeps {
  /** Production: `(id) => app.auth(id)` from Probot. */
  getOctokit: GetGitHubClient;
  logger: Logger;
  /** Stamps completed_at on check runs. Default: the system clock. */
  clock?: Clock;
}

/** The CodeHost port on the GitHub REST API. Every failure is a GitHubError. */
export function createGitHubCodeHost(deps: GitHubCodeHostDeps): CodeHost {
  const context = async (pr: PullRequestRef) => ({
    octokit: await callGitHub("auth", () => deps.getOctokit(pr.installationId)),
    log: deps.logger.child({ installationId: pr.installationId, owner: pr.owner, repo: pr.repo, pr: pr.number }),
  });
  return {
    getPermission: async (pr, login) => {
      const { octokit } = await context(pr);
      return getPermission(octokit, pr, login);
    },
    addReaction: async (pr, commentId, reaction) => {
      const { octokit } = await context(pr);
      await addReaction(octokit, pr, commentId, reaction);
    },
    postComment: async (pr, body) => {
      const { octokit } = await context(pr);
      return postComment(octokit, pr, body);
    },
    ensureCheckRun: async (pr, input) => {
      const { octokit, log } = await context(pr);
      return ensureCheckRun(octokit, pr, input, log, (deps.clock ?? systemClock).now());
    },
    ensureStatusComment: async (pr, input) => {
      const { octokit, log } = await context(pr);
      return ensureStatusComment(octokit, pr, input, log);
    },
    ensureDeployment: async (pr, input) => {
      const { octokit, log } = await context(pr);
      return ensureDeployment(octokit, pr, input, log);
    },
    getPullRequest: async (pr, etag) => {
      const { octokit } = await context(pr);
      return getPullRequest(octokit, pr, etag);
    },
    ensureComment: async (pr, marker, body) => {
      const { octokit } = await context(pr);
      return ensureComment(octokit, pr, marker, body);
    },
    deactivateDeployment: async (pr, id, environment) => {
      const { octokit, log } = await context(pr);
      await deactivateDeployment(octokit, pr, id, environment, log);
    },
    findInstallation: async (owner, repo) => {
      const app = await callGitHub("auth", () => deps.getOctokit());
      try {
        const { data } = await callGitHub("apps.getRepoInstallation", () => app.rest.apps.getRepoInstallation({ owner, repo }));
        return data.id;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    resolveRef: async (installationId, owner, repo, ref) => {
      const octokit = await callGitHub("auth", () => deps.getOctokit(installationId));
      try {
        const { data } = await callGitHub("repos.getCommit", () => octokit.rest.repos.getCommit({ owner, repo, ref, per_page: 1 }));
        return data.sha;
      } catch (err) {
        // GitHub answers 422 "No commit found for SHA" and 404 for an unknown ref.
        if (isNotFound(err) || (err instanceof GitHubError && err.code === "validation")) return null;
        throw err;
      }
    },
  };
}
