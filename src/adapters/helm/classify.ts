import type { HelmErrorCode } from "../../ports/helm.ts";

interface FailureRule {
  code: HelmErrorCode;
  pattern: RegExp;
}

/**
 * How helm 3 reports failures on stderr, matched line by line. Helm has no machine-readable
 * error output, so its messages are the interface. Rules are tried in order; the first rule
 * that matches any line wins. Examples are real helm 3 messages.
 */
const helmFailureRules: readonly FailureRule[] = [
  // Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress
  // (pkg/action/upgrade.go errPending: the last revision is pending-install, -upgrade or -rollback)
  { code: "release_pending", pattern: /another operation \(install\/upgrade\/rollback\) is in progress/i },
  // Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:6443/version": dial tcp 10.0.0.1:6443: connect: connection refused
  // Error: Kubernetes cluster unreachable: invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable
  { code: "cluster_unreachable", pattern: /Kubernetes cluster unreachable|no configuration has been provided/i },
  // Error: UPGRADE FAILED: template: web/templates/configmap.yaml:7:12: executing "web/templates/configmap.yaml" at <lookup "v1" "Secret" "octostage" "octostage-secrets">: error calling lookup: secrets "octostage-secrets" is forbidden: User "system:serviceaccount:octostage-web-pr-1:octostage-deployer" cannot get resource "secrets" in API group "" in the namespace "octostage"
  // Error: UPGRADE FAILED: failed to create resource: certificates.cert-manager.io is forbidden: User "system:serviceaccount:octostage-web-pr-1:octostage-deployer" cannot create resource "certificates" in API group "cert-manager.io" in the namespace "octostage-web-pr-1"
  // Error: INSTALLATION FAILED: pods "web-pr-1-migrate" is forbidden: violates PodSecurity "baseline:latest": privileged (container "migrate" must not set securityContext.privileged=true)
  { code: "forbidden", pattern: /\bis forbidden: (User "[^"]*" cannot |violates PodSecurity )/i },
  // Error: looks like "https://charts.example.com" is not a valid chart repository or cannot be reached: failed to fetch https://charts.example.com/index.yaml : 404 Not Found
  { code: "chart_not_found", pattern: /is not a valid chart repository or cannot be reached:.*\b404\b/i },
  // Error: looks like "https://charts.example.com" is not a valid chart repository or cannot be reached: Get "https://charts.example.com/index.yaml": dial tcp: lookup charts.example.com: no such host
  // (the chart repository, not the cluster, is unreachable: may pass on retry)
  { code: "failed", pattern: /is not a valid chart repository or cannot be reached/i },
  // Error: chart "web" version "9.9.9" not found in https://charts.example.com repository
  // Error: chart "web" not found in https://charts.example.com repository
  { code: "chart_not_found", pattern: /chart "[^"]*"( version "[^"]*")? not found/i },
  // Error: failed to download "oci://ghcr.io/acme/charts/web" at version "1.2.3"
  // Error: no chart version found for web-1.2.3
  { code: "chart_not_found", pattern: /failed to download|no chart version found|no chart name found/i },
  // Error: ghcr.io/acme/charts/web:9.9.9: not found
  // Error: failed to perform "FetchReference" on source: GET "https://ghcr.io/v2/acme/charts/web/manifests/9.9.9": response status code 404: notfound: manifest unknown
  { code: "chart_not_found", pattern: /^Error: [\w.-]+(:\d+)?\/\S+:[\w.+-]+: not found$|manifest unknown|name unknown/i },
  // Error: UPGRADE FAILED: values don't meet the specifications of the schema(s) in the following chart(s):
  { code: "invalid_values", pattern: /values don't meet the specifications of the schema/i },
  // Error: UPGRADE FAILED: execution error at (web/templates/secret.yaml:5:22): db.password is required
  { code: "invalid_values", pattern: /execution error at \(/i },
  // Error: UPGRADE FAILED: template: web/templates/deployment.yaml:21:28: executing "web/templates/deployment.yaml" at <.Values.image.tag>: nil pointer evaluating interface {}.tag
  { code: "invalid_values", pattern: /\btemplate: \S+:\d+(:\d+)?: /i },
  // Error: UPGRADE FAILED: parse error at (web/templates/_helpers.tpl:3): unexpected "}" in operand
  { code: "invalid_values", pattern: /\bparse error\b/i },
  // Error: UPGRADE FAILED: YAML parse error on web/templates/deployment.yaml: error converting YAML to JSON: yaml: line 12: did not find expected key
  // Error: failed to parse /tmp/octostage-helm-x/values.yaml: error converting YAML to JSON: yaml: line 2: mapping values are not allowed in this context
  { code: "invalid_values", pattern: /YAML parse error|error converting YAML to JSON/i },
  // Error: UPGRADE FAILED: unable to build kubernetes objects from new release manifest: error validating "": error validating data: ValidationError(Deployment.spec.replicas): invalid type for io.k8s.api.apps.v1.DeploymentSpec.replicas: got "string", expected "integer"
  { code: "invalid_values", pattern: /error validating data/i },
  // Error: UPGRADE FAILED: Get "https://10.0.0.1:6443/api/v1/namespaces/pr-1/secrets": dial tcp 10.0.0.1:6443: connect: connection refused
  // Error: UPGRADE FAILED: query: failed to query with labels: the server has asked for the client to provide credentials
  {
    code: "cluster_unreachable",
    pattern: /connection refused|no such host|i\/o timeout|no route to host|TLS handshake timeout|provide credentials|\bUnauthorized\b/i,
  },
  // Error: UPGRADE FAILED: timed out waiting for the condition
  // Error: UPGRADE FAILED: pre-upgrade hooks failed: context deadline exceeded
  { code: "timeout", pattern: /timed out waiting for the condition|context deadline exceeded/i },
];

export interface HelmFailure {
  code: HelmErrorCode;
  /** The stderr line that explains the failure best (with detail lines that follow it). */
  line: string;
}

const maxLineLength = 600;

function withDetail(lines: string[], index: number): string {
  // Schema errors list their causes on the following lines ("- replicaCount: Invalid type...").
  const detail: string[] = [];
  for (const next of lines.slice(index + 1, index + 6)) {
    if (!/^\s*(- |\S+:\s*$)/.test(next)) break;
    detail.push(next.trim());
  }
  const text = [lines[index]!.trim(), ...detail].join(" ");
  return text.length > maxLineLength ? `${text.slice(0, maxLineLength)}…` : text;
}

export function classifyHelmFailure(stderr: string): HelmFailure {
  const lines = stderr.split(/\r?\n/).filter((l) => l.trim() !== "");
  for (const rule of helmFailureRules) {
    const index = lines.findIndex((l) => rule.pattern.test(l));
    if (index >= 0) return { code: rule.code, line: withDetail(lines, index) };
  }
  const errorIndex = lines.findLastIndex((l) => l.startsWith("Error:"));
  const index = errorIndex >= 0 ? errorIndex : lines.length - 1;
  return { code: "failed", line: index >= 0 ? withDetail(lines, index) : "(helm wrote nothing to stderr)" };
}
