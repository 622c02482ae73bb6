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
import type { Logger } from "../../ports/logger.ts";
import type { OverrideRecord } from "../../ports/store.ts";
import { issuesOf } from "../charts.ts";
import type { ChartCatalog } from "../charts.ts";

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

/**
 * The chart's own rules (values.schema.json) for these edits, when the chart has a schema and
 * Octostage can read it: the issue at (or under) an edited key, naming the key and the rule.
 * A chart that cannot be read now (helm missing, the repository down) is not a reason to refuse:
 * helm checks the schema again when it deploys.
 */
export async function chartSchemaProblem(
  deps: { charts?: ChartCatalog | undefined; logger: Logger },
  settings: RepoSettings,
  existing: readonly OverrideRecord[],
  changes: readonly OverrideChange[],
): Promise<string | undefined> {
  const appKeys = changes.filter((c) => c.scope === "app").map((c) => c.key);
  if (!deps.charts || appKeys.length === 0) return undefined;
  const config = effectiveConfig(settings, [...existing, ...changes.map((c) => ({ ...c, actor: "", source: "", at: new Date(0) }))]);
  const info = await deps.charts.info(config.chart);
  if (!info.ok) {
    deps.logger.warn({ repo: settings.repo, reason: info.message }, "could not read the chart's values.schema.json: overrides are checked by helm at deploy time");
    return undefined;
  }
  let issues;
  try {
    issues = deps.charts.check(info.value, config.values);
  } catch (err) {
    deps.logger.warn({ repo: settings.repo, reason: (err as Error).message }, "the chart's values.schema.json cannot be used: overrides are checked by helm at deploy time");
    return undefined;
  }
  const issue = issuesOf(issues, appKeys)[0];
  if (!issue) return undefined;
  const chart = `${config.chart.name ?? config.chart.repository}${info.value.version ? ` ${info.value.version}` : ""}`;
  return `"${issue.path}" ${issue.message} (the values.schema.json of the chart ${chart})`;
}
