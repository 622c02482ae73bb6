/**
 * Octostage as a real process: `node src/main/octostage.ts` (or the JavaScript build's entry) with OCTOSTAGE_ROLE=server|worker|all
 * and the environment given (nothing else is inherited but PATH and HOME). Its stdout and
 * stderr (pino's JSON lines at LOG_LEVEL) are kept in memory and in a file, so a failing test
 * can print them.
 *
 * `startOctostageProcess` resolves once the process is ready: a server (or `all`) when
 * GET /readyz on its PORT answers 200, a worker when it logs "Octostage worker started". It
 * rejects, with the output, if the process exits first or is not ready in time.
 */
import { spawn } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

export type OctostageRole = "server" | "worker" | "all";

const repoRoot = resolve(import.meta.dirname, "../..");

export interface OctostageProcess {
  role: OctostageRole;
  /** A name for logs and messages, e.g. "worker-a". */
  name: string;
  pid: number;
  /** http://HOST:PORT of a server (undefined for a worker). */
  url: string | undefined;
  /** Sends a signal (e.g. "SIGKILL"). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`, default 20 s). Resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<string>;
  /** Resolves when the process has exited, with "exit N" or the signal's name. */
  exited: Promise<string>;
  alive(): boolean;
  /** Everything it printed so far. */
  logs(): string;
  /** Where its output is written too. */
  logPath: string;
  /** The output's length now: pass it as `from` to wait for a line printed after this point. */
  mark(): number;
  /** Waits for a line matching `pattern` (printed at or after offset `from`); returns the line. */
  waitForLog(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<string>;
}

export interface StartOptions {
  name?: string;
  /** Where to write its output (default: none but memory). */
  logPath?: string;
  readyTimeoutMs?: number;
  /** Extra Node flags. */
  nodeFlags?: string[];
  /** Runs another tree than this repository's sources, e.g. the JavaScript build (test/support/js-build.ts). */
  program?: Program;
}

/** What to run: a directory laid out as this repository and the entry point in it. */
export interface Program {
  root: string;
  entry: string;
  /** Node flags it always needs. */
  nodeFlags?: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startOctostageProcess(role: OctostageRole, env: Record<string, string>, options: StartOptions = {}): Promise<OctostageProcess> {
  const name = options.name ?? role;
  const program = options.program ?? { root: repoRoot, entry: "src/main/octostage.ts" };
  const child = spawn(process.execPath, [...(program.nodeFlags ?? []), ...(options.nodeFlags ?? []), program.entry], {
    cwd: program.root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env, OCTOSTAGE_ROLE: role },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start the ${name} process`);
  const pid = child.pid;
  const logPath = options.logPath ?? "";
  if (logPath) writeFileSync(logPath, "");
  let output = "";
  const take = (d: Buffer): void => {
    const text = d.toString();
    output += text;
    if (logPath) appendFileSync(logPath, text);
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  let exitedWith: string | undefined;
  const exited = new Promise<string>((resolveExit) =>
    child.once("exit", (code, signal) => {
      exitedWith = signal ?? `exit ${code}`;
      resolveExit(exitedWith);
    }),
  );

  const portText = env.PORT;
  const url = role === "worker" ? undefined : `http://${env.HOST ?? "127.0.0.1"}:${portText}`;

  async function waitForLog(pattern: RegExp, opts: { from?: number; timeoutMs?: number } = {}): Promise<string> {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = output.slice(opts.from ?? 0).split("\n");
      const line = lines.find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (Date.now() > deadline) throw new Error(`${name} (pid ${pid}) printed no line matching ${String(pattern)} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  const proc: OctostageProcess = {
    role,
    name,
    pid,
    url,
    kill(signal) {
      if (exitedWith === undefined) child.kill(signal);
    },
    async stop(graceMs = 20_000) {
      if (exitedWith !== undefined) return exitedWith;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
    exited,
    alive: () => exitedWith === undefined,
    logs: () => output,
    logPath,
    mark: () => output.length,
    waitForLog,
  };

  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const ready =
    role === "worker"
      ? waitForLog(/Octostage worker started/, { timeoutMs: readyTimeoutMs }).then(() => undefined)
      : (async () => {
          if (!portText || portText === "0") throw new Error("a server needs a fixed PORT to be probed");
          const deadline = Date.now() + readyTimeoutMs;
          for (;;) {
            const ok = await fetch(`${url}/readyz`).then(
              (r) => r.status === 200,
              () => false,
            );
            if (ok) return;
            if (Date.now() > deadline) throw new Error(`${name}: GET /readyz did not answer 200 within ${readyTimeoutMs} ms`);
            await sleep(100);
          }
        })();
  const outcome = await Promise.race([ready.then(() => "ready" as const, (err: unknown) => err as Error), exited.then((how) => new Error(`${name} exited (${how}) before it was ready`))]);
  if (outcome !== "ready") {
    child.kill("SIGKILL");
    throw new Error(`${outcome.message}\n--- ${name} output ---\n${output.slice(-8000)}`);
  }
  return proc;
}
