import { secretValues } from "../../domain/secrets.ts";
import { HelmError } from "../../ports/helm.ts";
import type { HelmReleaseRequest, HelmResult } from "../../ports/helm.ts";
import { defaultSandbox } from "../../domain/sandbox.ts";
import type { StagingCredentials, WorkloadSnapshot } from "../../ports/cluster.ts";
import { announce } from "../announce.ts";
import { evaluateHealth } from "../evaluate-health.ts";
import { ensureNamespaceReady } from "./namespace.ts";
import { recoverPendingRelease } from "./recover-release.ts";
import { helmControl, stagingAccess, workloadKey } from "./work.ts";
import type { Work } from "./work.ts";
import { usageAfterDeploy } from "../usage.ts";

/** helm upgrade --install; a release stuck in a pending state is recovered once, then tried again. */
async function upgrade(work: Work, req: HelmReleaseRequest): Promise<HelmResult> {
  try {
    return await work.deps.helm.upgradeInstall(req, helmControl(work));
  } catch (err) {
    if (!(err instanceof HelmError) || err.code !== "release_pending") throw err;
    if (!(await recoverPendingRelease(work))) throw err; // pending, then not: another operation really ran; retry later
    return work.deps.helm.upgradeInstall(req, helmControl(work));
  }
}

/**
 * After a restore's helm run the workloads run what the chart says (often 1 replica): the
 * counts recorded when the staging was archived win, whatever helm set.
 */
async function restoreReplicas(work: Work, workloads: WorkloadSnapshot[], access: StagingCredentials): Promise<WorkloadSnapshot[]> {
  const recorded = work.staging.archivedReplicas ?? {};
  const out: WorkloadSnapshot[] = [];
  const asDeployer = work.deps.cluster.stagingWorkloads(access);
  for (const w of workloads) {
    const want = recorded[workloadKey(w)];
    if (want !== undefined && w.desiredReplicas !== want) {
      await asDeployer.scaleWorkload(w, want);
      out.push({ ...w, desiredReplicas: want });
    } else out.push(w);
  }
  return out;
}

/** Deploys (or restores) the staging's latest spec. */
export async function applyDeploy(work: Work): Promise<void> {
  const { deps, staging: s, guard } = work;
  const restoring = s.status === "archived" || s.status === "archiving" || s.status === "restoring";
  const status = restoring ? "restoring" : "deploying";
  const started = await deps.store.startGeneration(guard.lease, {
    generation: s.generation,
    status: { to: status, reason: `deploying ${s.desiredSpec.sha.slice(0, 7)}`, cause: "deploy started", actor: "octostage" },
    deployStartedAt: deps.clock.now(),
  });
  await announce(deps, started.transition, "deploy started");
  const spec = s.desiredSpec;
  await ensureNamespaceReady(work, status);
  // The sandbox must be in place before helm creates pods: quotas and limits only bound what comes after them.
  const sandbox = spec.sandbox ?? defaultSandbox;
  await deps.cluster.ensureResourceQuota(s.namespace, spec.namespaceQuota?.hard ?? sandbox.resourceQuota);
  await deps.cluster.ensureLimitRange(s.namespace, sandbox.limitRange);
  const access = await stagingAccess(work);
  const secrets = secretValues(spec.values, spec.secretKeys);
  const result = await upgrade(work, { release: s.name, namespace: s.namespace, chart: spec.chart, values: spec.values, timeoutSeconds: spec.deployTimeoutSeconds, secrets });
  let workloads = await deps.cluster.listWorkloads(s.namespace);
  if (s.archivedReplicas) workloads = await restoreReplicas(work, workloads, access);
  const usage = await usageAfterDeploy(deps, s);
  const finished = await deps.store.finishGeneration(guard.lease, {
    generation: s.generation,
    usage,
    action: { state: "succeeded", exitCode: result.exitCode, durationMs: result.durationMs, output: [result.stdout, result.stderr].filter(Boolean).join("\n") },
    observed: true,
    retryAt: null,
    deployOutcome: { deployedSha: spec.sha },
    ...(s.archivedReplicas ? { archivedReplicas: null } : {}),
  });
  // Health right away from what the API server holds now (pods and Jobs too: a chart's Job
  // still running, or a crash loop, must not read as "running" for a moment).
  const { pods, jobs } = await deps.cluster.listPodsAndJobs(s.namespace);
  await evaluateHealth(deps, finished.staging, workloads, pods, jobs);
}
