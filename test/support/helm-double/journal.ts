/**
 * What the double writes for tests to read (none of it is helm behaviour):
 * - $HELM_DOUBLE_LOG: one JSON line when an invocation starts ({ argv, values, …, pid }) and one
 *   when it ends ({ event: "end", pid, endedAt, exitCode, signal? }); a SIGKILLed one has no end.
 * - overlap markers: a mutating invocation (upgrade, rollback, uninstall) holds
 *   <dir>/locks/<namespace>.<release>/<pid> while it runs, dir being $HELM_DOUBLE_DIR (else the
 *   log's directory). If another live helm double process holds one for the same release when it
 *   starts, its start line says `overlap: true, overlapWith: [pids]`: two helm operations on one
 *   release at once, which real helm answers with errPending or a half-applied release.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const logPath = process.env.HELM_DOUBLE_LOG;
const baseDir = process.env.HELM_DOUBLE_DIR ?? (logPath ? path.dirname(logPath) : undefined);
const held: string[] = [];
let ended = false;

export function appendLog(entry: object): void {
  if (logPath) appendFileSync(logPath, `${JSON.stringify(entry)}\n`);
}

/** Is `pid` a live helm double process? (A zombie or a reused pid has another, or an empty, command line.) */
function isLiveDouble(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("main.ts");
  } catch {
    return process.platform !== "linux"; // no /proc: trust kill(pid, 0)
  }
}

/**
 * Takes this process's marker for each release, then returns the pids of other live holders.
 * Writing before looking means two invocations that start together both see each other.
 */
export function takeMarkers(namespace: string, releases: string[]): number[] {
  if (!baseDir) return [];
  const others = new Set<number>();
  for (const release of releases) {
    const dir = path.join(baseDir, "locks", `${encodeURIComponent(namespace)}.${encodeURIComponent(release)}`);
    mkdirSync(dir, { recursive: true });
    const own = path.join(dir, String(process.pid));
    writeFileSync(own, `${JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), startedAt: new Date().toISOString() })}\n`);
    held.push(own);
    for (const name of readdirSync(dir)) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      if (isLiveDouble(pid)) others.add(pid);
      else rmSync(path.join(dir, name), { force: true }); // left by a killed invocation
    }
  }
  return [...others];
}

/** Writes the end line and drops the markers, once (on exit, or before dying of a signal). */
export function finish(exitCode: number | null, signal?: string): void {
  if (ended) return;
  ended = true;
  for (const file of held) rmSync(file, { force: true });
  appendLog({ event: "end", pid: process.pid, endedAt: new Date().toISOString(), exitCode, ...(signal ? { signal } : {}) });
}
