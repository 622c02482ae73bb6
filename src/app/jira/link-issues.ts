/**
 * Links a staging to the Jira issues its PR names: keys of the repository's allowed Jira projects
 * in the branch name, the PR title and the PR body (jira.ts extractIssueKeys). Links from
 * `--jira KEY` (source "api") are kept. A failure is logged, never thrown: the staging's change
 * is recorded already, and the next PR event links again.
 */
import { extractIssueKeys, maxKeysPerStaging } from "../../domain/jira.ts";
import type { RepoSettings } from "../../domain/settings.ts";
import type { IssueLinkSource } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import { errorSummary } from "../change-staging.ts";

export async function linkIssues(
  deps: Pick<AppDeps, "store" | "logger"> & Partial<Pick<AppDeps, "issueTracker">>,
  settings: RepoSettings,
  stagingId: string,
  pr: { headRef: string; title: string; body: string },
): Promise<string[]> {
  const projects = settings.jira?.projects ?? [];
  if (projects.length === 0) return [];
  const links: { issueKey: string; source: IssueLinkSource }[] = [];
  const found: [IssueLinkSource, string[]][] = [
    ["branch", extractIssueKeys(projects, { branch: pr.headRef })],
    ["title", extractIssueKeys(projects, { texts: [pr.title] })],
    ["body", extractIssueKeys(projects, { texts: [pr.body] })],
  ];
  for (const [source, keys] of found) {
    for (const issueKey of keys) if (!links.some((l) => l.issueKey === issueKey) && links.length < maxKeysPerStaging) links.push({ issueKey, source });
  }
  try {
    await deps.store.setIssueLinks(stagingId, ["branch", "title", "body"], links, deps.issueTracker !== undefined);
  } catch (err) {
    deps.logger.warn({ stagingId, err: errorSummary(err) }, "could not record the staging's Jira issue links; the next pull request event tries again");
  }
  return links.map((l) => l.issueKey);
}
