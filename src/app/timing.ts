/**
 * Durations the use cases work with, injectable so that tests drive expiry, retries and
 * timeouts with short values instead of waiting. Production uses `defaultTiming`.
 */
export interface Timing {
  /**
   * A deploy lease lasts this long unless renewed (database time). The deploy queue's job lock
   * is derived from it (`defaultDeployLeaseMs` in src/adapters/queue/bullmq.ts, which adapters
   * cannot import from here: test/integration/queue-recovery.test.ts checks that they agree).
   */
  deployLeaseMs: number;
  /** The lease is renewed this often while helm runs. */
  heartbeatMs: number;
  /**
   * helm is stopped this long before the lease would expire without renewal, so that it is
   * gone (SIGTERM, then SIGKILL after `helmKillGraceMs`) before another worker may take over.
   */
  leaseSafetyMs: number;
  helmKillGraceMs: number;
  /** Report lease (renewed every third of it while a report runs). */
  reportLeaseMs: number;
  /** How long a cleanup waits for its namespace to disappear before calling it stuck. */
  namespaceGoneTimeoutMs: number;
  /** How long a deploy waits for a namespace of the same name to finish terminating. */
  namespaceTerminatingWaitMs: number;
  namespacePollMs: number;
  /** A deploy or archive is tried this many times in all before the staging is failed. */
  maxAttempts: number;
  /** Wait before the second try; doubles for each further one, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** First retry of a cleanup that failed for good; doubles up to `cleanupRetryMaxMs`. */
  cleanupRetryBaseMs: number;
  cleanupRetryMaxMs: number;
}

export const defaultTiming: Timing = Object.freeze({
  deployLeaseMs: 8_000,
  heartbeatMs: 2_000,
  leaseSafetyMs: 3_500,
  helmKillGraceMs: 2_000,
  reportLeaseMs: 15_000,
  namespaceGoneTimeoutMs: 180_000,
  namespaceTerminatingWaitMs: 120_000,
  namespacePollMs: 1_000,
  maxAttempts: 5,
  retryBaseMs: 2_000,
  retryMaxMs: 5 * 60_000,
  cleanupRetryBaseMs: 60_000,
  cleanupRetryMaxMs: 30 * 60_000,
});

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
