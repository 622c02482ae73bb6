import { createHash } from "node:crypto";
import { checkView, commentBody, deploymentView } from "../domain/report-view.ts";
import type { StagingView } from "../domain/report-view.ts";
import type { CheckRunState, PullRequestRef } from "../ports/code-host.ts";
import type { StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";

const reportLeaseMs = 60_000;

type Deps = Pick<AppDeps, "store" | "codeHost" | "logger" | "workerId" | "clock">;

export function stagingView(s: StagingRecord): StagingView {
  return {
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

function fingerprint(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 32);
}

/**
 * Renews the report lease before each GitHub write: in a burst, writes wait their turn in
 * Octokit's throttle (one a second per process), so a report can take longer than the lease.
 * A reporter that lost its lease stops: whoever holds it now reports the latest state.
 */
async function leasedWrite<T>(deps: Deps, s: StagingRecord, write: () => Promise<T>): Promise<T> {
  if (!(await deps.store.acquireLease(s.id, "report", deps.workerId, reportLeaseMs))) {
    throw new Error(`report lease for ${s.name} lost to another worker; it reports the latest state`);
  }
  return write();
}

/**
 * One pass of the reporters. Each GitHub object is written only when what it would show
 * differs from what was last written (a hash of the rendered output), so a change that
 * renders the same (a no-op label, a repeated reason) costs no API call.
 */
async function reportOnce(deps: Deps, s: StagingRecord): Promise<void> {
  const pr: PullRequestRef = { installationId: s.installationId, owner: s.repoOwner, repo: s.repoName, number: s.prNumber };
  const view = stagingView(s);
  const check = checkView(view);
  const state: CheckRunState = check.status === "completed" ? { status: "completed", conclusion: check.conclusion } : { status: check.status };
  const checkInput = {
    sha: s.headSha,
    state,
    title: check.title,
    summary: check.summary,
    ...(view.url ? { detailsUrl: view.url } : {}),
  };
  const checkHash = fingerprint(checkInput);
  const checkRun =
    s.checkRun && s.checkRun.sha === s.headSha && s.reported.check === checkHash
      ? s.checkRun
      : await leasedWrite(deps, s, () => deps.codeHost.ensureCheckRun(pr, { ...checkInput, ...(s.checkRun ? { existing: s.checkRun } : {}) }));

  const body = commentBody(view);
  const commentHash = fingerprint(body);
  const commentId =
    s.commentId !== null && s.reported.comment === commentHash
      ? s.commentId
      : (await leasedWrite(deps, s, () => deps.codeHost.ensureStatusComment(pr, { ...(s.commentId !== null ? { existingId: s.commentId } : {}), body }))).id;

  const dep = deploymentView(view);
  let deployment = s.deployment ?? undefined;
  let deploymentHash: string | undefined;
  if (dep) {
    const input = {
      sha: s.headSha,
      ref: s.headRef,
      environment: s.name,
      state: dep.state,
      description: dep.description,
      ...(dep.state === "success" && view.url ? { environmentUrl: view.url } : {}),
    };
    deploymentHash = fingerprint(input);
    const unchanged = s.deployment && s.deployment.sha === s.headSha && s.reported.deployment === deploymentHash;
    if (!unchanged) deployment = await leasedWrite(deps, s, () => deps.codeHost.ensureDeployment(pr, { ...input, ...(s.deployment ? { existing: s.deployment } : {}) }));
  }
  await deps.store.markReported(
    s.id,
    s.statusVersion,
    { checkRun, commentId, ...(deployment ? { deployment } : {}) },
    { check: checkHash, comment: commentHash, ...(deploymentHash ? { deployment: deploymentHash } : {}), at: deps.clock.now() },
  );
}

/**
 * Brings GitHub up to date with a staging's latest status: check run for the head SHA, the one
 * sticky comment, the GitHub Deployment. Under the staging's report lease (no two reporters race
 * to create the comment); re-checks after release so no status is left unreported.
 */
export async function reportStatus(deps: Deps, stagingId: string): Promise<"busy" | "done"> {
  for (;;) {
    if (!(await deps.store.acquireLease(stagingId, "report", deps.workerId, reportLeaseMs))) return "busy";
    try {
      for (;;) {
        const s = await deps.store.get(stagingId);
        if (!s || s.reportedVersion >= s.statusVersion) break;
        await reportOnce(deps, s);
      }
    } finally {
      await deps.store.releaseLease(stagingId, "report", deps.workerId);
    }
    const after = await deps.store.get(stagingId);
    if (!after || after.reportedVersion >= after.statusVersion) return "done";
  }
}
