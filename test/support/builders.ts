// Builders for test data: a project config, and changes recorded as the intake records them.
import { pullRequestSpec } from "../../src/app/desired-spec.ts";
import { parseProjectConfig } from "../../src/config/project.ts";
import type { ProjectConfig } from "../../src/config/project.ts";
import { githubActor } from "../../src/domain/actor.ts";
import { decidePullRequestEvent } from "../../src/domain/intent/pull-request.ts";
import type { PullRequestFacts, PullRequestOutcome } from "../../src/domain/intent/pull-request.ts";
import { stagingIdentity } from "../../src/domain/spec.ts";
import type { ChangeOutcome, ChangeRequest, StagingRecord, StagingStore } from "../../src/ports/store.ts";

export const testRepo = { owner: "octo-org", repo: "web" };

export function testProject(overrides: Record<string, unknown> = {}): ProjectConfig {
  return parseProjectConfig({
    repositories: [
      {
        repo: `${testRepo.owner}/${testRepo.repo}`,
        name: "web",
        chart: { repository: "https://charts.example.com", name: "web", version: "1.2.3" },
        values: { replicaCount: 2, image: { repository: "ghcr.io/octo-org/web" } },
        hostTemplate: "{name}.staging.example.com",
        ...overrides,
      },
    ],
  });
}

export function sha(n: number): string {
  return n.toString(16).padStart(40, "a");
}

export interface PushOptions extends Partial<PullRequestFacts> {
  deliveryId?: string;
  sender?: string;
  project?: ProjectConfig;
}

/** The change the intake records for a `pull_request` event of PR `pr` at `headSha` (synchronize by default). */
export function pullRequestChange(pr: number, headSha: string, opts: PushOptions = {}): ChangeRequest<PullRequestOutcome> {
  const settings = (opts.project ?? testProject()).repositories[0]!;
  const facts: PullRequestFacts = {
    action: opts.action ?? "synchronize",
    state: opts.state ?? "open",
    merged: opts.merged ?? false,
    headSha,
    headRef: opts.headRef ?? "feature",
    draft: opts.draft ?? false,
    labels: opts.labels ?? [],
    fromFork: opts.fromFork ?? false,
    updatedAt: opts.updatedAt ?? null,
  };
  return {
    target: { key: { repoOwner: testRepo.owner, repoName: testRepo.repo, prNumber: pr }, create: { ...stagingIdentity(settings, pr), installationId: 42 } },
    ...(opts.deliveryId ? { deliveryId: opts.deliveryId } : {}),
    event: `pull_request.${facts.action}`,
    decide: (current) => decidePullRequestEvent(settings.trigger, current?.staging ?? null, facts, githubActor(opts.sender ?? "dev")),
    spec: pullRequestSpec(settings, testRepo.owner, testRepo.repo, pr),
  };
}

export function recordPullRequestEvent(store: StagingStore, pr: number, headSha: string, opts: PushOptions = {}): Promise<ChangeOutcome<PullRequestOutcome>> {
  return store.changeStaging(pullRequestChange(pr, headSha, opts));
}

/** Records a push and returns the staging after it (fails the test when nothing was recorded). */
export async function pushed(store: StagingStore, pr: number, headSha: string, opts: PushOptions = {}): Promise<StagingRecord> {
  const out = await recordPullRequestEvent(store, pr, headSha, opts);
  if (out.outcome !== "changed") throw new Error(`push of ${headSha} to PR ${pr} not recorded: ${JSON.stringify(out)}`);
  return out.staging;
}
