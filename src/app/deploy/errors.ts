/**
 * Why a staging's work failed outside helm. `permanent`: retrying cannot help (a namespace that
 * belongs to someone else); the others are retried.
 * - namespace_not_owned: a namespace of that name exists and Octostage did not create it for this staging
 * - namespace_terminating: a namespace of that name is still being deleted
 * - namespace_stuck: a deleted namespace does not go away (finalizers, content left)
 */
export type StagingErrorCode = "namespace_not_owned" | "namespace_terminating" | "namespace_stuck";

export class StagingError extends Error {
  override readonly name = "StagingError";
  readonly code: StagingErrorCode;
  constructor(code: StagingErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get permanent(): boolean {
    return this.code === "namespace_not_owned";
  }
}
