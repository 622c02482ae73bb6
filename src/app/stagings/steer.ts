import type { Actor } from "../../domain/actor.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import type { CurrentStaging, IntentDecision } from "../../domain/intent/inputs.ts";
import type { RepoSettings } from "../../domain/settings.ts";
import type { OverrideRecord } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import { changeAndEnqueue } from "../change-staging.ts";
import { checkRunningLimit, makeRoom, withinLimit } from "../lifecycle/running-limit.ts";
import { refuse } from "../../domain/intent/commands.ts";
import { stagingSpec } from "../desired-spec.ts";

export type SteerDeps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock"> & Partial<Pick<AppDeps, "charts">>;

/** Which staging a person steers, and who they are. */
export interface SteerRequest {
  stagingId: string;
  actor: Actor;
  /** What brought the request, for the audit log ("issue_comment.created", "api"...). */
  event: string;
  /** Added to the audit entry (the PR comment that asked, say). */
  detail?: Record<string, unknown>;
}

/**
 * Runs one decision on a staging in one transaction (the row locked, the decision taken on it
 * as it is now, the spec derived from the result), then enqueues. Every surface that steers a
 * staging goes through here.
 */
export async function steerStaging(
  deps: SteerDeps,
  req: SteerRequest,
  decide: (current: CurrentStaging, overrides: readonly OverrideRecord[], settings: RepoSettings) => IntentDecision<CommandResult>,
  /** `startsStaging`: the change may start the staging (restore, deploy): the repository's running limit applies. */
  options: { startsStaging?: boolean } = {},
): Promise<CommandResult> {
  const staging = await deps.store.get(req.stagingId);
  if (!staging) return { ok: false, code: "deleted", message: "This staging no longer exists." };
  const settings = deps.project.forRepo(`${staging.repoOwner}/${staging.repoName}`);
  if (!settings) return { ok: false, code: "deleted", message: `${staging.repoOwner}/${staging.repoName} is no longer configured in Octostage.` };
  const limit = options.startsStaging ? await checkRunningLimit(deps, settings, staging.id) : ({ ok: true } as const);
  const out = await changeAndEnqueue(deps, {
    target: { id: staging.id },
    event: req.event,
    decide: (current) => {
      if (!current) throw new Error(`staging ${staging.id} disappeared`);
      const decision = withinLimit(limit, current.staging, decide(current.staging, current.overrides, settings), (message) => refuse("running_limit", message));
      if (!decision.change || !req.detail) return decision;
      return { ...decision, action: { ...decision.action, detail: { ...req.detail, ...decision.action.detail } } };
    },
    spec: stagingSpec(settings, staging),
  });
  if (out.outcome === "duplicate") throw new Error("a steering change has no delivery id and cannot be a duplicate");
  if (out.outcome === "changed" && out.staging.desiredState === "active") await makeRoom(deps, settings, limit, staging.name);
  return out.result;
}
