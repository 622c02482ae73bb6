import { describe, expect, test } from "vitest";
import { githubActor } from "../../src/domain/actor.ts";
import { decideKeep } from "../../src/domain/intent/commands.ts";
import type { CurrentStaging } from "../../src/domain/intent/inputs.ts";
import { decidePullRequestEvent } from "../../src/domain/intent/pull-request.ts";
import { decideIssueMove, extractIssueKeys, isIssueKey } from "../../src/domain/jira.ts";
import { decideRunningLimit, defaultLifecyclePolicy, describePolicy, keepForever, nextDeadline, parseKeep, sweepStep } from "../../src/domain/lifecycle.ts";
import type { LifecycleFacts, LifecyclePolicy } from "../../src/domain/lifecycle.ts";
import { summarizeLifecycle } from "../../src/domain/lifecycle-summary.ts";
import { lifecycleLines } from "../../src/domain/report-view.ts";

const day = 24 * 3600 * 1000;
const hour = 3600 * 1000;
const t0 = new Date("2026-12-01T12:00:00Z");
const after = (ms: number) => new Date(t0.getTime() + ms);
const policy = (over: Partial<LifecyclePolicy> = {}): LifecyclePolicy => ({ ...defaultLifecyclePolicy, ...over });

function facts(over: Partial<LifecycleFacts> = {}): LifecycleFacts {
  return { desiredState: "archived", archivedAt: t0, lastActivityAt: t0, keepUntil: null, keepLabel: false, ...over };
}

describe("deadlines", () => {
  test("retention counts 14 days (default) from the archive; idle is off by default", () => {
    expect(nextDeadline(policy(), facts())).toEqual({ action: "cleanup", policy: "retention", at: after(14 * day) });
    expect(nextDeadline(policy(), facts({ desiredState: "active", archivedAt: null }))).toBeNull();
    expect(nextDeadline(policy({ idleDays: 7 }), facts({ desiredState: "active", archivedAt: null }))).toEqual({ action: "archive", policy: "idle", at: after(7 * day) });
    expect(nextDeadline(policy({ retentionDays: null }), facts())).toBeNull();
    expect(nextDeadline(policy(), facts({ desiredState: "held" }))).toBeNull();
  });

  test("a keep moves the deadline to its end, never earlier; the label and a keep until `off` stop it", () => {
    expect(nextDeadline(policy(), facts({ keepUntil: after(20 * day) }))!.at).toEqual(after(20 * day));
    expect(nextDeadline(policy(), facts({ keepUntil: after(3 * day) }))!.at).toEqual(after(14 * day));
    expect(nextDeadline(policy(), facts({ keepLabel: true }))).toBeNull();
    expect(nextDeadline(policy(), facts({ keepUntil: keepForever }))).toBeNull();
  });

  test("the sweep warns within warnHours, acts only once the notice has run its course", () => {
    const p = policy();
    expect(sweepStep(p, facts(), after(12 * day))).toEqual({ quiet: true });
    expect(sweepStep(p, facts(), after(13 * day + hour))).toEqual({ warn: { action: "cleanup", policy: "retention", at: after(14 * day) } });
    // Due, but nobody was told: a full window of notice first.
    expect(sweepStep(p, facts(), after(20 * day))).toEqual({ warn: { action: "cleanup", policy: "retention", at: after(21 * day) } });
    const notice = { at: after(14 * day), policy: "retention" as const };
    expect(sweepStep(p, facts(), after(14 * day - 1), notice)).toEqual({ warn: { action: "cleanup", policy: "retention", at: after(14 * day) } });
    expect(sweepStep(p, facts(), after(14 * day), notice)).toEqual({ act: { action: "cleanup", policy: "retention", at: after(14 * day) } });
    // A notice of another policy does not count.
    expect(sweepStep(p, facts(), after(20 * day), { at: after(day), policy: "idle" })).toMatchObject({ warn: { at: after(21 * day) } });
    // Kept since the notice: quiet (the notice is taken back).
    expect(sweepStep(p, facts({ keepLabel: true }), after(14 * day), notice)).toEqual({ quiet: true });
    expect(describePolicy(p, "retention")).toBe("archived stagings are cleaned up 14 days after they were archived");
    expect(describePolicy(policy({ idleDays: 3 }), "idle")).toBe("stagings with no push, command or restore for 3 days are archived");
  });
});

describe("keep", () => {
  test("parses days, a date (through that day, UTC), nothing (until off) and off; refuses the rest with the rule", () => {
    expect(parseKeep("7d", t0)).toEqual({ keepUntil: after(7 * day) });
    expect(parseKeep("until 2027-01-15", t0)).toEqual({ keepUntil: new Date("2027-01-16T00:00:00Z") });
    expect(parseKeep("", t0)).toEqual({ keepUntil: keepForever });
    expect(parseKeep("OFF", t0)).toEqual({ keepUntil: null });
    expect(parseKeep("0d", t0)).toEqual({ error: expect.stringContaining("1 to 366 days") });
    expect(parseKeep("400d", t0)).toEqual({ error: expect.stringContaining("1 to 366 days") });
    expect(parseKeep("until 2026-02-30", t0)).toEqual({ error: "2026-02-30 is not a date" });
    expect(parseKeep("until 2026-11-30", t0)).toEqual({ error: "2026-11-30 has passed" });
    expect(parseKeep("until 2026-12-01", t0)).toEqual({ keepUntil: new Date("2026-12-02T00:00:00Z") });
    expect(parseKeep("until 2028-12-01", t0)).toEqual({ error: expect.stringContaining("at most 366 days") });
    expect(parseKeep("forever", t0)).toEqual({ error: expect.stringContaining("keep takes nothing") });
  });

  const current: CurrentStaging = {
    name: "web-pr-1", namespace: "ns", status: "archived", generation: 2, observedGeneration: 2, desiredState: "archived", headSha: "a".repeat(40), headRef: "f",
    headFromFork: false, headChangedAt: null, prUpdatedAt: null, approvedSha: null, approvedBy: null, skipReason: null, imageTag: null, follow: false, keepUntil: null, keepLabel: false,
  };

  test("a keep is an audited change that deploys nothing; the same keep again changes nothing; a deleted staging has nothing to keep", () => {
    const d = decideKeep(current, githubActor("dev"), after(7 * day));
    expect(d).toMatchObject({ change: true, inputs: { keepUntil: after(7 * day) }, bumpGeneration: false, action: { kind: "keep", detail: { until: after(7 * day).toISOString() } }, result: { ok: true, done: "kept" } });
    expect(decideKeep({ ...current, keepUntil: after(7 * day) }, githubActor("dev"), after(7 * day)).change).toBe(false);
    expect(decideKeep({ ...current, keepUntil: after(7 * day) }, githubActor("dev"), null)).toMatchObject({ change: true, inputs: { keepUntil: null }, result: { done: "unkept" } });
    expect(decideKeep({ ...current, desiredState: "deleted" }, githubActor("dev"), null)).toMatchObject({ change: false, result: { ok: false, code: "deleted" } });
  });

  test("the keep label follows the PR's labels; close and merge follow their policies", () => {
    const ev = { action: "labeled" as const, state: "open" as const, merged: false, headSha: "a".repeat(40), headRef: "f", draft: false, labels: ["octostage/keep"], fromFork: false, updatedAt: null };
    const active = { ...current, desiredState: "active" as const, status: "running" as const };
    const open = { drafts: false, labels: [] };
    const labeled = decidePullRequestEvent(open, active, ev, githubActor("dev"));
    expect(labeled.change && labeled.inputs.keepLabel).toBe(true);
    const closed = decidePullRequestEvent(open, active, { ...ev, action: "closed", state: "closed", labels: [] }, githubActor("dev"), policy({ onClose: "cleanup" }));
    expect(closed).toMatchObject({ change: true, inputs: { desiredState: "deleted", keepLabel: false }, action: { kind: "cleanup", detail: { policy: "onClose" } }, result: "cleanup" });
    const merged = decidePullRequestEvent(open, active, { ...ev, action: "closed", state: "closed", merged: true }, githubActor("dev"), policy({ onClose: "cleanup" }));
    expect(merged).toMatchObject({ change: true, inputs: { desiredState: "archived" }, action: { kind: "archive", detail: { policy: "onMerge" } }, result: "archive" });
  });
});

describe("running limit", () => {
  const running = (name: string, daysAgo: number, kept = false) => ({ id: name, name, lastActivityAt: after(-daysAgo * day), kept });

  test("no limit, or room left: ok", () => {
    expect(decideRunningLimit(policy(), "acme/web", [running("a", 1), running("b", 2)])).toEqual({ ok: true });
    expect(decideRunningLimit(policy({ maxRunning: 3 }), "acme/web", [running("a", 1), running("b", 2)])).toEqual({ ok: true });
  });

  test("full: the least recently active unkept staging is archived, or the start is refused naming the limit and the candidates", () => {
    const list = [running("new", 1), running("old", 5), running("kept", 9, true)];
    expect(decideRunningLimit(policy({ maxRunning: 3 }), "acme/web", list)).toEqual({ ok: true, archive: [list[1]] });
    const refused = decideRunningLimit(policy({ maxRunning: 3, onLimit: "refuse" }), "acme/web", list);
    expect(refused).toEqual({ ok: false, message: "acme/web may run at most 3 stagings at once (policy maxRunning) and runs 3; archive one of the least recently used first: old, new." });
    expect(decideRunningLimit(policy({ maxRunning: 1 }), "acme/web", [running("kept", 1, true)])).toEqual({ ok: false, message: expect.stringContaining("every running staging is kept") });
  });
});

describe("Jira keys and moves", () => {
  test("keys of allowed projects from the branch (any case), title and body, each once, in order", () => {
    expect(extractIssueKeys(["WEB"], { branch: "feature/web-12-login", texts: ["WEB-13: x", "Fixes WEB-12 and OPS-1, not XWEB-9 nor WEB-0"] })).toEqual(["WEB-12", "WEB-13"]);
    expect(extractIssueKeys([], { branch: "WEB-1" })).toEqual([]);
    expect(extractIssueKeys(["WEB"], { texts: [Array.from({ length: 20 }, (_, i) => `WEB-${i + 1}`).join(" ")] })).toHaveLength(10);
    expect(isIssueKey("WEB-12")).toBe(true);
    expect(isIssueKey("web-12")).toBe(false);
  });

  test("into Done archives (or cleans up, or nothing), out of Done restores when the policy says so", () => {
    const p = { onDone: "archive" as const, restoreOnReopen: true };
    expect(decideIssueMove(p, "indeterminate", "done")).toBe("archive");
    expect(decideIssueMove({ ...p, onDone: "cleanup" }, "new", "done")).toBe("cleanup");
    expect(decideIssueMove({ ...p, onDone: "nothing" }, "new", "done")).toBeNull();
    expect(decideIssueMove(p, "done", "done")).toBeNull();
    expect(decideIssueMove(p, "done", "indeterminate")).toBe("restore");
    expect(decideIssueMove({ ...p, restoreOnReopen: false }, "done", "new")).toBeNull();
    expect(decideIssueMove(p, "new", "indeterminate")).toBeNull();
  });
});

describe("what people see", () => {
  test("the notice says when, what and how to keep; a keep and the estimate are shown", () => {
    const summary = summarizeLifecycle(policy(), { currency: "USD", cpuHour: 0.04, memoryGiBHour: 0.005, storageGiBMonth: 0.1 }, { ...facts({ keepUntil: after(3 * day) }), usage: null }, t0);
    expect(summary).toEqual({ kept: { by: "keep", until: after(3 * day) }, next: { action: "cleanup", policy: "retention", at: after(14 * day) }, cost: null });
    const lines = lifecycleLines({ notice: { at: after(day), policy: "retention", rule: describePolicy(policy(), "retention") }, kept: null, keepLabel: "octostage/keep", cost: { currency: "EUR", perDay: 0.5, toDate: 3.25, savedToDate: 1, savedPerDay: 0 } });
    expect(lines[0]).toBe(
      "> ⏳ This staging will be **cleaned up** (helm uninstall, namespace and volumes deleted) on Wed, 02 Dec 2026 12:00 UTC: archived stagings are cleaned up 14 days after they were archived. To keep it, comment `/octo keep 7d` (or `/octo keep until YYYY-MM-DD`), or add the label `octostage/keep`.",
    );
    expect(lines[1]).toContain("Estimated cost: ≈ €0.50 per day, ≈ €3.25 to date; archiving saved ≈ €1.00");
    expect(lifecycleLines({ notice: null, kept: { by: "keep", until: null }, keepLabel: "k", cost: null })).toEqual(["📌 Kept from idle archive and retention cleanup until `/octo keep off`."]);
  });
});

describe("/octo keep in the command grammar", () => {
  test("takes nothing, days, a date or off; anything else gets its usage", async () => {
    const { parseCommand, formatCommand } = await import("../../src/domain/command-grammar.ts");
    expect(parseCommand("/octo keep")).toEqual({ ok: true, command: { name: "keep", arg: "" } });
    expect(parseCommand("/octo keep 7d")).toEqual({ ok: true, command: { name: "keep", arg: "7d" } });
    expect(parseCommand("/octo keep until   2027-01-15")).toEqual({ ok: true, command: { name: "keep", arg: "until 2027-01-15" } });
    expect(parseCommand("/octo keep off")).toEqual({ ok: true, command: { name: "keep", arg: "off" } });
    expect(parseCommand("/octo keep soon")).toEqual({ ok: false, error: expect.stringContaining('not "soon"'), usage: "/octo keep [7d | until YYYY-MM-DD | off]" });
    expect(formatCommand({ name: "keep", arg: "7d" })).toBe("/octo keep 7d");
    expect(parseCommand("/octo kep 7d")).toMatchObject({ ok: false, suggestion: "keep" });
  });
});

describe("edges (found by mutation testing)", () => {
  test("the notice's time and the deadline: the later one counts; exactly warnHours ahead warns; exactly due without notice gets a full window", () => {
    const p = policy();
    // Retention was raised after the notice was given: the deadline (day 14) wins over the notice (day 10).
    expect(sweepStep(p, facts(), after(12 * day), { at: after(10 * day), policy: "retention" })).toEqual({ warn: { action: "cleanup", policy: "retention", at: after(14 * day) } });
    expect(sweepStep(p, facts(), after(13 * day))).toEqual({ warn: { action: "cleanup", policy: "retention", at: after(14 * day) } });
    expect(sweepStep(p, facts(), after(13 * day - 1))).toEqual({ quiet: true });
    expect(sweepStep(p, facts(), after(14 * day))).toEqual({ warn: { action: "cleanup", policy: "retention", at: after(15 * day) } });
    expect(nextDeadline(policy({ idleDays: 3 }), facts({ desiredState: "held", archivedAt: null }))).toBeNull();
  });

  test("keep arguments: trimmed, whole words only, bounds inclusive, real dates only", () => {
    expect(parseKeep("  7d ", t0)).toEqual({ keepUntil: after(7 * day) });
    expect(parseKeep("1d", t0)).toEqual({ keepUntil: after(day) });
    expect(parseKeep("366d", t0)).toEqual({ keepUntil: after(366 * day) });
    expect(parseKeep("367d", t0)).toEqual({ error: expect.stringContaining("got 367d") });
    for (const bad of ["offx", "xoff", "x7d", "7dx", "until 2027-01-15x", "xuntil 2027-01-15", "until 2027-1-15"]) expect(parseKeep(bad, t0)).toEqual({ error: expect.stringContaining(`not "${bad}"`) });
    expect(parseKeep("until   2027-01-15", t0)).toEqual({ keepUntil: new Date("2027-01-16T00:00:00Z") });
    expect(parseKeep("until 2027-13-01", t0)).toEqual({ error: "2027-13-01 is not a date" });
    expect(parseKeep("until 2027-00-10", t0)).toEqual({ error: "2027-00-10 is not a date" });
    expect(parseKeep("until 2027-04-31", t0)).toEqual({ error: "2027-04-31 is not a date" });
    // The day is over at midnight UTC: at that moment it has passed.
    expect(parseKeep("until 2026-11-30", new Date("2026-12-01T00:00:00Z"))).toEqual({ error: "2026-11-30 has passed" });
    // 366 days ahead exactly is allowed, a day more is not.
    const midnight = new Date("2026-12-01T00:00:00Z");
    expect(parseKeep("until 2027-12-01", midnight)).toEqual({ keepUntil: new Date("2027-12-02T00:00:00Z") });
    expect(parseKeep("until 2027-12-02", midnight)).toEqual({ error: expect.stringContaining("at most 366 days") });
  });

  test("what people see: label, keep until off, a keep ending now, no policy configured, held and deleted stagings, cost with usage", () => {
    const prices = { currency: "USD", cpuHour: 1, memoryGiBHour: 0, storageGiBMonth: 0 };
    expect(summarizeLifecycle(undefined, undefined, { ...facts({ keepLabel: true }), usage: null }, t0).kept).toEqual({ by: "label", label: "octostage/keep" });
    expect(summarizeLifecycle(undefined, undefined, { ...facts({ keepUntil: keepForever }), usage: null }, t0).kept).toEqual({ by: "keep", until: null });
    expect(summarizeLifecycle(undefined, undefined, { ...facts({ keepUntil: t0 }), usage: null }, t0).kept).toBeNull();
    expect(summarizeLifecycle(undefined, undefined, { ...facts(), usage: null }, t0).next).toEqual({ action: "cleanup", policy: "retention", at: after(14 * day) });
    expect(summarizeLifecycle(policy({ idleDays: 2 }), undefined, { ...facts({ desiredState: "active" }), usage: null }, t0).next).toMatchObject({ action: "archive", policy: "idle" });
    expect(summarizeLifecycle(policy({ idleDays: 2 }), undefined, { ...facts({ desiredState: "held" }), usage: null }, t0).next).toBeNull();
    expect(summarizeLifecycle(undefined, undefined, { ...facts({ desiredState: "deleted" }), usage: null }, t0).next).toBeNull();
    const usage = { since: t0.toISOString(), updatedAt: t0.toISOString(), cpuCoreHours: 0, memoryGiBHours: 0, storageGiBHours: 0, savedCpuCoreHours: 0, savedMemoryGiBHours: 0, current: { cpuCores: 1, memoryGiB: 0, storageGiB: 0 }, archived: null };
    expect(summarizeLifecycle(undefined, prices, { ...facts(), usage }, after(hour)).cost).toMatchObject({ perDay: 24, toDate: 1 });
    expect(summarizeLifecycle(undefined, undefined, { ...facts(), usage }, after(hour)).cost).toBeNull();
  });

  test("the running limit names at most 5 candidates, and archives when exactly enough unkept ones are left", () => {
    const running = (name: string, d: number, kept = false) => ({ id: name, name, lastActivityAt: after(-d * day), kept });
    const many = Array.from({ length: 7 }, (_, i) => running(`s${i}`, 10 - i));
    expect(decideRunningLimit(policy({ maxRunning: 7, onLimit: "refuse" }), "acme/web", many)).toEqual({ ok: false, message: expect.stringContaining(": s0, s1, s2, s3, s4.") });
    const two = [running("kept", 9, true), running("b", 1)];
    expect(decideRunningLimit(policy({ maxRunning: 2 }), "acme/web", two)).toEqual({ ok: true, archive: [two[1]] });
  });
});

describe("Jira key edges (found by mutation testing)", () => {
  test("titles and bodies link keys as Jira writes them (capitals) only; long numbers; the shape is whole", async () => {
    const { defaultJiraPolicy } = await import("../../src/domain/jira.ts");
    expect(defaultJiraPolicy).toEqual({ onDone: "archive", restoreOnReopen: true });
    expect(extractIssueKeys(["WEB"], { texts: ["see web-12 and Web-13"] })).toEqual([]);
    expect(extractIssueKeys(["WEB"], { texts: ["WEB-1234"] })).toEqual(["WEB-1234"]);
    expect(extractIssueKeys(["WEB"], { branch: "web-1234-x", texts: ["WEB-7"] })).toEqual(["WEB-1234", "WEB-7"]);
    expect(isIssueKey("WEB-123")).toBe(true);
    expect(isIssueKey("WEB-12x")).toBe(false);
    expect(isIssueKey("xWEB-12")).toBe(false);
    expect(isIssueKey("W-12")).toBe(false);
  });
});
