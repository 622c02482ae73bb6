/** Resource types, errors and small helpers shared by the modules of the Kubernetes API double. */

export type KubeKind =
  | "Namespace" | "Deployment" | "StatefulSet" | "Pod" | "Service" | "ConfigMap" | "Secret" | "PersistentVolumeClaim" | "Ingress" | "Job" | "ResourceQuota"
  | "ServiceAccount" | "LimitRange" | "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding";

export interface ResourceType { kind: KubeKind; plural: string; group: string; namespaced: boolean; shortNames: string[]; status: boolean; generation: boolean; scale: boolean }
function resourceType(kind: KubeKind, plural: string, group: string, namespaced: boolean, shortNames: string[], flags = ""): ResourceType {
  return { kind, plural, group, namespaced, shortNames, status: flags.includes("status"), generation: flags.includes("generation"), scale: flags.includes("scale") };
}

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export const TYPES: ResourceType[] = [
  resourceType("Namespace", "namespaces", "", false, ["ns"], "status"),
  resourceType("Pod", "pods", "", true, ["po"], "status"),
  resourceType("Service", "services", "", true, ["svc"], "status"),
  resourceType("ConfigMap", "configmaps", "", true, ["cm"]),
  resourceType("Secret", "secrets", "", true, []),
  resourceType("PersistentVolumeClaim", "persistentvolumeclaims", "", true, ["pvc"], "status"),
  resourceType("ResourceQuota", "resourcequotas", "", true, ["quota"], "status"),
  resourceType("ServiceAccount", "serviceaccounts", "", true, ["sa"]),
  resourceType("LimitRange", "limitranges", "", true, ["limits"]),
  resourceType("Deployment", "deployments", "apps", true, ["deploy"], "status generation scale"),
  resourceType("StatefulSet", "statefulsets", "apps", true, ["sts"], "status generation scale"),
  resourceType("Ingress", "ingresses", "networking.k8s.io", true, ["ing"], "status generation"),
  resourceType("Job", "jobs", "batch", true, [], "status generation"),
  resourceType("Role", "roles", RBAC_GROUP, true, []),
  resourceType("RoleBinding", "rolebindings", RBAC_GROUP, true, []),
  resourceType("ClusterRole", "clusterroles", RBAC_GROUP, false, []),
  resourceType("ClusterRoleBinding", "clusterrolebindings", RBAC_GROUP, false, []),
];
export const NAMESPACE = TYPES[0]!;
export const PVC_PROTECTION = "kubernetes.io/pvc-protection";

export const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/v1` : "v1");
/** "deployments.apps", "secrets": how the API server names a resource in its messages. */
export const qualified = (t: ResourceType): string => (t.group ? `${t.plural}.${t.group}` : t.plural);
/** "Deployment.apps", "Pod": how the API server names a kind in validation messages. */
const qualifiedKind = (t: ResourceType): string => (t.group ? `${t.kind}.${t.group}` : t.kind);
export const keyOf = (kind: string, ns: string | undefined, name: string): string => `${kind}/${ns ?? ""}/${name}`;
export const clone = <T>(value: T): T => structuredClone(value);
export const isObject = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);
/** RFC 3339 without fractional seconds, as metav1.Time serializes. */
export const timestamp = (at = new Date()): string => at.toISOString().replace(/\.\d+Z$/, "Z");
export function typeOfKind(kind: unknown): ResourceType {
  const type = TYPES.find((t) => t.kind === kind);
  if (!type) throw new Error(`kube-api-double: unsupported kind ${String(kind)}`);
  return type;
}
export const finalizersOf = (obj: any): string[] => (Array.isArray(obj?.metadata?.finalizers) ? (obj.metadata.finalizers as string[]) : []);

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: object | undefined;
  constructor(code: number, reason: string, message: string, details?: object) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}
export const badRequest = (message: string): ApiError => new ApiError(400, "BadRequest", message);
export const notFound = (t: ResourceType, name: string): ApiError =>
  new ApiError(404, "NotFound", `${qualified(t)} "${name}" not found`, { name, group: t.group, kind: t.plural });
/** apierrors.NewInvalid: `Deployment.apps "web" is invalid: <field>: <detail>`. */
export const invalid = (t: ResourceType, name: string, field: string, detail: string): ApiError =>
  new ApiError(422, "Invalid", `${qualifiedKind(t)} "${name}" is invalid: ${field}: ${detail}`, { name, group: t.group, kind: t.kind, causes: [{ reason: "FieldValueInvalid", message: detail, field }] });
/** apierrors.NewForbidden: `<resource>[.<group>] ["<name>" ]is forbidden: <why>`. */
export function forbidden(group: string, resource: string, name: string, why: string, causes?: object[]): ApiError {
  const gr = resource ? (group ? `${resource}.${group}` : resource) : "";
  const message = !gr ? `forbidden: ${why}` : name ? `${gr} "${name}" is forbidden: ${why}` : `${gr} is forbidden: ${why}`;
  return new ApiError(403, "Forbidden", message, gr ? { name, group, kind: resource, ...(causes ? { causes } : {}) } : undefined);
}
export const REASONS: Record<number, string> = { 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout" };
export function statusBody(code: number, reason: string, message: string, details?: object): object {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code };
}

/** Go's %q of a string slice: ["a" "b"]. */
export const goQuoteList = (items: string[]): string => `[${items.map((s) => JSON.stringify(s)).join(" ")}]`;
/** pod-security-admission's joinQuote: "a", "b". */
export const joinQuote = (items: string[]): string => items.map((s) => JSON.stringify(s)).join(", ");
