import type { Lease } from "../../ports/store.ts";
import { LeaseLostError } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import { errorSummary } from "../change-staging.ts";

type Deps = Pick<AppDeps, "store" | "logger" | "timing">;

/**
 * Keeps a lease while work runs under it. The lease is renewed every `heartbeatMs`; when a
 * renewal says it is gone, or renewals fail (Postgres unreachable) until the lease may expire,
 * `signal` aborts: helm is stopped and no further write can pass its fence anyway. `deadline()`
 * is when helm must be stopped at the latest: the watchdog acts on it even if this process stalls.
 */
export interface LeaseGuard {
  lease: Lease;
  signal: AbortSignal;
  /** Epoch ms by which work under the lease must stop unless renewed again. */
  deadline(): number;
  /** True once the lease is lost (or given up for a shutdown). */
  lost(): boolean;
  stop(): void;
}

export function startLeaseGuard(deps: Deps, lease: Lease, shutdown?: AbortSignal): LeaseGuard {
  const { deployLeaseMs, heartbeatMs, leaseSafetyMs } = deps.timing;
  const controller = new AbortController();
  let deadline = Date.now() + deployLeaseMs - leaseSafetyMs;
  let renewing = false;
  const lose = (reason: Error): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const timer = setInterval(() => {
    if (renewing) return;
    if (Date.now() >= deadline) {
      deps.logger.warn({ stagingId: lease.stagingId, token: lease.token }, "deploy lease not renewed in time: stopping");
      return lose(new LeaseLostError(lease));
    }
    renewing = true;
    const sentAt = Date.now();
    deps.store
      .renewLease(lease, deployLeaseMs)
      .then(
        (held) => {
          if (held) deadline = sentAt + deployLeaseMs - leaseSafetyMs;
          else {
            deps.logger.warn({ stagingId: lease.stagingId, token: lease.token }, "deploy lease lost to another worker: stopping");
            lose(new LeaseLostError(lease));
          }
        },
        (err: unknown) => deps.logger.warn({ err: errorSummary(err), stagingId: lease.stagingId }, "deploy lease renewal failed; helm stops at the lease deadline unless a renewal succeeds"),
      )
      .finally(() => (renewing = false));
  }, heartbeatMs);
  const onShutdown = (): void => lose(new Error("the worker is shutting down"));
  if (shutdown?.aborted) onShutdown();
  shutdown?.addEventListener("abort", onShutdown, { once: true });
  return {
    lease,
    signal: controller.signal,
    deadline: () => deadline,
    lost: () => controller.signal.aborted,
    stop() {
      clearInterval(timer);
      shutdown?.removeEventListener("abort", onShutdown);
    },
  };
}
