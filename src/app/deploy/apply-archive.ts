import { announce } from "../announce.ts";
import { stagingAccess, workloadKey } from "./work.ts";
import type { Work } from "./work.ts";
import { usageAfterArchive } from "../usage.ts";

/** Archive: record the replica counts, scale every Deployment and StatefulSet to 0; volumes, Secrets and Services stay. */
export async function applyArchive(work: Work): Promise<void> {
  const { deps, staging: s, guard } = work;
  const started = await deps.store.startGeneration(guard.lease, { generation: s.generation, status: { to: "archiving", reason: null, cause: "archive requested", actor: "octostage" } });
  await announce(deps, started.transition, "archive requested");
  const state = await deps.cluster.namespaceState(s.namespace);
  const workloads = state.exists ? await deps.cluster.listWorkloads(s.namespace) : [];
  const recorded = { ...(s.archivedReplicas ?? {}) };
  for (const w of workloads) {
    // A second archive must not overwrite the counts with the zeros the first one set.
    if (w.desiredReplicas > 0 || recorded[workloadKey(w)] === undefined) recorded[workloadKey(w)] = w.desiredReplicas;
  }
  // Recorded before scaling: a worker that dies between the two still knows what to restore.
  await deps.store.setArchivedReplicas(guard.lease, recorded);
  const scaling = workloads.filter((w) => w.desiredReplicas > 0);
  // Scaled as the staging's deployer: the worker has no rights on workloads.
  const asDeployer = scaling.length ? deps.cluster.stagingWorkloads(await stagingAccess(work)) : undefined;
  for (const w of scaling) await asDeployer?.scaleWorkload(w, 0);
  const finished = await deps.store.finishGeneration(guard.lease, {
    generation: s.generation,
    action: { state: "succeeded" },
    usage: usageAfterArchive(s, deps.clock.now()),
    observed: true,
    retryAt: null,
    status: { to: "archived", reason: `scaled ${workloads.length} workload(s) to 0; volumes kept`, cause: "archived", actor: "octostage" },
  });
  await announce(deps, finished.transition, "archived");
}
