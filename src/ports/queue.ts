/** The work queue as the use cases see it. Adapter: src/adapters/queue/ (BullMQ). */

export interface WorkQueue {
  /** Asks a worker to make the staging match its latest desired spec. */
  enqueueDeploy(stagingId: string, generation: number): Promise<void>;
  /**
   * Asks a worker to bring GitHub (and later Slack) up to date with the staging's status,
   * after `delayMs` (pacing). While one is waiting, more requests coalesce into it.
   */
  enqueueReport(stagingId: string, statusVersion: number, delayMs?: number): Promise<void>;
}
