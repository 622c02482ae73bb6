// What the numbers were measured on, and how busy the CPUs were while measuring.
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { Redis } from "ioredis";
import { testDatabaseUrl } from "../../test/support/db.ts";
import { redisUrl } from "./system.ts";

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  redis: string;
}

export async function describeMachine(): Promise<Machine> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
  await client.end();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const info = await redis.info("server");
  redis.disconnect();
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: rows[0]?.server_version.split(" ")[0] ?? "unknown",
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
  };
}

/** Linux clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every common kernel). */
const ticksPerSecond = 100;

interface ProcSnapshot {
  comm: string;
  ppid: number;
  /** CPU ms of the process and of its reaped children. */
  self: number;
  children: number;
}

/** Every process on the machine, by pid. */
function allProcesses(): Map<number, ProcSnapshot> {
  const out = new Map<number, ProcSnapshot>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
      const [utime = 0, stime = 0, cutime = 0, cstime = 0] = f.slice(11, 15);
      out.set(Number(pid), { comm, ppid: f[1] ?? 0, self: ((utime + stime) * 1000) / ticksPerSecond, children: ((cutime + cstime) * 1000) / ticksPerSecond });
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

export interface CpuWindow {
  seconds: number;
  /** Share of all cores busy (100 % = every core), over the window. */
  machineBusyPct: number;
  /** Per process, in % of one core. `childrenPct` is what its reaped children (helm runs) used. */
  processes: { role: string; pct: number; childrenPct: number }[];
  /** The bench process: load generator, GitHub and Kubernetes API doubles. */
  benchPct: number;
  postgresPct: number;
  redisPct: number;
  /** What the rest of the machine used (other processes; should be near 0 for a clean run). */
  otherPct: number;
  /** The biggest other users by command name (processes alive at the end, with their reaped children). */
  otherTop: { comm: string; pct: number }[];
  /** Machine busy (% of one core, so up to nproc × 100) each second: epoch ms at the end of the second. */
  timeline: { t: number; busyPct: number }[];
}

/** Starts measuring; the returned function ends the window. */
export function measureCpu(processes: { role: string; pid: number }[]): () => CpuWindow {
  const started = performance.now();
  const machine = machineTimes();
  const before = allProcesses();
  const bench = process.cpuUsage();
  const timeline: CpuWindow["timeline"] = [];
  let last = machine;
  const sampler = setInterval(() => {
    const now = machineTimes();
    timeline.push({ t: Date.now(), busyPct: ((now.busy - last.busy) / (now.total - last.total)) * 100 * os.cpus().length });
    last = now;
  }, 1000);
  return () => {
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    const m = machineTimes();
    const after = allProcesses();
    const usage = process.cpuUsage(bench);
    const pct = (cpuMs: number): number => (cpuMs / (seconds * 1000)) * 100;
    const delta = (pid: number, part: "self" | "children"): number => (after.get(pid)?.[part] ?? Number.NaN) - (before.get(pid)?.[part] ?? 0);
    const ours = new Set([process.pid, ...processes.map((p) => p.pid)]);
    const groups = new Map<string, number>();
    for (const [pid, p] of after) {
      if (ours.has(pid) || ours.has(p.ppid)) continue;
      const group = p.comm.startsWith("postgres") ? "postgres" : p.comm.startsWith("redis-server") ? "redis" : p.comm;
      groups.set(group, (groups.get(group) ?? 0) + delta(pid, "self") + delta(pid, "children"));
    }
    const cores = os.cpus().length;
    const machineBusyPct = ((m.busy - machine.busy) / (m.total - machine.total)) * 100;
    const benchPct = pct((usage.user + usage.system) / 1000);
    const procs = processes.map((p) => ({ role: p.role, pct: pct(delta(p.pid, "self")), childrenPct: pct(delta(p.pid, "children")) }));
    // Children still running at the end of our processes (helm runs in flight) count as ours too.
    let inFlight = 0;
    for (const [pid, p] of after) if (ours.has(p.ppid) && !ours.has(pid)) inFlight += delta(pid, "self");
    const postgresPct = pct(groups.get("postgres") ?? 0);
    const redisPct = pct(groups.get("redis") ?? 0);
    const accounted = procs.reduce((a, p) => a + (p.pct || 0) + (p.childrenPct || 0), 0) + pct(inFlight) + benchPct + postgresPct + redisPct;
    return {
      seconds,
      machineBusyPct,
      processes: procs,
      benchPct,
      postgresPct,
      redisPct,
      otherPct: Math.max(0, machineBusyPct * cores - accounted),
      otherTop: [...groups.entries()]
        .filter(([name]) => name !== "postgres" && name !== "redis")
        .map(([comm, ms]) => ({ comm, pct: pct(ms) }))
        .filter((g) => g.pct >= 1)
        .sort((a, b) => b.pct - a.pct)
        .slice(0, 4),
      timeline,
    };
  };
}

/** Waits (up to `timeoutMs`) until the machine is less than `maxPct` % busy over 2 s; returns the last reading. */
export async function waitForIdle(maxPct: number, timeoutMs: number, log: (m: string) => void): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  for (;;) {
    const busy = await backgroundLoad();
    quiet = busy < maxPct ? quiet + 1 : 0;
    // One quiet sample is enough when not asked to wait; otherwise three in a row (6 s).
    if (quiet >= (timeoutMs > 0 ? 3 : 1) || Date.now() > deadline) return busy;
    if (quiet === 0) log(`the machine is ${Math.round(busy)} % busy (other work); waiting for it to calm down`);
  }
}

/** How busy the machine is before the run (% of all cores), sampled over `ms`. */
async function backgroundLoad(ms = 2000): Promise<number> {
  const before = machineTimes();
  await new Promise((r) => setTimeout(r, ms));
  const after = machineTimes();
  return ((after.busy - before.busy) / (after.total - before.total)) * 100;
}
