import { describe, expect, test } from "vitest";
import { decideTrigger } from "../../src/domain/policy.ts";
import { checkView, clipUtf8, commentBody, deploymentView, statusLabel } from "../../src/domain/report-view.ts";
import type { StagingView } from "../../src/domain/report-view.ts";
import { stagingStatuses } from "../../src/domain/state-machine.ts";
import type { StagingStatus } from "../../src/domain/state-machine.ts";

const sha = "abcdef0123456789abcdef0123456789abcdef01";
const url = "https://web-pr-42.staging.example.com";

function view(status: StagingStatus, over: Partial<StagingView> = {}): StagingView {
  return {
    name: "web-pr-42",
    namespace: "octostage-web-pr-42",
    status,
    reason: null,
    holdReason: null,
    held: false,
    url,
    sha,
    // A live staging runs the head SHA unless a test says otherwise.
    deployedSha: ["pending"].includes(status) ? null : sha,
    statusChangedAt: new Date("2025-03-04T05:06:07.890Z"),
    ...over,
  };
}

function forkHold(): Partial<StagingView> {
  const decision = decideTrigger({ drafts: true, labels: [] }, { draft: false, labels: [], fromFork: true });
  if (decision.deploy) throw new Error("a fork must be held");
  return { held: true, holdReason: decision.reason, deployedSha: null };
}

/** The data row of the comment's table, split into cells on unescaped pipes. */
function tableCells(body: string): string[] {
  const row = body.split("\n").find((l) => l.startsWith("| `"));
  if (!row) throw new Error(`no table row in:\n${body}`);
  return row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
}

describe("checkView", () => {
  test.each([
    ["pending", "in_progress", undefined, "Queued"],
    ["deploying", "in_progress", undefined, "Deploying abcdef0"],
    ["restoring", "in_progress", undefined, "Restoring abcdef0"],
    ["running", "completed", "success", `Running at ${url}`],
    ["degraded", "completed", "neutral", "Degraded: Deployment/web 1/2 ready"],
    ["failed", "completed", "failure", "Failed: Deployment/web 1/2 ready"],
    ["cleanup_failed", "completed", "failure", "Failed: Deployment/web 1/2 ready"],
    ["archiving", "completed", "neutral", "Archived"],
    ["archived", "completed", "neutral", "Archived"],
    ["cleaning", "completed", "neutral", "Deleted"],
    ["deleted", "completed", "neutral", "Deleted"],
  ] as const)("%s → %s %s %j", (status, checkStatus, conclusion, title) => {
    const v = checkView(view(status, { reason: "Deployment/web 1/2 ready" }));
    expect(v.status).toBe(checkStatus);
    expect(v.title).toBe(title);
    if (v.status === "completed") expect(v.conclusion).toBe(conclusion);
    expect(v.summary).toContain("`web-pr-42`");
    expect(v.summary).toContain("`octostage-web-pr-42`");
    expect(v.summary).toContain("abcdef0");
  });

  test("covers every status", () => {
    for (const s of stagingStatuses) expect(checkView(view(s)).title.length).toBeGreaterThan(0);
  });

  test("the URL is shown while the staging is up, the reason when there is one", () => {
    expect(checkView(view("running")).summary).toContain(`**URL:** ${url}`);
    expect(checkView(view("degraded", { reason: "api 0/1 ready" })).summary).toContain("**Reason:** api 0/1 ready");
    expect(checkView(view("failed", { reason: "ImagePullBackOff" })).summary).not.toContain(url);
    expect(checkView(view("running", { url: null })).title).toBe("Running at web-pr-42");
    expect(checkView(view("failed")).title).toBe("Failed: unknown reason");
  });

  test("a held PR (fork) is a neutral 'Not deployed' saying a maintainer must approve", () => {
    for (const status of ["pending", "archived"] as const) {
      const v = checkView(view(status, forkHold()));
      expect(v).toMatchObject({ status: "completed", conclusion: "neutral", title: "Not deployed" });
      expect(v.summary).toMatch(/maintainer must approve/);
    }
  });

  test("a long failure reason keeps the title short", () => {
    expect(checkView(view("failed", { reason: "x".repeat(1000) })).title.length).toBeLessThanOrEqual(200);
  });
});

describe("deploymentView", () => {
  test.each([
    ["pending", "queued", "Queued"],
    ["deploying", "in_progress", "Deploying abcdef0"],
    ["restoring", "in_progress", "Deploying abcdef0"],
    ["running", "success", "Running"],
    ["degraded", "success", "Degraded: pod crash"],
    ["failed", "failure", "Failed: pod crash"],
    ["cleanup_failed", "failure", "Failed: pod crash"],
    ["archiving", "inactive", "Archiving"],
    ["archived", "inactive", "Archived"],
    ["cleaning", "inactive", "Cleaning up"],
    ["deleted", "inactive", "Deleted"],
  ] as const)("%s → %s %j", (status, state, description) => {
    expect(deploymentView(view(status, { reason: "pod crash" }))).toEqual({ state, description });
  });

  test("a held PR that never deployed has no deployment", () => {
    expect(deploymentView(view("pending", forkHold()))).toBeNull();
  });

  test("the description never exceeds GitHub's 140 characters", () => {
    for (const status of stagingStatuses) {
      for (const reason of ["x".repeat(139), "y".repeat(140), "z".repeat(141), "long reason ".repeat(100)]) {
        const d = deploymentView(view(status, { reason }));
        expect(d, status).not.toBeNull();
        expect(d!.description.length, status).toBeLessThanOrEqual(140);
      }
    }
    const clipped = deploymentView(view("failed", { reason: "r".repeat(500) }))!;
    expect(clipped.description).toMatch(/^Failed: r+…$/);
    expect(clipped.description).toHaveLength(140);
  });
});

describe("commentBody", () => {
  test("a running staging shows its status, URL, short SHA and time of change", () => {
    const body = commentBody(view("running"));
    expect(body).toContain("### Octostage staging");
    expect(tableCells(body)).toEqual(["`web-pr-42`", statusLabel("running"), url, "`abcdef0`", "2025-03-04T05:06:07Z", "—"]);
  });

  test.each([...stagingStatuses])("%s: the URL appears only while the staging is up", (status) => {
    const body = commentBody(view(status));
    const shown = status === "running" || status === "degraded" || status === "deploying";
    expect(body.includes(url), status).toBe(shown);
    expect(tableCells(body)[1]).toBe(statusLabel(status));
  });

  test("a held PR says it was not deployed and that a maintainer must approve", () => {
    const body = commentBody(view("pending", forkHold()));
    const cells = tableCells(body);
    expect(cells[1]).toBe("⏸️ Not deployed");
    expect(cells[2]).toBe("—");
    expect(cells[5]).toMatch(/maintainer must approve/);
    expect(body).toMatch(/^> .*maintainer must approve/m);
  });

  test("pipes and newlines in the reason do not break the table", () => {
    const body = commentBody(view("degraded", { reason: "helm: a | b\nline two\r\nthree", url: "https://x.example.com/a|b" }));
    const cells = tableCells(body);
    expect(cells).toHaveLength(6);
    expect(cells[2]).toBe("https://x.example.com/a\\|b");
    expect(cells[5]).toBe("helm: a \\| b line two three");
    const row = body.split("\n").find((l) => l.startsWith("| `"))!;
    expect(row).not.toMatch(/[^\\]\|[^ ]/);
  });

  test("has no runs of blank lines", () => {
    for (const s of stagingStatuses) {
      expect(commentBody(view(s))).not.toContain("\n\n\n");
      expect(commentBody(view(s, forkHold()))).not.toContain("\n\n\n");
    }
  });
});

describe("statusLabel", () => {
  test("every status has a distinct label", () => {
    const labels = stagingStatuses.map(statusLabel);
    expect(new Set(labels).size).toBe(stagingStatuses.length);
    expect(statusLabel("cleanup_failed")).toMatch(/Cleanup failed/);
  });
});

describe("a deployed PR that policy now holds (e.g. back to draft) and that got a new push", () => {
  const newHead = "9999999999999999999999999999999999999999";
  const v = () =>
    view("running", { held: true, holdReason: "Draft PRs are not deployed; mark it ready for review.", sha: newHead, deployedSha: sha });

  test("the check run on the new head says it is not deployed", () => {
    expect(checkView(v())).toMatchObject({ status: "completed", conclusion: "neutral", title: "Not deployed" });
  });

  test("no GitHub Deployment is made for the new head", () => {
    expect(deploymentView(v())).toBeNull();
  });

  test("the comment shows the SHA that runs, and says the new head is not deployed and why", () => {
    const body = commentBody(v());
    expect(body).toContain("✅ Running");
    expect(body).toContain(`\`${sha.slice(0, 7)}\``);
    expect(body).toContain(`\`${newHead.slice(0, 7)}\` is not deployed. Draft PRs are not deployed`);
  });

  test("when the held head is the deployed SHA, it is reported as running", () => {
    expect(checkView(view("running", { held: true, holdReason: "x", deployedSha: sha }))).toMatchObject({ conclusion: "success" });
  });
});

describe("clipUtf8", () => {
  test("keeps text that fits, and cuts longer text at a character boundary within the byte budget", () => {
    expect(clipUtf8("héllo", 6)).toBe("héllo");
    for (const text of ["a".repeat(50), "é".repeat(50), "🚀".repeat(50), "aé🚀".repeat(20)]) {
      for (let max = 4; max < 40; max++) {
        const out = clipUtf8(text, max);
        expect(Buffer.byteLength(out, "utf8")).toBeLessThanOrEqual(max);
        expect(out.endsWith("…")).toBe(true);
        expect(text.startsWith(out.slice(0, -1))).toBe(true);
        expect(Buffer.from(out, "utf8").toString("utf8")).toBe(out);
      }
    }
  });
});
