import type { Logger } from "../../ports/logger.ts";
import type { CheckRunInput, PullRequestRef } from "../../ports/code-host.ts";
import { clipUtf8, maxCheckSummaryBytes } from "../../domain/report-view.ts";
import { callGitHub, isNotFound } from "./errors.ts";
import type { GitHubClient } from "./octokit.ts";

const CHECK_RUN_NAME = "Octostage";

function checkRunFields(input: CheckRunInput, now: Date) {
  const output = { title: input.title, summary: clipUtf8(input.summary, maxCheckSummaryBytes) };
  const detailsUrl = input.detailsUrl === undefined ? {} : { details_url: input.detailsUrl };
  if (input.state.status !== "completed") return { status: input.state.status, output, ...detailsUrl };
  return {
    status: "completed" as const,
    conclusion: input.state.conclusion,
    // GitHub documents YYYY-MM-DDTHH:MM:SSZ.
    completed_at: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    output,
    ...detailsUrl,
  };
}

/** Updates Octostage's check run when it is for the same SHA; otherwise (or when it is gone) creates one. */
export async function ensureCheckRun(
  octokit: GitHubClient,
  pr: PullRequestRef,
  input: CheckRunInput,
  log: Logger,
  now: Date,
): Promise<{ id: number; sha: string }> {
  const fields = checkRunFields(input, now);
  const existing = input.existing;
  if (existing?.sha === input.sha) {
    try {
      await callGitHub("checks.update", () =>
        octokit.rest.checks.update({ owner: pr.owner, repo: pr.repo, check_run_id: existing.id, ...fields }),
      );
      log.debug({ checkRunId: existing.id, sha: input.sha, status: fields.status }, "check run updated");
      return { id: existing.id, sha: input.sha };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      log.info({ checkRunId: existing.id, sha: input.sha }, "check run is gone; creating a new one");
    }
  }
  const { data } = await callGitHub("checks.create", () =>
    octokit.rest.checks.create({ owner: pr.owner, repo: pr.repo, name: CHECK_RUN_NAME, head_sha: input.sha, ...fields }),
  );
  log.debug({ checkRunId: data.id, sha: input.sha, status: fields.status }, "check run created");
  return { id: data.id, sha: input.sha };
}
