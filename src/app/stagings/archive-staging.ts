import { decideArchive } from "../../domain/intent/commands.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/** Scale to zero, volumes kept. */
export function archiveStaging(deps: SteerDeps, req: SteerRequest): Promise<CommandResult> {
  return steerStaging(deps, req, (current) => decideArchive(current, req.actor));
}
