// Builders for test data: a project config and desired specs, as DevOps would write them.
import { parseProjectConfig } from "../../src/config/project.ts";
import type { ProjectConfig } from "../../src/config/project.ts";
import { buildDesiredSpec, stagingIdentity } from "../../src/domain/spec.ts";
import type { IntentInput } from "../../src/ports/store.ts";

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

/** An intent as the intake records it for `pull_request.opened`/`synchronize` of PR `pr` at `sha`. */
export function deployIntent(pr: number, headSha: string, extra: Partial<IntentInput> = {}): IntentInput {
  const settings = testProject().repositories[0]!;
  const id = stagingIdentity(settings, pr);
  return {
    event: "pull_request.synchronize",
    key: { repoOwner: testRepo.owner, repoName: testRepo.repo, prNumber: pr },
    create: { ...id, installationId: 42 },
    desiredState: "active",
    desiredSpec: buildDesiredSpec(settings, { ...testRepo, number: pr, sha: headSha, ref: "feature" }, id.name),
    skipReason: null,
    action: { kind: "deploy", actor: "dev", source: "github" },
    bumpGeneration: true,
    ...extra,
  };
}
