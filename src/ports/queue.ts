/** The work queue as the use cases see it. Adapter: src/adapters/queue/ (BullMQ). */

/** A PR comment with `/octo` commands, recorded by the intake for a worker to run. */
export interface CommentCommandsJob {
  deliveryId: string;
  installationId: number;
  owner: string;
  repo: string;
  number: number;
  commentId: number;
  body: string;
  actor: string;
}

export interface WorkQueue {
  /** Asks a worker to run the commands of a PR comment (at most once per delivery id). */
  enqueueCommands(job: CommentCommandsJob): Promise<void>;
  /** Asks a worker to make the staging match its latest desired spec. */
  enqueueDeploy(stagingId: string, generation: number): Promise<void>;
  /**
   * Asks a worker to bring GitHub (and later Slack) up to date with the staging's status,
   * after `delayMs` (pacing). While one is waiting, more requests coalesce into it.
   */
  enqueueReport(stagingId: string, statusVersion: number, delayMs?: number): Promise<void>;
}
