import type { StagingStatus } from "../domain/state-machine.ts";
import type { StagingRecord, TransitionInput, TransitionOutcome } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { announce } from "./announce.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "logger" | "clock">;

/**
 * Moves a staging's status through the state machine (for observers: health, timeouts; lease
 * holders use the store's fenced writes) and, when anything changed, asks the reporters to show it.
 */
export async function setStatus(deps: Deps, stagingId: string, to: StagingStatus, reason: string | null, cause: string, actor = "octostage"): Promise<StagingRecord> {
  return (await applyTransition(deps, stagingId, { to, reason, cause, actor })).staging;
}

/** setStatus with the whole outcome (applied, refused, or stale when expectedStatusVersion no longer holds). */
export async function applyTransition(deps: Deps, stagingId: string, input: TransitionInput): Promise<TransitionOutcome> {
  const out = await deps.store.transition(stagingId, input);
  await announce(deps, out, input.cause);
  return out;
}
