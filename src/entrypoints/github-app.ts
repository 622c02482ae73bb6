import type { Probot } from "probot";
import { requestPullRequestStaging } from "../app/request-pull-request-staging.ts";
import type { AppDeps } from "../app/deps.ts";
import { errorSummary } from "../app/change-staging.ts";
import { commentCommands } from "./issue-comment-payload.ts";
import { toPullRequestEdit, toPullRequestEvent } from "./pull-request-payload.ts";
import { relinkPullRequest } from "../app/jira/link-issues.ts";
import { toPushEvent } from "./push-payload.ts";
import { followPush } from "../app/stagings/follow-push.ts";

const pullRequestEvents = [
  "pull_request.opened",
  "pull_request.reopened",
  "pull_request.synchronize",
  "pull_request.ready_for_review",
  "pull_request.converted_to_draft",
  "pull_request.labeled",
  "pull_request.unlabeled",
  "pull_request.closed",
] as const;

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock">;

/**
 * The Probot app: GitHub webhooks in. The signature was verified before this runs. Parse,
 * record intent in Postgres, enqueue a hint, answer; never helm, never wait for the cluster.
 */
export function githubApp(deps: Deps) {
  return (app: Probot): void => {
    app.on([...pullRequestEvents], async (context) => {
      const log = deps.logger.child({ deliveryId: context.id, event: `${context.name}.${context.payload.action}` });
      const event = toPullRequestEvent(context.id, context.payload);
      const out = await requestPullRequestStaging({ ...deps, logger: log }, event);
      log.info({ repo: `${event.owner}/${event.repo}`, pr: event.number, ...out }, "pull request event handled");
    });

    // A title or body edited may name other Jira issues (docs/operators/jira.md).
    app.on("pull_request.edited", async (context) => {
      const log = deps.logger.child({ deliveryId: context.id, event: "pull_request.edited" });
      const edit = toPullRequestEdit(context.payload);
      const keys = await relinkPullRequest({ ...deps, logger: log }, edit);
      if (keys) log.info({ repo: `${edit.owner}/${edit.repo}`, pr: edit.number, issues: keys }, "pull request edited: Jira links updated");
    });

    // A push to a branch that named stagings follow (`octo create --follow`) updates them.
    app.on("push", async (context) => {
      const log = deps.logger.child({ deliveryId: context.id, event: "push" });
      const push = toPushEvent(context.id, context.payload);
      if (!push) return;
      const out = await followPush({ ...deps, logger: log }, push);
      if (out.updated.length || out.unchanged.length) log.info({ repo: `${push.owner}/${push.repo}`, branch: push.branch, sha: push.sha, ...out }, "push to a followed branch handled");
    });

    // `/octo` commands: recorded in Postgres (keyed by the comment, with the delivery id) before
    // the delivery counts as seen, then a job is queued as a hint. A worker reacts, checks
    // permissions, runs them and replies; the reconciler re-enqueues commands whose job was lost.
    app.on("issue_comment.created", async (context) => {
      const log = deps.logger.child({ deliveryId: context.id, event: "issue_comment.created" });
      const decision = commentCommands(context.id, context.payload);
      if (!decision.run) {
        log.debug({ why: decision.why }, "comment ignored");
        return;
      }
      const { outcome, command } = await deps.store.recordCommand(decision.command);
      const meta = { repo: `${command.repoOwner}/${command.repoName}`, pr: command.prNumber, actor: command.actor, commandId: command.id };
      if (command.state === "replied") {
        log.info(meta, "comment commands already ran; redelivery ignored");
        return;
      }
      try {
        await deps.queue.enqueueCommand(command.id);
      } catch (err) {
        log.warn({ ...meta, err: errorSummary(err) }, "enqueue failed; the reconciler will enqueue the commands");
      }
      log.info({ ...meta, outcome }, "comment commands recorded");
    });
  };
}
