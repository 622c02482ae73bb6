import type { Logger } from "../../ports/logger.ts";
import type { HelmRunControl } from "../../ports/helm.ts";
import type { StagingRecord } from "../../ports/store.ts";
import type { AppDeps } from "../deps.ts";
import type { LeaseGuard } from "./lease-guard.ts";

export type WorkDeps = Pick<AppDeps, "store" | "queue" | "helm" | "cluster" | "clock" | "logger" | "timing" | "sleep">;

/** One generation of one staging, worked on under its deploy lease. */
export interface Work {
  deps: WorkDeps;
  guard: LeaseGuard;
  staging: StagingRecord;
  log: Logger;
}

/** How helm runs under the lease: stopped on abort, and by its watchdog at the lease deadline. */
export function helmControl(work: Work): HelmRunControl {
  return { signal: work.guard.signal, lease: { deadline: () => work.guard.deadline() } };
}

export function workloadKey(w: { kind: string; name: string }): string {
  return `${w.kind}/${w.name}`;
}
