// What the server process costs, read from /proc (Linux), and what the machine is.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { testDatabaseUrl } from "../../test/support/db.ts";

/** VmRSS and VmHWM (peak RSS) of a process, in MiB. */
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

/** CPU ms (user + system) the process has used, from /proc/<pid>/stat (USER_HZ = 100). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return ((f[11] ?? 0) + (f[12] ?? 0)) * 10;
}

/**
 * Table scans (seq_scan + idx_scan: roughly one per query touching a table) and rows written
 * in one schema, from pg_stat_user_tables: the server's own Postgres work, whatever else runs.
 * Backends flush their statistics at most once a second (after 10 s when idle): edges blur a little.
 */
export async function dbActivity(schema: string): Promise<{ scans: number; writes: number }> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ scans: string; writes: string }>(
      `SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0) AS scans,
              coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS writes
         FROM pg_stat_user_tables WHERE schemaname = $1`,
      [schema],
    );
    return { scans: Number(rows[0]?.scans ?? Number.NaN), writes: Number(rows[0]?.writes ?? Number.NaN) };
  } finally {
    await client.end();
  }
}

export function machine(): string {
  return `${os.availableParallelism()} cores (${os.cpus()[0]?.model.trim() ?? "unknown"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** The commit measured, and whether src/ has uncommitted changes. */
export function revision(): string {
  const git = (...args: string[]): string => execFileSync("git", args, { encoding: "utf8" }).trim();
  try {
    return `commit ${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "src", "prisma") ? " + uncommitted changes in src/ or prisma/" : ""}`;
  } catch {
    return "commit unknown";
  }
}

/** Samples the server's RSS every second until the returned function is called. */
export function sampleRss(pid: number): () => { startRss: number; maxRss: number; endRss: number; peak: number } {
  const startRss = memoryMiB(pid).rss;
  let maxRss = startRss;
  const timer = setInterval(() => (maxRss = Math.max(maxRss, memoryMiB(pid).rss)), 1000);
  return () => {
    clearInterval(timer);
    const now = memoryMiB(pid);
    return { startRss, maxRss: Math.max(maxRss, now.rss), endRss: now.rss, peak: now.peak };
  };
}

/** Share of all cores busy (%) from now until the returned function is called: others' load shows here. */
export function machineBusy(): () => number {
  const times = (): { busy: number; total: number } =>
    os.cpus().reduce(
      (a, c) => {
        const t = c.times;
        const total = t.user + t.nice + t.sys + t.idle + t.irq;
        return { busy: a.busy + total - t.idle, total: a.total + total };
      },
      { busy: 0, total: 0 },
    );
  const start = times();
  return () => {
    const end = times();
    return ((end.busy - start.busy) / (end.total - start.total)) * 100;
  };
}
