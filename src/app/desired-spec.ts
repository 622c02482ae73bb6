import { effectiveConfig, namespaceQuotaProfiles } from "../domain/overrides.ts";
import type { RepoSettings } from "../domain/settings.ts";
import { buildDesiredSpec } from "../domain/spec.ts";
import type { DesiredSpec, StagingHead } from "../domain/spec.ts";
import type { StagingInputs } from "../domain/intent/inputs.ts";
import type { OverrideRecord } from "../ports/store.ts";

/** The project defaults with a staging's override edits applied (Octopod's app and deployment overrides). */
function settingsWithOverrides(settings: RepoSettings, edits: readonly OverrideRecord[]): RepoSettings {
  const cfg = effectiveConfig(settings, edits);
  return { ...settings, values: cfg.values, chart: cfg.chart, deployTimeoutSeconds: cfg.deployTimeoutSeconds };
}

/** What a staging should run: defaults + its overrides + the PR head (image tag, host). */
function desiredSpecFor(settings: RepoSettings, edits: readonly OverrideRecord[], head: StagingHead, name: string): DesiredSpec {
  const spec = buildDesiredSpec(settingsWithOverrides(settings, edits), head, name);
  const profile = effectiveConfig(settings, edits).namespaceQuota;
  const hard = profile ? namespaceQuotaProfiles[profile as keyof typeof namespaceQuotaProfiles] : undefined;
  if (!hard) return spec;
  // The namespaceQuota override picks another quota profile than the project's default.
  return { ...spec, namespaceQuota: { profile: profile!, hard: { ...hard } }, ...(spec.sandbox ? { sandbox: { ...spec.sandbox, resourceQuota: { ...hard } } } : {}) };
}

/**
 * The `spec` function of a change request: derived from the inputs the change leaves. A PR's
 * staging (`prNumber`) or a named one (null: its explicit image tag, if any, wins).
 */
export function pullRequestSpec(settings: RepoSettings, owner: string, repo: string, prNumber: number | null) {
  return (inputs: StagingInputs, overrides: readonly OverrideRecord[], name: string): DesiredSpec =>
    desiredSpecFor(settings, overrides, { owner, repo, number: prNumber, sha: inputs.headSha, ref: inputs.headRef, imageTag: inputs.imageTag }, name);
}

/** The spec function for an existing staging, whatever its origin. */
export function stagingSpec(settings: RepoSettings, s: { repoOwner: string; repoName: string; prNumber: number | null }) {
  return pullRequestSpec(settings, s.repoOwner, s.repoName, s.prNumber);
}
