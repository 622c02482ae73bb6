import { describe, expect, test } from "vitest";
import { canTransition, checkTransition, isLive, isStagingStatus, stagingStatuses } from "../../src/domain/state-machine.ts";
import type { StagingStatus } from "../../src/domain/state-machine.ts";

/**
 * The expected lifecycle, written out by hand from ARCHITECTURE.md "Staging lifecycle":
 *   pending → deploying → running ⇄ degraded → failed; any of them → archiving → archived
 *   → restoring → deploying …; archived → cleaning → deleted; cleanup_failed is retryable.
 * Plus what the product needs on top of the happy path:
 *   - a push (or retry) redeploys a running, degraded, failed or archived staging;
 *   - a failed rollout may still recover when its pods come up (failed → running/degraded);
 *   - a PR that never deployed (held by policy) and then closes goes straight to archived;
 *   - a staging can be deleted (→ cleaning) from anywhere but while already cleaning;
 *   - an archive that fails is "failed"; a PR reopened mid-archive restores or redeploys;
 *   - cleanup_failed retries (→ cleaning), is found gone (→ deleted), or is deployed again
 *     (`/octo deploy` after a delete that could not finish: → deploying, → failed);
 *   - deleted is final unless someone recreates it on purpose (`/octo deploy` → deploying).
 * Columns:  pending deploying running degraded failed archiving archived restoring cleaning cleanup_failed deleted
 * Y = allowed, . = refused, = = same status (not a change).
 */
const expected: Record<StagingStatus, string> = {
  //              pe de ru dg fa ag ad re cl cf dl
  pending:        "=  Y  .  .  Y  Y  Y  .  Y  .  .",
  deploying:      ".  =  Y  Y  Y  Y  .  .  Y  .  .",
  running:        ".  Y  =  Y  Y  Y  .  .  Y  .  .",
  degraded:       ".  Y  Y  =  Y  Y  .  .  Y  .  .",
  failed:         ".  Y  Y  Y  =  Y  .  .  Y  .  .",
  archiving:      ".  Y  .  .  Y  =  Y  Y  Y  .  .",
  archived:       ".  Y  .  .  .  .  =  Y  Y  .  .",
  restoring:      ".  Y  Y  Y  Y  Y  .  =  Y  .  .",
  cleaning:       ".  .  .  .  .  .  .  .  =  Y  Y",
  cleanup_failed: ".  Y  .  .  Y  .  .  .  Y  =  Y",
  deleted:        ".  Y  .  .  .  .  .  .  .  .  =",
};

const columns: StagingStatus[] = [
  "pending", "deploying", "running", "degraded", "failed", "archiving",
  "archived", "restoring", "cleaning", "cleanup_failed", "deleted",
];

function expectedCell(from: StagingStatus, to: StagingStatus): string {
  const cells = expected[from].split(/\s+/);
  expect(cells).toHaveLength(11);
  return cells[columns.indexOf(to)]!;
}

const pairs = columns.flatMap((from) => columns.map((to) => [from, to] as const));

describe("checkTransition", () => {
  test("the table covers exactly the 11 statuses of the module", () => {
    expect([...stagingStatuses].sort()).toEqual([...columns].sort());
    expect(pairs).toHaveLength(121);
    for (const from of columns) expect(expectedCell(from, from)).toBe("=");
  });

  test.each(pairs)("%s → %s matches the lifecycle table", (from, to) => {
    const cell = expectedCell(from, to);
    const result = checkTransition(from, to);
    if (cell === "=") expect(result).toEqual({ ok: true, changed: false });
    else if (cell === "Y") expect(result).toEqual({ ok: true, changed: true });
    else {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error).toContain(from);
        expect(result.error).toContain(to);
      }
    }
    expect(canTransition(from, to)).toBe(cell === "Y");
  });

  test("staying in the same status is fine but is not a change", () => {
    for (const s of columns) expect(checkTransition(s, s)).toEqual({ ok: true, changed: false });
  });

  test("deleted is final except for an explicit recreate (→ deploying)", () => {
    for (const to of columns.filter((s) => s !== "deleted" && s !== "deploying")) {
      expect(checkTransition("deleted", to).ok, `deleted → ${to}`).toBe(false);
    }
    expect(checkTransition("deleted", "deploying").ok).toBe(true);
  });

  test("every status is reachable from pending and every staging can still end up deleted", () => {
    const reach = (start: StagingStatus): Set<StagingStatus> => {
      const seen = new Set<StagingStatus>([start]);
      const queue = [start];
      for (let s = queue.shift(); s; s = queue.shift()) {
        for (const to of columns) {
          if (!seen.has(to) && canTransition(s, to)) {
            seen.add(to);
            queue.push(to);
          }
        }
      }
      return seen;
    };
    expect(reach("pending").size).toBe(11);
    for (const s of columns) expect(reach(s).has("deleted"), s).toBe(true);
  });

  test("a failed cleanup can be retried", () => {
    expect(checkTransition("cleanup_failed", "cleaning")).toEqual({ ok: true, changed: true });
  });
});

describe("isLive and isStagingStatus", () => {
  test("only deploying, running, degraded and failed stagings have workloads up", () => {
    const live = columns.filter(isLive);
    expect(live).toEqual(["deploying", "running", "degraded", "failed"]);
  });

  test("recognises the statuses and nothing else", () => {
    for (const s of columns) expect(isStagingStatus(s)).toBe(true);
    for (const s of ["", "Running", "ready", "archive", "deleted "]) expect(isStagingStatus(s), s).toBe(false);
  });
});
