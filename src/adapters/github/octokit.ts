import { ProbotOctokit } from "probot";

/** The part of Probot's Octokit the adapter uses (app.auth(installationId) returns one). */
export type GitHubClient = Pick<InstanceType<typeof ProbotOctokit>, "rest" | "paginate">;

/** An installation's client; without an id, the app's own (authenticated with its JWT). */
export type GetGitHubClient = (installationId?: number) => Promise<GitHubClient>;

export interface OctokitClassOptions {
  /** Probot's throttling (spaces writes 1 s apart, comments 3 s). Off in tests. */
  throttle: boolean;
  /** Base delay of the retry plugin (default 1000 ms; retries wait base × n²). Tests use ~1. */
  retryAfterBaseMs?: number;
}

/**
 * A ProbotOctokit class for `new Probot({ Octokit })`. Uses the function form of
 * `.defaults()`, because Probot's own defaults override an options object.
 */
export function createProbotOctokitClass(options: OctokitClassOptions): typeof ProbotOctokit {
  return ProbotOctokit.defaults((instance: Record<string, unknown>) => {
    const throttle = { ...(instance.throttle as object | undefined), enabled: options.throttle };
    const retry =
      options.retryAfterBaseMs === undefined
        ? instance.retry
        : { ...(instance.retry as object | undefined), retryAfterBaseValue: options.retryAfterBaseMs };
    return { ...instance, throttle, retry };
  });
}
