import { decideOverrides } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import type { OverrideChange, OverrideScope } from "../../domain/intent/inputs.ts";
import { effectiveConfig } from "../../domain/overrides.ts";
import { latestEdits } from "../../domain/overrides.ts";
import { valuesDocumentProblem } from "../../domain/overrides-validation.ts";
import { defaultValuePolicy, valuePolicyRefusal } from "../../domain/value-policy.ts";
import { firstListHole } from "../../domain/values.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/**
 * Saves override edits as a merge (keys not named stay), in the same transaction as the new
 * desired spec: an edit made while a push is recorded is never lost from what gets deployed.
 * Refused, with the rule, when the values would then have a list with holes or grow past the
 * limits. Callers validate each edit first (see overrides-validation.ts and the chart repository policy).
 */
export function setOverrides(deps: SteerDeps, req: SteerRequest & { scope: OverrideScope; changes: readonly OverrideChange[] }): Promise<CommandResult> {
  return steerStaging(deps, req, (current, overrides, settings) => {
    const policy = settings.valuePolicy ?? defaultValuePolicy;
    const refused = req.changes.map((c) => (c.scope === "app" ? valuePolicyRefusal(policy, c.key, c.op, c.value) : undefined)).find(Boolean);
    if (refused) return decideOverrides(current, req.actor, req.scope, req.changes, refused);
    const edits = [...overrides, ...req.changes.map((c) => ({ ...c, actor: req.actor.id, source: req.actor.source, at: new Date(0) }))];
    const values = effectiveConfig(settings, edits).values;
    const problem = valuesDocumentProblem(values, latestEdits(edits).length, firstListHole(values));
    return decideOverrides(current, req.actor, req.scope, req.changes, problem);
  });
}
