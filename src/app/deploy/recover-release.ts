import { systemActor } from "../../domain/actor.ts";
import { HelmError, isPendingRelease } from "../../ports/helm.ts";
import type { HelmResult } from "../../ports/helm.ts";
import { errorSummary } from "../change-staging.ts";
import { helmControl } from "./work.ts";
import type { Work } from "./work.ts";

function output(r: HelmResult | undefined): string | undefined {
  return r ? [r.stdout, r.stderr].filter(Boolean).join("\n") : undefined;
}

/**
 * A release left pending-install, pending-upgrade or pending-rollback by a helm that was killed
 * (a worker evicted or SIGKILLed mid-deploy) refuses every later operation with "another
 * operation (install/upgrade/rollback) is in progress". Holding the staging's deploy lease means
 * no live Octostage holder is running helm on it (a helm never outlives its lease: see
 * watchdog.ts), so Octostage recovers it the way helm's maintainers recommend: roll back to
 * the last deployed revision, or uninstall an install that never deployed. What was done goes
 * to the audit log. Returns false when the release was not stuck after all.
 */
export async function recoverPendingRelease(work: Work): Promise<boolean> {
  const { deps, staging: s } = work;
  const history = await deps.helm.history(s.name, s.namespace, helmControl(work));
  const last = history.at(-1);
  if (!last || !isPendingRelease(last.status)) return false;
  const deployed = history.findLast((r) => r.status === "deployed");
  const detail = { release: s.name, stuck: { revision: last.revision, status: last.status, description: last.description } };
  work.log.warn({ ...detail, rollbackTo: deployed?.revision ?? null }, "recovering a release stuck in a pending state");
  try {
    const result = deployed
      ? await deps.helm.rollback(s.name, s.namespace, deployed.revision, s.desiredSpec.deployTimeoutSeconds, helmControl(work))
      : await deps.helm.uninstall(s.name, s.namespace, s.desiredSpec.deployTimeoutSeconds, helmControl(work));
    await deps.store.audit(work.guard.lease, {
      kind: "recover",
      actor: systemActor,
      state: "succeeded",
      detail: { ...detail, action: deployed ? "rollback" : "uninstall", ...(deployed ? { rolledBackTo: deployed.revision } : {}) },
      ...(output(result) ? { output: output(result) } : {}),
      exitCode: result.exitCode,
      durationMs: result.durationMs,
    });
    return true;
  } catch (err) {
    const result = err instanceof HelmError ? err.result : undefined;
    await deps.store.audit(work.guard.lease, {
      kind: "recover",
      actor: systemActor,
      state: "failed",
      detail: { ...detail, action: deployed ? "rollback" : "uninstall" },
      error: errorSummary(err).message,
      ...(output(result) ? { output: output(result) } : {}),
      exitCode: result?.exitCode ?? null,
    });
    const how = deployed ? `helm rollback ${s.name} ${deployed.revision} -n ${s.namespace}` : `helm uninstall ${s.name} -n ${s.namespace}`;
    throw new HelmError(
      "release_pending",
      `release ${s.name} is stuck in ${last.status} (revision ${last.revision}, left by a helm that was stopped mid-operation) and could not be recovered automatically: ${errorSummary(err).message}. Octostage retries; to fix it by hand: ${how}`,
      result,
    );
  }
}
