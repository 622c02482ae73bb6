import { HelmError } from "../ports/helm.ts";
import { LeaseLostError, StoreUnavailableError } from "../ports/store.ts";
import type { StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { announce } from "./announce.ts";
import { errorSummary } from "./change-staging.ts";
import { applyArchive } from "./deploy/apply-archive.ts";
import { applyCleanup } from "./deploy/apply-cleanup.ts";
import { applyDeploy } from "./deploy/apply-deploy.ts";
import { StagingError } from "./deploy/errors.ts";
import { startLeaseGuard } from "./deploy/lease-guard.ts";
import type { Work } from "./deploy/work.ts";

export type DeployOutcome =
  /** Another worker holds the staging; it re-checks for newer intent when it is done. */
  | { outcome: "busy" }
  | { outcome: "done"; generations: number[] }
  /** The latest generation failed and is tried again at `retryAt` (Postgres holds when; a job is queued for then). */
  | { outcome: "retrying"; retryAt: Date }
  /** The lease was lost (or the worker is shutting down): whoever holds it now does the work. */
  | { outcome: "stopped" }
  /** Retrying cannot help: the staging is failed with the reason. */
  | { outcome: "permanent_failure"; error: Error };

type Deps = Pick<AppDeps, "store" | "queue" | "helm" | "cluster" | "clock" | "logger" | "workerId" | "timing" | "sleep">;

function isPermanent(err: unknown): boolean {
  return (err instanceof HelmError || err instanceof StagingError) && err.permanent;
}

/** When to try a failed generation again: exponential backoff from the failures recorded on the staging. */
function retryAt(deps: Pick<Deps, "timing" | "clock">, s: StagingRecord): Date {
  const deleting = s.desiredState === "deleted";
  const base = deleting ? deps.timing.cleanupRetryBaseMs : deps.timing.retryBaseMs;
  const max = deleting ? deps.timing.cleanupRetryMaxMs : deps.timing.retryMaxMs;
  return new Date(deps.clock.now().getTime() + Math.min(max, base * 2 ** Math.min(s.attempts, 16)));
}

async function applyGeneration(work: Work): Promise<void> {
  const { deps, staging: s, guard } = work;
  switch (s.desiredState) {
    case "deleted":
      return applyCleanup(work);
    case "archived":
      return applyArchive(work);
    case "active":
      return applyDeploy(work);
    case "held": {
      await deps.store.startGeneration(guard.lease, { generation: s.generation });
      await deps.store.finishGeneration(guard.lease, { generation: s.generation, action: { state: "skipped" }, observed: true });
    }
  }
}

/**
 * A generation failed; the failures of a generation are counted on the staging (Postgres, not
 * the queue job: a recovery job must not start the count again). Not final: the action goes back
 * to queued, the status says what is retried, and it is tried again at `retryAt` (backoff).
 * Final (a permanent error, or `maxAttempts` failures): the staging is failed with the reason. A
 * cleanup is never given up on: it becomes cleanup_failed and keeps being retried, less often.
 * Returns when to try again, if at all.
 */
async function failGeneration(work: Work, err: unknown, permanent: boolean): Promise<Date | undefined> {
  const { deps, staging: s, guard } = work;
  const helmErr = err instanceof HelmError ? err : undefined;
  const message = errorSummary(err).message;
  const deleting = s.desiredState === "deleted";
  const final = permanent || s.attempts + 1 >= deps.timing.maxAttempts;
  const action = {
    state: final && !deleting ? ("failed" as const) : ("queued" as const),
    exitCode: helmErr?.result?.exitCode ?? null,
    ...(helmErr?.result ? { durationMs: helmErr.result.durationMs, output: [helmErr.result.stdout, helmErr.result.stderr].filter(Boolean).join("\n") } : {}),
    error: message,
  };
  const cause = helmErr ? `helm ${helmErr.code}` : err instanceof StagingError ? err.code : "error";
  const next = final && !deleting ? undefined : retryAt(deps, s);
  const restoring = s.status === "archived" || s.status === "archiving" || s.status === "restoring";
  // Keep showing what is being attempted: an archive that will be retried is still archiving.
  const status =
    final && deleting
      ? { to: "cleanup_failed" as const, reason: message }
      : final
        ? { to: "failed" as const, reason: message }
        : { to: deleting ? ("cleaning" as const) : s.desiredState === "archived" ? ("archiving" as const) : restoring ? ("restoring" as const) : ("deploying" as const), reason: `retrying after: ${message}` };
  const out = await deps.store.finishGeneration(guard.lease, {
    generation: s.generation,
    action,
    observed: final && !deleting,
    ...(final && !deleting ? { deployOutcome: { error: message }, retryAt: null } : { retryAt: next ?? null }),
    status: { ...status, cause, actor: "octostage" },
  });
  await announce(deps, out.transition, cause);
  return next;
}

/**
 * Makes a staging match its LATEST desired spec, under the staging's deploy lease (never two
 * helm operations on one staging, across all workers). The lease is fenced: while helm runs it
 * is renewed, and when it is lost helm is stopped and nothing more is written. Applies
 * generations until none is pending; after releasing the lease it looks once more, so intent
 * recorded while it worked is never left behind.
 */
/** A worker that shuts down mid-run: the staging says so, and another worker is asked to take it now. */
async function handOver(work: Work): Promise<void> {
  const { deps, staging: s, guard } = work;
  const status = s.desiredState === "deleted" ? "cleaning" : s.desiredState === "archived" ? "archiving" : s.status === "restoring" || s.status === "archived" ? "restoring" : "deploying";
  try {
    const out = await deps.store.progress(guard.lease, { to: status, reason: "handed over: the worker running it is shutting down", cause: "shutdown", actor: "octostage" });
    await announce(deps, out.transition, "shutdown");
  } catch (err) {
    work.log.warn({ err: errorSummary(err) }, "could not record the hand-over");
  }
  await deps.queue.enqueueDeploy(s.id, s.generation, { recovery: true }).catch(() => undefined);
}

export async function runDeploy(deps: Deps, stagingId: string, shutdown?: AbortSignal): Promise<DeployOutcome> {
  const log = deps.logger.child({ stagingId });
  const generations: number[] = [];
  for (;;) {
    if (shutdown?.aborted) return { outcome: "stopped" };
    const lease = await deps.store.acquireLease(stagingId, "deploy", deps.workerId, deps.timing.deployLeaseMs);
    if (!lease) {
      log.debug({}, "staging busy in another worker");
      return generations.length ? { outcome: "done", generations } : { outcome: "busy" };
    }
    const guard = startLeaseGuard({ ...deps, logger: log }, lease, shutdown);
    try {
      for (;;) {
        const s = await deps.store.get(stagingId);
        if (!s || s.generation <= s.observedGeneration) break;
        if (s.retryAt && s.retryAt.getTime() > deps.clock.now().getTime()) break; // a cleanup waiting for its next try
        const work: Work = { deps: { ...deps, logger: log }, guard, staging: s, log: log.child({ staging: s.name, generation: s.generation }) };
        work.log.info({ desired: s.desiredState, token: lease.token }, "applying generation");
        try {
          await applyGeneration(work);
          generations.push(s.generation);
        } catch (err) {
          if (shutdown?.aborted && !(err instanceof LeaseLostError)) {
            // Stopped for a shutdown while the lease is still ours: say so, hand the work on at once.
            await handOver(work);
            return { outcome: "stopped" };
          }
          if (guard.lost() || err instanceof LeaseLostError) {
            work.log.warn({ err: errorSummary(err) }, "stopped: the deploy lease is no longer ours; its holder carries on");
            return { outcome: "stopped" };
          }
          if (err instanceof StoreUnavailableError) throw err;
          const permanent = isPermanent(err);
          work.log.warn({ err: errorSummary(err), permanent, attempts: s.attempts + 1 }, "deploy failed");
          let next: Date | undefined;
          try {
            next = await failGeneration(work, err, permanent);
          } catch (failErr) {
            if (failErr instanceof LeaseLostError) return { outcome: "stopped" };
            throw failErr;
          }
          if (next) {
            const delayMs = Math.max(0, next.getTime() - deps.clock.now().getTime());
            await deps.queue.enqueueDeploy(s.id, s.generation, { recovery: true, delayMs }).catch(() => undefined); // the reconciler also finds it at retryAt
            return { outcome: "retrying", retryAt: next };
          }
          if (permanent) return { outcome: "permanent_failure", error: err as Error };
          generations.push(s.generation);
        }
      }
    } finally {
      guard.stop();
      await deps.store.releaseLease(lease).catch((err: unknown) => log.warn({ err: errorSummary(err) }, "could not release the deploy lease; it expires by itself"));
    }
    const after = await deps.store.get(stagingId);
    if (!after || after.generation <= after.observedGeneration || (after.retryAt && after.retryAt.getTime() > deps.clock.now().getTime())) {
      return { outcome: "done", generations };
    }
  }
}
