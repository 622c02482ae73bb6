import { decideApprove } from "../../domain/intent/commands.ts";
import type { ApprovalRequest, CommandResult } from "../../domain/intent/commands.ts";
import { steerStaging } from "./steer.ts";
import type { SteerDeps, SteerRequest } from "./steer.ts";

/** Deploy now, also what policy holds back; for a fork, approve exactly the commit the person saw. */
export function approveStaging(deps: SteerDeps, req: SteerRequest & ApprovalRequest): Promise<CommandResult> {
  return steerStaging(deps, req, (current) => decideApprove(current, req.actor, req), { startsStaging: true });
}
