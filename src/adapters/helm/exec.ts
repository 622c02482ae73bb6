/**
 * The one module that starts processes (with watchdog.ts, which it runs). It takes an argv array
 * (never a shell), an explicit environment, a timeout, an abort signal and a lease deadline, and
 * returns exit code, capped and redacted output, and duration. The process never outlives the
 * worker: the watchdog stops its whole group when the worker dies or stalls.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createOutputBuffer } from "./output-buffer.ts";
import type { WatchdogConfig, WatchdogStatus } from "./watchdog.ts";

export interface ProcessRequest {
  /** The executable: an absolute path, or a name looked up on the env's PATH. */
  file: string;
  argv: readonly string[];
  /** Added to the minimal environment (see `minimalEnv`); these entries win. */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  cwd?: string;
  /** Strings replaced by [REDACTED] in stdout and stderr. */
  redact: readonly string[];
  /** Per stream; longer output keeps its head and its tail. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL after the timeout. Default 5 s. */
  killGraceMs?: number;
  /** Where the minimal environment is picked from. Default process.env. */
  parentEnv?: Readonly<Record<string, string | undefined>>;
  /** Aborting stops the process group (SIGTERM, SIGKILL after the grace period). */
  signal?: AbortSignal;
  /**
   * The lease the run depends on: `deadline()` (epoch ms) is read every `everyMs` and passed to
   * the watchdog, which stops the process when the deadline passes without being moved.
   */
  lease?: { deadline(): number; everyMs?: number };
}

export interface ProcessResult {
  /** null when the process ended by a signal. */
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  /** Why the watchdog stopped it: the timeout, the lease deadline, or the caller's abort. */
  stoppedBy?: "timeout" | "lease" | "abort";
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * The process could not be started at all.
 * - binary_not_found: no such file (or not on PATH)
 * - not_executable: the file exists but may not be executed
 * - spawn_failed: anything else (bad cwd, invalid argument, too many processes)
 */
export type ExecErrorCode = "binary_not_found" | "not_executable" | "spawn_failed";

export class ExecError extends Error {
  override readonly name = "ExecError";
  readonly code: ExecErrorCode;
  readonly file: string;

  constructor(code: ExecErrorCode, file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.file = file;
  }
}

/** Inherited by name: what helm and kubeconfig auth need, and no other secret of ours. */
const inheritedNames = new Set([
  "PATH", "HOME", "KUBECONFIG", "TMPDIR", "LANG", "LC_ALL",
  "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
  // In-cluster configuration (ServiceAccount) is found through these.
  "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
  "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
]);
const inheritedPrefixes = ["HELM_"];

/** PATH, HOME, KUBECONFIG, HELM_* and a few more from `parent`, then `extra` on top. */
function minimalEnv(
  extra: Readonly<Record<string, string>>,
  parent: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    if (inheritedNames.has(name) || inheritedPrefixes.some((p) => name.startsWith(p))) env[name] = value;
  }
  return { ...env, ...extra };
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

async function toExecError(err: unknown, req: ProcessRequest): Promise<ExecError> {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  if (errno === "ENOENT" && (req.cwd === undefined || (await isDirectory(req.cwd)))) {
    return new ExecError("binary_not_found", req.file, `${req.file}: executable not found`, { cause: err });
  }
  if (errno === "EACCES") {
    return new ExecError("not_executable", req.file, `${req.file}: permission denied`, { cause: err });
  }
  const where = req.cwd === undefined ? "" : ` in ${req.cwd}`;
  return new ExecError("spawn_failed", req.file, `could not start ${req.file}${where}: ${detail}`, { cause: err });
}

// Beside this module: watchdog.ts when Node runs the sources, watchdog.js in the image's build (tsconfig.build.json).
const watchdogPath = fileURLToPath(new URL(`./watchdog${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url));

/**
 * Runs the command under the watchdog (watchdog.ts), which owns the process group: it stops it at
 * the timeout, when `lease.deadline()` is not moved forward in time (a stalled worker), when
 * `signal` aborts, and when this process dies. Output is captured here, capped and redacted.
 */
export function runProcess(req: ProcessRequest): Promise<ProcessResult> {
  const started = performance.now();
  const maxBytes = req.maxOutputBytes ?? 1024 * 1024;
  const stdout = createOutputBuffer(maxBytes);
  const stderr = createOutputBuffer(maxBytes);
  const leaseDeadline = req.lease?.deadline();
  const config: WatchdogConfig = {
    file: req.file,
    argv: [...req.argv],
    ...(req.cwd === undefined ? {} : { cwd: req.cwd }),
    timeoutAt: Date.now() + req.timeoutMs,
    ...(leaseDeadline === undefined ? {} : { leaseDeadline }),
    graceMs: req.killGraceMs ?? 5000,
  };

  return new Promise<ProcessResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ["--no-warnings", watchdogPath, JSON.stringify(config)], {
        shell: false,
        env: minimalEnv(req.env, req.parentEnv ?? process.env),
        stdio: ["pipe", "pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (err) {
      void toExecError(err, req).then(reject);
      return;
    }
    let statusText = "";
    let lastDeadline = leaseDeadline;
    const send = (line: string): void => {
      if (child.stdin?.writable) child.stdin.write(`${line}\n`);
    };
    const ticker = req.lease
      ? setInterval(() => {
          const next = req.lease?.deadline();
          if (next !== undefined && next !== lastDeadline) {
            lastDeadline = next;
            send(`lease ${next}`);
          }
        }, req.lease.everyMs ?? 250)
      : undefined;
    const onAbort = (): void => send("stop");
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = (): void => {
      clearInterval(ticker);
      req.signal?.removeEventListener("abort", onAbort);
    };

    child.stdin?.on("error", () => undefined); // the watchdog may be gone before a last write
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    (child.stdio[3] as Readable | null)?.on("data", (chunk: Buffer) => (statusText += chunk.toString("utf8")));
    child.once("error", (err) => {
      cleanup();
      void toExecError(err, req).then(reject);
    });
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      child.stdin?.end();
      let status: WatchdogStatus;
      try {
        status = JSON.parse(statusText) as WatchdogStatus;
      } catch {
        reject(new ExecError("spawn_failed", req.file, `the watchdog of ${req.file} ended without a status (exit ${code ?? signal})`));
        return;
      }
      if (status.spawnError) {
        const err = Object.assign(new Error(status.spawnError.message), status.spawnError.code ? { code: status.spawnError.code } : {});
        void toExecError(err, req).then(reject);
        return;
      }
      const stopped = status.stoppedBy === "timeout" ? "timeout" : status.stoppedBy === "lease" ? "lease" : status.stoppedBy === "stop" ? "abort" : undefined;
      resolve({
        exitCode: status.exitCode,
        ...(status.signal === null ? {} : { signal: status.signal }),
        timedOut: stopped === "timeout",
        ...(stopped ? { stoppedBy: stopped } : {}),
        stdout: stdout.text(req.redact),
        stderr: stderr.text(req.redact),
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}
