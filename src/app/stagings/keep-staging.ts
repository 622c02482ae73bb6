import { decideKeep, refuse } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import { parseKeep } from "../../domain/lifecycle.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/**
 * Keeps a staging from the idle and retention policies: `arg` as people type it (`7d`,
 * `until 2027-01-15`, nothing for until `keep off`, `off`), read against the clock now.
 */
export function keepStaging(deps: SteerDeps, req: SteerRequest & { arg: string }): Promise<CommandResult> {
  const keep = parseKeep(req.arg, deps.clock.now());
  return steerStaging(deps, req, (current) => ("error" in keep ? refuse("invalid_keep", keep.error) : decideKeep(current, req.actor, keep.keepUntil)));
}
