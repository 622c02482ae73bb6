import { reportDelayMs } from "../domain/report-pacing.ts";
import type { ChangeOutcome, ChangeRequest } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "logger" | "clock">;

/**
 * Records a change of intent (one transaction), then enqueues what it implies. The queue is a
 * hint: the intent is durable before anything is queued, a failed enqueue (Redis down) is
 * logged and healed by the reconciler, never thrown at the caller.
 */
export async function changeAndEnqueue<R>(deps: Deps, req: ChangeRequest<R>): Promise<ChangeOutcome<R>> {
  const outcome = await deps.store.changeStaging(req);
  if (outcome.outcome !== "changed") return outcome;
  const { staging } = outcome;
  try {
    if (staging.generation > staging.observedGeneration && staging.desiredState !== "held") {
      await deps.queue.enqueueDeploy(staging.id, staging.generation);
    }
    await deps.queue.enqueueReport(staging.id, staging.statusVersion, reportDelayMs(deps.clock.now(), null, true));
  } catch (err) {
    deps.logger.warn({ err: errorSummary(err), staging: staging.name }, "enqueue failed; the reconciler will pick the staging up");
  }
  return outcome;
}

/** An error for a log line: its name, code and message, never the inputs that caused it. */
export function errorSummary(err: unknown): { name: string; code?: string; message: string } {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, ...(typeof code === "string" ? { code } : {}), message: err.message };
}
