// The ClusterRole that charts/octostage installs is the one docs/operators/install.md documents,
// and it allows every request a worker makes: its own client-node calls (watches, namespaces,
// quotas, scale) and helm's (the helm double installs and uninstalls a release), all recorded
// by the Kubernetes API double and checked one by one against the rules, as the API server's
// RBAC authorizer would.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { runDeploy } from "../../src/app/run-deploy.ts";
import { pushed, sha } from "../support/builders.ts";
import type { RecordedKubeRequest } from "../support/kube-api-double.ts";
import { useWorkerDoubles } from "../support/worker-doubles.ts";
import { workerDeps } from "../support/worker-deps.ts";

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

const root = resolve(import.meta.dirname, "../..");

/** The chart template's rules with the template directives (and its comment block) taken out. */
function chartRules(): Rule[] {
  const template = readFileSync(resolve(root, "charts/octostage/templates/clusterrole.yaml"), "utf8")
    .replace(/\{\{-? \/\*[\s\S]*?\*\/ -?\}\}/g, "")
    .split("\n")
    .filter((line) => !line.includes("{{"))
    .join("\n");
  return (parse(template) as { rules: Rule[] }).rules;
}

function documentedRules(): Rule[] {
  const doc = readFileSync(resolve(root, "docs/operators/install.md"), "utf8");
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes("kind: ClusterRole\n"));
  if (!block) throw new Error("no ClusterRole in docs/operators/install.md");
  const role = parseAllDocuments(block).map((d) => d.toJS() as { kind: string; rules?: Rule[] }).find((d) => d.kind === "ClusterRole");
  return role!.rules!;
}

/** What the RBAC authorizer sees in a request: API group, resource (with subresource), verb. */
function attributes(r: RecordedKubeRequest): { group: string; resource: string; verb: string } | null {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/(.*)$/.exec(r.path);
  if (!m) return null; // /version, /api, /apis: discovery, allowed to every authenticated user
  const segs = m[2]!.split("/");
  const namespaced = segs[0] === "namespaces" && segs.length >= 3;
  const [resource, name, sub] = namespaced ? segs.slice(2) : segs;
  const verb =
    r.method === "GET" ? (r.query.watch === "true" || r.query.watch === "1" ? "watch" : name ? "get" : "list")
    : r.method === "POST" ? "create"
    : r.method === "PUT" ? "update"
    : r.method === "PATCH" ? "patch"
    : r.method === "DELETE" ? (name ? "delete" : "deletecollection")
    : r.method.toLowerCase();
  return { group: m[1] ?? "", resource: sub ? `${resource}/${sub}` : resource!, verb };
}

const allows = (rules: Rule[], a: { group: string; resource: string; verb: string }): boolean =>
  rules.some((rule) => rule.apiGroups.includes(a.group) && rule.resources.includes(a.resource) && rule.verbs.includes(a.verb));

const doubles = useWorkerDoubles();

describe("charts/octostage ClusterRole", () => {
  it("is the ClusterRole documented in docs/operators/install.md", () => {
    expect(chartRules()).toEqual(documentedRules());
  });

  it("allows every request a worker and its helm make through a staging's life", async () => {
    const { db, kube, helm } = doubles;
    const deps = workerDeps(db, kube, helm);
    const watch = deps.cluster.watchWorkloads(() => undefined);
    await watch.ready();
    const out = { staging: await pushed(db.store, 7, sha(7), { action: "opened" }) };
    expect((await runDeploy(deps, out.staging.id)).outcome).toBe("done");
    const ns = out.staging.namespace;
    await deps.cluster.ensureResourceQuota(ns, { "requests.cpu": "2" });
    await deps.cluster.ensureResourceQuota(ns, { "requests.cpu": "4" });
    await deps.cluster.ensureResourceQuota(ns, null);
    const [web] = await deps.cluster.listWorkloads(ns);
    await deps.cluster.scaleWorkload(web!, 0);
    await deps.helm.uninstall(out.staging.name, ns, 60);
    await deps.cluster.deleteNamespace(ns, out.staging.id);
    await watch.stop();

    const rules = chartRules();
    const seen = kube.requests.map(attributes).filter((a) => a !== null);
    const kinds = new Set(seen.map((a) => `${a.verb} ${a.group}/${a.resource}`));
    // The run covered what matters: watches, namespaces, quotas, scale, helm's objects and releases.
    for (const k of ["watch apps/deployments", "watch /pods", "watch batch/jobs", "create /namespaces", "create /resourcequotas", "patch apps/deployments/scale", "create /secrets", "delete /namespaces"]) {
      expect(kinds).toContain(k);
    }
    expect([...kinds].filter((k) => !allows(rules, { verb: k.split(" ")[0]!, group: k.split(" ")[1]!.split("/")[0]!, resource: k.split(" ")[1]!.split("/").slice(1).join("/") }))).toEqual([]);
  });
});
