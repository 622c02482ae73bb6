/**
 * The resource usage ledger of a staging (src/domain/cost.ts), kept as the staging runs: CPU and
 * memory from its pods' requests (on every health evaluation, saved only when they change), its
 * volumes' sizes after each deploy, stopped by archive and cleanup. An estimate's input: a
 * failure to measure never fails the work, the ledger keeps what it knew.
 */
import { archive, cleanup, emptyLedger, observe, restore } from "../domain/cost.ts";
import type { PodRequests, UsageLedger } from "../domain/cost.ts";
import type { StagingRecord } from "../ports/store.ts";
import type { AppDeps } from "./deps.ts";
import { errorSummary } from "./change-staging.ts";

const same = (a: number, b: number) => Math.abs(a - b) < 1e-6;

/** CPU and memory requested by the pods that hold resources (not finished ones). */
function requestedBy(pods: readonly { phase: string; requests?: PodRequests }[]): PodRequests {
  let cpuCores = 0;
  let memoryGiB = 0;
  for (const p of pods) {
    if (p.phase === "Succeeded" || p.phase === "Failed" || !p.requests) continue;
    cpuCores += p.requests.cpuCores;
    memoryGiB += p.requests.memoryGiB;
  }
  return { cpuCores, memoryGiB };
}

/** Records what the pods request now, if it changed (no write otherwise). */
export async function observePods(deps: Pick<AppDeps, "store" | "clock" | "logger">, s: StagingRecord, pods: readonly { phase: string; requests?: PodRequests }[]): Promise<void> {
  if (s.desiredState === "archived" || s.desiredState === "deleted") return;
  const now = deps.clock.now();
  const r = requestedBy(pods);
  const ledger = s.usage ?? emptyLedger(now);
  if (s.usage && same(ledger.current.cpuCores, r.cpuCores) && same(ledger.current.memoryGiB, r.memoryGiB)) return;
  try {
    await deps.store.saveUsage(s.id, s.usage?.updatedAt ?? null, observe(ledger, now, { ...ledger.current, ...r }));
  } catch (err) {
    deps.logger.warn({ staging: s.name, err: errorSummary(err) }, "could not record resource usage (cost estimate); it is recorded at the next change");
  }
}

/** After a deploy or restore: the volumes' sizes (what the PVCs request), nothing saved any more by archiving. */
export async function usageAfterDeploy(deps: Pick<AppDeps, "cluster" | "clock" | "logger">, s: StagingRecord): Promise<UsageLedger> {
  const now = deps.clock.now();
  const ledger = restore(s.usage ?? emptyLedger(now), now);
  try {
    const claims = await deps.cluster.listVolumeClaims(s.namespace);
    return observe(ledger, now, { ...ledger.current, storageGiB: claims.reduce((n, c) => n + c.storageGiB, 0) });
  } catch (err) {
    deps.logger.warn({ staging: s.name, err: errorSummary(err) }, "could not list the staging's volume claims (cost estimate): storage stays as last measured");
    return ledger;
  }
}

export function usageAfterArchive(s: StagingRecord, now: Date): UsageLedger {
  return archive(s.usage ?? emptyLedger(now), now);
}

export function usageAfterCleanup(s: StagingRecord, now: Date): UsageLedger {
  return cleanup(s.usage ?? emptyLedger(now), now);
}
