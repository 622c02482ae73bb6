import { systemActor } from "../domain/actor.ts";
import { decidePullRequestEvent, pullRequestDrift } from "../domain/intent/pull-request.ts";
import { GitHubError } from "../ports/code-host.ts";
import type { AppDeps } from "./deps.ts";
import { changeAndEnqueue, errorSummary } from "./change-staging.ts";
import { pullRequestSpec } from "./desired-spec.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "codeHost" | "logger" | "clock">;

export interface PullRequestSyncOptions {
  /** Each open PR staging is checked at most this often. */
  everyMs: number;
  /** At most this many PRs per call (the reconciler calls every few seconds). */
  batch: number;
}

const defaultPullRequestSync: PullRequestSyncOptions = { everyMs: 10 * 60_000, batch: 10 };

/**
 * Webhooks are hints: a lost `closed` or `synchronize` would leave a staging running for ever,
 * or on an old commit. This asks GitHub about open PR stagings at a modest pace, with
 * conditional requests (an unchanged PR answers 304, which costs no rate limit), and applies
 * what changed as the system actor. A staging is archived only when GitHub answered that the PR
 * is closed: a failed call is never read as "closed".
 */
export async function syncPullRequests(deps: Deps, options: PullRequestSyncOptions = defaultPullRequestSync): Promise<{ checked: number; changed: number }> {
  const now = deps.clock.now();
  const due = await deps.store.listPullRequestsToCheck(new Date(now.getTime() - options.everyMs), options.batch);
  let changed = 0;
  let checked = 0;
  for (const s of due) {
    if (s.prNumber === null) continue; // listed for pull requests only
    const settings = deps.project.forRepo(`${s.repoOwner}/${s.repoName}`);
    const pr = { installationId: s.installationId, owner: s.repoOwner, repo: s.repoName, number: s.prNumber };
    let answer;
    try {
      answer = await deps.codeHost.getPullRequest(pr, s.prEtag);
    } catch (err) {
      const code = err instanceof GitHubError ? err.code : "error";
      deps.logger.warn({ staging: s.name, code, err: errorSummary(err) }, "could not ask GitHub about the pull request; nothing changes");
      if (code === "rate_limited") break;
      await deps.store.markPullRequestChecked(s.id, now, s.prEtag);
      continue;
    }
    checked++;
    if (answer.notModified || !settings) {
      await deps.store.markPullRequestChecked(s.id, now, s.prEtag);
      continue;
    }
    const facts = answer.pullRequest;
    await deps.store.markPullRequestChecked(s.id, now, answer.etag);
    const drift = pullRequestDrift(settings.trigger, s, facts);
    if (!drift) continue;
    const out = await changeAndEnqueue(deps, {
      target: { id: s.id },
      event: `reconcile.pull_request.${drift}`,
      decide: (current) => decidePullRequestEvent(settings.trigger, current?.staging ?? null, { ...facts, action: drift }, systemActor, settings.lifecycle),
      spec: pullRequestSpec(settings, s.repoOwner, s.repoName, s.prNumber),
    });
    if (out.outcome === "changed") {
      changed++;
      deps.logger.info({ staging: s.name, drift, sha: facts.headSha, state: facts.state }, "GitHub says the pull request changed (a webhook was missed): applied");
    }
  }
  return { checked, changed };
}
