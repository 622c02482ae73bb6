/** The Kubernetes cluster as the use cases see it. Adapter: src/adapters/kube/. */
import type { PodRequests } from "../domain/cost.ts";
import type { JobHealthInput } from "../domain/job-health.ts";
import type { PodHealthInput } from "../domain/pod-problems.ts";
import type { LimitRangeSpec, PodSecurityLevel } from "../domain/sandbox.ts";

/**
 * What health needs from a Pod (see src/domain/pod-problems.ts), and what it requests of the
 * cluster (podRequests in src/domain/cost.ts: the scheduler's effective requests, whatever its phase).
 */
export type PodSnapshot = PodHealthInput & { namespace: string; requests: PodRequests };

/** A PersistentVolumeClaim and the storage it holds. */
export interface VolumeClaimSnapshot {
  name: string;
  storageGiB: number;
}

/** What health needs from a Job (see src/domain/job-health.ts). */
export type JobSnapshot = JobHealthInput & { namespace: string };

export type WorkloadKind = "Deployment" | "StatefulSet";

export interface WorkloadRef {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export interface WorkloadCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** What Octostage needs to know about one Deployment or StatefulSet. */
export interface WorkloadSnapshot extends WorkloadRef {
  /** spec.replicas (Kubernetes defaults it to 1 when absent). */
  desiredReplicas: number;
  /** status.readyReplicas, 0 when absent (a real API server omits zero counts). */
  readyReplicas: number;
  /** status.updatedReplicas, 0 when absent. */
  updatedReplicas: number;
  /** status.availableReplicas, 0 when absent. */
  availableReplicas: number;
  generation: number;
  observedGeneration: number;
  conditions: WorkloadCondition[];
}

export type WorkloadEvent =
  | { type: "upsert"; workload: WorkloadSnapshot }
  | { type: "delete"; workload: WorkloadRef }
  /** A pod was added, changed or deleted. */
  | { type: "pod"; namespace: string; name: string }
  /** A Job (not one a controller such as a CronJob started) was added, changed or deleted. */
  | { type: "job"; namespace: string; name: string };

/** The namespace an event is about. */
export function eventNamespace(event: WorkloadEvent): string {
  return event.type === "pod" || event.type === "job" ? event.namespace : event.workload.namespace;
}

export interface WorkloadWatch {
  /** Workloads of a namespace as the informer caches hold them now (no API request). */
  workloadsIn(namespace: string): WorkloadSnapshot[];
  /** Pods of a namespace as the informer cache holds them now (no API request). */
  podsIn(namespace: string): PodSnapshot[];
  /** Jobs of a namespace (Helm hooks included, those of controllers such as CronJobs left out) as the informer cache holds them now. */
  jobsIn(namespace: string): JobSnapshot[];
  /** Resolves once every informer has finished its first list. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

export interface Cluster {
  /**
   * One list+watch per kind (Deployments, StatefulSets, Pods, Jobs) across the cluster (never one per staging),
   * restarted with backoff on error. `onEvent` is called for every change.
   */
  watchWorkloads(onEvent: (event: WorkloadEvent) => void): WorkloadWatch;
  /** Lists workloads of a namespace straight from the API server. */
  listWorkloads(namespace: string): Promise<WorkloadSnapshot[]>;
  /** Lists the pods and Jobs (those of controllers such as CronJobs left out) of a namespace straight from the API server. */
  listPodsAndJobs(namespace: string): Promise<{ pods: PodSnapshot[]; jobs: JobSnapshot[] }>;
  /**
   * The PersistentVolumeClaims of a namespace straight from the API server, with their size:
   * spec.resources.requests.storage, or status.capacity.storage when bound to a larger volume.
   */
  listVolumeClaims(namespace: string): Promise<VolumeClaimSnapshot[]>;
  /** Sets spec.replicas through the scale subresource. */
  scaleWorkload(ref: WorkloadRef, replicas: number): Promise<void>;
  /**
   * Creates the staging's namespace, labelled as Octostage's and annotated with the staging's
   * id. Throws NamespaceError "terminating" while a namespace of that name is being deleted, and
   * "not_owned" when it exists and was not made by Octostage for this staging (never adopted).
   */
  ensureNamespace(namespace: string, stagingId: string, podSecurity?: PodSecurityLevel): Promise<void>;
  /** What the API server says of the namespace now (never a cached answer). */
  namespaceState(namespace: string): Promise<NamespaceState>;
  /** Makes the namespace's `octostage-quota` ResourceQuota hold `hard`, or removes it when null. */
  ensureResourceQuota(namespace: string, hard: Record<string, string> | null): Promise<void>;
  /** Makes the namespace's `octostage-limits` LimitRange (per container) hold `spec`, or removes it when null. */
  ensureLimitRange(namespace: string, spec: LimitRangeSpec | null): Promise<void>;
  /** The ServiceAccount helm runs as in the namespace, and its RoleBinding to the deployer ClusterRole. */
  ensureStagingIdentity(namespace: string): Promise<void>;
  /** A short-lived token of the namespace's deployer, as a kubeconfig for helm (valid at least `ttlSeconds`). */
  stagingCredentials(namespace: string, ttlSeconds: number): Promise<StagingCredentials>;
  /** The namespace's workloads, read and scaled as its deployer (archive, restore). */
  stagingWorkloads(credentials: StagingCredentials): StagingWorkloads;
  /**
   * Asks the API server to delete the staging's namespace (and so everything in it); the
   * namespace is gone only once `namespaceState` says so. A missing namespace is fine; one that
   * is not this staging's is never deleted (NamespaceError "not_owned").
   */
  deleteNamespace(namespace: string, stagingId: string): Promise<void>;
}

/** What a staging's deployer may use: a kubeconfig holding its short-lived token (a secret: never logged). */
export interface StagingCredentials {
  kubeconfig: string;
  expiresAt: Date;
}

export interface StagingWorkloads {
  listWorkloads(namespace: string): Promise<WorkloadSnapshot[]>;
  scaleWorkload(ref: WorkloadRef, replicas: number): Promise<void>;
}

export type NamespaceState =
  | { exists: false }
  | {
      exists: true;
      /** Being deleted (deletionTimestamp set): its contents are going, it is not gone yet. */
      terminating: boolean;
      /** Labelled app.kubernetes.io/managed-by=octostage. */
      managed: boolean;
      labels: Record<string, string>;
      /** The staging id Octostage annotated it with (null on namespaces made before annotations, or by others). */
      ownedBy: string | null;
      /** While terminating: what holds it, from the namespace controller's conditions. */
      holders: string[];
    };

/** A namespace Octostage may not use or delete now. */
export class NamespaceError extends Error {
  override readonly name = "NamespaceError";
  readonly code: "terminating" | "not_owned";
  readonly namespace: string;
  constructor(code: "terminating" | "not_owned", namespace: string, message: string) {
    super(message);
    this.code = code;
    this.namespace = namespace;
  }
}
