import type { Probot } from "probot";
import { requestPullRequestStaging } from "../app/request-pull-request-staging.ts";
import type { AppDeps } from "../app/deps.ts";
import { commentCommands } from "./issue-comment-payload.ts";
import { toPullRequestEvent } from "./pull-request-payload.ts";

export const pullRequestEvents = [
  "pull_request.opened",
  "pull_request.reopened",
  "pull_request.synchronize",
  "pull_request.ready_for_review",
  "pull_request.converted_to_draft",
  "pull_request.labeled",
  "pull_request.unlabeled",
  "pull_request.closed",
] as const;

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger">;

/**
 * The Probot app: GitHub webhooks in. Probot has verified the signature before this runs.
 * Parse, record intent, enqueue, answer; never helm, never wait for the cluster.
 */
export function githubApp(deps: Deps) {
  return (app: Probot): void => {
    app.on([...pullRequestEvents], async (context) => {
      const log = deps.logger.child({ deliveryId: context.id, event: `${context.name}.${context.payload.action}` });
      const event = toPullRequestEvent(context.id, context.payload);
      const out = await requestPullRequestStaging({ ...deps, logger: log }, event);
      log.info({ repo: `${event.owner}/${event.repo}`, pr: event.number, ...out }, "pull request event handled");
    });

    // `/octo` commands: recorded (delivery id, for idempotency) and queued; a worker reacts,
    // checks permissions, runs them and replies. Edited comments are not subscribed.
    app.on("issue_comment.created", async (context) => {
      const log = deps.logger.child({ deliveryId: context.id, event: "issue_comment.created" });
      const decision = commentCommands(context.id, context.payload);
      if (!decision.run) {
        log.debug({ why: decision.why }, "comment ignored");
        return;
      }
      if (!(await deps.store.recordDelivery(context.id, "issue_comment.created"))) {
        log.info({}, "redelivered comment ignored");
        return;
      }
      try {
        await deps.queue.enqueueCommands(decision.job);
      } catch (err) {
        // Not queued: forget the delivery so that GitHub's redelivery runs the commands.
        await deps.store.forgetDelivery(context.id);
        throw err;
      }
      log.info({ repo: `${decision.job.owner}/${decision.job.repo}`, pr: decision.job.number, actor: decision.job.actor }, "comment commands queued");
    });
  };
}
