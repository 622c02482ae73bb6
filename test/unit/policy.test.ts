import { describe, expect, test } from "vitest";
import { decideTrigger } from "../../src/domain/policy.ts";
import type { PullRequestFacts } from "../../src/domain/policy.ts";
import type { TriggerPolicy } from "../../src/domain/settings.ts";

const open: TriggerPolicy = { drafts: false, labels: [] };

function pr(over: Partial<PullRequestFacts> = {}): PullRequestFacts {
  return { draft: false, labels: [], fromFork: false, ...over };
}

describe("decideTrigger", () => {
  test("a ready PR from the repository deploys when no labels are required", () => {
    expect(decideTrigger(open, pr())).toEqual({ deploy: true });
    expect(decideTrigger(open, pr({ labels: ["anything"] }))).toEqual({ deploy: true });
  });

  test("a fork never deploys, even as a draft with drafts allowed and a matching label", () => {
    const policies: TriggerPolicy[] = [open, { drafts: true, labels: [] }, { drafts: true, labels: ["staging"] }];
    const prs = [pr({ fromFork: true }), pr({ fromFork: true, draft: true }), pr({ fromFork: true, draft: true, labels: ["staging"] })];
    for (const policy of policies) {
      for (const facts of prs) {
        const decision = decideTrigger(policy, facts);
        expect(decision.deploy).toBe(false);
        if (decision.deploy) continue;
        expect(decision.hold).toBe("fork");
        expect(decision.reason).toMatch(/maintainer must approve/);
        expect(decision.reason).toContain("/octo deploy");
      }
    }
  });

  test("drafts are held unless the policy deploys drafts", () => {
    const held = decideTrigger(open, pr({ draft: true }));
    expect(held).toMatchObject({ deploy: false, hold: "draft" });
    if (!held.deploy) expect(held.reason).toMatch(/ready for review/);
    expect(decideTrigger({ drafts: true, labels: [] }, pr({ draft: true }))).toEqual({ deploy: true });
  });

  test("with labels configured, only PRs carrying one of them deploy", () => {
    const policy: TriggerPolicy = { drafts: false, labels: ["staging", "deploy-me"] };
    expect(decideTrigger(policy, pr({ labels: ["deploy-me"] }))).toEqual({ deploy: true });
    expect(decideTrigger(policy, pr({ labels: ["bug", "staging"] }))).toEqual({ deploy: true });
    const held = decideTrigger(policy, pr({ labels: ["bug"] }));
    expect(held).toMatchObject({ deploy: false, hold: "labels" });
    if (!held.deploy) {
      expect(held.reason).toContain("`staging`");
      expect(held.reason).toContain("`deploy-me`");
    }
    expect(decideTrigger(policy, pr())).toMatchObject({ deploy: false, hold: "labels" });
  });

  test("labels match exactly, not by substring", () => {
    const policy: TriggerPolicy = { drafts: false, labels: ["staging"] };
    expect(decideTrigger(policy, pr({ labels: ["no-staging"] })).deploy).toBe(false);
  });

  test("a draft with drafts allowed still needs a label", () => {
    const policy: TriggerPolicy = { drafts: true, labels: ["staging"] };
    expect(decideTrigger(policy, pr({ draft: true }))).toMatchObject({ deploy: false, hold: "labels" });
    expect(decideTrigger(policy, pr({ draft: true, labels: ["staging"] }))).toEqual({ deploy: true });
  });

  test("a draft without drafts allowed is held as a draft even when it has the label", () => {
    const policy: TriggerPolicy = { drafts: false, labels: ["staging"] };
    expect(decideTrigger(policy, pr({ draft: true, labels: ["staging"] }))).toMatchObject({ deploy: false, hold: "draft" });
  });
});

describe("a maintainer's approval (`/octo deploy`)", () => {
  const policy = { drafts: false, labels: ["staging"] };
  test("deploys a fork PR at exactly the approved SHA", () => {
    expect(decideTrigger(policy, { draft: false, labels: [], fromFork: true, headSha: "a".repeat(40), approvedSha: "a".repeat(40) })).toEqual({ deploy: true });
  });
  test("a later push from the fork needs a new approval, and the reason says so", () => {
    const d = decideTrigger(policy, { draft: false, labels: [], fromFork: true, headSha: "b".repeat(40), approvedSha: "a".repeat(40) });
    expect(d).toMatchObject({ deploy: false, hold: "fork" });
    if (!d.deploy) expect(d.reason).toContain("approves them again");
  });
  test("on a PR from the repository itself it lasts across pushes (draft or unlabelled)", () => {
    expect(decideTrigger(policy, { draft: true, labels: [], fromFork: false, headSha: "b".repeat(40), approvedSha: "a".repeat(40) })).toEqual({ deploy: true });
  });
});
