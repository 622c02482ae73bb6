/**
 * The rules every override must pass, from every surface (PR comments, API, CLI, and later
 * Slack and the dashboard): the key and value rules, the chart repositories the operators
 * allow, the repository's value policy, and what the values add up to (no list with holes,
 * size and count limits). The first problem, for a human, or undefined.
 */
import type { OverrideChange } from "../../domain/intent/inputs.ts";
import { chartRepositoryAllowed, effectiveConfig, latestEdits } from "../../domain/overrides.ts";
import { validateOverride, validateOverrideKey, valuesDocumentProblem } from "../../domain/overrides-validation.ts";
import type { RepoSettings } from "../../domain/settings.ts";
import { defaultValuePolicy, valuePolicyRefusal } from "../../domain/value-policy.ts";
import { firstListHole } from "../../domain/values.ts";
import type { OverrideRecord } from "../../ports/store.ts";

export function overridesProblem(settings: RepoSettings, existing: readonly OverrideRecord[], changes: readonly OverrideChange[]): string | undefined {
  const policy = settings.valuePolicy ?? defaultValuePolicy;
  for (const c of changes) {
    const invalid = c.op === "set" ? validateOverride(c.scope, c.key, c.value) : validateOverrideKey(c.scope, c.key);
    if (invalid) return invalid;
    if (c.scope === "deployment" && c.key === "chart.repository" && c.op === "set" && !chartRepositoryAllowed(settings, String(c.value))) {
      return `this chart repository is not allowed for ${settings.repo}: the project config's chart.allowedRepositories lists where a staging's chart may come from`;
    }
    if (c.scope === "app") {
      const refused = valuePolicyRefusal(policy, c.key, c.op, c.value);
      if (refused) return refused;
    }
  }
  if (changes.length === 0) return undefined;
  const edits = [...existing, ...changes.map((c) => ({ ...c, actor: "", source: "", at: new Date(0) }))];
  const values = effectiveConfig(settings, edits).values;
  return valuesDocumentProblem(values, latestEdits(edits).length, firstListHole(values));
}
