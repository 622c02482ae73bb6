import type { Logger } from "../../ports/logger.ts";
import type { DeploymentInput, PullRequestRef } from "../../ports/code-host.ts";
import { callGitHub, GitHubError, isNotFound } from "./errors.ts";
import type { GitHubClient } from "./octokit.ts";

/** GitHub rejects deployment status descriptions longer than this. */
const MAX_STATUS_DESCRIPTION = 140;

interface LatestStatus {
  state: string;
  environment_url?: string;
  description: string | null;
}

async function latestStatus(octokit: GitHubClient, pr: PullRequestRef, id: number): Promise<LatestStatus | undefined> {
  const { data } = await callGitHub("repos.listDeploymentStatuses", () =>
    octokit.rest.repos.listDeploymentStatuses({ owner: pr.owner, repo: pr.repo, deployment_id: id, per_page: 1 }),
  );
  return data[0];
}

async function createDeployment(octokit: GitHubClient, pr: PullRequestRef, input: DeploymentInput): Promise<number> {
  const response = await callGitHub("repos.createDeployment", () =>
    octokit.rest.repos.createDeployment({
      owner: pr.owner,
      repo: pr.repo,
      ref: input.sha,
      environment: input.environment,
      description: input.description.slice(0, MAX_STATUS_DESCRIPTION),
      transient_environment: true,
      production_environment: false,
      auto_merge: false,
      required_contexts: [],
      payload: { pull_request: pr.number, ref: input.ref },
    }),
  );
  // 202 means GitHub merged the default branch instead of deploying; auto_merge: false rules it out.
  if (!("id" in response.data)) throw new GitHubError("transient", "repos.createDeployment", { status: response.status });
  return response.data.id;
}

/** Makes sure a deployment exists for the SHA and that its latest status says what `input` says. */
export async function ensureDeployment(
  octokit: GitHubClient,
  pr: PullRequestRef,
  input: DeploymentInput,
  log: Logger,
): Promise<{ id: number; sha: string }> {
  let id = input.existing?.sha === input.sha ? input.existing.id : undefined;
  let latest: LatestStatus | undefined;
  if (id !== undefined) {
    try {
      latest = await latestStatus(octokit, pr, id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      log.info({ deploymentId: id, sha: input.sha }, "deployment is gone; creating a new one");
      id = undefined;
    }
  }
  if (id === undefined) {
    id = await createDeployment(octokit, pr, input);
    log.debug({ deploymentId: id, sha: input.sha, environment: input.environment }, "deployment created");
  }
  const description = input.description.slice(0, MAX_STATUS_DESCRIPTION);
  const environmentUrl = input.environmentUrl ?? "";
  if (
    latest?.state === input.state &&
    (latest.environment_url ?? "") === environmentUrl &&
    (latest.description ?? "") === description
  ) {
    log.debug({ deploymentId: id, state: input.state }, "deployment status unchanged");
    return { id, sha: input.sha };
  }
  const deploymentId = id;
  await callGitHub("repos.createDeploymentStatus", () =>
    octokit.rest.repos.createDeploymentStatus({
      owner: pr.owner,
      repo: pr.repo,
      deployment_id: deploymentId,
      state: input.state,
      environment: input.environment,
      description,
      auto_inactive: true,
      ...(input.environmentUrl === undefined ? {} : { environment_url: input.environmentUrl }),
    }),
  );
  log.debug({ deploymentId, state: input.state }, "deployment status added");
  return { id, sha: input.sha };
}

/** An older Deployment of the environment: GitHub's auto_inactive skips transient environments, so Octostage does it. */
export async function deactivateDeployment(octokit: GitHubClient, pr: PullRequestRef, deploymentId: number, environment: string, log: Logger): Promise<void> {
  try {
    const latest = await latestStatus(octokit, pr, deploymentId);
    if (latest?.state === "inactive") return;
    await callGitHub("repos.createDeploymentStatus", () =>
      octokit.rest.repos.createDeploymentStatus({ owner: pr.owner, repo: pr.repo, deployment_id: deploymentId, state: "inactive", environment, description: "Superseded", auto_inactive: false }),
    );
    log.debug({ deploymentId }, "older deployment marked inactive");
  } catch (err) {
    if (isNotFound(err)) return; // deleted on GitHub: nothing left to deactivate
    throw err;
  }
}
