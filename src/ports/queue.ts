/**
 * The work queue as the use cases see it. Adapter: src/adapters/queue/ (BullMQ). A queued job is
 * a hint: everything it stands for is in Postgres first, and the reconciler re-enqueues what
 * has no job (after a Redis restart or flush). Enqueueing fails fast when Redis is down.
 */

export interface WorkQueue {
  /** Asks a worker to run the recorded /octo commands of a PR comment (one job at a time per command). */
  enqueueCommand(commandId: string): Promise<void>;
  /**
   * Asks a worker to make the staging match its latest desired spec. `recovery` comes from the
   * reconciler for work with no live lease (and from a retry after `delayMs`, or a hand-over): it
   * is not merged with a job that may belong to a worker that died. `recoveryOf` names the run it
   * recovers (the fencing token of the last deploy lease): recoveries of different runs are never
   * merged either, since the job of an earlier recovery may belong to a worker that died too.
   */
  enqueueDeploy(stagingId: string, generation: number, options?: { recovery?: boolean; recoveryOf?: number | null; delayMs?: number }): Promise<void>;
  /**
   * Asks a worker to bring GitHub (and later Slack) up to date with the staging's status,
   * after `delayMs` (pacing). While one is waiting, more requests coalesce into it.
   */
  enqueueReport(stagingId: string, statusVersion: number, delayMs?: number): Promise<void>;
}
