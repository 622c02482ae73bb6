// Least privilege, proven against an API server that enforces RBAC and Pod Security admission
// (the Kubernetes API double with `rbac: true`):
// - the chart's ClusterRoles and the RBAC section of docs/operators/install.md are what
//   scripts/generate-rbac.ts writes from src/adapters/kube/rbac.ts, the one source;
// - a worker with exactly the worker ClusterRole takes a staging through its whole life (deploy,
//   archive, restore, delete) and no request is refused: helm runs as the staging's deployer;
// - a chart (or an override) that `lookup`s a Secret of another namespace is refused, and the
//   refusal names the staging's deployer; a privileged pod is refused by Pod Security admission.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createHelmCli } from "../../src/adapters/helm/helm-cli.ts";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { defaultDeployerClusterRole, deployerName, workerNamespacedWrites, workerRules } from "../../src/adapters/kube/rbac.ts";
import { pullRequestSpec } from "../../src/app/desired-spec.ts";
import { runDeploy } from "../../src/app/run-deploy.ts";
import { githubActor } from "../../src/domain/actor.ts";
import { decideArchive, decideDelete, decideRestore } from "../../src/domain/intent/commands.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { chartDeployerRole, chartNamespacePolicy, chartWorkerRole, docsWithRbac, securityDocWithPolicy } from "../../scripts/generate-rbac.ts";
import { pushed, sha, testProject } from "../support/builders.ts";
import { installOctostageRbac, plantedPrivateKey } from "../support/octostage-rbac.ts";
import { useWorkerDoubles } from "../support/worker-doubles.ts";
import { workerDeps } from "../support/worker-deps.ts";

const root = resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(resolve(root, file), "utf8");
const doubles = useWorkerDoubles({ rbac: true });
const settings = testProject().repositories[0]!;

describe("generated RBAC", () => {
  it("the chart's ClusterRoles and the documented RBAC are what scripts/generate-rbac.ts writes (run npm run gen:rbac)", () => {
    expect(read("charts/octostage/templates/clusterrole.yaml")).toBe(chartWorkerRole());
    expect(read("charts/octostage/templates/clusterrole-deployer.yaml")).toBe(chartDeployerRole());
    const docs = read("docs/operators/install.md");
    expect(docs).toBe(docsWithRbac(docs));
    expect(read("charts/octostage/templates/admission-policy.yaml")).toBe(chartNamespacePolicy());
    const security = read("docs/operators/security.md");
    expect(security).toBe(securityDocWithPolicy(security));
  });

  it("the namespace admission policy covers every namespaced object the worker writes", () => {
    expect(workerNamespacedWrites(defaultDeployerClusterRole).sort()).toEqual(["limitranges", "resourcequotas", "rolebindings", "serviceaccounts", "serviceaccounts/token"]);
    const policy = parseAllDocuments(read("docs/operators/security.md").split("```yaml\n")[1]!.split("```")[0]!).map((d) => d.toJS());
    expect(policy.map((p) => p.kind)).toEqual(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);
    expect(policy[0].spec.matchConstraints.resourceRules.flatMap((r: { resources: string[] }) => r.resources).sort()).toEqual(
      ["namespaces", ...workerNamespacedWrites(defaultDeployerClusterRole)].sort(),
    );
  });

  it("the worker may not read Secrets or write workloads anywhere, and binds no role but the deployer's", () => {
    const rules = workerRules(defaultDeployerClusterRole).map((r) => r.rule);
    expect(rules.filter((r) => r.resources.includes("secrets"))).toEqual([]);
    expect(rules.filter((r) => r.apiGroups.includes("apps")).flatMap((r) => r.verbs)).toEqual(["get", "list", "watch"]);
    expect(rules.filter((r) => r.verbs.includes("bind") || r.verbs.includes("escalate"))).toEqual([
      expect.objectContaining({ resourceNames: [defaultDeployerClusterRole] }),
    ]);
    expect(rules.every((r) => !r.verbs.includes("*") && !r.resources.includes("*"))).toBe(true);
  });
});

describe("a staging's life with the worker's rights only", () => {
  let deps: ReturnType<typeof workerDeps>;

  beforeAll(async () => {
    const { kube, db, helm } = doubles;
    const kubeconfig = await installOctostageRbac(kube);
    deps = workerDeps(db, kube, helm, "worker-1", {
      cluster: createKubeCluster({ kubeConfig: loadKubeConfig(kubeconfig), logger: silentLogger }),
      helm: createHelmCli({ helmBin: helm.bin, env: { ...helm.env, KUBECONFIG: kubeconfig }, logger: silentLogger, killGraceMs: 1_000 }),
    });
  });

  const steer = (id: string, pr: number, decide: typeof decideArchive) =>
    doubles.db.store.changeStaging({ target: { id }, event: "test", decide: (current) => decide(current!.staging, githubActor("dev")), spec: pullRequestSpec(settings, "octo-org", "web", pr) });

  it("deploys, archives, restores and deletes without one refused request; helm acts as the namespace's deployer", async () => {
    const { kube, db } = doubles;
    const cluster = deps.cluster as ReturnType<typeof createKubeCluster>;
    expect(await cluster.ensureDeployerRole()).toBe("exists");
    const watch = deps.cluster.watchWorkloads(() => undefined);
    await watch.ready();
    const s = await pushed(db.store, 7, sha(7), { action: "opened" });
    expect(await runDeploy(deps, s.id)).toEqual({ outcome: "done", generations: [1] });
    const ns = s.namespace;
    expect(kube.get("Deployment", ns, `${s.name}-web`)).toBeDefined();
    expect(kube.get("ServiceAccount", ns, deployerName)).toBeDefined();
    expect(kube.get("RoleBinding", ns, deployerName)).toMatchObject({ roleRef: { kind: "ClusterRole", name: defaultDeployerClusterRole } });
    expect(kube.get("Namespace", undefined, ns).metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "baseline" });
    expect(kube.get("ResourceQuota", ns, "octostage-quota").spec.hard).toMatchObject({ pods: "40", "services.loadbalancers": "0", "services.nodeports": "0" });
    expect(kube.get("LimitRange", ns, "octostage-limits").spec.limits[0]).toMatchObject({ type: "Container" });

    await steer(s.id, 7, decideArchive);
    expect((await runDeploy(deps, s.id)).outcome).toBe("done");
    expect(kube.get("Deployment", ns, `${s.name}-web`).spec.replicas).toBe(0);
    await steer(s.id, 7, decideRestore);
    expect((await runDeploy(deps, s.id)).outcome).toBe("done");
    expect(kube.get("Deployment", ns, `${s.name}-web`).spec.replicas).toBe(2);
    await steer(s.id, 7, decideDelete);
    expect((await runDeploy(deps, s.id)).outcome).toBe("done");
    expect(kube.get("Namespace", undefined, ns)).toBeUndefined();
    await watch.stop();

    expect(kube.denials).toEqual([]);
    expect((await db.store.get(s.id))!.status).toBe("deleted");
  });

  it("a chart's lookup of another namespace's Secret is refused: the deploy fails naming the deployer, and nothing is copied", async () => {
    const { kube, db } = doubles;
    const project = testProject({ values: { replicaCount: 1, image: { repository: "ghcr.io/octo-org/web" }, lookup: { namespace: "octostage", name: "octostage-secrets" } } });
    const s = await pushed(db.store, 8, sha(8), { action: "opened", project });
    const before = kube.denials.length;
    // Refused is final: retrying cannot help, so the staging fails at once.
    expect((await runDeploy(deps, s.id)).outcome).toBe("permanent_failure");
    const denied = kube.denials.slice(before);
    expect(denied).toEqual([
      expect.objectContaining({ user: `system:serviceaccount:${s.namespace}:${deployerName}`, verb: "get", resource: "secrets", namespace: "octostage", name: "octostage-secrets" }),
    ]);
    const staging = (await db.store.get(s.id))!;
    expect(staging).toMatchObject({ status: "failed", attempts: 0 });
    expect(staging.reason).toContain("failed (forbidden)");
    expect(staging.reason).toContain(`cannot get resource "secrets" in API group "" in the namespace "octostage"`);
    expect(staging.reason).not.toContain("BEGIN PRIVATE KEY");
    expect(JSON.stringify(kube.list("ConfigMap"))).not.toContain(plantedPrivateKey.slice(30, 60));
    expect(kube.list("ConfigMap", s.namespace)).toEqual([]);
  });

  it("a privileged pod is refused by the namespace's Pod Security level, and health names the refusal", async () => {
    const { kube, db } = doubles;
    const values = { replicaCount: 1, image: { repository: "ghcr.io/octo-org/web" }, securityContext: { privileged: true } };
    const project = testProject({ values });
    const s = await pushed(db.store, 9, sha(9), { action: "opened", project });
    expect(await runDeploy(deps, s.id)).toEqual({ outcome: "done", generations: [1] });
    expect(kube.podSecurityDenials).toContainEqual(expect.objectContaining({ namespace: s.namespace, level: "baseline:latest", violations: [expect.stringContaining("privileged")] }));
    const [web] = await deps.cluster.listWorkloads(s.namespace);
    expect(JSON.stringify(web)).toContain("violates PodSecurity");
  });
});
