import type { IntentInput, IntentOutcome } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "logger">;

/**
 * Records intent (one transaction), then enqueues the work it implies. Intent is durable
 * before anything is queued; a failed enqueue is healed by the reconciler, so it is logged,
 * not thrown.
 */
export async function recordIntentAndEnqueue(deps: Deps, intent: IntentInput): Promise<IntentOutcome> {
  const outcome = await deps.store.recordIntent(intent);
  if (outcome.outcome === "duplicate") return outcome;
  const { staging } = outcome;
  try {
    if (intent.bumpGeneration) await deps.queue.enqueueDeploy(staging.id, staging.generation);
    await deps.queue.enqueueReport(staging.id, staging.statusVersion);
  } catch (err) {
    deps.logger.warn({ err, staging: staging.name }, "enqueue failed; the reconciler will pick the staging up");
  }
  return outcome;
}
