/**
 * Authentication (bearer tokens), impersonation and the RBAC authorizer, following
 * kube-apiserver: request attributes as RequestInfoFactory derives them, rule matching as
 * plugin/pkg/auth/authorizer/rbac does (verbs, apiGroups, resources with subresources and
 * "*\/sub", resourceNames, nonResourceURLs, "*"), ClusterRoles bound by RoleBindings, the
 * system:masters short-cut, forbidden messages as responsewriters.Forbidden writes them, and the
 * escalation check of the RBAC registry (pkg/registry/rbac/validation ConfirmNoEscalation).
 * Not modelled: aggregated ClusterRoles, the bootstrap roles other than cluster-admin (discovery
 * and /version are allowed to every authenticated user, /version and health paths to anyone),
 * webhook/node/ABAC authorizers, SubjectAccessReviews, Impersonate-Extra-*.
 */
import { randomBytes } from "node:crypto";
import type { ApiState } from "./state.ts";
import { ApiError, forbidden, goQuoteList, RBAC_GROUP, typeOfKind } from "./types.ts";

export interface UserInfo { name: string; groups: string[]; uid?: string }
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}
export interface Denial { user: string; groups: string[]; verb: string; apiGroup: string; resource: string; namespace: string; name: string; path?: string; message: string }
interface PolicyRule { verbs?: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }

const ADMIN_TOKEN = "kube-api-double-token";
const ADMIN_USER: UserInfo = { name: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };
export const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };
const PUBLIC_PATHS = new Set(["/version", "/version/", "/healthz", "/livez", "/readyz"]);
const DISCOVERY_PATH = /^\/(api|apis|openapi|version)(\/.*)?$/;

interface IssuedToken { namespace: string; serviceAccount: string; uid: string; expires: number }

/** Tokens the double knows: the kubeconfig's admin token, tokens added by tests, ServiceAccount tokens it issued. */
export class Tokens {
  private readonly static = new Map<string, UserInfo>([[ADMIN_TOKEN, ADMIN_USER]]);
  private readonly issued = new Map<string, IssuedToken>();

  add(token: string, user: UserInfo): void {
    const groups = user.groups.includes("system:authenticated") ? user.groups : [...user.groups, "system:authenticated"];
    this.static.set(token, { ...user, groups });
  }

  /** A TokenRequest: a JWT-shaped token bound to the ServiceAccount (it stops working when the account goes or the token expires). */
  issue(namespace: string, sa: any, expirationSeconds: number, audiences: string[]): { token: string; expirationTimestamp: string } {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + expirationSeconds;
    const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString("base64url");
    const claims = {
      aud: audiences, exp, iat: now, nbf: now, iss: "https://kubernetes.default.svc.cluster.local",
      jti: randomBytes(16).toString("hex"),
      "kubernetes.io": { namespace, serviceaccount: { name: sa.metadata.name, uid: sa.metadata.uid } },
      sub: serviceAccountUser(namespace, sa.metadata.name),
    };
    const token = `${b64({ alg: "RS256", kid: "kube-api-double" })}.${b64(claims)}.${randomBytes(32).toString("base64url")}`;
    this.issued.set(token, { namespace, serviceAccount: sa.metadata.name, uid: sa.metadata.uid, expires: exp * 1000 });
    return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, "Z") };
  }

  /** The user a bearer token stands for; undefined for a token the double does not know (401). */
  authenticate(state: ApiState, token: string): UserInfo | undefined {
    const user = this.static.get(token);
    if (user) return user;
    const sa = this.issued.get(token);
    if (!sa || sa.expires < Date.now()) return undefined;
    const account = state.find(typeOfKind("ServiceAccount"), sa.namespace, sa.serviceAccount);
    if (account?.metadata.uid !== sa.uid || account.metadata.deletionTimestamp) return undefined;
    return { name: serviceAccountUser(sa.namespace, sa.serviceAccount), uid: sa.uid, groups: ["system:serviceaccounts", `system:serviceaccounts:${sa.namespace}`, "system:authenticated"] };
  }
}

const serviceAccountUser = (namespace: string, name: string): string => `system:serviceaccount:${namespace}:${name}`;

/** RequestInfoFactory: verb, API group, namespace, resource, subresource and name of a request. */
export function requestAttributes(user: UserInfo, method: string, path: string, query: Record<string, string>): Attributes {
  const base: Attributes = { user, verb: method.toLowerCase(), resourceRequest: false, path, apiGroup: "", namespace: "", resource: "", subresource: "", name: "" };
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/(.+)$/.exec(path);
  if (!m) return base;
  let parts = m[2]!.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return base;
  let namespace = "";
  if (parts[0] === "namespaces" && parts.length > 1) {
    namespace = parts[1]!;
    if (parts.length > 2 && parts[2] !== "status" && parts[2] !== "finalize") parts = parts.slice(2);
  }
  const [resource = "", name = "", subresource = ""] = parts;
  let verb = { GET: "get", HEAD: "get", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" }[method] ?? method.toLowerCase();
  let requestName = name;
  if (!name && verb === "get") {
    verb = query.watch === "true" || query.watch === "1" ? "watch" : "list";
    const byName = /^metadata\.name==?([^,]+)$/.exec(query.fieldSelector ?? "");
    if (byName) requestName = byName[1]!;
  }
  if (!name && verb === "delete") verb = "deletecollection";
  return { ...base, verb, resourceRequest: true, apiGroup: m[1] ?? "", namespace, resource, subresource, name: requestName };
}

const has = (list: string[] | undefined, value: string): boolean => (list ?? []).includes(value);

function ruleAllows(a: Pick<Attributes, "verb" | "resourceRequest" | "path" | "apiGroup" | "resource" | "subresource" | "name">, rule: PolicyRule): boolean {
  if (!has(rule.verbs, "*") && !has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) {
    return (rule.nonResourceURLs ?? []).some((u) => u === "*" || u === a.path || (u.endsWith("*") && a.path.startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, "*") && !has(rule.apiGroups, a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = (rule.resources ?? []).some((r) => r === "*" || r === combined || (a.subresource !== "" && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  return !rule.resourceNames?.length || rule.resourceNames.includes(a.name);
}

function appliesTo(user: UserInfo, subject: any, bindingNamespace: string): boolean {
  switch (subject?.kind) {
    case "User": return user.name === subject.name;
    case "Group": return user.groups.includes(subject.name);
    case "ServiceAccount": {
      const ns: string = subject.namespace || bindingNamespace;
      return ns !== "" && user.name === serviceAccountUser(ns, subject.name);
    }
    default: return false;
  }
}

/** The rules a user holds in a namespace ("" = cluster-wide only), and errors for bindings to missing roles. */
function rulesFor(state: ApiState, user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
  const rules: PolicyRule[] = [];
  const errors: string[] = [];
  const roleRules = (kind: "Role" | "ClusterRole", name: string, ns: string | undefined): void => {
    const role = state.find(typeOfKind(kind), ns, name);
    if (!role) errors.push(`${kind.toLowerCase()}.${RBAC_GROUP} "${name}" not found`);
    else rules.push(...((role.rules ?? []) as PolicyRule[]));
  };
  for (const crb of state.all(typeOfKind("ClusterRoleBinding"))) {
    if (((crb.subjects ?? []) as any[]).some((s) => appliesTo(user, s, ""))) roleRules("ClusterRole", crb.roleRef?.name, undefined);
  }
  if (namespace) {
    for (const rb of state.all(typeOfKind("RoleBinding"), namespace)) {
      if (!((rb.subjects ?? []) as any[]).some((s) => appliesTo(user, s, namespace))) continue;
      roleRules(rb.roleRef?.kind === "Role" ? "Role" : "ClusterRole", rb.roleRef?.name, rb.roleRef?.kind === "Role" ? namespace : undefined);
    }
  }
  return { rules, errors };
}

/** The authorizer chain: system:masters, the built-in discovery/public paths, then RBAC. */
export function authorize(state: ApiState, a: Attributes): { allowed: boolean; reason: string } {
  if (a.user.groups.includes("system:masters")) return { allowed: true, reason: "" };
  if (!a.resourceRequest && a.verb === "get") {
    if (PUBLIC_PATHS.has(a.path)) return { allowed: true, reason: "" };
    if (a.user.groups.includes("system:authenticated") && DISCOVERY_PATH.test(a.path)) return { allowed: true, reason: "" };
  }
  // Non-resource URLs are granted by ClusterRoleBindings only.
  const { rules, errors } = rulesFor(state, a.user, a.resourceRequest ? a.namespace : "");
  if (rules.some((r) => ruleAllows(a, r))) return { allowed: true, reason: "" };
  return { allowed: false, reason: errors.length === 0 ? "" : `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`}` };
}

/** responsewriters.Forbidden for a refused request. */
export function forbiddenError(a: Attributes, reason: string): ApiError {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  let why = !a.resourceRequest
    ? `User "${a.user.name}" cannot ${a.verb} path "${a.path}"`
    : a.namespace
      ? `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" in the namespace "${a.namespace}"`
      : `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" at the cluster scope`;
  if (reason) why = `${why}: ${reason}`;
  return a.resourceRequest ? forbidden(a.apiGroup, a.resource, a.name, why) : forbidden("", "", "", why);
}

export function denialOf(a: Attributes, err: ApiError): Denial {
  return {
    user: a.user.name, groups: a.user.groups, verb: a.verb, apiGroup: a.apiGroup,
    resource: a.subresource ? `${a.resource}/${a.subresource}` : a.resource,
    namespace: a.namespace, name: a.name, ...(a.resourceRequest ? {} : { path: a.path }), message: err.message,
  };
}

/**
 * Impersonate-User / Impersonate-Group / Impersonate-Uid: the requester needs "impersonate" on
 * users (or serviceaccounts), groups and uids; the request then runs as the impersonated user.
 */
export function impersonate(state: ApiState, requester: UserInfo, headers: { user?: string; groups: string[]; uid?: string }, deny: (a: Attributes, err: ApiError) => void): UserInfo {
  if (headers.user === undefined) {
    if (headers.groups.length || headers.uid !== undefined) throw new ApiError(500, "InternalError", `Internal error occurred: requested ${[...headers.groups.map((g) => `group ${g}`), ...(headers.uid !== undefined ? [`uid ${headers.uid}`] : [])].join(", ")} without impersonating a user`);
    return requester;
  }
  const checks: Attributes[] = [];
  const base = { user: requester, verb: "impersonate", resourceRequest: true, path: "", apiGroup: "", namespace: "", subresource: "" };
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(headers.user);
  if (sa) checks.push({ ...base, resource: "serviceaccounts", namespace: sa[1]!, name: sa[2]! });
  else checks.push({ ...base, resource: "users", name: headers.user });
  for (const g of headers.groups) checks.push({ ...base, resource: "groups", name: g });
  if (headers.uid !== undefined) checks.push({ ...base, apiGroup: "authentication.k8s.io", resource: "uids", name: headers.uid });
  for (const check of checks) {
    const decision = authorize(state, check);
    if (!decision.allowed) {
      const err = forbiddenError(check, decision.reason);
      deny(check, err);
      throw err;
    }
  }
  let groups = [...headers.groups];
  if (sa && groups.length === 0) groups = ["system:serviceaccounts", `system:serviceaccounts:${sa[1]!}`];
  if (headers.user !== "system:anonymous" && !groups.includes("system:authenticated") && !groups.includes("system:unauthenticated")) groups.push("system:authenticated");
  return { name: headers.user, groups, ...(headers.uid !== undefined ? { uid: headers.uid } : {}) };
}

// ---- escalation check (pkg/registry/rbac) ---------------------------------------------------

function covers(owner: PolicyRule, wanted: PolicyRule): boolean {
  const [verb] = wanted.verbs ?? [];
  if (!has(owner.verbs, "*") && !has(owner.verbs, verb!)) return false;
  if (wanted.nonResourceURLs?.length) {
    const [url] = wanted.nonResourceURLs;
    return (owner.nonResourceURLs ?? []).some((u) => u === "*" || u === url || (u.endsWith("*") && url!.startsWith(u.slice(0, -1))));
  }
  const [group] = wanted.apiGroups ?? [];
  const [resource] = wanted.resources ?? [];
  if (!has(owner.apiGroups, "*") && !has(owner.apiGroups, group!)) return false;
  const resourceOk = has(owner.resources, "*") || has(owner.resources, resource!) || (resource!.includes("/") && has(owner.resources, `*/${resource!.split("/").slice(1).join("/")}`));
  if (!resourceOk) return false;
  if (!owner.resourceNames?.length) return true;
  return (wanted.resourceNames ?? []).length > 0 && owner.resourceNames.includes(wanted.resourceNames![0]!);
}

/** rbacv1helpers.BreakdownRule: one rule per group, resource, verb (and resource name). */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs ?? []) {
        if (rule.resourceNames?.length) for (const n of rule.resourceNames) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [n] });
        else out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs ?? []) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

/** rbacv1helpers.CompactString */
function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(", ")}}`;
}

/** ConfirmNoEscalation: undefined when the user holds every permission in `wanted` in `namespace`, else the refusal text. */
function escalationRefusal(state: ApiState, user: UserInfo, namespace: string, wanted: PolicyRule[]): string | undefined {
  const { rules: owned, errors } = rulesFor(state, user, namespace);
  const missing = wanted.flatMap(breakdown).filter((w) => !owned.some((o) => covers(o, w)));
  if (missing.length === 0) return undefined;
  // CompactRules: simple resource rules that differ only in their verbs become one.
  const compacted = new Map<string, PolicyRule>();
  const others: PolicyRule[] = [];
  for (const r of missing) {
    if (r.nonResourceURLs?.length) {
      others.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? []]);
    const existing = compacted.get(key);
    if (existing) existing.verbs = [...new Set([...existing.verbs!, ...r.verbs!])];
    else compacted.set(key, { ...r, verbs: [...r.verbs!] });
  }
  const descriptions = [...new Set([...compacted.values(), ...others].map(compactString))].sort();
  let msg = `user "${user.name}" (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join("\n")}`;
  if (errors.length) msg += `; resolution errors: [${errors.join(" ")}]`;
  return msg;
}

/**
 * The RBAC registry's create/update check for Roles, ClusterRoles and their bindings: allowed
 * for system:masters, with the "escalate" (roles) or "bind" (bindings) verb, or when the
 * requester already holds every permission granted. Throws the API server's 403 otherwise.
 */
export function checkEscalation(state: ApiState, user: UserInfo, kind: string, obj: any, namespace: string): void {
  if (user.groups.includes("system:masters")) return;
  const name: string = obj.metadata?.name ?? "";
  const plural = typeOfKind(kind).plural;
  const scope = kind === "Role" || kind === "RoleBinding" ? namespace : "";
  let wanted: PolicyRule[];
  if (kind === "Role" || kind === "ClusterRole") {
    const escalate: Attributes = { user, verb: "escalate", resourceRequest: true, path: "", apiGroup: RBAC_GROUP, namespace: scope, resource: plural, subresource: "", name };
    if (authorize(state, escalate).allowed) return;
    wanted = (obj.rules ?? []) as PolicyRule[];
  } else {
    const ref = obj.roleRef ?? {};
    const refKind = ref.kind === "Role" ? "Role" : "ClusterRole";
    const bind: Attributes = { user, verb: "bind", resourceRequest: true, path: "", apiGroup: RBAC_GROUP, namespace: scope, resource: refKind === "Role" ? "roles" : "clusterroles", subresource: "", name: ref.name ?? "" };
    if (authorize(state, bind).allowed) return;
    const role = state.find(typeOfKind(refKind), refKind === "Role" ? namespace : undefined, ref.name);
    if (!role) throw new ApiError(404, "NotFound", `${refKind === "Role" ? "roles" : "clusterroles"}.${RBAC_GROUP} "${String(ref.name)}" not found`, { name: ref.name, group: RBAC_GROUP, kind: refKind === "Role" ? "roles" : "clusterroles" });
    wanted = (role.rules ?? []) as PolicyRule[];
  }
  const refusal = escalationRefusal(state, user, scope, wanted);
  if (refusal) throw forbidden(RBAC_GROUP, plural, name, refusal);
}

/** The bootstrap policy the double installs with `rbac: true`: cluster-admin, bound to system:masters. */
export function bootstrapPolicy(): any[] {
  const labels = { "kubernetes.io/bootstrapping": "rbac-defaults" };
  return [
    { apiVersion: `${RBAC_GROUP}/v1`, kind: "ClusterRole", metadata: { name: "cluster-admin", labels, annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" } }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, { nonResourceURLs: ["*"], verbs: ["*"] }] },
    { apiVersion: `${RBAC_GROUP}/v1`, kind: "ClusterRoleBinding", metadata: { name: "cluster-admin", labels, annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" } }, roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ apiGroup: RBAC_GROUP, kind: "Group", name: "system:masters" }] },
  ];
}

/** Validation of RBAC objects the API server does before storing them (the common cases). */
export function validateRbacObject(kind: string, obj: any, prev: any): string | undefined {
  if (kind === "Role" || kind === "ClusterRole") {
    const rules: unknown = obj.rules ?? [];
    if (!Array.isArray(rules)) return "rules: Invalid value: must be a list";
    for (const [i, r] of rules.entries()) {
      if (!Array.isArray(r?.verbs) || r.verbs.length === 0) return `rules[${i}].verbs: Required value: verbs must contain at least one value`;
      if (r.nonResourceURLs?.length && kind === "Role") return `rules[${i}].nonResourceURLs: Invalid value: ${goQuoteList(r.nonResourceURLs)}: namespaced rules cannot apply to non-resource URLs`;
      if (!r.nonResourceURLs?.length && !(r.resources?.length)) return `rules[${i}].resources: Required value: resource rules must supply at least one resource`;
      if (!r.nonResourceURLs?.length && !Array.isArray(r.apiGroups)) return `rules[${i}].apiGroups: Required value: resource rules must supply at least one api group`;
    }
    return undefined;
  }
  const ref = obj.roleRef;
  if (!ref?.name) return "roleRef.name: Required value";
  const kinds = kind === "RoleBinding" ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(ref.kind)) return `roleRef.kind: Unsupported value: "${String(ref.kind)}": supported values: ${kinds.map((k) => `"${k}"`).join(", ")}`;
  if (prev && (prev.roleRef?.kind !== ref.kind || prev.roleRef?.name !== ref.name)) return `roleRef: Invalid value: {"apiGroup":"${RBAC_GROUP}","kind":"${String(ref.kind)}","name":"${String(ref.name)}"}: cannot change roleRef`;
  for (const [i, s] of ((obj.subjects ?? []) as any[]).entries()) {
    if (!["User", "Group", "ServiceAccount"].includes(s?.kind)) return `subjects[${i}].kind: Unsupported value: "${String(s?.kind)}": supported values: "ServiceAccount", "User", "Group"`;
    if (!s.name) return `subjects[${i}].name: Required value`;
    if (s.kind === "ServiceAccount" && kind === "ClusterRoleBinding" && !s.namespace) return `subjects[${i}].namespace: Required value`;
  }
  return undefined;
}

