/** Helm as the use cases see it. Adapter: src/adapters/helm/ (the only code that spawns processes). */

export interface ChartRef {
  /** Chart repository URL (https://...) or, for an OCI chart, the oci:// reference of the chart itself. */
  repository: string;
  /** Chart name within the repository; ignored for oci:// references. */
  name: string;
  /** Exact chart version; absent means the newest. */
  version?: string;
}

export interface HelmReleaseRequest {
  release: string;
  namespace: string;
  chart: ChartRef;
  /** The full values document, written to a generated values file (never --set). */
  values: Record<string, unknown>;
  timeoutSeconds: number;
  /** Strings to redact from captured output (e.g. values marked secret). */
  secrets?: string[];
}

export interface HelmResult {
  exitCode: number;
  /** Output with secrets redacted, capped in size. */
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The argv helm ran with (the values file path, not its contents). */
  argv: string[];
}

/**
 * Why helm failed. `permanent` codes never succeed on retry; the rest may.
 * - helm_not_found: the helm binary is missing (install helm or set HELM_BIN)
 * - cluster_unreachable: no kubeconfig, or the API server did not answer
 * - chart_not_found: repository, chart or version does not exist
 * - invalid_values: the chart rejected the values (schema or template error)
 * - forbidden: the API server refused a request of helm's (the staging's deployer may not do
 *   it: a chart reaching outside its namespace, a kind missing from the deployer ClusterRole,
 *   a pod its namespace's Pod Security level refuses)
 * - timeout: helm did not finish within the timeout
 * - release_pending: the release is locked by another operation (a pending-install, pending-upgrade
 *   or pending-rollback revision, left by a helm that was killed: see recover-release.ts)
 * - stopped: Octostage stopped helm (the lease was lost, the worker is shutting down)
 * - failed: anything else helm reported
 */
export type HelmErrorCode =
  | "helm_not_found"
  | "cluster_unreachable"
  | "chart_not_found"
  | "invalid_values"
  | "forbidden"
  | "timeout"
  | "release_pending"
  | "stopped"
  | "failed";

/** How a helm run is controlled while it runs (see src/adapters/helm/watchdog.ts). */
export interface HelmRunControl {
  /** Aborting stops helm (SIGTERM to its process group, SIGKILL after a grace period). */
  signal?: AbortSignal;
  /** helm is stopped when this deadline (epoch ms, read again and again) passes: the lease it runs under. */
  lease?: { deadline(): number };
  /**
   * The kubeconfig (content) helm runs with: the staging's deployer identity, confined to its
   * namespace. Written to a private file for the run only. Without it helm uses the worker's own.
   */
  kubeconfig?: string;
}

/** A release revision's status as helm 3 stores it. */
export type ReleaseStatus =
  | "deployed"
  | "superseded"
  | "failed"
  | "pending-install"
  | "pending-upgrade"
  | "pending-rollback"
  | "uninstalling"
  | "uninstalled"
  | "unknown";

export interface ReleaseRevision {
  revision: number;
  status: ReleaseStatus;
  description: string;
}

export function isPendingRelease(status: ReleaseStatus): boolean {
  return status === "pending-install" || status === "pending-upgrade" || status === "pending-rollback";
}

export interface Helm {
  /** `helm upgrade --install`. Throws HelmError on failure. */
  upgradeInstall(req: HelmReleaseRequest, run?: HelmRunControl): Promise<HelmResult>;
  /** `helm uninstall`; a release that does not exist is success. Throws HelmError on failure. */
  uninstall(release: string, namespace: string, timeoutSeconds: number, run?: HelmRunControl): Promise<HelmResult>;
  /** `helm history -o json`: the release's revisions, oldest first; none when there is no release. */
  history(release: string, namespace: string, run?: HelmRunControl): Promise<ReleaseRevision[]>;
  /** `helm rollback REL REVISION`: the way helm's maintainers unstick a pending release. */
  rollback(release: string, namespace: string, revision: number, timeoutSeconds: number, run?: HelmRunControl): Promise<HelmResult>;
  /** `helm pull --untar`: the chart's default values, its values.schema.json if it has one, and its version. Throws HelmError. */
  pullChart(chart: ChartRef): Promise<ChartFiles>;
}

interface ChartFiles {
  /** values.yaml, parsed. */
  values: Record<string, unknown>;
  /** values.schema.json, parsed; null when the chart has none. */
  schema: Record<string, unknown> | null;
  version: string | null;
}

const permanentCodes: ReadonlySet<HelmErrorCode> = new Set(["helm_not_found", "chart_not_found", "invalid_values", "forbidden"]);

export class HelmError extends Error {
  override readonly name = "HelmError";
  readonly code: HelmErrorCode;
  readonly result: HelmResult | undefined;

  constructor(code: HelmErrorCode, message: string, result?: HelmResult) {
    super(message);
    this.code = code;
    this.result = result;
  }

  /** True when retrying cannot help (a wrong chart, bad values, no helm binary). */
  get permanent(): boolean {
    return permanentCodes.has(this.code);
  }
}
