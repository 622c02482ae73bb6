import { decideRestore } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/** Bring an archived staging back, at the replica counts it had; a fork's only at the approved commit. */
export function restoreStaging(deps: SteerDeps, req: SteerRequest): Promise<CommandResult> {
  return steerStaging(deps, req, (current) => decideRestore(current, req.actor), { startsStaging: true });
}
