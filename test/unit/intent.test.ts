import { describe, expect, test } from "vitest";
import { githubActor, systemActor } from "../../src/domain/actor.ts";
import { decideApprove, decideArchive, decideDelete, decideOverrides, decideRedeploy, decideRestore } from "../../src/domain/intent/commands.ts";
import type { CurrentStaging } from "../../src/domain/intent/inputs.ts";
import { newest } from "../../src/domain/intent/inputs.ts";
import { decidePullRequestEvent, pullRequestDrift } from "../../src/domain/intent/pull-request.ts";
import type { PullRequestFacts } from "../../src/domain/intent/pull-request.ts";
import type { TriggerPolicy } from "../../src/domain/settings.ts";

const open: TriggerPolicy = { drafts: false, labels: [] };
const dev = githubActor("dev");
const sha = (c: string) => c.repeat(40);
const t = (minute: number) => new Date(Date.UTC(2026, 11, 1, 10, minute));

function staging(over: Partial<CurrentStaging> = {}): CurrentStaging {
  return {
    name: "web-pr-1",
    namespace: "octostage-web-pr-1",
    status: "running",
    generation: 1,
    observedGeneration: 1,
    desiredState: "active",
    headSha: sha("a"),
    headRef: "feature",
    headFromFork: false,
    headChangedAt: t(0),
    prUpdatedAt: t(0),
    approvedSha: null,
    approvedBy: null,
    skipReason: null,
    imageTag: null,
    follow: false,
    keepUntil: null,
    keepLabel: false,
    ...over,
  };
}

function event(over: Partial<PullRequestFacts> = {}): PullRequestFacts {
  return { action: "synchronize", state: "open", merged: false, headSha: sha("b"), headRef: "feature", draft: false, labels: [], fromFork: false, updatedAt: t(5), ...over };
}

describe("pull_request events, decided on the staging as it is now", () => {
  test("a push moves the head forward, records when (GitHub's time), and asks for a deploy", () => {
    const d = decidePullRequestEvent(open, staging(), event(), dev);
    expect(d).toMatchObject({ change: true, bumpGeneration: true, result: "deploy", inputs: { headSha: sha("b"), headChangedAt: t(5), prUpdatedAt: t(5), desiredState: "active" } });
  });

  test("an event older than the newest one applied changes nothing (a late redelivery)", () => {
    const d = decidePullRequestEvent(open, staging({ prUpdatedAt: t(10) }), event({ updatedAt: t(5) }), dev);
    expect(d).toMatchObject({ change: false, result: "stale" });
    // The same second counts as not older: GitHub's timestamps are to the second.
    expect(decidePullRequestEvent(open, staging({ prUpdatedAt: t(5) }), event({ updatedAt: t(5) }), dev).change).toBe(true);
    // Without a timestamp on either side, the event applies.
    expect(decidePullRequestEvent(open, staging({ prUpdatedAt: null }), event({ updatedAt: t(1) }), dev).change).toBe(true);
    expect(decidePullRequestEvent(open, staging({ prUpdatedAt: t(9) }), event({ updatedAt: null }), dev).change).toBe(true);
  });

  test("closed archives (once), and a closed PR never brings its staging back with a label or a push", () => {
    expect(decidePullRequestEvent(open, staging(), event({ action: "closed", state: "closed" }), dev)).toMatchObject({
      change: true,
      bumpGeneration: true,
      result: "archive",
      inputs: { desiredState: "archived" },
    });
    expect(decidePullRequestEvent(open, staging({ desiredState: "archived" }), event({ action: "closed", state: "closed" }), dev)).toMatchObject({ bumpGeneration: false });
    expect(decidePullRequestEvent(open, null, event({ action: "closed", state: "closed" }), dev)).toMatchObject({ change: false, result: "unknown_staging" });
    expect(decidePullRequestEvent(open, staging({ desiredState: "archived" }), event({ action: "labeled", state: "closed" }), dev)).toMatchObject({ change: false, result: "closed" });
  });

  test("a deleted staging stays deleted: events update its head, `/octo deploy` brings it back", () => {
    const d = decidePullRequestEvent(open, staging({ desiredState: "deleted" }), event(), dev);
    expect(d).toMatchObject({ change: true, bumpGeneration: false, result: "kept_deleted", inputs: { headSha: sha("b") } });
    expect(d.change && d.inputs.desiredState).toBeFalsy();
    expect(decidePullRequestEvent(open, staging({ desiredState: "deleted" }), event({ action: "closed", state: "closed" }), dev)).toMatchObject({ bumpGeneration: false, result: "kept_deleted" });
  });

  test("policy holds drafts and forks; a label on a staging already running the head deploys nothing new", () => {
    expect(decidePullRequestEvent(open, null, event({ action: "opened", draft: true }), dev)).toMatchObject({ result: "hold", inputs: { desiredState: "held" }, bumpGeneration: false });
    expect(decidePullRequestEvent(open, null, event({ action: "opened", fromFork: true }), dev)).toMatchObject({ result: "hold", action: { kind: "hold", detail: { hold: "fork" } } });
    expect(decidePullRequestEvent(open, staging({ headSha: sha("b") }), event({ action: "labeled" }), dev)).toMatchObject({ change: true, bumpGeneration: false, result: "unchanged" });
    expect(decidePullRequestEvent(open, staging({ headSha: sha("b") }), event({ action: "reopened" }), dev)).toMatchObject({ bumpGeneration: true });
  });

  test("a fork's push deploys only the approved commit", () => {
    const approved = staging({ headFromFork: true, approvedSha: sha("a") });
    expect(decidePullRequestEvent(open, approved, event({ fromFork: true, headSha: sha("a") }), dev)).toMatchObject({ result: "unchanged" });
    expect(decidePullRequestEvent(open, approved, event({ fromFork: true, headSha: sha("b") }), dev)).toMatchObject({ result: "hold", inputs: { desiredState: "held" } });
  });

  test("a push that policy holds leaves an archived staging archived, so /octo restore still applies (and gates the fork)", () => {
    const archived = staging({ headFromFork: true, approvedSha: sha("a"), desiredState: "archived" });
    const held = decidePullRequestEvent(open, archived, event({ fromFork: true, headSha: sha("b") }), dev);
    expect(held).toMatchObject({ result: "hold", bumpGeneration: false, inputs: { desiredState: "archived", headSha: sha("b") } });
    expect(decideRestore({ ...archived, headSha: sha("b") }, dev)).toMatchObject({ change: false, result: { ok: false, code: "unapproved_fork_commit" } });
  });

  test("newest keeps the later of two GitHub times", () => {
    expect(newest(t(1), t(2))).toEqual(t(2));
    expect(newest(t(3), t(2))).toEqual(t(3));
    expect(newest(null, t(2))).toEqual(t(2));
    expect(newest(t(2), null)).toEqual(t(2));
  });
});

describe("what GitHub's answer changes (the reconciler's check for lost webhooks)", () => {
  const answer = (over: Partial<PullRequestFacts> = {}) => event({ headSha: sha("a"), ...over });
  test("nothing when it matches; closed, reopened, a new head or a new trigger decision otherwise", () => {
    expect(pullRequestDrift(open, staging(), answer())).toBeNull();
    expect(pullRequestDrift(open, staging(), answer({ state: "closed" }))).toBe("closed");
    expect(pullRequestDrift(open, staging({ desiredState: "archived" }), answer({ state: "closed" }))).toBeNull();
    expect(pullRequestDrift(open, staging({ desiredState: "archived" }), answer())).toBe("reopened");
    expect(pullRequestDrift(open, staging(), answer({ headSha: sha("c") }))).toBe("synchronize");
    expect(pullRequestDrift({ drafts: false, labels: ["stage"] }, staging(), answer())).toBe("unlabeled");
    expect(pullRequestDrift({ drafts: false, labels: ["stage"] }, staging({ desiredState: "held" }), answer({ labels: ["stage"] }))).toBe("labeled");
    expect(pullRequestDrift(open, staging({ desiredState: "deleted" }), answer({ state: "closed" }))).toBeNull();
  });
});

describe("people's requests, decided on the staging as it is now", () => {
  test("archive, and archive again (nothing to do)", () => {
    expect(decideArchive(staging(), dev)).toMatchObject({ change: true, bumpGeneration: true, inputs: { desiredState: "archived" }, result: { ok: true, done: "archived" } });
    expect(decideArchive(staging({ desiredState: "archived" }), dev)).toMatchObject({ change: false, result: { ok: true, done: "already_archived" } });
    expect(decideArchive(staging({ desiredState: "deleted" }), dev)).toMatchObject({ change: false, result: { ok: false, code: "deleted" } });
  });

  test("restore only what is archived; a fork's only at the approved commit", () => {
    expect(decideRestore(staging(), dev)).toMatchObject({ change: false, result: { ok: false, code: "not_archived" } });
    expect(decideRestore(staging({ desiredState: "archived" }), dev)).toMatchObject({ change: true, inputs: { desiredState: "active" }, result: { ok: true, done: "restoring", sha: sha("a") } });
    const forkMovedOn = staging({ desiredState: "archived", headFromFork: true, approvedSha: sha("9"), headSha: sha("a") });
    const refused = decideRestore(forkMovedOn, dev);
    expect(refused).toMatchObject({ change: false, result: { ok: false, code: "unapproved_fork_commit" } });
    expect(!refused.result.ok && refused.result.message).toContain("/octo deploy");
    expect(decideRestore({ ...forkMovedOn, approvedSha: sha("a") }, dev)).toMatchObject({ change: true });
  });

  test("redeploy only what is deployed (the reply says how to get it back); a fork's only at the approved commit", () => {
    expect(decideRedeploy(staging(), dev)).toMatchObject({ change: true, bumpGeneration: true, inputs: {} });
    const archived = decideRedeploy(staging({ desiredState: "archived" }), dev);
    expect(!archived.result.ok && archived.result.message).toContain("/octo restore");
    const held = decideRedeploy(staging({ desiredState: "held" }), dev);
    expect(!held.result.ok && held.result.message).toContain("/octo deploy");
    expect(decideRedeploy(staging({ headFromFork: true, approvedSha: null }), dev)).toMatchObject({ result: { ok: false, code: "unapproved_fork_commit" } });
  });

  test("approve the head the person saw, or an exact commit; never a commit that arrived after the request", () => {
    const s = staging({ headFromFork: true, desiredState: "held", headChangedAt: t(10) });
    expect(decideApprove(s, dev, { seenAt: t(11) })).toMatchObject({ change: true, inputs: { approvedSha: sha("a"), approvedBy: "dev", desiredState: "active" } });
    expect(decideApprove(s, dev, { seenAt: t(10) })).toMatchObject({ change: true });
    expect(decideApprove(s, dev, { seenAt: t(9) })).toMatchObject({ change: false, result: { ok: false, code: "unseen_commit" } });
    expect(decideApprove(s, dev, { seenAt: t(9), sha: sha("a").slice(0, 7) })).toMatchObject({ change: true });
    expect(decideApprove(s, dev, { seenAt: t(11), sha: "bbbbbbb" })).toMatchObject({ change: false, result: { ok: false, code: "not_head" } });
    expect(decideApprove(s, dev, { seenAt: null })).toMatchObject({ change: true });
  });

  test("delete, and delete of what is already deleted", () => {
    expect(decideDelete(staging(), dev)).toMatchObject({ change: true, bumpGeneration: true, inputs: { desiredState: "deleted" } });
    expect(decideDelete(staging({ desiredState: "deleted", status: "deleted" }), dev)).toMatchObject({ change: false, result: { done: "already_deleted" } });
    expect(decideDelete(staging({ desiredState: "deleted", status: "cleanup_failed" }), dev)).toMatchObject({ change: true });
  });

  test("overrides are always saved; only a deployed staging is redeployed for them; the audit names keys, never values", () => {
    const changes = [{ scope: "app" as const, key: "db.host", op: "set" as const, value: "secret-ish" }];
    const d = decideOverrides(staging(), dev, "app", changes);
    expect(d).toMatchObject({ change: true, bumpGeneration: true, overrides: changes });
    expect(JSON.stringify(d.change && d.action.detail)).not.toContain("secret-ish");
    expect(decideOverrides(staging({ desiredState: "archived" }), systemActor, "app", changes)).toMatchObject({ bumpGeneration: false });
  });
});

describe("people's requests: what exactly is recorded and answered", () => {
  test("archive, restore, redeploy, approve and delete record the action with its command and answer with what happens", () => {
    expect(decideArchive(staging(), dev)).toEqual({
      change: true,
      inputs: { desiredState: "archived" },
      action: { kind: "archive", actor: dev, detail: { command: "archive" } },
      bumpGeneration: true,
      result: { ok: true, done: "archived" },
    });
    expect(decideArchive(staging({ desiredState: "deleted" }), dev)).toEqual({
      change: false,
      reason: "`web-pr-1` was deleted; `/octo deploy` recreates it.",
      result: { ok: false, code: "deleted", message: "`web-pr-1` was deleted; `/octo deploy` recreates it." },
    });
    expect(decideRestore(staging({ desiredState: "archived" }), dev)).toEqual({
      change: true,
      inputs: { desiredState: "active", skipReason: null },
      action: { kind: "restore", actor: dev, detail: { command: "restore", sha: sha("a") } },
      bumpGeneration: true,
      result: { ok: true, done: "restoring", sha: sha("a") },
    });
    expect(decideRedeploy(staging(), dev)).toEqual({
      change: true,
      inputs: {},
      action: { kind: "deploy", actor: dev, detail: { command: "redeploy", sha: sha("a") } },
      bumpGeneration: true,
      result: { ok: true, done: "redeploying", sha: sha("a") },
    });
    expect(decideApprove(staging({ desiredState: "held" }), dev, { seenAt: null })).toEqual({
      change: true,
      inputs: { desiredState: "active", approvedSha: sha("a"), approvedBy: "dev", skipReason: null },
      action: { kind: "deploy", actor: dev, detail: { command: "deploy", approvedSha: sha("a") } },
      bumpGeneration: true,
      result: { ok: true, done: "approved", sha: sha("a") },
    });
    expect(decideDelete(staging(), dev)).toEqual({
      change: true,
      inputs: { desiredState: "deleted" },
      action: { kind: "cleanup", actor: dev, detail: { command: "delete" } },
      bumpGeneration: true,
      result: { ok: true, done: "deleting" },
    });
    expect(decideDelete(staging({ desiredState: "active", status: "deleted" }), dev)).toMatchObject({ change: true });
  });

  test("refusals say what to do, in the words the docs quote", () => {
    const message = (d: { result: { ok: boolean } }) => (d.result as { message?: string }).message;
    expect(message(decideRestore(staging(), dev))).toBe("`web-pr-1` is not archived (active).");
    expect(message(decideRestore(staging({ desiredState: "held" }), dev))).toBe("`web-pr-1` is not archived (held back by policy: use `/octo deploy`).");
    expect(message(decideRedeploy(staging({ desiredState: "archived" }), dev))).toBe("`web-pr-1` is not deployed (archived): `/octo restore` brings it back.");
    expect(message(decideRestore(staging({ desiredState: "archived", headFromFork: true, approvedSha: sha("9") }), dev))).toBe(
      "This PR comes from a fork and its head `aaaaaaa` is not approved (`9999999` was): a maintainer must review it and approve it with `/octo deploy`.",
    );
    expect(message(decideRedeploy(staging({ headFromFork: true }), dev))).toBe(
      "This PR comes from a fork and its head `aaaaaaa` is not approved: a maintainer must review it and approve it with `/octo deploy`.",
    );
    const s = staging({ headFromFork: true, headSha: "0123456789abcdef0123456789abcdef01234567", headChangedAt: t(10) });
    expect(message(decideApprove(s, dev, { seenAt: t(9) }))).toBe(
      "A new commit (`0123456`) reached this PR after your comment, so it was not approved: review it, then comment `/octo deploy` again (or `/octo deploy 0123456`).",
    );
    expect(message(decideApprove(s, dev, { seenAt: t(11), sha: "fedcba9" }))).toBe("fedcba9 is not the head of this PR (the head is `0123456`); nothing was approved.");
  });

  test("an exact commit is matched from its start: a suffix, an inner part or another case of nothing approves nothing", () => {
    const head = "0123456789abcdef0123456789abcdef01234567";
    const s = staging({ headFromFork: true, headSha: head, desiredState: "held" });
    expect(decideApprove(s, dev, { seenAt: null, sha: head.slice(-7) })).toMatchObject({ change: false, result: { code: "not_head" } });
    expect(decideApprove(s, dev, { seenAt: null, sha: head.slice(5, 12) })).toMatchObject({ change: false, result: { code: "not_head" } });
    expect(decideApprove(s, dev, { seenAt: null, sha: "0123456789ABCDEF" })).toMatchObject({ change: true, inputs: { approvedSha: head } });
  });

  test("overrides: a problem with the values refuses them and changes nothing; the audit says set or unset, and which keys", () => {
    const set = { scope: "app" as const, key: "a", op: "set" as const, value: 1 };
    const unset = { scope: "app" as const, key: "b", op: "unset" as const };
    expect(decideOverrides(staging(), dev, "app", [set], "env[3] leaves a hole")).toEqual({
      change: false,
      reason: "env[3] leaves a hole. Nothing was changed.",
      result: { ok: false, code: "invalid_override", message: "env[3] leaves a hole. Nothing was changed." },
    });
    expect(decideOverrides(staging(), dev, "app", [unset, set])).toMatchObject({
      action: { kind: "override", actor: dev, detail: { command: "override", scope: "app", changes: [{ key: "b", op: "unset" }, { key: "a", op: "set" }] } },
      result: { ok: true, done: "overrides_saved" },
    });
    expect(decideOverrides(staging(), dev, "deployment", [unset])).toMatchObject({ action: { detail: { command: "unset", scope: "deployment" } } });
  });
});

describe("pull_request events: the action recorded", () => {
  test("each event is recorded as what it does to the staging, with the event and the SHA", () => {
    const kinds = { opened: "deploy", reopened: "restore", synchronize: "update", ready_for_review: "deploy", labeled: "deploy" } as const;
    for (const [action, kind] of Object.entries(kinds)) {
      const d = decidePullRequestEvent(open, staging({ headSha: sha("b") }), event({ action: action as PullRequestFacts["action"], headSha: sha("c") }), dev);
      expect(d).toMatchObject({ change: true, action: { kind, actor: dev, detail: { event: action, sha: sha("c") } } });
    }
    const drafts = { drafts: false, labels: ["stage"] };
    expect(decidePullRequestEvent(drafts, staging(), event({ action: "unlabeled" }), dev)).toMatchObject({ action: { kind: "hold", detail: { event: "unlabeled", hold: "labels" } } });
    expect(decidePullRequestEvent(open, staging(), event({ action: "converted_to_draft", draft: true }), dev)).toMatchObject({ action: { kind: "hold", detail: { event: "converted_to_draft" } } });
    expect(decidePullRequestEvent(open, staging(), event({ action: "closed", state: "closed" }), dev)).toMatchObject({
      change: true,
      inputs: { desiredState: "archived", skipReason: null },
      action: { kind: "archive", detail: { event: "closed" } },
      bumpGeneration: true,
      result: "archive",
    });
  });

  test("a closed PR whose staging was deleted stays deleted; events for an unknown or closed PR change nothing, saying why", () => {
    expect(decidePullRequestEvent(open, staging({ desiredState: "deleted" }), event({ action: "closed", state: "closed" }), dev)).toMatchObject({
      change: true,
      action: { kind: "hold" },
      bumpGeneration: false,
      result: "kept_deleted",
    });
    expect(decidePullRequestEvent(open, null, event({ action: "closed", state: "closed" }), dev)).toEqual({ change: false, reason: "no staging for this pull request", result: "unknown_staging" });
    expect(decidePullRequestEvent(open, staging(), event({ action: "labeled", state: "closed" }), dev)).toEqual({ change: false, reason: "the pull request is closed", result: "closed" });
    const deleted = decidePullRequestEvent(open, staging({ desiredState: "deleted" }), event({ headSha: sha("d") }), dev);
    expect(deleted).toMatchObject({ change: true, bumpGeneration: false, result: "kept_deleted", inputs: { headSha: sha("d"), skipReason: "Deleted with `/octo delete`; `/octo deploy` recreates it." }, action: { kind: "hold" } });
    const stale = decidePullRequestEvent(open, staging({ prUpdatedAt: t(6) }), event({ updatedAt: t(5) }), dev);
    expect(stale).toEqual({ change: false, reason: `older than the state recorded (GitHub updated_at ${t(5).toISOString()} < ${t(6).toISOString()})`, result: "stale" });
  });

  test("the head changes only with a new SHA: a label keeps headChangedAt", () => {
    const same = decidePullRequestEvent(open, staging({ headSha: sha("b"), headChangedAt: t(1) }), event({ action: "labeled", headSha: sha("b"), updatedAt: t(7) }), dev);
    expect(same.change && same.inputs).not.toHaveProperty("headChangedAt");
    expect(same.change && same.inputs).toMatchObject({ prUpdatedAt: t(7) });
    const moved = decidePullRequestEvent(open, staging({ headSha: sha("b"), headChangedAt: t(1) }), event({ headSha: sha("c"), updatedAt: t(7) }), dev);
    expect(moved.change && moved.inputs).toMatchObject({ headChangedAt: t(7), headSha: sha("c") });
    const first = decidePullRequestEvent(open, null, event({ action: "opened", updatedAt: t(7) }), dev);
    expect(first.change && first.inputs).toMatchObject({ headChangedAt: t(7) });
  });
});
