/**
 * The running limit (lifecycle `maxRunning`): at most N running stagings per repository. Checked
 * before a change that would start one (a PR opened or reopened, a restore, `/octo deploy`, a
 * named create); when it would be exceeded, the least recently active stagings are archived to
 * make room (default) or the change is refused with a message naming the limit and the
 * candidates. Checked from a read before the change's transaction, so two stagings starting at
 * the same moment can both pass: the lifecycle sweep archives the excess then (enforceLimits).
 */
import type { Actor } from "../../domain/actor.ts";
import { decideArchive } from "../../domain/intent/commands.ts";
import type { CurrentStaging, IntentDecision } from "../../domain/intent/inputs.ts";
import { archivable, decideRunningLimit, defaultLifecyclePolicy, isKept } from "../../domain/lifecycle.ts";
import type { LimitDecision, RunningStaging } from "../../domain/lifecycle.ts";
import type { RepoSettings } from "../../domain/settings.ts";
import type { StagingRecord } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import { changeAndEnqueue, errorSummary } from "../change-staging.ts";
import { stagingSpec } from "../desired-spec.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock">;

const limitActor: Actor = Object.freeze({ source: "system", id: "octostage", name: "running limit" });

/** A running staging as the limit sees it, with its record (to archive it without reading it again). */
type Running = RunningStaging & { record: StagingRecord };
export type RunningLimit = LimitDecision<Running>;

function running(s: StagingRecord, now: Date): Running {
  return { id: s.id, name: s.name, lastActivityAt: s.lastActivityAt, kept: isKept(s, now), record: s };
}

/** Whether one more staging may start in the repository (`self`, if it exists, not counted). */
export async function checkRunningLimit(deps: Pick<AppDeps, "store" | "clock">, settings: RepoSettings, self: string | null): Promise<RunningLimit> {
  const policy = settings.lifecycle ?? defaultLifecyclePolicy;
  if (policy.maxRunning === null) return { ok: true };
  const [owner, repo] = settings.repo.split("/") as [string, string];
  const now = deps.clock.now();
  const others = (await deps.store.listRunning(owner, repo)).filter((s) => s.id !== self).map((s) => running(s, now));
  return decideRunningLimit(policy, settings.repo, others);
}

/**
 * Applies a refusal to a decision that would start the staging (make it active from anything
 * else): `refused` turns it into what the surface does instead (a PR held with the message, a
 * command refused). Other decisions pass unchanged.
 */
export function withinLimit<R>(
  limit: RunningLimit,
  current: CurrentStaging | null,
  decision: IntentDecision<R>,
  refused: (message: string, decision: Extract<IntentDecision<R>, { change: true }>) => IntentDecision<R>,
): IntentDecision<R> {
  if (limit.ok || !decision.change) return decision;
  const starts = decision.inputs.desiredState === "active" && current?.desiredState !== "active";
  return starts ? refused(limit.message, decision) : decision;
}

/** Archives the stagings the limit chose to make room, as the running limit (audited with the policy). */
export async function makeRoom(deps: Deps, settings: RepoSettings, limit: RunningLimit, forName: string): Promise<void> {
  if (!limit.ok || !("archive" in limit)) return;
  for (const s of limit.archive) {
    try {
      await changeAndEnqueue(deps, {
        target: { id: s.id },
        event: "lifecycle.maxRunning",
        decide: (current) => {
          if (!current) return { change: false, reason: "gone", result: null };
          const d = decideArchive(current.staging, limitActor);
          return d.change ? { ...d, action: { ...d.action, detail: { policy: "maxRunning", limit: (settings.lifecycle ?? defaultLifecyclePolicy).maxRunning, for: forName } }, result: null } : { ...d, result: null };
        },
        spec: stagingSpec(settings, s.record),
      });
      deps.logger.info({ staging: s.name, for: forName }, "archived to stay within the running limit");
    } catch (err) {
      deps.logger.warn({ staging: s.name, err: errorSummary(err) }, "could not archive a staging to make room; the lifecycle sweep tries again");
    }
  }
}

/** The sweep's half: a repository running more than its limit (two starts at once) archives the least recently active extras. */
export async function enforceLimits(deps: Deps): Promise<number> {
  let archived = 0;
  const now = deps.clock.now();
  for (const settings of deps.project.repositories) {
    const policy = settings.lifecycle ?? defaultLifecyclePolicy;
    if (policy.maxRunning === null) continue;
    const [owner, repo] = settings.repo.split("/") as [string, string];
    const all = (await deps.store.listRunning(owner, repo)).map((s) => running(s, now));
    if (all.length <= policy.maxRunning) continue;
    const extras = archivable(all).slice(0, all.length - policy.maxRunning);
    await makeRoom(deps, settings, { ok: true, archive: extras }, "the running limit");
    archived += extras.length;
  }
  return archived;
}
