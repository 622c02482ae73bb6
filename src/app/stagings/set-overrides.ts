import { decideOverrides } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import type { OverrideChange, OverrideScope } from "../../domain/intent/inputs.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/**
 * Saves override edits as a merge (keys not named stay), in the same transaction as the new
 * desired spec: an edit made while a push is recorded is never lost from what gets deployed.
 * Callers validate the edits first (see overrides-validation.ts and the chart repository policy).
 */
export function setOverrides(deps: SteerDeps, req: SteerRequest & { scope: OverrideScope; changes: readonly OverrideChange[] }): Promise<CommandResult> {
  return steerStaging(deps, req, (current) => decideOverrides(current, req.actor, req.scope, req.changes));
}
