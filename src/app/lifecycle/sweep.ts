/**
 * The lifecycle sweep (docs/users/lifecycle.md): archives stagings idle for longer than their
 * repository allows, cleans up those archived longer than the retention, and a day before tells
 * people (a notice on the PR comment) how to keep them. One indexed query finds the candidates;
 * each action is then decided again on the staging as it is now, under its row lock, and goes
 * through the same change as a person's `archive` or `delete`, with actor `system` and the
 * policy that fired in the audit log. Only a deadline counts: never a failed call to anyone.
 */
import type { Actor } from "../../domain/actor.ts";
import type { IntentDecision } from "../../domain/intent/inputs.ts";
import { noChange } from "../../domain/intent/inputs.ts";
import { defaultLifecyclePolicy, describePolicy, formatTime, sweepStep } from "../../domain/lifecycle.ts";
import type { Deadline, LifecycleFacts, LifecyclePolicy } from "../../domain/lifecycle.ts";
import { reportDelayMs } from "../../domain/report-pacing.ts";
import type { LifecycleRule, NoticeChange, StagingRecord } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import { changeAndEnqueue, errorSummary } from "../change-staging.ts";
import { stagingSpec } from "../desired-spec.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock">;

const dayMs = 24 * 3600 * 1000;
/** Stagings acted on or warned at once (the database pool has 10 connections; intake needs some). */
const sweepConcurrency = 4;
const hourMs = 3600 * 1000;

export interface SweepSummary {
  candidates: number;
  archived: number;
  cleanedUp: number;
  warned: number;
  noticesCleared: number;
}

/** The actor of a policy action: Octostage, named after the policy that fired. */
function policyActor(policy: Deadline["policy"]): Actor {
  return { source: "system", id: "octostage", name: `${policy} policy` };
}

function factsOf(s: StagingRecord): LifecycleFacts {
  return { desiredState: s.desiredState, archivedAt: s.archivedAt, lastActivityAt: s.lastActivityAt, keepUntil: s.keepUntil, keepLabel: s.keepLabel };
}

/** The thresholds of one repository's policy at `now`, warning window included. */
export function ruleFor(repo: string, policy: LifecyclePolicy, now: Date): LifecycleRule {
  const [repoOwner, repoName] = repo.split("/") as [string, string];
  const horizon = now.getTime() + policy.warnHours * hourMs;
  return {
    repoOwner,
    repoName,
    archivedBefore: policy.retentionDays === null ? null : new Date(horizon - policy.retentionDays * dayMs),
    idleBefore: policy.idleDays === null ? null : new Date(horizon - policy.idleDays * dayMs),
    keptAfter: new Date(horizon),
  };
}

/** The policy action, decided on the staging as it is now (a keep or a push since the query wins). */
function decidePolicyAction(policy: LifecyclePolicy, current: StagingRecord, now: Date): IntentDecision<"acted" | "not_due"> {
  const step = sweepStep(policy, factsOf(current), now, current.notice);
  if (!("act" in step)) return noChange("no longer due", "not_due");
  const d = step.act;
  const actor = policyActor(d.policy);
  const detail = { policy: d.policy, rule: describePolicy(policy, d.policy), deadline: d.at.toISOString() };
  if (d.action === "archive") {
    return { change: true, inputs: { desiredState: "archived" }, action: { kind: "archive", actor, detail }, bumpGeneration: true, result: "acted" };
  }
  const skipReason = `Cleaned up by the retention policy (${describePolicy(policy, "retention")}) on ${formatTime(now)}; \`/octo deploy\` recreates it.`;
  return { change: true, inputs: { desiredState: "deleted", skipReason }, action: { kind: "cleanup", actor, detail }, bumpGeneration: true, result: "acted" };
}

export async function sweepLifecycle(deps: Deps, options: { limit?: number } = {}): Promise<SweepSummary> {
  const now = deps.clock.now();
  const summary: SweepSummary = { candidates: 0, archived: 0, cleanedUp: 0, warned: 0, noticesCleared: 0 };
  const repositories = new Map(deps.project.repositories.map((r) => [r.repo.toLowerCase(), { settings: r, policy: r.lifecycle ?? defaultLifecyclePolicy }]));
  const rules = [...repositories.entries()].map(([repo, { policy }]) => ruleFor(repo, policy, now));
  const candidates = await deps.store.listLifecycleCandidates(rules, options.limit ?? 5_000);
  summary.candidates = candidates.length;
  const notices: NoticeChange[] = [];
  const handle = async (s: StagingRecord): Promise<void> => {
    const repository = repositories.get(`${s.repoOwner}/${s.repoName}`.toLowerCase());
    try {
      if (!repository) {
        // The repository left the project config: no policy acts, a notice given earlier is taken back.
        if (s.notice) notices.push({ id: s.id, expected: factsOf(s), notice: null });
        return;
      }
      const { settings, policy } = repository;
      const step = sweepStep(policy, factsOf(s), now, s.notice);
      if ("act" in step) {
        const out = await changeAndEnqueue(deps, {
          target: { id: s.id },
          event: `lifecycle.${step.act.policy}`,
          decide: (current) => (current ? decidePolicyAction(policy, current.staging, now) : noChange("gone", "not_due")),
          spec: stagingSpec(settings, s),
        });
        if (out.outcome === "changed") {
          if (step.act.action === "archive") summary.archived++;
          else summary.cleanedUp++;
          deps.logger.info({ staging: s.name, policy: step.act.policy, action: step.act.action }, "lifecycle policy acted");
        }
        return;
      }
      const notice = "warn" in step ? { at: step.warn.at, policy: step.warn.policy } : null;
      const same = notice === null ? s.notice === null : s.notice !== null && s.notice.at.getTime() === notice.at.getTime() && s.notice.policy === notice.policy;
      if (!same) notices.push({ id: s.id, expected: factsOf(s), notice });
    } catch (err) {
      // One staging's failure (Postgres hiccup, Redis down for the report) does not stop the sweep; the next one retries.
      deps.logger.warn({ staging: s.name, err: errorSummary(err) }, "lifecycle sweep: could not handle a staging; the next sweep tries again");
    }
  };
  // A few at a time: each change locks only its own row, and the sweep is mostly waiting for Postgres.
  for (let i = 0; i < candidates.length; i += sweepConcurrency) await Promise.all(candidates.slice(i, i + sweepConcurrency).map(handle));
  // Notices in one statement (each still compare-and-set on what was read), then their reports.
  const warned = new Set(notices.filter((n) => n.notice).map((n) => n.id));
  try {
    for (const changed of await deps.store.setNotices(notices)) {
      if (warned.has(changed.id)) summary.warned++;
      else summary.noticesCleared++;
      await deps.queue.enqueueReport(changed.id, changed.statusVersion, reportDelayMs(now, null, true)).catch((err: unknown) => deps.logger.warn({ stagingId: changed.id, err: errorSummary(err) }, "enqueue failed; the reconciler will report the notice"));
    }
  } catch (err) {
    deps.logger.warn({ notices: notices.length, err: errorSummary(err) }, "lifecycle sweep: could not record the notices; the next sweep tries again");
  }
  if (summary.archived || summary.cleanedUp || summary.warned || summary.noticesCleared) deps.logger.info({ ...summary }, "lifecycle sweep");
  return summary;
}

/** Housekeeping: deliveries, command records and helm output older than the configured age (30 days by default) go; audit entries stay. */
export async function pruneHistory(deps: Pick<AppDeps, "store" | "project" | "clock" | "logger">): Promise<{ deliveries: number; commands: number; outputs: number }> {
  const days = deps.project.housekeeping?.pruneAfterDays ?? 30;
  const out = await deps.store.pruneHistory(new Date(deps.clock.now().getTime() - days * dayMs));
  if (out.deliveries || out.commands || out.outputs) deps.logger.info({ ...out, olderThanDays: days }, "housekeeping: old deliveries, commands and run output pruned");
  return out;
}
