import { decideOverrides } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import type { OverrideChange, OverrideScope } from "../../domain/intent/inputs.ts";
import { chartSchemaProblem, overridesProblem } from "./override-rules.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/**
 * Saves override edits as a merge (keys not named stay), in the same transaction as the new
 * desired spec: an edit made while a push is recorded is never lost from what gets deployed.
 * Refused, with the rule, when an edit breaks the override rules (override-rules.ts).
 */
export async function setOverrides(deps: SteerDeps, req: SteerRequest & { scope: OverrideScope; changes: readonly OverrideChange[] }): Promise<CommandResult> {
  // The chart's schema is read (helm) before the transaction, against the overrides as they are now.
  const staging = await deps.store.get(req.stagingId);
  const settings = staging ? deps.project.forRepo(`${staging.repoOwner}/${staging.repoName}`) : undefined;
  const schemaProblem = staging && settings ? await chartSchemaProblem(deps, settings, await deps.store.listOverrides(staging.id), req.changes) : undefined;
  return steerStaging(deps, req, (current, overrides, settings) =>
    decideOverrides(current, req.actor, req.scope, req.changes, overridesProblem(settings, overrides, req.changes) ?? schemaProblem),
  );
}
