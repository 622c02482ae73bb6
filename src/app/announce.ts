import { reportDelayMs } from "../domain/report-pacing.ts";
import type { TransitionOutcome } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { errorSummary } from "./change-staging.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "logger" | "clock">;

/**
 * After a status move: log it and ask the reporters to show it, paced (a new status soon, a
 * new reason alone later). A refused move is logged, never applied. A failed enqueue is healed
 * by the reconciler.
 */
export async function announce(deps: Deps, out: TransitionOutcome | undefined, cause: string): Promise<void> {
  if (!out) return;
  if (!out.applied) {
    if (out.refused) deps.logger.warn({ staging: out.staging.name, from: out.staging.status, cause, refused: out.refused }, "illegal status transition refused");
    return;
  }
  const s = out.staging;
  deps.logger.info({ staging: s.name, status: s.status, reason: s.reason, cause }, "staging status changed");
  try {
    const channel = await deps.store.getChannel(s.id, "github");
    await deps.queue.enqueueReport(s.id, s.statusVersion, reportDelayMs(deps.clock.now(), channel?.reportedAt ?? null, out.changed));
  } catch (err) {
    deps.logger.warn({ err: errorSummary(err), staging: s.name }, "enqueue report failed; the reconciler will retry");
  }
}
