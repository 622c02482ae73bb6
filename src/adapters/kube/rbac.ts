/**
 * The one source of Octostage's Kubernetes rights. `scripts/generate-rbac.ts` writes the chart's
 * ClusterRoles and the RBAC section of docs/operators/install.md from it, and
 * test/integration/chart-rbac.test.ts checks they are what it writes and that a staging's whole
 * life works with them against an API server that enforces RBAC.
 *
 * Two identities:
 * - the worker: cluster-wide, but only for watching workloads, listing volume claims (their size,
 *   for the cost estimate) and for the lifecycle of staging namespaces (their quota, limits, Pod
 *   Security labels, and the identity helm runs as there).
 *   No Secrets, no workloads: it never writes into a staging.
 * - the deployer: a ServiceAccount in each staging's namespace, bound there (RoleBinding) to
 *   the deployer ClusterRole. helm runs as it, with a short-lived token, so a chart can only
 *   act inside its own namespace: a `lookup` of another namespace's Secret is refused.
 */

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface DocumentedRule {
  why: string;
  rule: PolicyRule;
}

/** The ServiceAccount (and RoleBinding) helm runs as in each staging namespace. */
export const deployerName = "octostage-deployer";
/** The deployer ClusterRole's name outside the chart (the chart names it `<release>-deployer`). */
export const defaultDeployerClusterRole = "octostage-deployer";

const all = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
const read = ["get", "list", "watch"];

export function workerRules(deployerClusterRole: string): DocumentedRule[] {
  return [
    { why: "Health: cluster-wide watches of workloads (one list+watch per kind, never one per staging; objects outside staging namespaces are dropped unread).", rule: { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: read } },
    { why: "Health: pods name crash loops, OOM kills, image pull errors.", rule: { apiGroups: [""], resources: ["pods"], verbs: read } },
    { why: "Health: Jobs (Helm hooks such as migrations, a chart's one-off Jobs).", rule: { apiGroups: ["batch"], resources: ["jobs"], verbs: read } },
    { why: "Cost: the size of each staging's PersistentVolumeClaims (volumes cost even while a staging is archived).", rule: { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["list"] } },
    {
      why: "Staging namespaces: created (labelled and annotated with the staging's id, with Pod Security labels), claimed or relabelled (patch), deleted once the staging is deleted; listed and watched by that label, so that health observes only their objects. Octostage checks its annotation before touching one; a ValidatingAdmissionPolicy can enforce the label (docs/operators/security.md).",
      rule: { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
    },
    { why: "A staging namespace's limits, which its own deployer may not change: the ResourceQuota and LimitRange Octostage sets.", rule: { apiGroups: [""], resources: ["resourcequotas", "limitranges"], verbs: ["get", "create", "update", "patch", "delete"] } },
    { why: "The deployer: its ServiceAccount in each staging namespace...", rule: { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "create"] } },
    { why: "...a short-lived token for it, for each helm run (TokenRequest), and for nothing else...", rule: { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"], resourceNames: [deployerName] } },
    { why: "...and its RoleBinding to the deployer ClusterRole, in that namespace only.", rule: { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings"], verbs: ["get", "create", "update", "patch", "delete"] } },
    {
      why: "Binding the deployer ClusterRole without holding its rights (RBAC's bind verb), and no other role; get checks at start that it is installed.",
      rule: { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], verbs: ["get", "bind"], resourceNames: [deployerClusterRole] },
    },
  ];
}

/** What helm (and archive/restore scaling) may do inside one staging's namespace. */
export const deployerRules: DocumentedRule[] = [
  {
    why: "helm's release records are Secrets; the rest is what a typical web chart renders.",
    rule: { apiGroups: [""], resources: ["secrets", "configmaps", "services", "serviceaccounts", "persistentvolumeclaims", "pods", "pods/log", "endpoints"], verbs: all },
  },
  { why: "Events, read by helm --wait and charts' hooks.", rule: { apiGroups: [""], resources: ["events"], verbs: read } },
  { why: "Workloads, and archive/restore through the scale subresource.", rule: { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "replicasets", "deployments/scale", "statefulsets/scale"], verbs: all } },
  { why: "Helm hooks and a chart's Jobs and CronJobs.", rule: { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: all } },
  { why: "Ingresses and NetworkPolicies.", rule: { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: all } },
  { why: "PodDisruptionBudgets and HorizontalPodAutoscalers.", rule: { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: all } },
  { why: "", rule: { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: all } },
  { why: "A chart's own Roles and RoleBindings (Kubernetes lets it grant only what the deployer holds).", rule: { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: all } },
];

function list(items: readonly string[]): string {
  return `[${items.map((i) => (i === "" ? '""' : i)).join(", ")}]`;
}

/** The rules as YAML list items at `indent` spaces, each with its reason as a comment. */
export function rulesYaml(rules: readonly DocumentedRule[], indent: number): string {
  const pad = " ".repeat(indent);
  return rules
    .map(({ why, rule }) =>
      [
        ...(why ? [`${pad}# ${why}`] : []),
        `${pad}- apiGroups: ${list(rule.apiGroups)}`,
        `${pad}  resources: ${list(rule.resources)}`,
        `${pad}  verbs: ${list(rule.verbs)}`,
        ...(rule.resourceNames ? [`${pad}  resourceNames: ${list(rule.resourceNames)}`] : []),
      ].join("\n"),
    )
    .join("\n");
}

/** The namespaced resources the worker writes: the ones the admission policy confines to staging namespaces. */
export function workerNamespacedWrites(deployerClusterRole: string): string[] {
  const writes = ["create", "update", "patch", "delete"];
  return workerRules(deployerClusterRole)
    .map((r) => r.rule)
    .filter((r) => r.verbs.some((v) => writes.includes(v)) && !r.resources.includes("namespaces") && !r.resources.includes("clusterroles"))
    .flatMap((r) => r.resources);
}

/**
 * A ValidatingAdmissionPolicy (Kubernetes 1.30+) that holds the worker to staging namespaces even
 * if its token leaks: it may create, change and delete only namespaces labelled
 * app.kubernetes.io/managed-by=octostage, and write its namespaced objects (quota, limits, the
 * deployer's ServiceAccount, token and RoleBinding) only inside such namespaces. RBAC cannot say
 * "only namespaces with this label"; admission can. `username` is the worker's user name;
 * `metadataExtra` is appended after each object's metadata.name (the chart adds its labels there).
 */
export function namespacePolicyYaml(opts: { name: string; username: string; deployerClusterRole: string; metadataExtra?: string }): string {
  const label = "app.kubernetes.io/managed-by";
  const extra = opts.metadataExtra ?? "";
  const owned = (o: string) => `has(${o}.metadata.labels) && '${label}' in ${o}.metadata.labels && ${o}.metadata.labels['${label}'] == 'octostage'`;
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ${opts.name}${extra}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: [CREATE, UPDATE, DELETE]
        resources: [namespaces]
      - apiGroups: ["", rbac.authorization.k8s.io]
        apiVersions: ["v1"]
        operations: [CREATE, UPDATE, DELETE]
        resources: [${workerNamespacedWrites(opts.deployerClusterRole).join(", ")}]
  matchConditions:
    - name: the-octostage-worker
      expression: "request.userInfo.username == '${opts.username}'"
  validations:
    - expression: "request.resource.resource != 'namespaces' || request.operation == 'CREATE' || (${owned("oldObject")})"
      message: Octostage may change and delete only namespaces labelled ${label}=octostage
    - expression: "request.resource.resource != 'namespaces' || request.operation == 'DELETE' || (${owned("object")})"
      message: Octostage must label the namespaces it creates ${label}=octostage
    - expression: "request.resource.resource == 'namespaces' || (namespaceObject != null && ${owned("namespaceObject")})"
      message: Octostage may write quotas, limits and its deployer's identity only in namespaces labelled ${label}=octostage
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ${opts.name}${extra}
spec:
  policyName: ${opts.name}
  validationActions: [Deny]
`;
}
