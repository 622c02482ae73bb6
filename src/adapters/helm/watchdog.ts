/**
 * The watchdog between a worker and the process it runs (helm). Started by exec.ts with
 * `node watchdog.ts <config-json>`; it starts the command in a process group of its own with
 * stdout and stderr passed straight through, and stops the whole group (SIGTERM, then SIGKILL
 * after the grace period) when:
 * - the timeout passes ("timeout");
 * - the lease deadline passes without being extended ("lease"): the worker sends
 *   `lease <epoch-ms>` lines on stdin while its lease is renewed; a worker whose event loop
 *   stalls sends none, and its helm is stopped before another worker may take the lease;
 * - the worker asks (`stop` on stdin: "stop");
 * - stdin closes because the worker died ("orphaned"): helm never outlives its worker;
 * - the watchdog itself gets SIGTERM or SIGINT ("terminated").
 * When the command ends it writes {exitCode, signal, stoppedBy} as JSON on file descriptor 3.
 * It has its own timers, so it does all this even while the worker is stuck.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";

export interface WatchdogConfig {
  file: string;
  argv: string[];
  cwd?: string;
  /** Epoch ms: stop at this time ("timeout"). */
  timeoutAt: number;
  /** Epoch ms: stop at this time unless extended ("lease"); absent for no lease. */
  leaseDeadline?: number;
  graceMs: number;
}

type StopReason = "timeout" | "lease" | "stop" | "orphaned" | "terminated";

export interface WatchdogStatus {
  exitCode: number | null;
  signal: string | null;
  stoppedBy?: StopReason;
  spawnError?: { code?: string; message: string };
}

const config = JSON.parse(process.argv[2] ?? "{}") as WatchdogConfig;
const status = createWriteStream("", { fd: 3 });
let stoppedBy: StopReason | undefined;
let leaseDeadline = config.leaseDeadline;
let timer: NodeJS.Timeout | undefined;
let done = false;

function finish(s: WatchdogStatus): void {
  if (done) return;
  done = true;
  clearTimeout(timer);
  status.end(`${JSON.stringify(s)}\n`, () => process.exit(0));
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

let child: ChildProcess;
try {
  child = spawn(config.file, config.argv, { cwd: config.cwd, env: process.env, stdio: ["ignore", "inherit", "inherit"], detached: true });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  finish({ exitCode: null, signal: null, spawnError: { message: e.message, ...(e.code ? { code: e.code } : {}) } });
  throw err;
}

function stop(reason: StopReason): void {
  if (stoppedBy || done) return;
  stoppedBy = reason;
  signalGroup(child, "SIGTERM");
  setTimeout(() => signalGroup(child, "SIGKILL"), config.graceMs);
}

function arm(): void {
  clearTimeout(timer);
  const next = Math.min(config.timeoutAt, leaseDeadline ?? Number.POSITIVE_INFINITY);
  timer = setTimeout(() => stop(Date.now() >= config.timeoutAt ? "timeout" : "lease"), Math.max(0, next - Date.now()));
}

child.once("error", (err: NodeJS.ErrnoException) => {
  if (child.pid !== undefined) return;
  finish({ exitCode: null, signal: null, spawnError: { message: err.message, ...(err.code ? { code: err.code } : {}) } });
});
child.once("exit", (exitCode, signal) => {
  // Whatever the command left in its group goes with it.
  signalGroup(child, "SIGKILL");
  finish({ exitCode, signal, ...(stoppedBy ? { stoppedBy } : {}) });
});

createInterface({ input: process.stdin })
  .on("line", (line) => {
    const [word, value] = line.trim().split(/\s+/);
    if (word === "stop") stop("stop");
    if (word === "lease" && Number.isFinite(Number(value))) {
      leaseDeadline = Number(value);
      if (!stoppedBy) arm();
    }
  })
  .on("close", () => stop("orphaned"));
process.on("SIGTERM", () => stop("terminated"));
process.on("SIGINT", () => stop("terminated"));
arm();
