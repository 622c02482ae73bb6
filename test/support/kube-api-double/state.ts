/**
 * The storage of the double (objects, resourceVersions, watch history, watchers) and the
 * controllers it simulates: the namespace controller (termination with conditions), the PVC
 * protection controller (the kubernetes.io/pvc-protection finalizer) and the optional workload
 * controller (Deployments/StatefulSets ready ~20 ms after a change, or ReplicaFailure when Pod
 * Security admission would refuse their pods).
 */
import { createHash, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { namespacePodSecurity, podSecurityViolations, violatesMessage } from "./pod-security.ts";
import type { ResourceType } from "./types.ts";
import { apiVersionOf, clone, finalizersOf, keyOf, NAMESPACE, PVC_PROTECTION, typeOfKind, timestamp, TYPES } from "./types.ts";

/** `prev`: the object before this change (MODIFIED and DELETED), for watchers whose selector it matched. */
export interface StoredEvent { rv: number; type: "ADDED" | "MODIFIED" | "DELETED"; object: any; prev?: any }

/**
 * What one watcher sees of a change, as the API server's watch cache decides it
 * (k8s.io/apiserver cacher, cacheWatcher.convertToWatchEvent): an object that starts to match
 * the watch's selectors arrives as ADDED, one that stops matching as DELETED (its previous
 * content with the new resourceVersion), one that matches before and after as the change itself;
 * a change matching neither before nor after is not sent.
 */
export function eventFor(matches: (obj: any) => boolean, event: StoredEvent): Pick<StoredEvent, "type" | "object"> | undefined {
  if (event.type === "DELETED") return matches(event.prev ?? event.object) ? event : undefined;
  const now = matches(event.object);
  const before = event.prev !== undefined && matches(event.prev);
  if (now) return { type: before ? event.type : "ADDED", object: event.object };
  if (!before) return undefined;
  return { type: "DELETED", object: { ...event.prev, metadata: { ...event.prev.metadata, resourceVersion: event.object.metadata.resourceVersion } } };
}
export interface Watcher { res: ServerResponse; matches: (obj: any) => boolean }
export interface PodSecurityDenial {
  namespace: string;
  /** The pod's name (for the workload controller: the name its pod would have had). */
  name: string;
  /** "baseline:latest" */
  level: string;
  violations: string[];
  message: string;
  /** "api": a Pod create refused; "controller": the simulated ReplicaSet/StatefulSet controller could not create its pods. */
  source: "api" | "controller";
  owner?: { kind: string; name: string };
}

const OMIT_ZERO: Partial<Record<string, string[]>> = {
  Deployment: ["observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas", "terminatingReplicas"],
  StatefulSet: ["observedGeneration", "readyReplicas", "currentReplicas", "updatedReplicas"],
};

function normalize(type: ResourceType, obj: any): void {
  if (type.kind === "Deployment" || type.kind === "StatefulSet") obj.spec = { ...obj.spec, replicas: obj.spec?.replicas ?? 1 };
  if (type.kind === "Namespace") {
    obj.metadata.labels = { ...obj.metadata.labels, "kubernetes.io/metadata.name": obj.metadata.name };
    obj.spec ??= { finalizers: ["kubernetes"] };
    obj.status = { phase: "Active", ...obj.status };
  }
  if (type.status) obj.status ??= {};
  for (const field of OMIT_ZERO[type.kind] ?? []) if (obj.status[field] === 0) delete obj.status[field];
  if (type.kind === "StatefulSet") obj.status = { replicas: 0, availableReplicas: 0, ...obj.status };
  if (Array.isArray(obj.metadata.finalizers) && obj.metadata.finalizers.length === 0) delete obj.metadata.finalizers;
}

function condition(type: string, status: "True" | "False", reason: string, message: string, at: string, deployment: boolean): object {
  return { type, status, reason, message, ...(deployment ? { lastUpdateTime: at } : {}), lastTransitionTime: at };
}

function readyStatus(type: ResourceType, obj: any): Record<string, unknown> {
  const n: number = obj.spec.replicas;
  const counts = { observedGeneration: obj.metadata.generation, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n };
  if (type.kind === "StatefulSet") return { ...counts, currentReplicas: n, currentRevision: `${obj.metadata.name}-1`, updateRevision: `${obj.metadata.name}-1` };
  const now = timestamp();
  return { ...counts, conditions: [
    condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now, true),
    condition("Progressing", "True", "NewReplicaSetAvailable", `ReplicaSet "${obj.metadata.name}" has successfully progressed.`, now, true),
  ] };
}

/** k8s.io/apimachinery's rand.SafeEncodeString alphabet, used for pod-template-hash and generated name suffixes. */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";
function podTemplateHash(template: unknown): string {
  const hash = createHash("sha256").update(JSON.stringify(template ?? {})).digest().readUInt32BE(0);
  return [...String(hash)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join("");
}
const randomSuffix = (): string => Array.from({ length: 5 }, () => ALPHANUMS[Math.floor(Math.random() * ALPHANUMS.length)]).join("");

/** The order of the namespace controller's conditions, and their text when all is well. */
const NAMESPACE_CONDITIONS: [string, string, string][] = [
  ["NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"],
  ["NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions", "All legacy kube types successfully parsed"],
  ["NamespaceDeletionContentFailure", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"],
  ["NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"],
  ["NamespaceFinalizersRemaining", "ContentHasNoFinalizers", "All content-preserving finalizers finished"],
];

/** Objects, resourceVersions, watch history and watchers (etcd + watch cache), plus the simulated controllers. */
export class ApiState {
  private rv = 1;
  private compactedRv = 1;
  private readonly objects = new Map<string, any>();
  private readonly history: StoredEvent[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<string>();
  private readonly rerun = new Set<string>();
  /** `${kind}/${ns}/${name}#${finalizer}`: finalizers only the test removes (holdFinalizer). */
  private readonly held = new Set<string>();
  private closed = false;
  readonly watchers = new Set<Watcher>();
  readonly podSecurityDenials: PodSecurityDenial[] = [];
  controller: "ready" | "manual" = "ready";
  /** How long the namespace and PVC protection controllers take to act; 0 runs them at once, within the request. */
  deletionDelayMs: number;
  private readonly historyLimit: number;
  constructor(historyLimit: number, deletionDelayMs: number) {
    this.historyLimit = historyLimit;
    this.deletionDelayMs = deletionDelayMs;
  }

  get resourceVersion(): string { return String(this.rv); }
  find(type: ResourceType, ns: string | undefined, name: string): any { return this.objects.get(keyOf(type.kind, ns, name)); }
  all(type: ResourceType, ns?: string): any[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === type.kind && (ns === undefined || o.metadata.namespace === ns))
      .sort((a, b) => keyOf("", a.metadata.namespace, a.metadata.name).localeCompare(keyOf("", b.metadata.namespace, b.metadata.name)));
  }
  /** Every namespaced object in `ns`, in type order then name order. */
  contentOf(ns: string): any[] {
    return TYPES.filter((t) => t.namespaced).flatMap((t) => this.all(t, ns));
  }
  ensureNamespace(name: string): void {
    if (!this.find(NAMESPACE, undefined, name)) this.commit(NAMESPACE, { metadata: { name } }, undefined);
  }
  isTerminating(ns: string | undefined): boolean {
    return ns !== undefined && this.find(NAMESPACE, undefined, ns)?.status?.phase === "Terminating";
  }

  /**
   * Stores `obj` (a new copy owned by the state) with server-managed metadata and emits a watch
   * event. An object being deleted whose last finalizer goes is removed instead (DELETED), as the
   * API server does on such an update.
   */
  commit(type: ResourceType, obj: any, prev: any, runController = true): any {
    const rv = ++this.rv;
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    const meta = obj.metadata;
    if (!type.namespaced) delete meta.namespace;
    normalize(type, obj);
    meta.uid = prev?.metadata.uid ?? randomUUID();
    meta.creationTimestamp = prev?.metadata.creationTimestamp ?? timestamp();
    if (type.generation) {
      const bump = prev && (!isDeepStrictEqual(prev.spec, obj.spec) || (meta.deletionTimestamp && !prev.metadata.deletionTimestamp)) ? 1 : 0;
      meta.generation = prev ? prev.metadata.generation + bump : 1;
    } else delete meta.generation;
    meta.resourceVersion = String(rv);
    const key = keyOf(type.kind, meta.namespace, meta.name);
    if (meta.deletionTimestamp && finalizersOf(obj).length === 0 && (type.kind !== "Namespace" || !(obj.spec?.finalizers ?? []).length)) {
      this.objects.delete(key);
      this.emit({ rv, type: "DELETED", object: obj, prev });
    } else {
      this.objects.set(key, obj);
      this.emit({ rv, type: prev ? "MODIFIED" : "ADDED", object: obj, prev });
      if (runController) this.scheduleController(type, meta.namespace, meta.name);
    }
    this.afterChange(type, obj, prev);
    return obj;
  }

  /** Removes an object at once, whatever its finalizers (a namespace takes its contents along): the tests' backdoor. */
  purge(type: ResourceType, obj: any): void {
    if (type.kind === "Namespace") {
      for (const o of this.contentOf(obj.metadata.name)) this.purge(typeOfKind(o.kind), o);
    }
    const rv = ++this.rv;
    this.objects.delete(keyOf(type.kind, obj.metadata.namespace, obj.metadata.name));
    const gone = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    this.emit({ rv, type: "DELETED", object: gone, prev: obj });
    this.afterChange(type, gone, obj);
  }

  /**
   * DELETE of one object (not a namespace): removed at once without finalizers; with them it gets
   * metadata.deletionTimestamp (MODIFIED) and stays until its finalizers are gone.
   */
  deleteObject(type: ResourceType, obj: any): { gone: boolean; object: any } {
    if (finalizersOf(obj).length === 0) {
      this.purge(type, obj);
      return { gone: true, object: obj };
    }
    if (obj.metadata.deletionTimestamp) return { gone: false, object: obj };
    const next = clone(obj);
    next.metadata.deletionTimestamp = timestamp();
    next.metadata.deletionGracePeriodSeconds = 0;
    return { gone: false, object: this.commit(type, next, obj, false) };
  }

  /**
   * DELETE of a namespace, as the namespace registry does: the first sets deletionTimestamp and
   * phase Terminating and leaves the rest to the namespace controller; the next ones are refused
   * (409, `conflict`) while spec.finalizers hold it. `object`: the namespace as the API server answers.
   */
  deleteNamespace(ns: any): { conflict: boolean; object: any } {
    if (ns.metadata.deletionTimestamp) return { conflict: (ns.spec?.finalizers ?? []).length > 0, object: ns };
    const next = clone(ns);
    next.metadata.deletionTimestamp = timestamp();
    next.status = { ...next.status, phase: "Terminating" };
    const answer = clone(next);
    this.commit(NAMESPACE, next, ns, false);
    this.scheduleNamespaceSync(ns.metadata.name);
    return { conflict: false, object: answer };
  }

  /** Adds a finalizer that only `release` removes (the PVC protection controller leaves it alone too). */
  hold(type: ResourceType, ns: string | undefined, name: string, finalizer: string): void {
    const obj = this.find(type, ns, name);
    if (!obj) throw new Error(`kube-api-double holdFinalizer: no ${type.kind} ${ns ?? ""}/${name}`);
    this.held.add(`${keyOf(type.kind, ns, name)}#${finalizer}`);
    if (finalizersOf(obj).includes(finalizer)) return;
    if (obj.metadata.deletionTimestamp) throw new Error(`kube-api-double holdFinalizer: ${type.kind} ${name} is being deleted; no new finalizers can be added`);
    const next = clone(obj);
    next.metadata.finalizers = [...finalizersOf(obj), finalizer];
    this.commit(type, next, obj, false);
  }

  release(type: ResourceType, ns: string | undefined, name: string, finalizer: string): void {
    this.held.delete(`${keyOf(type.kind, ns, name)}#${finalizer}`);
    const obj = this.find(type, ns, name);
    if (!obj || !finalizersOf(obj).includes(finalizer)) return;
    const next = clone(obj);
    next.metadata.finalizers = finalizersOf(obj).filter((f) => f !== finalizer);
    this.commit(type, next, obj, false);
  }

  /** Events after `from`, or "expired" when the history no longer reaches back that far. */
  eventsSince(from: number): StoredEvent[] | "expired" {
    if (from < this.compactedRv) return "expired";
    return this.history.filter((e) => e.rv > from);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
  }

  private emit(event: StoredEvent): void {
    const stored: StoredEvent = { rv: event.rv, type: event.type, object: clone(event.object), ...(event.prev ? { prev: clone(event.prev) } : {}) };
    this.history.push(stored);
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const w of this.watchers) {
      const seen = eventFor(w.matches, stored);
      if (seen) writeEvent(w.res, seen);
    }
  }

  /** What the controllers watch: content of a terminating namespace, PVCs being deleted and the pods using them, namespace labels. */
  private afterChange(type: ResourceType, obj: any, prev: any): void {
    const ns: string | undefined = obj.metadata.namespace;
    if (type.namespaced && this.isTerminating(ns)) this.scheduleNamespaceSync(ns!);
    if (type.kind === "Pod" || (type.kind === "PersistentVolumeClaim" && obj.metadata.deletionTimestamp)) this.schedulePvcProtection(ns!);
    if (type.kind === "Namespace" && prev && !isDeepStrictEqual(prev.metadata.labels, obj.metadata.labels)) {
      // A relaxed Pod Security level lets the controllers create the pods they could not.
      for (const t of TYPES.filter((x) => x.scale)) {
        for (const w of this.all(t, obj.metadata.name)) {
          if ((w.status?.conditions ?? []).some((c: any) => c.type === "ReplicaFailure")) this.scheduleController(t, w.metadata.namespace, w.metadata.name);
        }
      }
    }
  }

  /** Runs `fn` after the deletion delay (coalesced per key), or at once when the delay is 0; never re-entrantly. */
  private later(key: string, fn: () => void): void {
    if (this.closed) return;
    if (this.deletionDelayMs <= 0) {
      this.runExclusive(key, fn);
      return;
    }
    if (this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.pending.delete(key);
      this.runExclusive(key, fn);
    }, this.deletionDelayMs);
    this.pending.set(key, timer);
    this.timers.add(timer);
  }

  private runExclusive(key: string, fn: () => void): void {
    if (this.running.has(key)) {
      this.rerun.add(key);
      return;
    }
    this.running.add(key);
    try {
      do {
        this.rerun.delete(key);
        fn();
      } while (this.rerun.has(key) && !this.closed);
    } finally {
      this.running.delete(key);
    }
  }

  private scheduleNamespaceSync(name: string): void {
    this.later(`namespace/${name}`, () => this.syncNamespace(name));
  }

  private schedulePvcProtection(ns: string): void {
    this.later(`pvc-protection/${ns}`, () => this.syncPvcProtection(ns));
  }

  /**
   * One pass of the namespace controller (pkg/controller/namespace/deletion): deletes every
   * object in the namespace, records what remains in the namespace's conditions, and once
   * nothing remains removes its "kubernetes" finalizer, which deletes the namespace unless other
   * finalizers hold it. Objects with finalizers stay (with a deletionTimestamp) until those go.
   */
  private syncNamespace(name: string): void {
    if (!this.find(NAMESPACE, undefined, name)?.metadata.deletionTimestamp) return;
    for (const obj of this.contentOf(name)) {
      if (!obj.metadata.deletionTimestamp) this.deleteObject(typeOfKind(obj.kind), obj);
    }
    const remaining = this.contentOf(name);
    const ns = this.find(NAMESPACE, undefined, name);
    if (!ns?.metadata.deletionTimestamp) return;
    const next = clone(ns);
    next.status = { ...next.status, conditions: namespaceConditions(ns.status?.conditions ?? [], remaining) };
    let current = ns;
    if (!isDeepStrictEqual(next.status, ns.status)) current = this.commit(NAMESPACE, next, ns, false);
    if (remaining.length > 0 || !this.find(NAMESPACE, undefined, name)) return;
    const finalizers: string[] = current.spec?.finalizers ?? [];
    if (!finalizers.includes("kubernetes")) return;
    const finalized = clone(current);
    finalized.spec = { ...finalized.spec, finalizers: finalizers.filter((f) => f !== "kubernetes") };
    this.commit(NAMESPACE, finalized, current, false);
  }

  /** The PVC protection controller: drops kubernetes.io/pvc-protection from a deleted claim no running pod uses. */
  private syncPvcProtection(ns: string): void {
    const type = typeOfKind("PersistentVolumeClaim");
    const users = new Set(
      this.all(typeOfKind("Pod"), ns)
        .filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed")
        .flatMap((p) => ((p.spec?.volumes ?? []) as any[]).map((v) => v.persistentVolumeClaim?.claimName as unknown).filter(Boolean)),
    );
    for (const pvc of this.all(type, ns)) {
      const name: string = pvc.metadata.name;
      if (!pvc.metadata.deletionTimestamp || !finalizersOf(pvc).includes(PVC_PROTECTION)) continue;
      if (users.has(name) || this.held.has(`${keyOf(type.kind, ns, name)}#${PVC_PROTECTION}`)) continue;
      const next = clone(pvc);
      next.metadata.finalizers = finalizersOf(pvc).filter((f) => f !== PVC_PROTECTION);
      this.commit(type, next, pvc, false);
    }
  }

  scheduleController(type: ResourceType, ns: string | undefined, name: string): void {
    if (this.controller !== "ready" || !type.scale || this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const prev = this.find(type, ns, name);
      if (!prev || this.controller !== "ready" || prev.metadata.deletionTimestamp) return;
      const next = clone(prev);
      const failure = this.podSecurityFailure(type, prev);
      if (failure) next.status = failure;
      else {
        next.status = { ...prev.status, ...readyStatus(type, prev) };
        if (type.kind === "StatefulSet") {
          next.status.conditions = (next.status.conditions ?? []).filter((c: any) => c.type !== "ReplicaFailure");
          if (!next.status.conditions.length) delete next.status.conditions;
        }
      }
      this.commit(type, next, prev, false);
    }, 20);
    this.timers.add(timer);
  }

  /**
   * The status a Deployment/StatefulSet gets when Pod Security admission refuses the pods its
   * controller creates (ReplicaFailure/FailedCreate with the admission message), or undefined.
   */
  private podSecurityFailure(type: ResourceType, obj: any): Record<string, unknown> | undefined {
    const ns = this.find(NAMESPACE, undefined, obj.metadata.namespace);
    const { enforce } = namespacePodSecurity(ns?.metadata.labels);
    const violations = podSecurityViolations(enforce.level, obj.spec?.template?.spec);
    if (!violations.length) return undefined;
    const name: string = obj.metadata.name;
    const hash = podTemplateHash(obj.spec?.template);
    const podName = type.kind === "StatefulSet" ? `${name}-0` : `${name}-${hash}-${randomSuffix()}`;
    const message = `pods "${podName}" is forbidden: ${violatesMessage(enforce, violations)}`;
    const owner = type.kind === "StatefulSet" ? { kind: "StatefulSet", name } : { kind: "ReplicaSet", name: `${name}-${hash}` };
    this.podSecurityDenials.push({ namespace: obj.metadata.namespace, name: podName, level: `${enforce.level}:${enforce.version}`, violations, message, source: "controller", owner });
    const n: number = obj.spec.replicas;
    const now = timestamp();
    const prevConditions: any[] = obj.status?.conditions ?? [];
    const since = (t: string, status: string): string => prevConditions.find((c) => c.type === t && c.status === status)?.lastTransitionTime ?? now;
    const failed = { type: "ReplicaFailure", status: "True", reason: "FailedCreate", message, ...(type.kind === "Deployment" ? { lastUpdateTime: now } : {}), lastTransitionTime: since("ReplicaFailure", "True") };
    const prev = obj.status ?? {};
    if (type.kind === "StatefulSet") {
      return { ...prev, observedGeneration: obj.metadata.generation, currentRevision: `${name}-${hash}`, updateRevision: `${name}-${hash}`, conditions: [failed] };
    }
    const available: number = prev.availableReplicas ?? 0;
    return {
      observedGeneration: obj.metadata.generation,
      ...(prev.replicas ? { replicas: prev.replicas } : {}),
      ...(prev.readyReplicas ? { readyReplicas: prev.readyReplicas } : {}),
      ...(available ? { availableReplicas: available } : {}),
      ...(n - available > 0 ? { unavailableReplicas: n - available } : {}),
      conditions: [
        available >= n && n > 0
          ? { ...condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now, true), lastTransitionTime: since("Available", "True") }
          : { ...condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now, true), lastTransitionTime: since("Available", "False") },
        condition("Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "${name}-${hash}" is progressing.`, now, true),
        failed,
      ],
    };
  }
}

/** The namespace controller's conditions for what remains (namespace_condition_updater.go). */
function namespaceConditions(previous: any[], remaining: any[]): any[] {
  const byResource = new Map<string, number>();
  const byFinalizer = new Map<string, number>();
  for (const obj of remaining) {
    const t = typeOfKind(obj.kind);
    const gr = `${t.plural}.${t.group}`;
    byResource.set(gr, (byResource.get(gr) ?? 0) + 1);
    for (const f of finalizersOf(obj)) byFinalizer.set(f, (byFinalizer.get(f) ?? 0) + 1);
  }
  const failing = new Map<string, [string, string]>();
  if (byResource.size) {
    const parts = [...byResource].map(([gr, n]) => `${gr} has ${n} resource instances`).sort();
    failing.set("NamespaceContentRemaining", ["SomeResourcesRemain", `Some resources are remaining: ${parts.join(", ")}`]);
  }
  if (byFinalizer.size) {
    const parts = [...byFinalizer].map(([f, n]) => `${f} in ${n} resource instances`).sort();
    failing.set("NamespaceFinalizersRemaining", ["SomeFinalizersRemain", `Some content in the namespace has finalizers remaining: ${parts.join(", ")}`]);
  }
  const now = timestamp();
  const out = previous.map((c) => ({ ...c }));
  for (const [type, okReason, okMessage] of NAMESPACE_CONDITIONS) {
    const bad = failing.get(type);
    const want = { type, status: bad ? "True" : "False", reason: bad ? bad[0] : okReason, message: bad ? bad[1] : okMessage };
    const old = out.find((c) => c.type === type);
    if (!old) out.push({ ...want, lastTransitionTime: now });
    else if (old.status !== want.status || old.reason !== want.reason || old.message !== want.message) {
      if (old.status !== want.status) old.lastTransitionTime = now;
      Object.assign(old, want);
    }
  }
  // Field order as the API server serializes a NamespaceCondition.
  return out.map(({ type, status, lastTransitionTime, reason, message }) => ({ type, status, lastTransitionTime, reason, message }));
}

export function writeEvent(res: ServerResponse, event: { type: string; object: unknown }): void {
  res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
}
