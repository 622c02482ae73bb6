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
   * recovers (the fencing token of a deploy lease left to expire: its holder died), so recoveries
   * of different runs are never merged either, since an earlier recovery's job may be a dead one too.
   */
  enqueueDeploy(stagingId: string, generation: number, options?: { recovery?: boolean; recoveryOf?: number | null; delayMs?: number }): Promise<void>;
  /**
   * Asks a worker to bring GitHub (and later Slack) up to date with the staging's status,
   * after `delayMs` (pacing). While one is waiting, more requests coalesce into it. `recoveryOf`:
   * the token of a report lease left to expire (its holder died): that worker's job may still
   * look active, so this one is not merged with it.
   */
  enqueueReport(stagingId: string, statusVersion: number, delayMs?: number, options?: { recoveryOf?: number | null }): Promise<void>;
}
