/**
 * The watchdog between a worker and the process it runs (helm). Started by exec.ts with
 * `node watchdog.ts <config-json>`; it starts the command in a process group of its own,
 * forwards its stdout and stderr to the worker, and stops the whole group (SIGTERM, then SIGKILL
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
 *
 * The command's output goes through the watchdog's pipes, not the worker's: when the worker dies,
 * the watchdog keeps reading (and drops) what the command writes while it stops. Helm, stopped,
 * prints "Release … has been cancelled" before it marks the pending revision failed; writing
 * that to a dead worker's pipe killed it (SIGPIPE) and left the release `pending-upgrade`, which
 * the next deploy had to roll back first (bench/README.md, "Recovery after a kill"). Forwarding
 * goes through fs streams (written from libuv's thread pool), so a worker that stops reading
 * never blocks the watchdog's timers.
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

/** Forwarded output a worker has not read yet past this is dropped (exec.ts keeps 1 MiB of each stream). */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** The worker's end of stdout or stderr, until writing to it fails (the worker is gone). */
function forwardTo(fd: 1 | 2): { write(chunk: Buffer): void; close(): Promise<void>; gone(): void } {
  const out = createWriteStream("", { fd });
  let open = true;
  out.on("error", () => (open = false));
  return {
    write(chunk) {
      if (open && out.writableLength < MAX_PENDING_BYTES) out.write(chunk);
    },
    gone() {
      open = false;
    },
    close: () =>
      new Promise((resolve) => {
        if (!open) return resolve();
        out.once("error", () => resolve());
        out.end(() => resolve());
      }),
  };
}

const forwarded = { stdout: forwardTo(1), stderr: forwardTo(2) };

function finish(s: WatchdogStatus): void {
  if (done) return;
  done = true;
  clearTimeout(timer);
  void Promise.all([forwarded.stdout.close(), forwarded.stderr.close()]).then(() => {
    // A worker that died cannot read the status either: exit all the same.
    status.once("error", () => process.exit(0));
    status.end(`${JSON.stringify(s)}\n`, () => process.exit(0));
  });
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
  child = spawn(config.file, config.argv, { cwd: config.cwd, env: process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
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
  // The reason is the deadline the timer is set for (a timer may fire a millisecond before
  // Date.now() reaches it: asking the clock then called a timeout a lease expiry).
  const reason: StopReason = config.timeoutAt <= (leaseDeadline ?? Number.POSITIVE_INFINITY) ? "timeout" : "lease";
  const next = reason === "timeout" ? config.timeoutAt : leaseDeadline!;
  timer = setTimeout(() => stop(reason), Math.max(0, next - Date.now()));
}

child.once("error", (err: NodeJS.ErrnoException) => {
  if (child.pid !== undefined) return;
  finish({ exitCode: null, signal: null, spawnError: { message: err.message, ...(err.code ? { code: err.code } : {}) } });
});
// Read as long as the command writes, whether or not anyone is left to forward it to.
child.stdout?.on("data", (chunk: Buffer) => forwarded.stdout.write(chunk));
child.stderr?.on("data", (chunk: Buffer) => forwarded.stderr.write(chunk));
child.once("exit", (exitCode, signal) => {
  // Whatever the command left in its group goes with it.
  signalGroup(child, "SIGKILL");
  const outcome = { exitCode, signal, ...(stoppedBy ? { stoppedBy } : {}) };
  // Its output is complete once both pipes closed; something outside its group holding them is not waited for long.
  const late = setTimeout(() => finish(outcome), 2_000);
  child.once("close", () => {
    clearTimeout(late);
    finish(outcome);
  });
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
  .on("close", () => {
    // The worker is gone: nobody reads the output any more (it is still drained, see above).
    forwarded.stdout.gone();
    forwarded.stderr.gone();
    stop("orphaned");
  });
process.on("SIGTERM", () => stop("terminated"));
process.on("SIGINT", () => stop("terminated"));
arm();
