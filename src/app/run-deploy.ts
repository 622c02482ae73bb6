import type { WorkloadSnapshot } from "../ports/cluster.ts";
import { HelmError } from "../ports/helm.ts";
import type { StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { evaluateHealth } from "./evaluate-health.ts";
import { setStatus } from "./set-status.ts";

export const deployLeaseMs = 60_000;
const heartbeatMs = 20_000;

export interface DeployAttempt {
  /** 1-based attempt number of the queue job, and how many it gets. */
  attempt: number;
  maxAttempts: number;
}

export type DeployOutcome =
  /** Another worker holds the staging; it re-checks for newer intent when it is done. */
  | { outcome: "busy" }
  | { outcome: "done"; generations: number[] }
  /** Retrying cannot help: the staging is failed with the reason. */
  | { outcome: "permanent_failure"; error: HelmError };

type Deps = Pick<AppDeps, "store" | "queue" | "helm" | "cluster" | "clock" | "logger" | "workerId">;

function workloadKey(w: { kind: string; name: string }): string {
  return `${w.kind}/${w.name}`;
}

async function archive(deps: Deps, s: StagingRecord): Promise<void> {
  await setStatus(deps, s.id, "archiving", null, "archive requested");
  const workloads = await deps.cluster.listWorkloads(s.namespace);
  const recorded = { ...(s.archivedReplicas ?? {}) };
  for (const w of workloads) {
    // A second archive must not overwrite the counts with the zeros the first one set.
    if (w.desiredReplicas > 0 || recorded[workloadKey(w)] === undefined) recorded[workloadKey(w)] = w.desiredReplicas;
  }
  await deps.store.setArchivedReplicas(s.id, recorded);
  for (const w of workloads) if (w.desiredReplicas > 0) await deps.cluster.scaleWorkload(w, 0);
  await setStatus(deps, s.id, "archived", `scaled ${workloads.length} workload(s) to 0; volumes kept`, "archived");
}

async function restoreReplicas(deps: Deps, s: StagingRecord, workloads: WorkloadSnapshot[]): Promise<void> {
  const recorded = s.archivedReplicas ?? {};
  for (const w of workloads) {
    const want = recorded[workloadKey(w)];
    if (want !== undefined && want > 0 && w.desiredReplicas === 0) await deps.cluster.scaleWorkload(w, want);
  }
  await deps.store.setArchivedReplicas(s.id, null);
}

async function deploy(deps: Deps, s: StagingRecord): Promise<void> {
  const restoring = s.status === "archived" || s.status === "archiving";
  await setStatus(deps, s.id, restoring ? "restoring" : "deploying", `deploying ${s.desiredSpec.sha.slice(0, 7)}`, "deploy started");
  await deps.store.setDeployStarted(s.id, deps.clock.now());
  const spec = s.desiredSpec;
  // The quota must be in place before helm creates pods: it only limits what comes after it.
  await deps.cluster.ensureNamespace(s.namespace);
  await deps.cluster.ensureResourceQuota(s.namespace, spec.namespaceQuota?.hard ?? null);
  const result = await deps.helm.upgradeInstall({
    release: s.name,
    namespace: s.namespace,
    chart: spec.chart,
    values: spec.values,
    timeoutSeconds: spec.deployTimeoutSeconds,
  });
  await deps.store.finishGeneration(s.id, s.generation, {
    state: "succeeded",
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    output: [result.stdout, result.stderr].filter(Boolean).join("\n"),
  });
  await deps.store.setDeployOutcome(s.id, { deployedSha: spec.sha });
  await deps.store.setObservedGeneration(s.id, s.generation);
  // Health right away from what the API server holds now (pods and Jobs too: a chart's Job
  // still running, or a crash loop, must not read as "running" for a moment).
  const [workloads, { pods, jobs }] = await Promise.all([deps.cluster.listWorkloads(s.namespace), deps.cluster.listPodsAndJobs(s.namespace)]);
  if (s.archivedReplicas) await restoreReplicas(deps, s, workloads);
  const fresh = await deps.store.get(s.id);
  if (fresh) await evaluateHealth(deps, fresh, workloads, pods, jobs);
}

/** Uninstall and remove now: helm uninstall, then the namespace with its volumes. */
async function cleanup(deps: Deps, s: StagingRecord): Promise<void> {
  await setStatus(deps, s.id, "cleaning", "helm uninstall and namespace deletion", "delete requested");
  const result = await deps.helm.uninstall(s.name, s.namespace, s.desiredSpec.deployTimeoutSeconds);
  await deps.cluster.deleteNamespace(s.namespace);
  await deps.store.finishGeneration(s.id, s.generation, {
    state: "succeeded",
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    output: [result.stdout, result.stderr].filter(Boolean).join("\n"),
  });
  await deps.store.setObservedGeneration(s.id, s.generation);
  await setStatus(deps, s.id, "deleted", `release ${s.name} uninstalled, namespace ${s.namespace} deleted`, "deleted");
}

async function applyGeneration(deps: Deps, s: StagingRecord): Promise<void> {
  await deps.store.startGeneration(s.id, s.generation);
  if (s.desiredState === "deleted") {
    await cleanup(deps, s);
  } else if (s.desiredState === "archived") {
    await archive(deps, s);
    await deps.store.finishGeneration(s.id, s.generation, { state: "succeeded" });
    await deps.store.setObservedGeneration(s.id, s.generation);
  } else if (s.desiredState === "active") {
    await deploy(deps, s);
  } else {
    await deps.store.finishGeneration(s.id, s.generation, { state: "skipped" });
    await deps.store.setObservedGeneration(s.id, s.generation);
  }
}

async function failGeneration(deps: Deps, s: StagingRecord, err: unknown, final: boolean): Promise<void> {
  const helmErr = err instanceof HelmError ? err : undefined;
  const message = err instanceof Error ? err.message : String(err);
  await deps.store.finishGeneration(s.id, s.generation, {
    state: final ? "failed" : "queued",
    exitCode: helmErr?.result?.exitCode ?? null,
    durationMs: helmErr?.result?.durationMs,
    output: helmErr?.result ? [helmErr.result.stdout, helmErr.result.stderr].filter(Boolean).join("\n") : undefined,
    error: message,
  });
  const deleting = s.desiredState === "deleted";
  if (final) {
    await deps.store.setDeployOutcome(s.id, { error: message });
    await deps.store.setObservedGeneration(s.id, s.generation);
    await setStatus(deps, s.id, deleting ? "cleanup_failed" : "failed", message, helmErr ? `helm ${helmErr.code}` : "error");
  } else {
    // Keep showing what is being attempted: an archive that will be retried is still archiving.
    const inProgress = deleting ? "cleaning" : s.desiredState === "archived" ? "archiving" : s.status === "restoring" ? "restoring" : "deploying";
    await setStatus(deps, s.id, inProgress, `retrying after: ${message}`, "retry");
  }
}

/**
 * Makes a staging match its LATEST desired spec. Holds the staging's deploy lease (never two
 * helm operations on one staging, across all workers), applies generations until none is
 * pending, and supersedes older queued actions. After releasing the lease it looks once more,
 * so intent recorded while it worked is never left behind.
 */
export async function runDeploy(deps: Deps, stagingId: string, attempt: DeployAttempt): Promise<DeployOutcome> {
  const log = deps.logger.child({ stagingId, attempt: attempt.attempt });
  const generations: number[] = [];
  for (;;) {
    if (!(await deps.store.acquireLease(stagingId, "deploy", deps.workerId, deployLeaseMs))) {
      log.debug({}, "staging busy in another worker");
      return generations.length ? { outcome: "done", generations } : { outcome: "busy" };
    }
    const heartbeat = setInterval(() => {
      deps.store.acquireLease(stagingId, "deploy", deps.workerId, deployLeaseMs).catch((err: unknown) => {
        log.warn({ err }, "lease heartbeat failed");
      });
    }, heartbeatMs);
    try {
      for (;;) {
        const s = await deps.store.get(stagingId);
        if (!s || s.generation <= s.observedGeneration) break;
        log.info({ staging: s.name, generation: s.generation, desired: s.desiredState }, "applying generation");
        try {
          await applyGeneration(deps, s);
          generations.push(s.generation);
        } catch (err) {
          const permanent = err instanceof HelmError && err.permanent;
          const final = permanent || attempt.attempt >= attempt.maxAttempts;
          log.warn({ staging: s.name, err, permanent, final }, "deploy failed");
          await failGeneration(deps, s, err, final);
          if (permanent) return { outcome: "permanent_failure", error: err };
          if (!final) throw err;
          generations.push(s.generation);
        }
      }
    } finally {
      clearInterval(heartbeat);
      await deps.store.releaseLease(stagingId, "deploy", deps.workerId);
    }
    const after = await deps.store.get(stagingId);
    if (!after || after.generation <= after.observedGeneration) return { outcome: "done", generations };
  }
}
