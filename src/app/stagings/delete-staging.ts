import { decideDelete } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/** helm uninstall and the namespace with its volumes; done once the namespace is gone. */
export function deleteStaging(deps: SteerDeps, req: SteerRequest): Promise<CommandResult> {
  return steerStaging(deps, req, (current) => decideDelete(current, req.actor));
}
