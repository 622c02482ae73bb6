import { githubActor } from "../domain/actor.ts";
import { decidePullRequestEvent } from "../domain/intent/pull-request.ts";
import type { PullRequestFacts, PullRequestOutcome } from "../domain/intent/pull-request.ts";
import { stagingIdentity } from "../domain/spec.ts";
import type { AppDeps } from "./deps.ts";
import { changeAndEnqueue } from "./change-staging.ts";
import { pullRequestSpec } from "./desired-spec.ts";
import { checkRunningLimit, makeRoom, withinLimit } from "./lifecycle/running-limit.ts";
import { linkIssues } from "./jira/link-issues.ts";
import { defaultLifecyclePolicy } from "../domain/lifecycle.ts";

/** The facts of a `pull_request` webhook that Octostage acts on (parsed at the edge). */
export interface PullRequestEvent extends PullRequestFacts {
  deliveryId: string;
  installationId: number;
  owner: string;
  repo: string;
  number: number;
  sender: string;
  /** Where Jira issue keys are looked for, with the branch (headRef). */
  title: string;
  body: string;
}

export type IntakeResult =
  | { result: "not_configured" }
  | { result: "duplicate" }
  | { result: "unchanged"; why: PullRequestOutcome; reason: string }
  | { result: "recorded"; stagingId: string; generation: number; outcome: PullRequestOutcome };

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock">;

/**
 * Records what a PR event asks for: one transaction (delivery id, the staging row locked, the
 * decision on it as it is now, audit entry), then enqueues. Never runs helm or waits for the
 * cluster: GitHub gives up after 10 s.
 */
export async function requestPullRequestStaging(deps: Deps, ev: PullRequestEvent): Promise<IntakeResult> {
  const settings = deps.project.forRepo(`${ev.owner}/${ev.repo}`);
  if (!settings) return { result: "not_configured" };
  const identity = stagingIdentity(settings, ev.number);
  const policy = settings.lifecycle ?? defaultLifecyclePolicy;
  // The running limit costs a read only where one is configured, and only for events that can start a staging.
  const mayStart = policy.maxRunning !== null && ev.state === "open" && ev.action !== "closed";
  const limit = mayStart ? await checkRunningLimit(deps, settings, (await deps.store.find({ repoOwner: ev.owner, repoName: ev.repo, prNumber: ev.number }))?.id ?? null) : ({ ok: true } as const);
  const out = await changeAndEnqueue(deps, {
    target: { key: { repoOwner: ev.owner, repoName: ev.repo, prNumber: ev.number }, create: { ...identity, installationId: ev.installationId } },
    deliveryId: ev.deliveryId,
    event: `pull_request.${ev.action}`,
    decide: (current) =>
      withinLimit(limit, current?.staging ?? null, decidePullRequestEvent(settings.trigger, current?.staging ?? null, ev, githubActor(ev.sender), settings.lifecycle), (message, decision) => ({
        ...decision,
        inputs: { ...decision.inputs, desiredState: "held", skipReason: `Not deployed: ${message} Then comment \`/octo deploy\`.` },
        action: { ...decision.action, kind: "hold", detail: { ...decision.action.detail, policy: "maxRunning" } },
        bumpGeneration: false,
        result: "hold" as const,
      })),
    spec: pullRequestSpec(settings, ev.owner, ev.repo, ev.number),
  });
  switch (out.outcome) {
    case "duplicate":
      return { result: "duplicate" };
    case "unchanged":
      return { result: "unchanged", why: out.result, reason: out.reason };
    case "changed":
      if (out.staging.desiredState === "active") await makeRoom(deps, settings, limit, out.staging.name);
      await linkIssues(deps, settings, out.staging.id, ev);
      return { result: "recorded", stagingId: out.staging.id, generation: out.staging.generation, outcome: out.result };
  }
}
