import type { StagingCredentials } from "../../ports/cluster.ts";
import type { Logger } from "../../ports/logger.ts";
import type { HelmRunControl } from "../../ports/helm.ts";
import type { StagingRecord } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import type { LeaseGuard } from "./lease-guard.ts";

type WorkDeps = Pick<AppDeps, "store" | "queue" | "helm" | "cluster" | "clock" | "logger" | "timing" | "sleep">;

/** One generation of one staging, worked on under its deploy lease. */
export interface Work {
  deps: WorkDeps;
  guard: LeaseGuard;
  staging: StagingRecord;
  log: Logger;
  /** The staging deployer's credentials, once issued for this run (stagingAccess). */
  access?: StagingCredentials;
}

/** How helm runs: as the staging's deployer, stopped on abort and by its watchdog at the lease deadline. */
export function helmControl(work: Work): HelmRunControl {
  return { signal: work.guard.signal, lease: { deadline: () => work.guard.deadline() }, ...(work.access ? { kubeconfig: work.access.kubeconfig } : {}) };
}

/**
 * The identity helm runs as in the staging's namespace (its ServiceAccount and RoleBinding,
 * made sure of) and a token of it valid for this run: helm can act only inside that namespace.
 */
export async function stagingAccess(work: Work): Promise<StagingCredentials> {
  const { cluster } = work.deps;
  const { namespace, desiredSpec } = work.staging;
  await cluster.ensureStagingIdentity(namespace);
  work.access = await cluster.stagingCredentials(namespace, desiredSpec.deployTimeoutSeconds + 300);
  return work.access;
}

export function workloadKey(w: { kind: string; name: string }): string {
  return `${w.kind}/${w.name}`;
}
