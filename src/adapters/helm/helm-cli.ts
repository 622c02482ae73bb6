/** The Helm port on the real helm 3 CLI: argv only, values through a private file, typed errors. */
import { tmpdir } from "node:os";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { HelmError } from "../../ports/helm.ts";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { ChartRef, Helm, HelmErrorCode, HelmReleaseRequest, HelmResult, HelmRunControl, ReleaseRevision, ReleaseStatus } from "../../ports/helm.ts";
import type { Logger } from "../../ports/logger.ts";
import { classifyHelmFailure } from "./classify.ts";
import { ExecError, runProcess } from "./exec.ts";
import type { ProcessRequest, ProcessResult } from "./exec.ts";
import { redactText } from "./redact.ts";
import { createRunDir, removeLeftovers, valuesToYaml } from "./values-file.ts";
import type { RunDir } from "./values-file.ts";

export interface HelmCliOptions {
  /** Path or PATH name of the helm 3 binary (HELM_BIN). */
  helmBin: string;
  /** Passed as --kubeconfig; without it helm uses KUBECONFIG, ~/.kube/config or in-cluster config. */
  kubeconfig?: string;
  /** Extra environment for helm, on top of PATH, HOME, KUBECONFIG and HELM_* (e.g. cloud auth variables). */
  env?: Record<string, string>;
  /** Parent of the private temp directories holding values files. Default: the OS temp dir. */
  workDir?: string;
  logger: Logger;
  /** Added to helm's own --timeout before the process is killed, so helm can report first. Default 30 s. */
  timeoutMarginMs?: number;
  /** Between SIGTERM and SIGKILL when the process is killed. Default 5 s. */
  killGraceMs?: number;
  /** Starts the process; tests may wrap it. Default: runProcess. */
  run?: (req: ProcessRequest) => Promise<ProcessResult>;
}

/** `upgrade --install` argv, exactly as helm receives it. */
function upgradeArgv(req: HelmReleaseRequest, valuesFile: string, kubeconfig?: string): string[] {
  const argv = ["upgrade", "--install", req.release, chartArg(req.chart)];
  // No --create-namespace: Octostage creates the namespace (the deployer may not).
  argv.push("--namespace", req.namespace, "--values", valuesFile);
  argv.push("--timeout", `${req.timeoutSeconds}s`, "--history-max", "10");
  if (req.chart.version !== undefined) argv.push("--version", req.chart.version);
  if (!isOci(req.chart)) argv.push("--repo", req.chart.repository);
  if (kubeconfig !== undefined) argv.push("--kubeconfig", kubeconfig);
  return argv;
}

/** `uninstall` argv. No --ignore-not-found (helm >= 3.13 only): "release: not found" is treated as success. */
function uninstallArgv(release: string, namespace: string, timeoutSeconds: number, kubeconfig?: string): string[] {
  const argv = ["uninstall", release, "--namespace", namespace, "--timeout", `${timeoutSeconds}s`];
  if (kubeconfig !== undefined) argv.push("--kubeconfig", kubeconfig);
  return argv;
}

function isOci(chart: ChartRef): boolean {
  return chart.repository.startsWith("oci://");
}

function chartArg(chart: ChartRef): string {
  return isOci(chart) ? chart.repository : chart.name;
}

const releaseName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const namespaceName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * No shell is involved, but helm still parses its argv: a name like `--post-renderer=x` would be
 * a flag. Release and namespace come from our own naming, so a bad one is a bug (RangeError);
 * a chart reference comes from project configuration (HelmError chart_not_found).
 */
function assertSafeArgs(release: string, namespace: string, chart?: ChartRef): void {
  if (!releaseName.test(release) || release.length > 53) throw new RangeError(`invalid helm release name ${JSON.stringify(release)}`);
  if (!namespaceName.test(namespace) || namespace.length > 63) throw new RangeError(`invalid namespace ${JSON.stringify(namespace)}`);
  if (chart) assertSafeChart(chart);
}

function assertSafeChart(chart: ChartRef): void {
  for (const part of [chart.repository, chart.name, chart.version ?? ""]) {
    if (part.startsWith("-")) throw new HelmError("chart_not_found", `invalid chart reference ${JSON.stringify(part)}: must not start with "-"`);
  }
}

// Error: uninstall: Release not loaded: pr-12-web: release: not found
const releaseNotFound = /release: not found/i;

function kubeconfigArgs(kubeconfig: string | undefined): string[] {
  return kubeconfig === undefined ? [] : ["--kubeconfig", kubeconfig];
}

const releaseStatuses: readonly ReleaseStatus[] = ["deployed", "superseded", "failed", "pending-install", "pending-upgrade", "pending-rollback", "uninstalling", "uninstalled"];
const historyEntry = z.object({ revision: z.number().int(), status: z.string(), description: z.string().optional().default("") });

/** `helm history -o json`: [{revision, updated, status, chart, app_version, description}], oldest first. */
export function parseHistory(stdout: string, release: string): ReleaseRevision[] {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    throw new HelmError("failed", `helm history ${release}: the output is not JSON`);
  }
  const parsed = z.array(historyEntry).safeParse(raw);
  if (!parsed.success) throw new HelmError("failed", `helm history ${release}: unexpected output (${parsed.error.issues[0]?.message ?? "invalid"})`);
  return parsed.data
    .map((e) => ({ revision: e.revision, status: releaseStatuses.find((s) => s === e.status) ?? ("unknown" as const), description: e.description }))
    .sort((a, b) => a.revision - b.revision);
}

function failureMessage(code: HelmErrorCode, what: string, line: string): string {
  if (code === "cluster_unreachable") {
    return `${what}: helm could not reach the Kubernetes cluster (${line}). Set KUBECONFIG to a kubeconfig for the cluster, or run Octostage in-cluster with a ServiceAccount.`;
  }
  return `${what} failed (${code}): ${line}`;
}

export function createHelmCli(options: HelmCliOptions): Helm {
  const run = options.run ?? runProcess;
  const margin = options.timeoutMarginMs ?? 30_000;

  async function invoke(
    what: string,
    argv: string[],
    timeoutSeconds: number,
    secrets: readonly string[],
    control: HelmRunControl = {},
    isSuccess: (p: ProcessResult) => boolean = (p) => p.exitCode === 0,
  ): Promise<HelmResult> {
    const log = options.logger.child({ helm: what });
    const shownArgv = argv.map((a) => redactText(a, secrets));
    log.debug({ argv: shownArgv }, "helm started");
    let proc: ProcessResult;
    try {
      proc = await run({
        file: options.helmBin,
        argv,
        env: options.env ?? {},
        timeoutMs: timeoutSeconds * 1000 + margin,
        redact: secrets,
        ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
        ...(control.signal ? { signal: control.signal } : {}),
        ...(control.lease ? { lease: control.lease } : {}),
      });
    } catch (err) {
      if (err instanceof ExecError && err.code !== "spawn_failed") {
        const problem = err.code === "binary_not_found" ? "was not found" : "is not executable";
        throw new HelmError(
          "helm_not_found",
          `The helm binary "${options.helmBin}" ${problem}. Install helm 3 (https://helm.sh/docs/intro/install/) or set HELM_BIN to its path.`,
        );
      }
      throw new HelmError("failed", `${what}: could not start helm: ${redactText(String(err), secrets)}`);
    }

    const result: HelmResult = {
      exitCode: proc.exitCode ?? -1,
      stdout: proc.stdout,
      stderr: proc.stderr,
      durationMs: proc.durationMs,
      argv: shownArgv,
    };
    const meta = { exitCode: proc.exitCode, signal: proc.signal, durationMs: proc.durationMs };
    if (proc.stoppedBy === "lease" || proc.stoppedBy === "abort") {
      log.warn({ ...meta, stoppedBy: proc.stoppedBy }, "helm stopped");
      const why = proc.stoppedBy === "lease" ? "its lease was not renewed in time" : "it was asked to stop (lease lost or shutting down)";
      throw new HelmError("stopped", `${what} was stopped: ${why}`, result);
    }
    if (proc.timedOut) {
      log.warn(meta, "helm timed out");
      throw new HelmError("timeout", `${what} did not finish within ${timeoutSeconds}s (+${margin / 1000}s) and was stopped`, result);
    }
    if (isSuccess(proc)) {
      log.info(meta, "helm finished");
      return result;
    }
    if (proc.exitCode === null) {
      log.warn(meta, "helm was killed");
      throw new HelmError("failed", `${what} failed: helm was killed by ${proc.signal ?? "a signal"}`, result);
    }
    const failure = classifyHelmFailure(proc.stderr);
    log.warn({ ...meta, code: failure.code }, "helm failed");
    throw new HelmError(failure.code, failureMessage(failure.code, what, failure.line), result);
  }

  const workDir = options.workDir ?? tmpdir();
  // Files a killed worker left behind (values with secrets, deployer tokens) go first.
  void removeLeftovers(workDir).then(
    (removed) => removed.length && options.logger.info({ removed }, "removed run directories a stopped worker left behind"),
    () => undefined,
  );

  /** A private directory for one run's files; helm runs as the staging's deployer when the control carries its kubeconfig. */
  async function withRunDir<T>(control: HelmRunControl | undefined, run: (dir: RunDir, kubeconfig: string | undefined) => Promise<T>): Promise<T> {
    const dir = await createRunDir(workDir);
    try {
      const kubeconfig = control?.kubeconfig ? await dir.write("kubeconfig", control.kubeconfig) : options.kubeconfig;
      return await run(dir, kubeconfig);
    } finally {
      await dir.dispose();
    }
  }

  return {
    async upgradeInstall(req, control) {
      assertSafeArgs(req.release, req.namespace, req.chart);
      const secrets = req.secrets ?? [];
      return withRunDir(control, async (dir, kubeconfig) => {
        const valuesFile = await dir.write("values.yaml", valuesToYaml(req.values));
        const argv = upgradeArgv(req, valuesFile, kubeconfig);
        return invoke(`helm upgrade --install ${req.release}`, argv, req.timeoutSeconds, secrets, control);
      });
    },

    async uninstall(release, namespace, timeoutSeconds, control) {
      assertSafeArgs(release, namespace);
      return withRunDir(control, (_dir, kubeconfig) => {
        const argv = uninstallArgv(release, namespace, timeoutSeconds, kubeconfig);
        return invoke(`helm uninstall ${release}`, argv, timeoutSeconds, [], control, (p) => p.exitCode === 0 || (p.exitCode !== null && releaseNotFound.test(p.stderr)));
      });
    },

    async history(release, namespace, control) {
      assertSafeArgs(release, namespace);
      const result = await withRunDir(control, (_dir, kubeconfig) => {
        const argv = ["history", release, "--namespace", namespace, "--output", "json", ...kubeconfigArgs(kubeconfig)];
        return invoke(`helm history ${release}`, argv, 60, [], control, (p) => p.exitCode === 0 || (p.exitCode !== null && releaseNotFound.test(p.stderr)));
      });
      if (result.exitCode !== 0) return [];
      return parseHistory(result.stdout, release);
    },

    async pullChart(chart) {
      assertSafeChart(chart);
      return withRunDir(undefined, async (dir) => {
        const argv = ["pull", chartArg(chart), "--untar", "--untardir", dir.dir];
        if (chart.version !== undefined) argv.push("--version", chart.version);
        if (!isOci(chart)) argv.push("--repo", chart.repository);
        await invoke(`helm pull ${chartArg(chart)}`, argv, 120, []);
        const [name] = await readdir(dir.dir);
        if (!name) throw new HelmError("chart_not_found", `helm pull ${chartArg(chart)} wrote no chart`);
        const read = (file: string) => readFile(join(dir.dir, name, file), "utf8").catch(() => null);
        const [valuesYaml, schemaJson, chartYaml] = await Promise.all([read("values.yaml"), read("values.schema.json"), read("Chart.yaml")]);
        const version = /^version:\s*["']?([^"'\s]+)/m.exec(chartYaml ?? "")?.[1] ?? null;
        const values: unknown = parseYaml(valuesYaml ?? "") ?? {};
        const parseSchema = (text: string): unknown => {
          try {
            return JSON.parse(text);
          } catch {
            throw new HelmError("invalid_values", `the chart ${chartArg(chart)} has a values.schema.json that is not JSON`);
          }
        };
        const schema = schemaJson === null ? null : parseSchema(schemaJson);
        const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
        return { values: isObject(values) ? values : {}, schema: isObject(schema) ? schema : null, version };
      });
    },

    async rollback(release, namespace, revision, timeoutSeconds, control) {
      assertSafeArgs(release, namespace);
      if (!Number.isInteger(revision) || revision < 1) throw new RangeError(`invalid revision ${revision}`);
      return withRunDir(control, (_dir, kubeconfig) => {
        const argv = ["rollback", release, String(revision), "--namespace", namespace, "--timeout", `${timeoutSeconds}s`, ...kubeconfigArgs(kubeconfig)];
        return invoke(`helm rollback ${release} ${revision}`, argv, timeoutSeconds, [], control);
      });
    },
  };
}
