/**
 * The one module that starts processes. It takes an argv array (never a shell), an explicit
 * environment and a timeout, and returns exit code, capped and redacted output, and duration.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { stat } from "node:fs/promises";
import { createOutputBuffer } from "./output-buffer.ts";

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
}

export interface ProcessResult {
  /** null when the process ended by a signal. */
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
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
export function minimalEnv(
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

/** Signals the whole process group (the child was started as its leader), else the child. */
function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

export function runProcess(req: ProcessRequest): Promise<ProcessResult> {
  const started = performance.now();
  const maxBytes = req.maxOutputBytes ?? 1024 * 1024;
  const stdout = createOutputBuffer(maxBytes);
  const stderr = createOutputBuffer(maxBytes);

  return new Promise<ProcessResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(req.file, [...req.argv], {
        shell: false,
        env: minimalEnv(req.env, req.parentEnv ?? process.env),
        cwd: req.cwd,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group, so a timeout kills helm's children too
        windowsHide: true,
      });
    } catch (err) {
      void toExecError(err, req).then(reject);
      return;
    }

    let settled = false;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalTree(child, "SIGTERM");
      killTimer = setTimeout(() => signalTree(child, "SIGKILL"), req.killGraceMs ?? 5000);
    }, req.timeoutMs);
    const stopTimers = (): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
    };

    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.once("error", (err) => {
      // After a successful start, errors (e.g. a failed kill) do not end the run; "close" does.
      if (child.pid !== undefined || settled) return;
      settled = true;
      stopTimers();
      void toExecError(err, req).then(reject);
    });
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      stopTimers();
      if (settled) return;
      settled = true;
      resolve({
        exitCode: code,
        ...(signal === null ? {} : { signal }),
        timedOut,
        stdout: stdout.text(req.redact),
        stderr: stderr.text(req.redact),
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}
