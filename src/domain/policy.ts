import type { TriggerPolicy } from "./settings.ts";

export interface PullRequestFacts {
  draft: boolean;
  labels: readonly string[];
  /** The head branch lives in another repository (a fork). */
  fromFork: boolean;
  headSha?: string;
  /**
   * The SHA a maintainer approved with `/octo deploy`. It deploys a PR that policy would hold
   * back. From a fork, only that exact SHA: every new push needs a new approval.
   */
  approvedSha?: string | null;
}

export type TriggerDecision =
  | { deploy: true }
  | { deploy: false; hold: "draft" | "labels" | "fork"; reason: string };

/** Whether a PR deploys. Forks never do without a maintainer's approval of their head SHA. */
export function decideTrigger(policy: TriggerPolicy, pr: PullRequestFacts): TriggerDecision {
  const approved = Boolean(pr.approvedSha) && (!pr.fromFork || pr.approvedSha === pr.headSha);
  if (approved) return { deploy: true };
  if (pr.fromFork) {
    return {
      deploy: false,
      hold: "fork",
      reason: pr.approvedSha
        ? `New commits from the fork are not deployed until a maintainer approves them again (\`/octo deploy\`); ${pr.approvedSha.slice(0, 7)} was approved.`
        : "This PR comes from a fork: a maintainer must approve the deploy (`/octo deploy`).",
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
