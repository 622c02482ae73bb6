/**
 * Test API for the helm double executable (test/support/helm-double/helm; main.ts says what it
 * fakes). Give `bin` to the adapter as helmBin and `env` as its env. Release records live in the
 * Kubernetes API double as helm's Secrets: read them with `releaseHistory(kube, namespace, release)`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FailRule, HangRule, HelmDoubleScript } from "./helm-double/script.ts";
import { withLock, writeScript } from "./helm-double/script.ts";
import type { ReleaseStatus } from "./helm-double/storage.ts";
import { decodeRelease } from "./helm-double/storage.ts";


export interface HelmCall {
  argv: string[];
  /** Each --values file, parsed when the call started (the caller deletes the file afterwards). */
  values: unknown[];
  valuesFiles: { path: string; mode: string | null }[];
  env: { KUBECONFIG?: string };
  startedAt: string;
  pid: number;
  /**
   * Set on an upgrade, rollback or uninstall that started while another live helm double process
   * was running a mutating command on the same release (namespace + name): two helm operations
   * on one release at once. `overlapWith` holds the other processes' pids.
   */
  overlap?: true;
  overlapWith?: number[];
  /** From the invocation's end record; absent while it runs and when it was SIGKILLed. */
  endedAt?: string;
  /** null when it died of a signal it did not catch. */
  exitCode?: number | null;
  /** SIGTERM/SIGINT that ended it: caught (exitCode 1, as helm's install/upgrade) or not (exitCode null). */
  signal?: string;
}

interface EndRecord {
  event: "end";
  pid: number;
  endedAt: string;
  exitCode: number | null;
  signal?: string;
}

/** One revision of a release, as `helm history` shows it. */
export interface ReleaseRevision {
  revision: number;
  status: ReleaseStatus;
  description: string;
}

/**
 * The revisions of `release`, oldest first, decoded from helm's release Secrets
 * (sh.helm.release.v1.<release>.v<N>, labels owner=helm and name=<release>) in `namespace`.
 * Pass the Kubernetes API double.
 */
export function releaseHistory(kube: { list(kind: "Secret", namespace: string): unknown[] }, namespace: string, release: string): ReleaseRevision[] {
  return (kube.list("Secret", namespace) as { type?: string; metadata: { labels?: Record<string, string> }; data?: { release?: string } }[])
    .filter((s) => s.type === "helm.sh/release.v1" && s.metadata.labels?.owner === "helm" && s.metadata.labels.name === release && s.data?.release)
    .map((s) => decodeRelease(s.data!.release!))
    .sort((a, b) => a.version - b.version)
    .map((r) => ({ revision: r.version, status: r.info.status, description: r.info.description ?? "" }));
}

export interface ScriptedFailure {
  exitCode: number;
  stderr: string;
}

/** What real helm 3 prints for common failures (exit code 1). */
export const helmFailures = {
  chartNotFound: { exitCode: 1, stderr: 'Error: chart "web" version "9.9.9" not found in https://charts.example.com repository' },
  ociChartNotFound: { exitCode: 1, stderr: "Error: ghcr.io/acme/charts/web:9.9.9: not found" },
  repoIndexNotFound: {
    exitCode: 1,
    stderr: 'Error: looks like "https://charts.example.com" is not a valid chart repository or cannot be reached: failed to fetch https://charts.example.com/index.yaml : 404 Not Found',
  },
  invalidValues: {
    exitCode: 1,
    stderr: [
      "Error: UPGRADE FAILED: values don't meet the specifications of the schema(s) in the following chart(s):",
      "web:",
      "- replicaCount: Invalid type. Expected: integer, given: string",
    ].join("\n"),
  },
  templateError: {
    exitCode: 1,
    stderr: 'Error: UPGRADE FAILED: template: web/templates/deployment.yaml:21:28: executing "web/templates/deployment.yaml" at <.Values.image.tag>: nil pointer evaluating interface {}.tag',
  },
  requiredValue: { exitCode: 1, stderr: "Error: INSTALLATION FAILED: execution error at (web/templates/secret.yaml:5:22): db.password is required" },
  parseError: { exitCode: 1, stderr: 'Error: UPGRADE FAILED: parse error at (web/templates/_helpers.tpl:3): unexpected "}" in operand' },
  clusterUnreachable: {
    exitCode: 1,
    stderr: 'Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:6443/version": dial tcp 10.0.0.1:6443: connect: connection refused',
  },
  noKubeconfig: {
    exitCode: 1,
    stderr: "Error: Kubernetes cluster unreachable: invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable",
  },
  forbiddenKind: {
    exitCode: 1,
    stderr:
      'Error: UPGRADE FAILED: failed to create resource: certificates.cert-manager.io is forbidden: User "system:serviceaccount:octostage-web-pr-1:octostage-deployer" cannot create resource "certificates" in API group "cert-manager.io" in the namespace "octostage-web-pr-1"',
  },
  podSecurityHook: {
    exitCode: 1,
    stderr:
      'Error: INSTALLATION FAILED: pods "web-pr-1-migrate" is forbidden: violates PodSecurity "baseline:latest": privileged (container "migrate" must not set securityContext.privileged=true)',
  },
  timedOut: { exitCode: 1, stderr: "Error: UPGRADE FAILED: timed out waiting for the condition" },
  transient: { exitCode: 1, stderr: "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" },
  /** helm's errPending: the release's last revision is pending-install/-upgrade/-rollback (same text as `transient`). */
  pending: { exitCode: 1, stderr: "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" },
  releaseNotFound: { exitCode: 1, stderr: "Error: uninstall: Release not loaded: pr-1-web: release: not found" },
} satisfies Record<string, ScriptedFailure>;

export type HelmFailurePreset = keyof typeof helmFailures;
type HelmCommand = "upgrade" | "rollback" | "uninstall" | "status" | "history" | "version" | "pull" | "*";

export interface HelmDouble {
  /** The executable to run as helm. */
  bin: string;
  dir: string;
  logPath: string;
  scriptPath: string;
  /** Environment the double needs (log, script, its directory, and the node that runs it). */
  env: Record<string, string>;
  /** Every invocation, in start order, with its end (endedAt, exitCode, signal) once it has ended. */
  calls(): HelmCall[];
  /** The calls that started while another live helm process ran a mutating command on the same release. */
  overlaps(): HelmCall[];
  /** The next `times` calls of `command` fail with this helm output. */
  failNext(command: HelmCommand, failure: HelmFailurePreset | ScriptedFailure, times?: number): void;
  /**
   * The next `times` calls of `command` sleep `ms` (then behave normally if still alive): upgrade
   * and rollback once their pending revision is written, uninstall once the release is marked
   * uninstalling, other commands first. Kill the process meanwhile to leave the release pending.
   */
  hang(ms: number, command?: HelmCommand, times?: number): void;
  /** Every call sleeps this long first. */
  delay(ms: number): void;
  /** Forgets recorded calls and scripted behaviour. */
  reset(): void;
  /** Removes the directory if createHelmDouble made it. */
  cleanup(): void;
}

const helmDoubleBin = path.join(path.dirname(fileURLToPath(import.meta.url)), "helm-double", "helm");

export function createHelmDouble(dir?: string): HelmDouble {
  const ownDir = dir === undefined;
  const root = dir ?? mkdtempSync(path.join(tmpdir(), "helm-double-"));
  const logPath = path.join(root, "helm-calls.jsonl");
  const scriptPath = path.join(root, "helm-script.json");

  function update(change: (script: HelmDoubleScript) => HelmDoubleScript): void {
    withLock(scriptPath, () => {
      const current = existsSync(scriptPath) ? (JSON.parse(readFileSync(scriptPath, "utf8")) as HelmDoubleScript) : {};
      writeScript(scriptPath, change(current));
    });
  }
  const hangsOf = (s: HelmDoubleScript): HangRule[] => (s.hang === undefined ? [] : Array.isArray(s.hang) ? s.hang : [s.hang]);

  function calls(): HelmCall[] {
    const entries = readFileSync(logPath, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as HelmCall | EndRecord);
    const started: HelmCall[] = [];
    const running = new Map<number, HelmCall>();
    for (const entry of entries) {
      if ("event" in entry) {
        const call = running.get(entry.pid);
        if (!call) continue;
        running.delete(entry.pid);
        call.endedAt = entry.endedAt;
        call.exitCode = entry.exitCode;
        if (entry.signal !== undefined) call.signal = entry.signal;
      } else {
        started.push(entry);
        running.set(entry.pid, entry);
      }
    }
    return started;
  }

  function reset(): void {
    writeFileSync(logPath, "");
    update(() => ({}));
  }
  reset();

  return {
    bin: helmDoubleBin,
    dir: root,
    logPath,
    scriptPath,
    env: { HELM_DOUBLE_LOG: logPath, HELM_DOUBLE_SCRIPT: scriptPath, HELM_DOUBLE_DIR: root, HELM_DOUBLE_NODE: process.execPath },
    calls,
    overlaps: () => calls().filter((c) => c.overlap === true),
    failNext(command, failure, times = 1) {
      const { exitCode, stderr } = typeof failure === "string" ? helmFailures[failure] : failure;
      const rule: FailRule = { match: command, times, exitCode, stderr };
      update((s) => ({ ...s, fail: [...(s.fail ?? []), rule] }));
    },
    hang(ms, command = "upgrade", times = 1) {
      update((s) => ({ ...s, hang: [...hangsOf(s), { match: command, ms, times }] }));
    },
    delay(ms) {
      update((s) => ({ ...s, delayMs: ms }));
    },
    reset,
    cleanup() {
      if (ownDir) rmSync(root, { recursive: true, force: true });
    },
  };
}
