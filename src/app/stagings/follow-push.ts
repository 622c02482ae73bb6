import type { Actor } from "../../domain/actor.ts";
import { decideFollowPush } from "../../domain/intent/named.ts";
import type { CommandResult } from "../../domain/intent/commands.ts";
import { noChange } from "../../domain/intent/inputs.ts";
import type { AppDeps } from "../deps.ts";
import { changeAndEnqueue } from "../change-staging.ts";
import { stagingSpec } from "../desired-spec.ts";

type Deps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock">;

export interface PushEvent {
  deliveryId: string;
  owner: string;
  repo: string;
  /** The branch (refs/heads/ stripped). */
  branch: string;
  sha: string;
  /** GitHub's time of the push (repository.pushed_at): an older redelivery changes nothing. */
  pushedAt: Date | null;
  actor: Actor;
}

/** A push to a branch: the named stagings that follow it move to the pushed commit (one transaction each). */
export async function followPush(deps: Deps, push: PushEvent): Promise<{ updated: string[]; unchanged: string[] }> {
  const following = await deps.store.listFollowing(push.owner, push.repo, push.branch);
  const out = { updated: [] as string[], unchanged: [] as string[] };
  for (const s of following) {
    const settings = deps.project.forRepo(`${s.repoOwner}/${s.repoName}`);
    if (!settings) continue;
    const result = await changeAndEnqueue(deps, {
      target: { id: s.id },
      // One delivery updates several stagings: each records it once.
      deliveryId: `${push.deliveryId}:${s.id}`,
      event: "push",
      decide: (current) => (current ? decideFollowPush(current.staging, push.actor, push) : noChange<CommandResult>("gone", { ok: true, done: "unchanged" })),
      spec: stagingSpec(settings, s),
    });
    (result.outcome === "changed" ? out.updated : out.unchanged).push(s.name);
  }
  return out;
}
