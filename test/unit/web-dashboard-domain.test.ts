// The dashboard's pure parts: roles from GitHub permissions, refusals, the workloads snapshot,
// and the HTML template's escaping (a staging name or helm output never becomes markup).
import { describe, expect, it } from "vitest";
import { roleFromPermission, webRefusal } from "../../src/domain/web-access.ts";
import { maxPods, sameSnapshot, workloadSnapshot } from "../../src/domain/workload-snapshot.ts";
import { html, raw } from "../../src/entrypoints/web/html.ts";

const pod = (name: string, opts: { ready?: boolean; restarts?: number; waiting?: string } = {}) => ({
  name,
  phase: "Running",
  containers: [{ name: "web", image: "web:1", ready: opts.ready ?? true, restartCount: opts.restarts ?? 0, ...(opts.waiting ? { waiting: { reason: opts.waiting, message: "back-off 5m0s" } } : {}) }],
});

describe("dashboard roles from GitHub", () => {
  it("reading on GitHub lets people see, writing lets them operate, admin lets them delete", () => {
    expect(roleFromPermission("read")).toBe("read");
    expect(roleFromPermission("triage")).toBe("read");
    expect(roleFromPermission("write")).toBe("operate");
    expect(roleFromPermission("maintain")).toBe("operate");
    expect(roleFromPermission("admin")).toBe("admin");
    expect(roleFromPermission("none")).toBeNull();
  });

  it("a refusal names the access needed in GitHub's words and what the person has", () => {
    expect(webRefusal("o/r", "Archive", "operate", "read")).toBe("Archive needs write access to o/r on GitHub; you have read");
    expect(webRefusal("o/r", "Delete", "admin", "operate")).toBe("Delete needs admin access to o/r on GitHub; you have write");
    expect(webRefusal("o/r", "Reading", "read", null)).toBe("Reading needs read access to o/r on GitHub; you have no access");
    expect(webRefusal("o/r", "Delete", "admin", "admin")).toContain("you have admin");
  });
});

describe("workload snapshot", () => {
  const deploy = { kind: "Deployment", name: "web", desiredReplicas: 2, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1, generation: 1, observedGeneration: 1, conditions: [] };

  it("lists workloads with readiness and pods with their problem, problems first", () => {
    const s = workloadSnapshot([deploy], [pod("web-b"), pod("web-a", { ready: false, restarts: 7, waiting: "CrashLoopBackOff" })]);
    expect(s.workloads).toEqual([{ kind: "Deployment", name: "web", ready: 1, desired: 2 }]);
    expect(s.pods.map((p) => p.name)).toEqual(["web-a", "web-b"]);
    expect(s.pods[0]).toMatchObject({ ready: false, restarts: 7 });
    expect(s.pods[0]!.problem).toContain("CrashLoopBackOff");
    expect(s.pods[1]).toMatchObject({ ready: true, restarts: 0, problem: null });
    expect(s.morePods).toBe(0);
  });

  it("caps the pods listed and counts the rest", () => {
    const many = Array.from({ length: maxPods + 5 }, (_, i) => pod(`p-${String(i).padStart(3, "0")}`));
    const s = workloadSnapshot([], many);
    expect(s.pods).toHaveLength(maxPods);
    expect(s.morePods).toBe(5);
  });

  it("a pod with no containers is not ready", () => {
    expect(workloadSnapshot([], [{ name: "p", phase: "Pending", containers: [] }]).pods[0]!.ready).toBe(false);
  });

  it("is the same when nothing visible changed, whatever the order seen", () => {
    const a = workloadSnapshot([deploy, { ...deploy, kind: "StatefulSet", name: "db" }], [pod("x"), pod("y")]);
    const b = workloadSnapshot([{ ...deploy, kind: "StatefulSet", name: "db" }, deploy], [pod("y"), pod("x")]);
    expect(sameSnapshot(a, b)).toBe(true);
    expect(sameSnapshot(null, b)).toBe(false);
    expect(sameSnapshot(a, workloadSnapshot([deploy], [pod("x", { restarts: 1 }), pod("y")]))).toBe(false);
  });
});

describe("html template", () => {
  it("escapes every value, keeps markup built by the templates, drops empty values", () => {
    const name = `<script>alert("x")</script>&'`;
    expect(html`<p title="${name}">${name}</p>`.value).toBe("<p title=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>");
    expect(html`<ul>${["a<", html`<li>b</li>`]}</ul>`.value).toBe("<ul>a&lt;<li>b</li></ul>");
    expect(html`${null}${undefined}${false}${0}${raw("<br>")}`.value).toBe("0<br>");
  });
});
