/**
 * Test API for the helm double executable (test/support/helm-double/helm; main.ts says what it
 * fakes). Give `bin` to the adapter as helmBin and `env` as its env.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FailRule, HangRule, HelmDoubleScript } from "./helm-double/script.ts";
import { withLock, writeScript } from "./helm-double/script.ts";

export interface HelmCall {
  argv: string[];
  /** Each --values file, parsed when the call started (the caller deletes the file afterwards). */
  values: unknown[];
  valuesFiles: { path: string; mode: string | null }[];
  env: { KUBECONFIG?: string };
  startedAt: string;
  pid: number;
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
  timedOut: { exitCode: 1, stderr: "Error: UPGRADE FAILED: timed out waiting for the condition" },
  transient: { exitCode: 1, stderr: "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" },
  releaseNotFound: { exitCode: 1, stderr: "Error: uninstall: Release not loaded: pr-1-web: release: not found" },
} satisfies Record<string, ScriptedFailure>;

export type HelmFailurePreset = keyof typeof helmFailures;
export type HelmCommand = "upgrade" | "uninstall" | "version" | "*";

export interface HelmDouble {
  /** The executable to run as helm. */
  bin: string;
  dir: string;
  logPath: string;
  scriptPath: string;
  /** Environment the double needs (log, script, and the node that runs it). */
  env: Record<string, string>;
  calls(): HelmCall[];
  /** The next `times` calls of `command` fail with this helm output. */
  failNext(command: HelmCommand, failure: HelmFailurePreset | ScriptedFailure, times?: number): void;
  /** The next `times` calls of `command` sleep `ms` first (then behave normally if still alive). */
  hang(ms: number, command?: HelmCommand, times?: number): void;
  /** Every call sleeps this long first. */
  delay(ms: number): void;
  /** Forgets recorded calls and scripted behaviour. */
  reset(): void;
  /** Removes the directory if createHelmDouble made it. */
  cleanup(): void;
}

export const helmDoubleBin = path.join(path.dirname(fileURLToPath(import.meta.url)), "helm-double", "helm");

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
    env: { HELM_DOUBLE_LOG: logPath, HELM_DOUBLE_SCRIPT: scriptPath, HELM_DOUBLE_NODE: process.execPath },
    calls: () =>
      readFileSync(logPath, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as HelmCall),
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
