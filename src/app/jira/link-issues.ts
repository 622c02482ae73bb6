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

type LinkDeps = Pick<AppDeps, "store" | "logger" | "queue"> & Partial<Pick<AppDeps, "issueTracker">>;

/** Records the links; a new one with Jira configured gets its remote link promptly (a report now). */
export async function saveIssueLinks(deps: LinkDeps, stagingId: string, sources: readonly IssueLinkSource[], links: readonly { issueKey: string; source: IssueLinkSource }[]): Promise<void> {
  const { added } = await deps.store.setIssueLinks(stagingId, sources, links, deps.issueTracker !== undefined);
  if (added.length === 0 || !deps.issueTracker) return;
  const s = await deps.store.get(stagingId);
  if (s) await deps.queue.enqueueReport(s.id, s.statusVersion, 0).catch((err: unknown) => deps.logger.warn({ stagingId, err: errorSummary(err) }, "enqueue failed; the reconciler will write the remote links"));
}

export async function linkIssues(
  deps: LinkDeps,
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
    await saveIssueLinks(deps, stagingId, ["branch", "title", "body"], links);
  } catch (err) {
    deps.logger.warn({ stagingId, err: errorSummary(err) }, "could not record the staging's Jira issue links; the next pull request event tries again");
  }
  return links.map((l) => l.issueKey);
}

/** A PR's title or body was edited: what links to Jira issues. */
export interface PullRequestEdit {
  owner: string;
  repo: string;
  number: number;
  headRef: string;
  title: string;
  body: string;
}

/** Links the PR's staging (if it has one) again from its edited title and body. */
export async function relinkPullRequest(deps: LinkDeps & Pick<AppDeps, "project">, pr: PullRequestEdit): Promise<string[] | null> {
  const settings = deps.project.forRepo(`${pr.owner}/${pr.repo}`);
  if (!settings?.jira) return null;
  const staging = await deps.store.find({ repoOwner: pr.owner, repoName: pr.repo, prNumber: pr.number });
  if (!staging) return null;
  return linkIssues(deps, settings, staging.id, pr);
}
