import { announce } from "../announce.ts";
import { waitForNamespaceGone } from "./namespace.ts";
import { helmControl, stagingAccess } from "./work.ts";
import type { Work } from "./work.ts";
import { usageAfterCleanup } from "../usage.ts";

/**
 * Delete: helm uninstall, then the namespace with its volumes. Done only when the namespace is
 * gone; a namespace that Octostage did not create for this staging is left alone.
 */
export async function applyCleanup(work: Work): Promise<void> {
  const { deps, staging: s, guard } = work;
  const started = await deps.store.startGeneration(guard.lease, { generation: s.generation, status: { to: "cleaning", reason: "helm uninstall and namespace deletion", cause: "delete requested", actor: "octostage" } });
  await announce(deps, started.transition, "delete requested");
  const state = await deps.cluster.namespaceState(s.namespace);
  const ours = state.exists && (state.ownedBy === s.id || (state.ownedBy === null && state.managed));
  let output = "";
  let exitCode: number | null = null;
  let durationMs: number | undefined;
  if (ours) {
    await stagingAccess(work);
    const result = await deps.helm.uninstall(s.name, s.namespace, s.desiredSpec.deployTimeoutSeconds, helmControl(work));
    output = [result.stdout, result.stderr].filter(Boolean).join("\n");
    exitCode = result.exitCode;
    durationMs = result.durationMs;
    await deps.cluster.deleteNamespace(s.namespace, s.id);
    await waitForNamespaceGone(work);
  }
  const reason = !state.exists
    ? `namespace ${s.namespace} was already gone`
    : ours
      ? `release ${s.name} uninstalled, namespace ${s.namespace} deleted`
      : `namespace ${s.namespace} was not created by Octostage for this staging: left alone`;
  const finished = await deps.store.finishGeneration(guard.lease, {
    generation: s.generation,
    action: { state: "succeeded", exitCode, ...(durationMs === undefined ? {} : { durationMs }), ...(output ? { output } : {}) },
    observed: true,
    retryAt: null,
    usage: usageAfterCleanup(s, deps.clock.now()),
    status: { to: "deleted", reason, cause: "deleted", actor: "octostage" },
  });
  await announce(deps, finished.transition, "deleted");
}
