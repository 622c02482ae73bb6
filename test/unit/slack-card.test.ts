import { describe, expect, it } from "vitest";
import type { LifecycleSummary } from "../../src/domain/lifecycle-summary.ts";
import { esc, facts, stagingBlocks, statusText, titleOf } from "../../src/domain/slack-card.ts";
import type { CardStaging } from "../../src/domain/slack-card.ts";
import { blockKitProblems } from "../support/block-kit.ts";

const at = new Date("2026-12-01T09:14:00Z");
const staging = (over: Partial<CardStaging> = {}): CardStaging => ({
  name: "qa-main",
  repoOwner: "octo-org",
  repoName: "web",
  origin: "named",
  prNumber: null,
  imageTag: null,
  headRef: "main",
  follow: false,
  status: "running",
  reason: null,
  url: "https://qa-main.staging.example.com",
  desiredState: "active",
  statusChangedAt: at,
  ...over,
});
const noLife: LifecycleSummary = { kept: null, next: null, cost: null };
const buttonsOf = (blocks: any[]) => blocks.filter((b) => b.type === "actions").flatMap((b) => b.elements.map((e: any) => e.text.text));
const allText = (blocks: unknown) => JSON.stringify(blocks);

describe("Slack staging card", () => {
  it("escapes Slack's control characters in everything people typed, so a reason cannot mention the channel or hide a link", () => {
    expect(esc("a & <b> <!channel>")).toBe("a &amp; &lt;b&gt; &lt;!channel&gt;");
    const hostile = staging({ status: "failed", reason: "<!channel> see <https://evil.example|the fix>", headRef: "x>y" });
    const text = allText(stagingBlocks({ staging: hostile, life: noLife }, { buttons: true }));
    expect(text).not.toContain("<!channel>");
    expect(text).not.toContain("<https://evil.example");
    expect(text).toContain("&lt;!channel&gt;");
    expect(facts({ staging: hostile, life: noLife })).toContain("`x&gt;y`");
  });

  it("cuts long texts to Block Kit's limits and stays valid Block Kit", () => {
    expect(esc("x".repeat(10), 5)).toBe("xxxx…");
    expect(esc("x".repeat(5), 5)).toBe("xxxxx");
    const long = staging({ name: "n".repeat(63), status: "failed", reason: "r".repeat(10_000) });
    const blocks = stagingBlocks({ staging: long, life: noLife, createdBy: "c".repeat(500) }, { buttons: true });
    expect(blockKitProblems(blocks, "message")).toEqual([]);
    expect(statusText(long).length).toBeLessThan(600);
  });

  it("offers the buttons that make sense for the state: archive asks for confirmation, restore only when archived, none once deleted", () => {
    const active = stagingBlocks({ staging: staging(), life: noLife }, { buttons: true });
    expect(buttonsOf(active)).toEqual(["Open", "Redeploy", "Keep 7 days", "Archive"]);
    const archive = active.find((b) => b.type === "actions")!.elements.find((e: any) => e.action_id === "octo_archive");
    expect(archive).toMatchObject({ style: "danger", value: "qa-main", confirm: { confirm: { text: "Archive" }, deny: { text: "Cancel" } } });
    expect(buttonsOf(stagingBlocks({ staging: staging({ url: null }), life: noLife }, { buttons: true }))).toEqual(["Redeploy", "Keep 7 days", "Archive"]);
    expect(buttonsOf(stagingBlocks({ staging: staging({ desiredState: "archived", status: "archived" }), life: noLife }, { buttons: true }))).toEqual(["Restore"]);
    expect(buttonsOf(stagingBlocks({ staging: staging({ desiredState: "deleted", status: "deleted" }), life: noLife }, { buttons: true }))).toEqual([]);
    expect(buttonsOf(stagingBlocks({ staging: staging(), life: noLife }, { buttons: false }))).toEqual([]);
    expect(buttonsOf(stagingBlocks({ staging: staging({ desiredState: "held" }), life: noLife }, { buttons: true }))).toEqual([]);
  });

  it("links the title only while the staging is up", () => {
    expect(titleOf(staging())).toBe("<https://qa-main.staging.example.com|*qa-main*>");
    expect(titleOf(staging({ status: "archived" }))).toBe("*qa-main*");
    expect(titleOf(staging({ status: "deleted" }))).toBe("*qa-main*");
    expect(titleOf(staging({ url: null }))).toBe("*qa-main*");
  });

  it("says where a staging comes from, who created it, what it costs, how long it is kept and what a policy does next", () => {
    const stamp = "<!date^1796116440^{date_short_pretty} {time}|2026-12-01 09:14 UTC>";
    expect(facts({ staging: staging(), life: noLife, createdBy: "olivia" })).toBe(`octo-org/web · \`main\` · created by olivia · changed ${stamp}`);
    const pr = staging({ origin: "pull_request", prNumber: 42, name: "web-pr-42" });
    expect(facts({ staging: pr, life: noLife, createdBy: "ignored for PRs" })).toBe(`<https://github.com/octo-org/web/pull/42|octo-org/web#42> · changed ${stamp}`);
    expect(facts({ staging: staging({ imageTag: "v1.2.3", follow: false }), life: noLife })).toContain("octo-org/web · tag `v1.2.3`");
    expect(facts({ staging: staging({ follow: true }), life: noLife })).toContain("`main` (follows the branch)");
    const life: LifecycleSummary = {
      kept: { by: "keep", until: new Date("2027-01-15T00:00:00Z") },
      next: { action: "archive", policy: "idle", at: new Date("2027-01-20T00:00:00Z") },
      cost: { currency: "EUR", perDay: 1.234, toDate: 10, savedToDate: 0, savedPerDay: 0 },
    };
    expect(facts({ staging: staging(), life })).toBe(`octo-org/web · \`main\` · changed ${stamp} · ~1.23 EUR/day · kept until 2027-01-15 · archive on 2027-01-20 (idle)`);
    expect(facts({ staging: staging(), life: { ...noLife, kept: { by: "keep", until: null } } })).toContain("kept until `keep off`");
    expect(facts({ staging: staging(), life: { ...noLife, kept: { by: "label", label: "keep-me" } } })).toContain("kept by the `keep-me` label");
  });

  it("shows each status with its emoji and words", () => {
    expect(statusText({ status: "running", reason: null })).toBe(":large_green_circle: *running*");
    expect(statusText({ status: "failed", reason: "api: CrashLoopBackOff" })).toBe(":red_circle: *failed*: api: CrashLoopBackOff");
    expect(statusText({ status: "cleanup_failed", reason: null })).toBe(":warning: *cleanup failed*");
  });
});

describe("Slack staging card: every status and label", () => {
  it("every status has its own emoji, and in-between states share the hourglass", () => {
    const statuses = ["pending", "deploying", "running", "degraded", "failed", "archiving", "archived", "restoring", "cleaning", "cleanup_failed", "deleted"] as const;
    const shown = statuses.map((status) => statusText({ status, reason: null }).split(" ")[0]);
    for (const e of shown) expect(e).toMatch(/^:[a-z_]+:$/);
    expect(shown.filter((e) => e === ":hourglass_flowing_sand:")).toHaveLength(3);
    expect(new Set(shown).size).toBe(statuses.length - 2);
  });

  it("button labels and texts are cut to Slack's limits with an ellipsis, not refused", () => {
    const long = staging({ name: "x".repeat(63), desiredState: "archived", status: "archived" });
    const restore = stagingBlocks({ staging: long, life: noLife }, { buttons: true }).find((b) => b.type === "actions")!.elements[0];
    expect(restore).toMatchObject({ action_id: "octo_restore", style: "primary", value: long.name, text: { type: "plain_text", text: "Restore" } });
    const card = stagingBlocks({ staging: staging({ reason: "r".repeat(2000), name: "n".repeat(63) }), life: noLife, createdBy: "c".repeat(4000) }, { buttons: true });
    for (const b of card) for (const t of [b.text, ...(b.elements ?? [])]) if (t?.type === "mrkdwn") expect(t.text.length).toBeLessThanOrEqual(3000);
    expect(card[1]!.elements[0].text.endsWith("…")).toBe(false);
  });

  it("a named staging's origin is never a pull request link, even with a number", () => {
    expect(facts({ staging: staging({ origin: "named", prNumber: 7 }), life: noLife })).toMatch(/^octo-org\/web · `main`/);
    expect(facts({ staging: staging({ origin: "pull_request", prNumber: null }), life: noLife })).toMatch(/^octo-org\/web · `main`/);
  });
});
