/**
 * The sandbox of a staging namespace, per repository (the project config's `sandbox`): the Pod
 * Security level its pods must meet, and the ResourceQuota and LimitRange that bound what it
 * may run. Set by the worker (the staging's own deployer may not change them), so an override
 * such as `replicaCount=99999` or `resources.limits.memory=4Ti` gets no pod scheduled: the
 * staging fails saying which limit refused its pods.
 */

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

export interface LimitRangeSpec {
  /** Requests given to a container that sets none. */
  defaultRequest?: Record<string, string>;
  /** Limits given to a container that sets none. */
  default?: Record<string, string>;
  /** The most a container may ask for. */
  max?: Record<string, string>;
}

export interface Sandbox {
  podSecurity: PodSecurityLevel;
  /** `spec.hard` of the namespace's ResourceQuota; null for none. The `namespaceQuota` override picks another profile. */
  resourceQuota: Record<string, string> | null;
  limitRange: LimitRangeSpec | null;
}

export const defaultSandbox: Readonly<Sandbox> = Object.freeze({
  podSecurity: "baseline",
  resourceQuota: {
    "requests.cpu": "2",
    "requests.memory": "4Gi",
    "limits.cpu": "4",
    "limits.memory": "8Gi",
    pods: "40",
    persistentvolumeclaims: "10",
    "requests.storage": "50Gi",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
  },
  limitRange: {
    defaultRequest: { cpu: "50m", memory: "64Mi" },
    default: { cpu: "500m", memory: "512Mi" },
    max: { cpu: "2", memory: "4Gi" },
  },
});

/** Kubernetes resource quantities: 2, 0.5, 500m, 4Gi, 1e3. */
export const quantityPattern = /^([+-]?[0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$/;
