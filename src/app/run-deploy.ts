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

export interface DeployAttempt {
  /** 1-based attempt number of the queue job, and how many it gets. */
  attempt: number;
  maxAttempts: number;
}

export type DeployOutcome =
  /** Another worker holds the staging; it re-checks for newer intent when it is done. */
  | { outcome: "busy" }
  | { outcome: "done"; generations: number[] }
  /** The lease was lost (or the worker is shutting down): whoever holds it now does the work. */
  | { outcome: "stopped" }
  /** Retrying cannot help: the staging is failed with the reason. */
  | { outcome: "permanent_failure"; error: Error };

type Deps = Pick<AppDeps, "store" | "queue" | "helm" | "cluster" | "clock" | "logger" | "workerId" | "timing" | "sleep">;

function isPermanent(err: unknown): boolean {
  return (err instanceof HelmError || err instanceof StagingError) && err.permanent;
}

function cleanupRetryAt(deps: Pick<Deps, "timing" | "clock">, s: StagingRecord): Date {
  const { cleanupRetryBaseMs, cleanupRetryMaxMs } = deps.timing;
  const wait = Math.min(cleanupRetryMaxMs, cleanupRetryBaseMs * 2 ** Math.min(s.attempts, 16));
  return new Date(deps.clock.now().getTime() + wait);
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
 * A generation failed. Not final: the action goes back to queued and the status says what is
 * retried (the queue job retries with backoff). Final: the staging is failed with the reason;
 * a cleanup is never given up on, it becomes cleanup_failed and is tried again later (backoff).
 */
async function failGeneration(work: Work, err: unknown, final: boolean): Promise<void> {
  const { deps, staging: s, guard } = work;
  const helmErr = err instanceof HelmError ? err : undefined;
  const message = errorSummary(err).message;
  const action = {
    state: final ? ("failed" as const) : ("queued" as const),
    exitCode: helmErr?.result?.exitCode ?? null,
    ...(helmErr?.result ? { durationMs: helmErr.result.durationMs, output: [helmErr.result.stdout, helmErr.result.stderr].filter(Boolean).join("\n") } : {}),
    error: message,
  };
  const cause = helmErr ? `helm ${helmErr.code}` : err instanceof StagingError ? err.code : "error";
  const deleting = s.desiredState === "deleted";
  let out;
  if (deleting && final) {
    out = await deps.store.finishGeneration(guard.lease, {
      generation: s.generation,
      action,
      observed: false,
      retryAt: cleanupRetryAt(deps, s),
      status: { to: "cleanup_failed", reason: message, cause, actor: "octostage" },
    });
  } else if (final) {
    out = await deps.store.finishGeneration(guard.lease, {
      generation: s.generation,
      action,
      observed: true,
      deployOutcome: { error: message },
      status: { to: "failed", reason: message, cause, actor: "octostage" },
    });
  } else {
    // Keep showing what is being attempted: an archive that will be retried is still archiving.
    const inProgress = deleting ? "cleaning" : s.desiredState === "archived" ? "archiving" : s.status === "restoring" ? "restoring" : "deploying";
    out = await deps.store.finishGeneration(guard.lease, {
      generation: s.generation,
      action,
      observed: false,
      status: { to: inProgress, reason: `retrying after: ${message}`, cause: "retry", actor: "octostage" },
    });
  }
  await announce(deps, out.transition, cause);
}

/**
 * Makes a staging match its LATEST desired spec, under the staging's deploy lease (never two
 * helm operations on one staging, across all workers). The lease is fenced: while helm runs it
 * is renewed, and when it is lost helm is stopped and nothing more is written. Applies
 * generations until none is pending; after releasing the lease it looks once more, so intent
 * recorded while it worked is never left behind.
 */
export async function runDeploy(deps: Deps, stagingId: string, attempt: DeployAttempt, shutdown?: AbortSignal): Promise<DeployOutcome> {
  const log = deps.logger.child({ stagingId, attempt: attempt.attempt });
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
          if (guard.lost() || err instanceof LeaseLostError) {
            work.log.warn({ err: errorSummary(err) }, "stopped: the deploy lease is no longer ours; its holder carries on");
            return { outcome: "stopped" };
          }
          if (err instanceof StoreUnavailableError) throw err;
          const permanent = isPermanent(err);
          const final = permanent || attempt.attempt >= attempt.maxAttempts;
          work.log.warn({ err: errorSummary(err), permanent, final }, "deploy failed");
          try {
            await failGeneration(work, err, final);
          } catch (failErr) {
            if (failErr instanceof LeaseLostError) return { outcome: "stopped" };
            throw failErr;
          }
          if (permanent && s.desiredState !== "deleted") return { outcome: "permanent_failure", error: err as Error };
          if (!final) throw err;
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
