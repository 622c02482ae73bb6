import { reportDelayMs } from "../domain/report-pacing.ts";
import type { StagingStatus } from "../domain/state-machine.ts";
import type { StagingRecord, TransitionInput, TransitionOutcome } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "logger" | "clock">;

/**
 * Moves a staging's status through the state machine and, when anything changed, asks the
 * reporters to show it. An illegal move is refused and logged, never applied.
 */
export async function setStatus(
  deps: Deps,
  stagingId: string,
  to: StagingStatus,
  reason: string | null,
  cause: string,
  actor = "octostage",
): Promise<StagingRecord> {
  return (await applyTransition(deps, stagingId, { to, reason, cause, actor })).staging;
}

/** setStatus with the whole outcome (applied, refused, or stale when expectedStatusVersion no longer holds). */
export async function applyTransition(deps: Deps, stagingId: string, input: TransitionInput): Promise<TransitionOutcome> {
  const out = await deps.store.transition(stagingId, input);
  const { to, reason, cause } = input;
  if (out.applied) {
    deps.logger.info({ staging: out.staging.name, status: to, reason, cause }, "staging status changed");
    try {
      const delay = reportDelayMs(deps.clock.now(), out.staging.reported.at, out.changed);
      await deps.queue.enqueueReport(stagingId, out.staging.statusVersion, delay);
    } catch (err) {
      deps.logger.warn({ err, staging: out.staging.name }, "enqueue report failed; the reconciler will retry");
    }
  } else if (out.refused) {
    deps.logger.warn({ staging: out.staging.name, from: out.staging.status, to, cause }, "illegal status transition refused");
  }
  return out;
}
