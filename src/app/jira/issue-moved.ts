/**
 * A Jira issue changed status (the Jira webhook): its stagings follow. Into a Done status they
 * are archived (or cleaned up, or left alone: the repository's `jira.onDone`); out of Done, the
 * ones its move into Done archived are restored (`jira.restoreOnReopen`, default on). Each
 * staging goes through the same use cases as a person's `archive`/`restore`, with actor
 * `jira:<account id>` and the issue in the audit log; a restore still deploys a fork PR only at
 * the commit a maintainer approved, and the running limit applies.
 */
import type { Actor } from "../../domain/actor.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import { decideIssueMove, isKeyOf } from "../../domain/jira.ts";
import type { StatusCategory } from "../../domain/jira.ts";
import type { AppDeps } from "../deps.ts";
import { archiveStaging } from "../stagings/archive-staging.ts";
import { deleteStaging } from "../stagings/delete-staging.ts";
import { restoreStaging } from "../stagings/restore-staging.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock">;

export interface IssueMove {
  issueKey: string;
  /** The issue's status category now. */
  to: StatusCategory;
  /** Its status changed in this event (a changelog item for `status`); other updates move nothing. */
  statusChanged: boolean;
  /** Who moved it, as Jira names them. */
  user: { accountId: string; displayName: string } | null;
  /** The Jira delivery, for the audit log. */
  event: string;
}

export interface IssueMoveOutcome {
  /** "not_linked": no staging is linked to the issue. */
  result: "not_linked" | "handled";
  stagings: { name: string; action: "archive" | "cleanup" | "restore" | "none"; outcome: string }[];
}

function jiraActor(user: IssueMove["user"]): Actor {
  return user ? { source: "jira", id: user.accountId, name: user.displayName } : { source: "jira", id: "jira", name: "Jira" };
}

function outcomeOf(r: CommandResult): string {
  return r.ok ? r.done : `refused: ${r.message}`;
}

export async function issueMoved(deps: Deps, move: IssueMove): Promise<IssueMoveOutcome> {
  const linked = await deps.store.findByIssueKey(move.issueKey);
  if (linked.length === 0) return { result: "not_linked", stagings: [] };
  const actor = jiraActor(move.user);
  const out: IssueMoveOutcome = { result: "handled", stagings: [] };
  for (const s of linked) {
    const settings = deps.project.forRepo(`${s.repoOwner}/${s.repoName}`);
    const jira = settings?.jira;
    // The issue's project must still be one the repository links (the config may have changed since).
    if (!jira || !isKeyOf(jira.projects, move.issueKey)) {
      out.stagings.push({ name: s.name, action: "none", outcome: "the repository no longer links this Jira project" });
      continue;
    }
    const link = (await deps.store.listIssueLinks(s.id)).find((l) => l.issueKey === move.issueKey);
    // Jira's changelog names the old status, not its category: "out of Done" is known from what the move into Done did.
    const from = link?.doneAction ? "done" : "indeterminate";
    // An update that did not change the status (a comment, an edit) moves nothing.
    const action = move.statusChanged ? decideIssueMove(jira, from, move.to) : null;
    const req = { stagingId: s.id, actor, event: move.event, detail: { issue: move.issueKey, policy: `jira.${action === "restore" ? "restoreOnReopen" : "onDone"}` } };
    if (action === "archive" || action === "cleanup") {
      const r = action === "archive" ? await archiveStaging(deps, req) : await deleteStaging(deps, req);
      if (r.ok && (r.done === "archived" || r.done === "deleting")) await deps.store.setIssueDoneAction(s.id, move.issueKey, action);
      out.stagings.push({ name: s.name, action, outcome: outcomeOf(r) });
    } else if (action === "restore") {
      // Only what the move into Done archived comes back (a staging archived by hand stays archived).
      const r = link?.doneAction === "archive" ? await restoreStaging(deps, req) : ({ ok: true, done: "unchanged" } as const);
      await deps.store.setIssueDoneAction(s.id, move.issueKey, null);
      out.stagings.push({ name: s.name, action, outcome: outcomeOf(r) });
    } else {
      out.stagings.push({ name: s.name, action: "none", outcome: "no change of status category that a policy acts on" });
    }
  }
  deps.logger.info({ issue: move.issueKey, to: move.to, stagings: out.stagings.map((x) => `${x.name}:${x.action}:${x.outcome}`) }, "Jira issue moved");
  return out;
}
