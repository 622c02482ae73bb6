/**
 * The Jira channel: each staging linked to Jira issues is shown on each of them as one remote
 * link (global id `octostage:<staging id>`, so it is updated in place, never duplicated), whose
 * title carries the status. Like the GitHub reports: under the staging's report lease, only what
 * changed is written (a hash per issue), Jira's Retry-After pauses the channel, and a refusal
 * for good (no permission, unknown issue) stops retries until the status moves again.
 */
import { z } from "zod";
import { statusLabel } from "../../domain/report-view.ts";
import { IssueTrackerError } from "../../ports/issue-tracker.ts";
import type { IssueTracker, RemoteLinkInput } from "../../ports/issue-tracker.ts";
import { LeaseLostError } from "../../ports/store.ts";
import type { StagingRecord } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import { errorSummary } from "../change-staging.ts";
import { fingerprint } from "../report-status.ts";

type Deps = Pick<AppDeps, "store" | "logger" | "workerId" | "clock" | "queue" | "timing">;

const jiraState = z.object({ hashes: z.record(z.string(), z.string()).default({}) });

function remoteLink(s: StagingRecord): RemoteLinkInput {
  const gone = s.status === "deleted" || s.desiredState === "deleted";
  const archived = s.status === "archived";
  const title = `Staging ${s.name}: ${statusLabel(s.status).replace(/^\S+\s/, "")}${s.reason ? ` (${s.reason.slice(0, 120)})` : ""}`;
  return {
    globalId: `octostage:${s.id}`,
    url: s.desiredSpec.url ?? s.url ?? `https://github.com/${s.repoOwner}/${s.repoName}${s.prNumber !== null ? `/pull/${s.prNumber}` : ""}`,
    title: title.slice(0, 255),
    summary: `${s.repoOwner}/${s.repoName}${s.prNumber !== null ? ` #${s.prNumber}` : ""}, namespace ${s.namespace}`,
    resolved: gone || archived,
  };
}

export async function reportJira(deps: Deps & { issueTracker?: IssueTracker }, stagingId: string): Promise<"none" | "busy" | "done" | "deferred" | "failed" | "stopped"> {
  const tracker = deps.issueTracker;
  if (!tracker) return "none";
  const s = await deps.store.get(stagingId);
  const channel = s ? await deps.store.getChannel(stagingId, "jira") : null;
  if (!s || !channel || channel.reportedVersion >= s.statusVersion) return "none";
  if (channel.error && channel.error.version !== null && channel.error.version >= s.statusVersion) return "none";
  if (channel.notBefore && channel.notBefore > deps.clock.now()) return "deferred";
  const lease = await deps.store.acquireLease(stagingId, "report", deps.workerId, deps.timing.reportLeaseMs);
  if (!lease) return "busy";
  try {
    const current = (await deps.store.get(stagingId)) ?? s;
    const state = jiraState.safeParse(channel.state).data ?? { hashes: {} };
    const link = remoteLink(current);
    const h = fingerprint(link);
    for (const { issueKey } of await deps.store.listIssueLinks(stagingId)) {
      if (state.hashes[issueKey] === h) continue;
      await tracker.upsertRemoteLink(issueKey, link);
      state.hashes[issueKey] = h;
    }
    await deps.store.updateChannel(lease, "jira", { reportedVersion: current.statusVersion, reportedAt: deps.clock.now(), state, error: null, notBefore: null });
    return "done";
  } catch (err) {
    if (err instanceof LeaseLostError) return "stopped";
    if (!(err instanceof IssueTrackerError)) throw err;
    const log = { staging: s.name, code: err.code };
    if (err.code === "rate_limited" || err.code === "transient") {
      const waitMs = err.retryAfterMs ?? 30_000;
      deps.logger.warn({ ...log, waitMs }, "Jira is busy or unavailable: the remote links are updated later");
      await deps.store.updateChannel(lease, "jira", { notBefore: new Date(deps.clock.now().getTime() + waitMs) });
      await deps.queue.enqueueReport(s.id, s.statusVersion, waitMs).catch((e: unknown) => deps.logger.warn({ err: errorSummary(e) }, "enqueue failed; the reconciler will retry"));
      return "deferred";
    }
    deps.logger.warn(log, "Jira refused the remote link for good: not retried until the status changes (check JIRA_EMAIL's permissions and the issue)");
    await deps.store.updateChannel(lease, "jira", { error: { code: err.code, message: err.message.slice(0, 300), version: s.statusVersion } });
    return "failed";
  } finally {
    await deps.store.releaseLease(lease).catch(() => undefined);
  }
}
