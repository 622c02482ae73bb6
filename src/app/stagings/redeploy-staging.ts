import { decideRedeploy } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/** Deploy again with the current configuration; a fork's only at the approved commit. */
export function redeployStaging(deps: SteerDeps, req: SteerRequest): Promise<CommandResult> {
  return steerStaging(deps, req, (current) => decideRedeploy(current, req.actor));
}
