import type { V1Deployment, V1Job, V1LimitRange, V1Namespace, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { gib, parseBytes } from "../../domain/cost.ts";
import type { LimitRangeSpec, PodSecurityLevel } from "../../domain/sandbox.ts";
import { NamespaceError } from "../../ports/cluster.ts";
import type { Cluster, JobSnapshot, NamespaceState, PodSnapshot, VolumeClaimSnapshot, WorkloadEvent, WorkloadKind, WorkloadRef, WorkloadSnapshot, WorkloadWatch } from "../../ports/cluster.ts";
import { silentLogger, type Logger } from "../../ports/logger.ts";
import type { KubeConnection } from "./kube-config.ts";
import { KubeError, toKubeError } from "./kube-error.ts";
import type { Delay, ResilientInformer } from "./resilient-informer.ts";
import { isControlledJob, rolloutJobSnapshots, trimJob } from "./job-snapshot.ts";
import { createKubeTransport, listItems, MERGE_PATCH, namespaced, scalePath } from "./kube-transport.ts";
import { startNamespaceScope } from "./namespace-scope.ts";
import { defaultDeployerClusterRole, deployerRules } from "./rbac.ts";
import { createStagingAccess } from "./staging-access.ts";
import { podSnapshot, trimPod } from "./pod-snapshot.ts";
import { startScopedInformer } from "./scoped-informer.ts";
import { trimWorkload, workloadRef, workloadSnapshot, type WorkloadObject } from "./workload-snapshot.ts";

export interface KubeClusterOptions {
  /** loadKubeConfig's answer. */
  kubeConfig: KubeConnection;
  /** The ClusterRole helm's identity is bound to in each staging namespace (rbac.ts). */
  deployerClusterRole?: string;
  logger?: Logger;
  /** Waits between informer restarts and watch reconnects (inject a short one in tests). */
  delay?: Delay;
  /** Jitter source for the restart backoff. */
  random?: () => number;
}

const WORKLOAD_KINDS: readonly WorkloadKind[] = ["Deployment", "StatefulSet"];
const MANAGED_BY = "app.kubernetes.io/managed-by";
/** The namespaces Octostage creates carry this label (ensureNamespace): the only ones it observes. */
const STAGING_NAMESPACES = `${MANAGED_BY}=octostage`;
/** The staging a namespace belongs to: Octostage deploys into and deletes only its own. */
const OWNER_ANNOTATION = "octostage.dev/staging-id";

/** Pod Security admission enforces the level, and warns and audits at it (kubernetes.io/docs/concepts/security/pod-security-admission). */
function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const mode of ["enforce", "warn", "audit"]) {
    labels[`pod-security.kubernetes.io/${mode}`] = level;
    labels[`pod-security.kubernetes.io/${mode}-version`] = "latest";
  }
  return labels;
}

/** GiB of a storage quantity; 0 when absent or unparsable. */
function storageGiB(quantity: string | undefined): number {
  if (quantity === undefined) return 0;
  try {
    return gib(parseBytes(quantity));
  } catch {
    return 0;
  }
}

/** What a claim holds: what it asks for, or the bound volume's capacity when that is larger (a bigger PV, an expansion). */
function volumeClaimSnapshot(claim: V1PersistentVolumeClaim): VolumeClaimSnapshot {
  const requested = storageGiB(claim.spec?.resources?.requests?.storage);
  const bound = claim.status?.phase === "Bound" ? storageGiB(claim.status.capacity?.storage) : 0;
  return { name: claim.metadata?.name ?? "", storageGiB: Math.round(Math.max(requested, bound) * 1e6) / 1e6 };
}

const COLLECTION_PATHS: Record<WorkloadKind, string> = {
  Deployment: "/apis/apps/v1/deployments",
  StatefulSet: "/apis/apps/v1/statefulsets",
};

/** The Cluster port on a real Kubernetes API server, over the API's REST paths (kube-transport.ts). */
export function createKubeCluster(options: KubeClusterOptions): Cluster & { ensureDeployerRole(): Promise<"exists" | "created"> } {
  const logger = options.logger ?? silentLogger;
  const transport = createKubeTransport(options.kubeConfig);
  const core = (namespace: string, resource: string, name?: string): string => namespaced("/api/v1", namespace, resource, name);
  const namespacePath = (name: string): string => `/api/v1/namespaces/${encodeURIComponent(name)}`;

  /**
   * One list+watch of staging namespaces (labelled by Octostage), and one cluster-wide
   * list+watch per kind (Deployments, StatefulSets, Pods, Jobs) that keeps only the objects of
   * those namespaces (scoped-informer.ts: other namespaces' objects are dropped unparsed), each
   * trimmed to what its snapshot reads before it is cached (trimPod and friends).
   */
  function watchWorkloads(onEvent: (event: WorkloadEvent) => void): WorkloadWatch {
    const timing = {
      logger,
      ...(options.delay ? { delay: options.delay } : {}),
      ...(options.random ? { random: options.random } : {}),
    };
    const scope = startNamespaceScope({ transport, labelSelector: STAGING_NAMESPACES, ...timing });
    const common = { transport, scope, ...timing };
    const informers = WORKLOAD_KINDS.map((kind): [WorkloadKind, ResilientInformer<WorkloadObject>] => [
      kind,
      startScopedInformer<WorkloadObject>({
        name: `${kind.toLowerCase()}s`,
        path: COLLECTION_PATHS[kind],
        ...common,
        trim: trimWorkload,
        onEvent: (type, obj) =>
          onEvent(type === "delete" ? { type: "delete", workload: workloadRef(kind, obj) } : { type: "upsert", workload: workloadSnapshot(kind, obj) }),
      }),
    ]);
    const pods = startScopedInformer<V1Pod>({
      name: "pods",
      path: "/api/v1/pods",
      ...common,
      trim: trimPod,
      onEvent: (_type, obj) => onEvent({ type: "pod", namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" }),
    });
    // Helm hooks (a migration before an upgrade) and a chart's one-off Jobs; Jobs that a controller (a CronJob...) made are not rollouts.
    const jobs = startScopedInformer<V1Job>({
      name: "jobs",
      path: "/apis/batch/v1/jobs",
      ...common,
      trim: trimJob,
      onEvent: (_type, obj) => {
        if (!isControlledJob(obj)) onEvent({ type: "job", namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" });
      },
    });
    const all = [...informers.map(([, informer]) => informer), pods, jobs];
    return {
      workloadsIn: (namespace) => informers.flatMap(([kind, informer]) => informer.list(namespace).map((obj) => workloadSnapshot(kind, obj))),
      podsIn: (namespace) => pods.list(namespace).map(podSnapshot),
      jobsIn: (namespace) => rolloutJobSnapshots(jobs.list(namespace)),
      ready: async () => {
        await Promise.all([scope.ready(), ...all.map((informer) => informer.ready())]);
      },
      stop: async () => {
        await Promise.all(all.map((informer) => informer.stop()));
        await scope.stop();
      },
    };
  }

  async function listWorkloads(namespace: string): Promise<WorkloadSnapshot[]> {
    try {
      const [deployments, statefulSets] = await Promise.all([
        listItems<V1Deployment>(transport, namespaced("/apis/apps/v1", namespace, "deployments")),
        listItems<V1StatefulSet>(transport, namespaced("/apis/apps/v1", namespace, "statefulsets")),
      ]);
      return [...deployments.map((d) => workloadSnapshot("Deployment", d)), ...statefulSets.map((s) => workloadSnapshot("StatefulSet", s))];
    } catch (err) {
      throw toKubeError(err, `list workloads in namespace ${namespace}`);
    }
  }

  async function listPodsAndJobs(namespace: string): Promise<{ pods: PodSnapshot[]; jobs: JobSnapshot[] }> {
    try {
      const [pods, jobs] = await Promise.all([listItems<V1Pod>(transport, core(namespace, "pods")), listItems<V1Job>(transport, namespaced("/apis/batch/v1", namespace, "jobs"))]);
      return { pods: pods.map(podSnapshot), jobs: rolloutJobSnapshots(jobs) };
    } catch (err) {
      throw toKubeError(err, `list pods and jobs in namespace ${namespace}`);
    }
  }

  async function listVolumeClaims(namespace: string): Promise<VolumeClaimSnapshot[]> {
    try {
      const claims = await listItems<V1PersistentVolumeClaim>(transport, core(namespace, "persistentvolumeclaims"));
      return claims.map(volumeClaimSnapshot);
    } catch (err) {
      throw toKubeError(err, `list PersistentVolumeClaims in namespace ${namespace}`);
    }
  }

  async function scaleWorkload(ref: WorkloadRef, replicas: number): Promise<void> {
    const action = `scale ${ref.kind} ${ref.namespace}/${ref.name} to ${replicas}`;
    if (!Number.isInteger(replicas) || replicas < 0) throw new KubeError("failed", `${action}: replicas must be a whole number >= 0`);
    try {
      await transport.request({ method: "PATCH", path: scalePath(ref), body: { spec: { replicas } }, contentType: MERGE_PATCH });
    } catch (err) {
      throw toKubeError(err, action);
    }
  }

  async function namespaceState(namespace: string): Promise<NamespaceState> {
    let ns: V1Namespace;
    try {
      ns = await transport.request<V1Namespace>({ method: "GET", path: namespacePath(namespace) });
    } catch (err) {
      const error = toKubeError(err, `read namespace ${namespace}`);
      if (error.code === "not_found") return { exists: false };
      throw error;
    }
    const meta = ns.metadata ?? {};
    const holders = (ns.status?.conditions ?? [])
      .filter((c) => c.status === "True" && /Remaining|Failure/.test(c.type))
      .map((c) => c.message ?? c.reason ?? c.type);
    const finalizers = [...(meta.finalizers ?? []), ...(ns.spec?.finalizers ?? []).filter((f) => f !== "kubernetes")];
    if (meta.deletionTimestamp && finalizers.length) holders.push(`namespace finalizers: ${finalizers.join(", ")}`);
    return {
      exists: true,
      labels: { ...meta.labels },
      terminating: meta.deletionTimestamp !== undefined || ns.status?.phase === "Terminating",
      managed: meta.labels?.[MANAGED_BY] === "octostage",
      ownedBy: meta.annotations?.[OWNER_ANNOTATION] ?? null,
      holders,
    };
  }

  /** Octostage's for this staging: annotated with its id, or labelled by an Octostage from before annotations. */
  function isOwned(state: NamespaceState & { exists: true }, stagingId: string): boolean {
    return state.ownedBy === stagingId || (state.ownedBy === null && state.managed);
  }

  async function deleteNamespace(namespace: string, stagingId: string): Promise<void> {
    const state = await namespaceState(namespace);
    if (!state.exists) return;
    if (!isOwned(state, stagingId)) {
      throw new NamespaceError("not_owned", namespace, `namespace ${namespace} was not created by Octostage for this staging; it is left alone`);
    }
    if (state.terminating) return;
    try {
      await transport.request({ method: "DELETE", path: namespacePath(namespace) });
    } catch (err) {
      const error = toKubeError(err, `delete namespace ${namespace}`);
      // 404: already gone. 409: a real API server answers a second delete of a namespace that is
      // still Terminating with Conflict ("the system is ensuring all content is removed").
      if (error.code !== "not_found" && error.code !== "conflict") throw error;
    }
  }

  async function ensureNamespace(namespace: string, stagingId: string, podSecurity?: PodSecurityLevel): Promise<void> {
    const security = podSecurity ? podSecurityLabels(podSecurity) : {};
    const body = { metadata: { name: namespace, labels: { [MANAGED_BY]: "octostage", ...security }, annotations: { [OWNER_ANNOTATION]: stagingId } } };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await transport.request({ method: "POST", path: "/api/v1/namespaces", body });
        return;
      } catch (err) {
        const error = toKubeError(err, `create namespace ${namespace}`);
        if (error.code !== "conflict") throw error;
      }
      const state = await namespaceState(namespace);
      if (!state.exists) continue; // deleted in between: create it again
      if (state.terminating) {
        throw new NamespaceError("terminating", namespace, `namespace ${namespace} is still being deleted${state.holders.length ? ` (${state.holders.join("; ")})` : ""}`);
      }
      if (!isOwned(state, stagingId)) {
        throw new NamespaceError(
          "not_owned",
          namespace,
          `namespace ${namespace} already exists and was not created by Octostage for this staging: Octostage never deploys into (or deletes) a namespace it does not own. Delete or rename it, or change namespaceTemplate.`,
        );
      }
      const labels = state.labels;
      const relabel = Object.entries(security).some(([k, v]) => labels[k] !== v);
      if (state.ownedBy === null || relabel) {
        // Made by an Octostage from before annotations (claim it), or its Pod Security level changed.
        try {
          await transport.request({ method: "PATCH", path: namespacePath(namespace), body: { metadata: { labels: security, annotations: { [OWNER_ANNOTATION]: stagingId } } }, contentType: MERGE_PATCH });
        } catch (err) {
          throw toKubeError(err, `label namespace ${namespace}`);
        }
      }
      return;
    }
    throw new KubeError("conflict", `namespace ${namespace} keeps appearing and disappearing; try again`);
  }

  async function ensureResourceQuota(namespace: string, hard: Record<string, string> | null): Promise<void> {
    const name = "octostage-quota";
    const action = `${hard ? "set" : "remove"} ResourceQuota ${namespace}/${name}`;
    try {
      if (!hard) {
        await transport.request({ method: "DELETE", path: core(namespace, "resourcequotas", name) });
        return;
      }
      await transport.request({ method: "POST", path: core(namespace, "resourcequotas"), body: { metadata: { name }, spec: { hard } } });
    } catch (err) {
      const error = toKubeError(err, action);
      if (!hard && error.code === "not_found") return;
      // Removing a quota nobody set must not need RBAC on resourcequotas (most stagings have none).
      if (!hard && error.code === "forbidden") {
        logger.warn({ namespace }, "no permission to delete ResourceQuota octostage-quota; skipped (the worker ClusterRole grants resourcequotas: docs/operators/install.md)");
        return;
      }
      if (!hard || error.code !== "conflict") throw error;
      try {
        await transport.request({ method: "PATCH", path: core(namespace, "resourcequotas", name), body: { spec: { hard } }, contentType: MERGE_PATCH });
      } catch (patchErr) {
        throw toKubeError(patchErr, action);
      }
    }
  }

  async function ensureLimitRange(namespace: string, spec: LimitRangeSpec | null): Promise<void> {
    const name = "octostage-limits";
    const action = `${spec ? "set" : "remove"} LimitRange ${namespace}/${name}`;
    const body = spec ? { metadata: { name }, spec: { limits: [{ type: "Container", ...spec }] } } : undefined;
    try {
      if (!body) {
        await transport.request({ method: "DELETE", path: core(namespace, "limitranges", name) });
        return;
      }
      await transport.request({ method: "POST", path: core(namespace, "limitranges"), body });
    } catch (err) {
      const error = toKubeError(err, action);
      if (!body && (error.code === "not_found" || error.code === "forbidden")) return;
      if (!body || error.code !== "conflict") throw error;
      try {
        const current = await transport.request<V1LimitRange>({ method: "GET", path: core(namespace, "limitranges", name) });
        await transport.request({ method: "PUT", path: core(namespace, "limitranges", name), body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
      } catch (replaceErr) {
        throw toKubeError(replaceErr, action);
      }
    }
  }

  const access = createStagingAccess({ transport, cluster: options.kubeConfig.cluster, deployerClusterRole: options.deployerClusterRole ?? defaultDeployerClusterRole });

  return {
    watchWorkloads,
    listWorkloads,
    listPodsAndJobs,
    listVolumeClaims,
    scaleWorkload,
    ensureNamespace,
    namespaceState,
    ensureResourceQuota,
    ensureLimitRange,
    deleteNamespace,
    ensureStagingIdentity: access.ensureIdentity,
    stagingCredentials: access.credentials,
    stagingWorkloads: access.workloads,
    ensureDeployerRole: () => access.ensureDeployerRole(deployerRules),
  };
}
