import { decideTrigger } from "../domain/policy.ts";
import { stagingIdentity } from "../domain/spec.ts";
import type { ActionKind, IntentInput } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { desiredSpecFor } from "./desired-spec.ts";
import { recordIntentAndEnqueue } from "./record-intent.ts";

export type PullRequestEventAction =
  | "opened"
  | "reopened"
  | "synchronize"
  | "ready_for_review"
  | "converted_to_draft"
  | "labeled"
  | "unlabeled"
  | "closed";

/** The facts of a `pull_request` webhook that Octostage acts on (parsed at the edge). */
export interface PullRequestEvent {
  deliveryId: string;
  action: PullRequestEventAction;
  installationId: number;
  owner: string;
  repo: string;
  number: number;
  sender: string;
  headSha: string;
  headRef: string;
  draft: boolean;
  labels: string[];
  fromFork: boolean;
}

export type IntakeResult =
  | { result: "not_configured" }
  | { result: "unknown_staging" }
  | { result: "duplicate" }
  | { result: "recorded"; stagingId: string; generation: number; deploy: boolean };

const actionKinds: Record<PullRequestEventAction, ActionKind> = {
  opened: "deploy",
  reopened: "restore",
  synchronize: "update",
  ready_for_review: "deploy",
  converted_to_draft: "hold",
  labeled: "deploy",
  unlabeled: "hold",
  closed: "archive",
};

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger">;

/**
 * Records what a PR event asks for (one transaction: delivery id, staging, audit action),
 * then enqueues. Never runs helm or waits for the cluster: GitHub gives up after 10 s.
 */
export async function requestPullRequestStaging(deps: Deps, ev: PullRequestEvent): Promise<IntakeResult> {
  const settings = deps.project.forRepo(`${ev.owner}/${ev.repo}`);
  if (!settings) return { result: "not_configured" };
  const key = { repoOwner: ev.owner, repoName: ev.repo, prNumber: ev.number };
  const identity = stagingIdentity(settings, ev.number);
  const action = { kind: actionKinds[ev.action], actor: ev.sender, source: "github" as const, detail: { event: ev.action, sha: ev.headSha } };
  let intent: IntentInput;

  const existing = await deps.store.find(key);
  const edits = existing ? await deps.store.listOverrides(existing.id) : [];
  const head = { owner: ev.owner, repo: ev.repo, number: ev.number, sha: ev.headSha, ref: ev.headRef };
  const spec = desiredSpecFor(settings, edits, head, identity.name);
  if (existing?.desiredState === "deleted") {
    // Deleted on purpose (`/octo delete`): PR events do not bring it back, `/octo deploy` does.
    intent = {
      deliveryId: ev.deliveryId,
      event: `pull_request.${ev.action}`,
      key,
      create: { ...identity, installationId: ev.installationId },
      desiredState: "deleted",
      ...(ev.action === "closed" ? {} : { desiredSpec: spec }),
      skipReason: "Deleted with `/octo delete`; `/octo deploy` recreates it.",
      action: { ...action, kind: "hold" },
      bumpGeneration: false,
    };
  } else if (ev.action === "closed") {
    if (!existing) return { result: "unknown_staging" };
    intent = {
      deliveryId: ev.deliveryId,
      event: "pull_request.closed",
      key,
      create: { ...identity, installationId: ev.installationId },
      desiredState: "archived",
      skipReason: null,
      action,
      bumpGeneration: true,
    };
  } else {
    const decision = decideTrigger(settings.trigger, { ...ev, approvedSha: existing?.approvedSha ?? null });
    // A label or ready-for-review on a staging already running this SHA changes nothing to deploy.
    const changed =
      !existing || existing.desiredState !== "active" || existing.desiredSpec.sha !== spec.sha || ev.action === "reopened";
    intent = {
      deliveryId: ev.deliveryId,
      event: `pull_request.${ev.action}`,
      key,
      create: { ...identity, installationId: ev.installationId },
      desiredState: decision.deploy ? "active" : "held",
      desiredSpec: spec,
      skipReason: decision.deploy ? null : decision.reason,
      action: decision.deploy ? action : { ...action, kind: "hold", detail: { ...action.detail, hold: decision.hold } },
      bumpGeneration: decision.deploy && changed,
    };
  }

  const outcome = await recordIntentAndEnqueue(deps, intent);
  if (outcome.outcome === "duplicate") return { result: "duplicate" };
  const { staging } = outcome;
  return { result: "recorded", stagingId: staging.id, generation: staging.generation, deploy: intent.bumpGeneration };
}
