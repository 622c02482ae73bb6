import { createHash } from "node:crypto";
import { z } from "zod";
import { shortSha } from "../domain/intent/inputs.ts";
import { checkView, commentBody, deploymentView } from "../domain/report-view.ts";
import type { LifecycleView, StagingView } from "../domain/report-view.ts";
import { defaultLifecyclePolicy, describePolicy } from "../domain/lifecycle.ts";
import { summarizeLifecycle } from "../domain/lifecycle-summary.ts";
import type { ProjectConfig } from "../domain/settings.ts";
import { GitHubError } from "../ports/code-host.ts";
import type { CheckRunState, PullRequestRef } from "../ports/code-host.ts";
import { LeaseLostError } from "../ports/store.ts";
import type { Lease, StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { errorSummary } from "./change-staging.ts";

type Deps = Pick<AppDeps, "store" | "codeHost" | "logger" | "workerId" | "clock" | "queue" | "timing"> & Partial<Pick<AppDeps, "project">>;

/** What the GitHub channel last wrote for a staging (ReportChannel.state), parsed like any input. */
const githubState = z.object({
  checkRun: z.object({ id: z.number(), sha: z.string(), completed: z.boolean().default(false) }).optional(),
  commentId: z.number().optional(),
  deployment: z.object({ id: z.number(), sha: z.string() }).optional(),
  /** Deployments of older commits, marked inactive once a newer one succeeds or the staging is archived. */
  staleDeployments: z.array(z.number()).default([]),
  hashes: z.object({ check: z.string().nullish(), comment: z.string().nullish(), deployment: z.string().nullish() }).default({}),
});
type GitHubState = z.infer<typeof githubState>;

/** The lifecycle part of what people see: the notice, the keep and the cost (none when the repository is not configured). */
export function lifecycleView(project: ProjectConfig | undefined, s: StagingRecord, now: Date): LifecycleView | undefined {
  const settings = project?.forRepo(`${s.repoOwner}/${s.repoName}`);
  if (!project || !settings) return undefined;
  const policy = settings.lifecycle ?? defaultLifecyclePolicy;
  const summary = summarizeLifecycle(policy, project.cost, s, now);
  return {
    notice: s.notice ? { ...s.notice, rule: describePolicy(policy, s.notice.policy) } : null,
    kept: summary.kept,
    keepLabel: policy.keepLabel,
    cost: summary.cost,
  };
}

function stagingView(s: StagingRecord, lifecycle?: LifecycleView): StagingView {
  return {
    ...(lifecycle ? { lifecycle } : {}),
    name: s.name,
    namespace: s.namespace,
    status: s.status,
    reason: s.reason,
    holdReason: s.skipReason,
    held: s.desiredState === "held",
    url: s.desiredSpec.url ?? s.url,
    sha: s.headSha,
    deployedSha: s.deployedSha,
    statusChangedAt: s.statusChangedAt,
  };
}

/** A short hash of what a channel wrote: the same again is not written again. */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 32);
}

interface Pass {
  deps: Deps;
  lease: Lease;
  s: StagingRecord;
  pr: PullRequestRef;
  state: GitHubState;
}

/**
 * Renews the report lease before each GitHub write: in a burst, writes wait their turn in
 * Octokit's throttle (one a second per process), so a report can take longer than the lease.
 * A reporter that lost its lease stops: whoever holds it now reports the latest state.
 */
async function leasedWrite<T>(p: Pass, write: () => Promise<T>): Promise<T> {
  if (!(await p.deps.store.renewLease(p.lease, p.deps.timing.reportLeaseMs))) throw new LeaseLostError(p.lease);
  return write();
}

/** Keeps what was just created on GitHub, so a retry after a crash updates it instead of creating another. */
async function save(p: Pass): Promise<void> {
  await p.deps.store.updateChannel(p.lease, "github", { state: p.state });
}

/** A check run of an older commit still "in progress": complete it, naming the commit that replaced it. */
async function completeSuperseded(p: Pass): Promise<void> {
  const old = p.state.checkRun;
  if (!old || old.sha === p.s.headSha || old.completed) return;
  const head = shortSha(p.s.headSha);
  await leasedWrite(p, () =>
    p.deps.codeHost.ensureCheckRun(p.pr, {
      sha: old.sha,
      existing: { id: old.id, sha: old.sha },
      state: { status: "completed", conclusion: "neutral" },
      title: `Superseded by ${head}`,
      summary: `A newer commit (${head}) reached the pull request before ${shortSha(old.sha)} finished deploying; see the Octostage check run of ${head}.`,
    }),
  );
  p.state.checkRun = { ...old, completed: true };
  await save(p);
}

async function reportCheckRun(p: Pass, view: StagingView): Promise<string> {
  const check = checkView(view);
  const state: CheckRunState = check.status === "completed" ? { status: "completed", conclusion: check.conclusion } : { status: check.status };
  const input = { sha: p.s.headSha, state, title: check.title, summary: check.summary, ...(view.url ? { detailsUrl: view.url } : {}) };
  const hash = fingerprint(input);
  const current = p.state.checkRun?.sha === p.s.headSha ? p.state.checkRun : undefined;
  if (current && p.state.hashes.check === hash) return hash;
  const written = await leasedWrite(p, () => p.deps.codeHost.ensureCheckRun(p.pr, { ...input, ...(current ? { existing: current } : {}) }));
  p.state.checkRun = { ...written, completed: state.status === "completed" };
  if (!current || current.id !== written.id) await save(p);
  return hash;
}

async function reportComment(p: Pass, view: StagingView): Promise<string> {
  const body = commentBody(view);
  const hash = fingerprint(body);
  if (p.state.commentId !== undefined && p.state.hashes.comment === hash) return hash;
  const { id } = await leasedWrite(p, () => p.deps.codeHost.ensureStatusComment(p.pr, { ...(p.state.commentId !== undefined ? { existingId: p.state.commentId } : {}), body }));
  const created = p.state.commentId !== id;
  p.state.commentId = id;
  if (created) await save(p);
  return hash;
}

async function reportDeployment(p: Pass, view: StagingView): Promise<string | undefined> {
  const dep = deploymentView(view);
  if (!dep) return undefined;
  const s = p.s;
  const input = { sha: s.headSha, ref: s.headRef, environment: s.name, state: dep.state, description: dep.description, ...(dep.state === "success" && view.url ? { environmentUrl: view.url } : {}) };
  const hash = fingerprint(input);
  const previous = p.state.deployment;
  if (!(previous && previous.sha === s.headSha && p.state.hashes.deployment === hash)) {
    const written = await leasedWrite(p, () => p.deps.codeHost.ensureDeployment(p.pr, { ...input, ...(previous ? { existing: previous } : {}) }));
    if (previous && previous.id !== written.id && !p.state.staleDeployments.includes(previous.id)) p.state.staleDeployments.push(previous.id);
    p.state.deployment = written;
    if (!previous || previous.id !== written.id) await save(p);
  }
  // GitHub's auto_inactive skips transient environments: older Deployments are marked inactive
  // here, once the newer one succeeded or the staging is archived (no older one stays "active").
  if ((dep.state === "success" || dep.state === "inactive") && p.state.staleDeployments.length) {
    for (const id of [...p.state.staleDeployments]) {
      await leasedWrite(p, () => p.deps.codeHost.deactivateDeployment(p.pr, id, s.name));
      p.state.staleDeployments = p.state.staleDeployments.filter((x) => x !== id);
      await save(p);
    }
  }
  return hash;
}

/**
 * One pass of the GitHub reporter. Each GitHub object is written only when what it would show
 * differs from what was last written (a hash of the rendered output), so a change that renders
 * the same (a no-op label, a repeated reason) costs no API call.
 */
async function reportOnce(deps: Deps, lease: Lease, s: StagingRecord): Promise<void> {
  // Only a pull request's staging has a GitHub channel (check run, comment, Deployment on the PR).
  if (s.prNumber === null) throw new Error(`staging ${s.name} has no pull request to report to`);
  const channel = await deps.store.getChannel(s.id, "github");
  const parsed = githubState.safeParse(channel?.state ?? {});
  // A state that no longer parses is rebuilt: the comment is found again by its marker.
  const state = parsed.success ? parsed.data : githubState.parse({});
  const p: Pass = { deps, lease, s, state, pr: { installationId: s.installationId, owner: s.repoOwner, repo: s.repoName, number: s.prNumber } };
  const view = stagingView(s, lifecycleView(deps.project, s, deps.clock.now()));
  await completeSuperseded(p);
  const check = await reportCheckRun(p, view);
  const comment = await reportComment(p, view);
  const deployment = await reportDeployment(p, view);
  state.hashes = { check, comment, deployment: deployment ?? state.hashes.deployment ?? null };
  await deps.store.updateChannel(lease, "github", { reportedVersion: s.statusVersion, reportedAt: deps.clock.now(), state, error: null, notBefore: null });
}

export type ReportOutcome = "busy" | "done" | "stopped" | "deferred" | "failed";

/**
 * Brings GitHub up to date with a staging's latest status: check run for the head SHA (and the
 * one of a superseded commit completed), the one sticky comment, the GitHub Deployment (older
 * ones marked inactive). Under the staging's report lease; re-checks after release so no status
 * is left unreported. A permanent GitHub error (app uninstalled, permission removed) stops the
 * retries and is shown by `/octo status`; a rate limit waits for GitHub's Retry-After.
 */
export async function reportStatus(deps: Deps, stagingId: string): Promise<ReportOutcome> {
  for (;;) {
    const lease = await deps.store.acquireLease(stagingId, "report", deps.workerId, deps.timing.reportLeaseMs);
    if (!lease) return "busy";
    // Renewed while the report runs (its writes may wait their turn in Octokit's throttle), so the
    // lease can be short: a worker that dies holds up the staging's reports that long at most.
    const heartbeat = setInterval(() => {
      deps.store.renewLease(lease, deps.timing.reportLeaseMs).catch(() => undefined);
    }, Math.max(100, Math.floor(deps.timing.reportLeaseMs / 3)));
    try {
      for (;;) {
        const s = await deps.store.get(stagingId);
        const channel = s ? await deps.store.getChannel(s.id, "github") : null;
        if (!s || !channel || channel.reportedVersion >= s.statusVersion) break;
        if (channel.error && channel.error.version !== null && channel.error.version >= s.statusVersion) break;
        try {
          await reportOnce(deps, lease, s);
        } catch (err) {
          if (err instanceof LeaseLostError) return "stopped";
          if (!(err instanceof GitHubError)) throw err;
          const log = { staging: s.name, code: err.code, operation: err.operation, status: err.status, requestId: err.requestId };
          if (err.permanent) {
            deps.logger.warn(log, "GitHub refused a report for good: reporting stops until the status changes (see /octo status)");
            await deps.store.updateChannel(lease, "github", { error: { code: err.code, message: `${err.operation}: ${err.code}${err.status ? ` (HTTP ${err.status})` : ""}`, version: s.statusVersion } });
            return "failed";
          }
          if (err.code === "rate_limited") {
            const waitMs = (err.retryAfterSeconds ?? 60) * 1000;
            deps.logger.warn({ ...log, waitMs }, "GitHub rate limit: report deferred");
            await deps.store.updateChannel(lease, "github", { notBefore: new Date(deps.clock.now().getTime() + waitMs) });
            await deps.queue.enqueueReport(s.id, s.statusVersion, waitMs).catch((e: unknown) => deps.logger.warn({ err: errorSummary(e) }, "enqueue failed; the reconciler will retry"));
            return "deferred";
          }
          throw err;
        }
      }
    } finally {
      clearInterval(heartbeat);
      await deps.store.releaseLease(lease).catch(() => undefined);
    }
    const after = await deps.store.get(stagingId);
    const channel = after ? await deps.store.getChannel(after.id, "github") : null;
    if (!after || !channel || channel.reportedVersion >= after.statusVersion || channel.error || (channel.notBefore && channel.notBefore > deps.clock.now())) return "done";
  }
}
