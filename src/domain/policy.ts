import type { TriggerPolicy } from "./settings.ts";

export interface PullRequestFacts {
  draft: boolean;
  labels: string[];
  /** The head branch lives in another repository (a fork). */
  fromFork: boolean;
}

export type TriggerDecision =
  | { deploy: true }
  | { deploy: false; hold: "draft" | "labels" | "fork"; reason: string };

/** Whether a PR deploys automatically. Forks never do: a maintainer must approve. */
export function decideTrigger(policy: TriggerPolicy, pr: PullRequestFacts): TriggerDecision {
  if (pr.fromFork) {
    return {
      deploy: false,
      hold: "fork",
      reason: "This PR comes from a fork: a maintainer must approve the deploy (`/octo deploy`).",
    };
  }
  if (pr.draft && !policy.drafts) {
    return { deploy: false, hold: "draft", reason: "Draft PRs are not deployed; mark it ready for review." };
  }
  if (policy.labels.length > 0 && !pr.labels.some((l) => policy.labels.includes(l))) {
    const wanted = policy.labels.map((l) => `\`${l}\``).join(", ");
    return { deploy: false, hold: "labels", reason: `Add one of the labels ${wanted} to deploy this PR.` };
  }
  return { deploy: true };
}
