import type { V1Namespace } from "@kubernetes/client-node";
import { silentLogger, type Logger } from "../../ports/logger.ts";
import { getList, parsedWatch, type KubeTransport } from "./kube-transport.ts";
import { startResilientInformer, type Delay } from "./resilient-informer.ts";

/** The namespaces whose objects the workload informers keep, and news of namespaces entering or leaving. */
export interface NamespaceScope {
  has(namespace: string): boolean;
  /** `listener` is called synchronously as a namespace enters (true) or leaves (false) the scope. */
  subscribe(listener: (namespace: string, entered: boolean) => void): void;
  /** Resolves once the namespaces in scope are known (the first list); rejects if stopped before. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

export interface NamespaceScopeOptions {
  transport: KubeTransport;
  /** The label selector of the namespaces in scope, e.g. app.kubernetes.io/managed-by=octostage. */
  labelSelector: string;
  logger?: Logger;
  delay?: Delay;
  random?: () => number;
}

/**
 * The namespaces carrying `labelSelector`, from one list+watch of namespaces with that selector
 * (the API server sends a namespace that gains the label as ADDED and one that loses it as
 * DELETED). Without the right to list and watch namespaces (a ClusterRole from before this
 * scope), every namespace is in scope, as before, and an error says what to grant.
 */
export function startNamespaceScope(options: NamespaceScopeOptions): NamespaceScope {
  const logger = options.logger ?? silentLogger;
  const members = new Set<string>();
  const listeners: ((namespace: string, entered: boolean) => void)[] = [];
  let everything = false;
  let listed = false;
  let settle: { resolve: () => void; reject: (err: unknown) => void } = { resolve: () => undefined, reject: () => undefined };
  const readiness = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  readiness.catch(() => undefined);
  const path = "/api/v1/namespaces";

  const notify = (namespace: string, entered: boolean): void => {
    for (const listener of listeners) listener(namespace, entered);
  };

  const informer = startResilientInformer<V1Namespace>({
    name: "namespaces",
    path,
    labelSelector: options.labelSelector,
    watch: parsedWatch(options.transport),
    list: (page) => getList<V1Namespace>(options.transport, path, { labelSelector: options.labelSelector, limit: page.limit, continue: page._continue }),
    trim: (ns) => ({ metadata: { name: ns.metadata?.name, resourceVersion: ns.metadata?.resourceVersion } }),
    logger,
    ...(options.delay ? { delay: options.delay } : {}),
    ...(options.random ? { random: options.random } : {}),
    onEvent: (type, ns) => {
      const name = ns.metadata?.name;
      if (name === undefined) return;
      if (type === "delete") {
        if (members.delete(name)) notify(name, false);
      } else if (!members.has(name)) {
        members.add(name);
        notify(name, true);
      }
    },
    onError: (error) => {
      if (listed || everything || error.code !== "forbidden") return;
      everything = true;
      logger.error(
        { error: error.message },
        "no permission to list and watch namespaces: observing workloads in every namespace of the cluster (more memory, and every other team's pod event reaches Octostage). Grant the worker list and watch on namespaces (docs/operators/install.md, Kubernetes access and RBAC)",
      );
      settle.resolve();
      void informer.stop();
    },
  });
  informer.ready().then(
    () => {
      listed = true;
      settle.resolve();
    },
    (err: unknown) => settle.reject(err),
  );

  return {
    has: (namespace) => everything || members.has(namespace),
    subscribe: (listener) => void listeners.push(listener),
    ready: () => readiness,
    stop: () => informer.stop(),
  };
}
