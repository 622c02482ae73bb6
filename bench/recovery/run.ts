// Recovery after a kill at a random point of a deploy (issue 14, "Fast recovery"): a server and
// ONE worker as separate processes (test/fault/fault-system.ts), a private PostgreSQL and Redis,
// the doubles in this process. Each run pushes PR 1, kills the worker with SIGKILL at a random
// moment of the deploy, waits a random pause, starts a worker again and measures how long after
// that worker is available the staging runs the pushed SHA.
//
// The deploy is made long enough to be hit in each of its steps: the Kubernetes API answers
// namespaced requests `--kube-latency-ms` late (bench/recovery/kube-latency.ts), helm hangs
// `--helm-ms` once its pending revision is written, and the workloads become ready
// `--rollout-ms` after helm changed them (bench/recovery/rollout.ts). Two deploys without a kill
// measure when each step starts (relative to the push); run i kills in step i mod 4 (before helm,
// helm running, helm ended but the result not written, the status engine's wait for the
// workloads), at a uniformly random moment of that step's window; the step the kill really
// landed in is read afterwards (helm's journal, the staging row).
//
// `npm run bench:recovery -- [--runs 10] [--pause-max-ms 5000] [--reconcile-seconds 5] [--seed N]`;
// bench/README.md ("Recovery after a kill at a random point") explains the numbers.
import { writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { startFaultSystem } from "../../test/fault/fault-system.ts";
import type { FaultSystem } from "../../test/fault/fault-system.ts";
import type { HelmCall } from "../../test/support/helm-double.ts";
import { ms, summarize } from "../intake/stats.ts";
import { describeSource } from "../source.ts";
import { kubeconfigVia, startKubeLatencyProxy } from "./kube-latency.ts";
import type { KubeLatencyProxy } from "./kube-latency.ts";
import { startRolloutController } from "./rollout.ts";

const root = resolve(import.meta.dirname, "../..");
const log = (message: string): void => void process.stderr.write(`[bench:recovery] ${message}\n`);
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

const phases = ["before-helm", "helm", "after-helm", "rollout"] as const;
type Phase = (typeof phases)[number];
/** Where a kill landed: one of the phases, or after the deploy had finished (such a run is left out of the figures). */
type Landed = Phase | "after";
const phaseText: Record<Landed, string> = {
  "before-helm": "before helm starts",
  helm: "while helm runs",
  "after-helm": "helm ended, result not written",
  rollout: "status engine waiting for the workloads",
  after: "after the deploy had finished (not counted)",
};

interface Options {
  runs: number;
  pauseMaxMs: number;
  reconcileSeconds: number;
  kubeLatencyMs: number;
  helmMs: number;
  rolloutMs: number;
  /** After the worker is available: past this, the push counts as lost. */
  timeoutMs: number;
  seed: number;
  only: Phase | undefined;
  keepLogs: boolean;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { runs: 10, pauseMaxMs: 5_000, reconcileSeconds: 5, kubeLatencyMs: 150, helmMs: 1_500, rolloutMs: 1_500, timeoutMs: 120_000, seed: Date.now() % 2 ** 31, only: undefined, keepLogs: false };
  const num = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--runs") opts.runs = num(a, v);
    else if (a === "--pause-max-ms") opts.pauseMaxMs = num(a, v);
    else if (a === "--reconcile-seconds") opts.reconcileSeconds = num(a, v);
    else if (a === "--kube-latency-ms") opts.kubeLatencyMs = num(a, v);
    else if (a === "--helm-ms") opts.helmMs = num(a, v);
    else if (a === "--rollout-ms") opts.rolloutMs = num(a, v);
    else if (a === "--timeout-ms") opts.timeoutMs = num(a, v);
    else if (a === "--seed") opts.seed = num(a, v);
    else if (a === "--keep-logs") {
      opts.keepLogs = true;
      continue;
    } else if (a === "--phase") {
      if (!phases.includes(v as Phase)) throw new Error(`--phase is one of ${phases.join(", ")}`);
      opts.only = v as Phase;
    } else if (a === "--help") {
      console.log("npm run bench:recovery -- [--runs 10] [--pause-max-ms 5000] [--reconcile-seconds 5] [--kube-latency-ms 150] [--helm-ms 1500] [--rollout-ms 1500] [--timeout-ms 120000] [--seed N] [--phase before-helm|helm|after-helm|rollout] [--keep-logs]");
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
    i++;
  }
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error("--runs must be a positive integer");
  if (!Number.isInteger(opts.reconcileSeconds) || opts.reconcileSeconds < 1) throw new Error("--reconcile-seconds must be a positive integer");
  return opts;
}

/** mulberry32: the kill moments and pauses of a run can be replayed with --seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pr = 1;
const tagOf = (c: HelmCall): unknown => (c.values[0] as { image?: { tag?: unknown } } | undefined)?.image?.tag;
const upgradesOf = (sys: FaultSystem, sha: string): HelmCall[] => sys.upgrades(pr).filter((c) => tagOf(c) === sha);

/** When the staging row first showed the push's result written, and the staging running it (polled every 10 ms). */
interface RowWatch {
  writtenAt?: number;
  runningAt?: number;
  stop(): Promise<void>;
}

function watchRow(sys: FaultSystem, sha: string): RowWatch {
  let stopped = false;
  const w: RowWatch = {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
  const loop = (async () => {
    while (!stopped && w.runningAt === undefined) {
      const s = await sys.staging(pr).catch(() => undefined);
      const at = Date.now();
      if (s && s.deployedSha === sha) {
        w.writtenAt ??= at;
        if (s.status === "running" && s.observedGeneration >= s.generation) w.runningAt = at;
      }
      await sleep(10);
    }
  })();
  return w;
}

/** Milliseconds after the push when each step of a deploy begins (and when the deploy ends). */
interface Timeline {
  helmStart: number;
  helmEnd: number;
  written: number;
  running: number;
}

async function deployWithoutKill(sys: FaultSystem, timeoutMs: number): Promise<Timeline> {
  const pushedAt = Date.now();
  const { sha, status } = await sys.push(pr);
  if (status !== 200) throw new Error(`push answered ${status}`);
  const row = watchRow(sys, sha);
  const deadline = Date.now() + timeoutMs;
  while (row.runningAt === undefined && Date.now() < deadline) await sleep(20);
  await row.stop();
  const call = upgradesOf(sys, sha)[0];
  if (row.runningAt === undefined || row.writtenAt === undefined || !call?.endedAt) throw new Error("the deploy without a kill did not finish");
  return { helmStart: Date.parse(call.startedAt) - pushedAt, helmEnd: Date.parse(call.endedAt) - pushedAt, written: row.writtenAt - pushedAt, running: row.runningAt - pushedAt };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function windowOf(t: Timeline, phase: Phase): [number, number] {
  switch (phase) {
    case "before-helm":
      return [0, t.helmStart];
    case "helm":
      return [t.helmStart, t.helmEnd];
    case "after-helm":
      return [t.helmEnd, t.written];
    case "rollout":
      return [t.written, t.running];
  }
}

interface LogEvent {
  time: number;
  msg: string;
  [k: string]: unknown;
}

function events(text: string): LogEvent[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LogEvent];
      } catch {
        return [];
      }
    });
}

interface RunResult {
  run: number;
  target: Phase;
  /** The step the kill landed in, read afterwards. */
  phase: Landed;
  killAfterPushMs: number;
  pauseMs: number;
  /** Kill → the worker process started again → it logged "Octostage worker started". */
  restartedAfterKillMs: number;
  startupMs: number;
  /** The dead worker's deploy lease: how long it still had to run at the kill (none: undefined). */
  leaseLeftAtKillMs: number | undefined;
  /** Worker available → the staging runs the pushed SHA (undefined: not within the timeout, lost). */
  recoveryMs: number | undefined;
  /** Worker available → GitHub shows it (check run success, latest status reported). */
  reportedMs: number | undefined;
  /** Worker available → the first deploy job of the staging applied by the new worker ("applying generation"), if one was needed. */
  redoStartMs: number | undefined;
  /** Worker available → its first reconcile that enqueued a deploy ("reconciled" with deploysEnqueued). */
  reconcileEnqueuedMs: number | undefined;
  /**
   * Which job applied the generation in the new worker: the dead worker's own job, given back by
   * BullMQ's stalled-job check ("stalled job"), or another (the reconciler's recovery job, or the
   * push's job if the dead worker had not taken it yet).
   */
  redoBy: "stalled job" | "other job" | undefined;
  /** helm upgrades of the pushed SHA started after the kill (the redo). */
  helmRedos: number;
  /** helm overlaps on the release during this run (must be 0). */
  overlaps: number;
  /** The killed worker's helm, if it ran: gone within 15 s of the kill? */
  helmStopped: boolean | undefined;
  /** The release's last revision when the new worker started (pending-upgrade: the redo must unstick it first). */
  releaseAtRestart: string | undefined;
  /** The killed worker's helm: how it ended (exit code or signal, from the helm double's journal). */
  killedHelmEnd: string | undefined;
  problems: string[];
  loadAvg: number[];
}

async function killedRun(sys: FaultSystem, run: number, target: Phase, t: Timeline, rnd: () => number, opts: Options): Promise<RunResult> {
  const victim = sys.workers[0];
  if (!victim || sys.workers.length !== 1) throw new Error(`expected one live worker, found ${sys.workers.length}`);
  const overlapsBefore = sys.helm.overlaps().length;
  const [from, to] = windowOf(t, target);
  const killAfter = from + rnd() * Math.max(0, to - from);
  const pauseMs = Math.round(rnd() * opts.pauseMaxMs);
  const pushedAt = Date.now();
  const { sha, status } = await sys.push(pr);
  if (status !== 200) throw new Error(`push answered ${status}`);
  const row = watchRow(sys, sha);
  await sleep(Math.max(0, pushedAt + killAfter - Date.now()));
  victim.kill("SIGKILL");
  const killedAt = Date.now();
  const [lease] = await sys.query<{ expires: number }>(
    `SELECT (extract(epoch FROM l."expiresAt") * 1000)::float8 AS expires FROM "Lease" l JOIN "Staging" s ON s.id = l."stagingId"
      WHERE s."prNumber" = $1 AND l.kind = 'deploy' AND l."expiresAt" > now()`,
    [pr],
  );
  // Nothing writes to the staging between the kill and the restart: the row now is the row at the kill.
  const atKill = await sys.staging(pr);
  const deadJobs = await sys.redis.lrange(`${sys.queuePrefix}:deploy:active`, 0, -1);
  await victim.exited;
  // The step the kill landed in.
  const call = upgradesOf(sys, sha).find((c) => Date.parse(c.startedAt) < killedAt);
  const phase: Landed =
    atKill?.deployedSha === sha
      ? atKill.status === "running"
        ? "after"
        : "rollout"
      : !call
        ? "before-helm"
        : call.endedAt && Date.parse(call.endedAt) < killedAt
          ? "after-helm"
          : "helm";
  await sleep(pauseMs);
  const releaseAtRestart = sys.releaseStatus(pr);
  const restartAt = Date.now();
  const worker = await sys.replaceWorker(victim);
  const availableAt = Date.now();
  const deadline = availableAt + opts.timeoutMs;
  while (row.runningAt === undefined && Date.now() < deadline) await sleep(20);
  await row.stop();
  const recoveryMs = row.runningAt === undefined ? undefined : row.runningAt - availableAt;
  const deployed = await sys.waitConverged(recoveryMs === undefined ? 0 : 10_000, { reported: false, prs: [pr] });
  const reported = await sys.waitConverged(recoveryMs === undefined ? 0 : 60_000, { prs: [pr] });
  const reportedMs = reported.problems.length ? undefined : Date.now() - availableAt;
  let helmStopped: boolean | undefined;
  let killedHelmEnd: string | undefined;
  if (call && !(call.endedAt && Date.parse(call.endedAt) < killedAt)) {
    const end = sys.helm.calls().find((c) => c.pid === call.pid);
    helmStopped = end?.endedAt !== undefined && Date.parse(end.endedAt) - killedAt < 15_000;
    killedHelmEnd = end?.endedAt === undefined ? "no end record (SIGKILL)" : `exit ${end.exitCode}${end.signal ? ` after ${end.signal}` : ""}, ${Date.parse(end.endedAt) - killedAt} ms after the kill`;
  }
  const logs = events(worker.logs());
  const applying = logs.find((e) => e.msg === "applying generation");
  const enqueued = logs.find((e) => e.msg === "reconciled" && Number(e.deploysEnqueued) > 0);
  return {
    run,
    target,
    phase,
    killAfterPushMs: killedAt - pushedAt,
    pauseMs,
    restartedAfterKillMs: restartAt - killedAt,
    startupMs: availableAt - restartAt,
    leaseLeftAtKillMs: lease ? lease.expires - killedAt : undefined,
    recoveryMs,
    reportedMs,
    redoStartMs: applying ? applying.time - availableAt : undefined,
    reconcileEnqueuedMs: enqueued ? enqueued.time - availableAt : undefined,
    redoBy: applying ? (deadJobs.includes(String(applying.jobId)) ? "stalled job" : "other job") : undefined,
    helmRedos: upgradesOf(sys, sha).filter((c) => Date.parse(c.startedAt) > killedAt).length,
    overlaps: sys.helm.overlaps().length - overlapsBefore,
    helmStopped,
    releaseAtRestart,
    killedHelmEnd,
    problems: [...new Set([...deployed.problems, ...reported.problems])],
    loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** A deploy job left "active" by the dead worker (until BullMQ's stalled check gives it back): wait for it, so runs do not interfere. */
async function quiet(sys: FaultSystem, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const active = await sys.redis.llen(`${sys.queuePrefix}:deploy:active`);
    const left = await sys.problems({ prs: [pr] });
    if (active === 0 && left.length === 0) return Date.now() - started;
    await sleep(100);
  }
  return Number.NaN;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const rnd = random(opts.seed);
  let proxy: KubeLatencyProxy | undefined;
  log(`seed ${opts.seed}; starting a private PostgreSQL and Redis, the doubles, a server and ONE worker`);
  const sys = await startFaultSystem({
    workers: 1,
    env: { OCTOSTAGE_RECONCILE_SECONDS: String(opts.reconcileSeconds) },
    kubeconfig: async (kube, dir) => {
      proxy = await startKubeLatencyProxy(kube.url, opts.kubeLatencyMs);
      return kubeconfigVia(kube.kubeconfigPath, proxy.url, dir);
    },
  });
  const rollout = startRolloutController(sys.kube, opts.rolloutMs);
  sys.helm.hang(opts.helmMs, "upgrade", 1_000_000);
  const rows: RunResult[] = [];
  const errors: string[] = [];
  let timeline: Timeline | undefined;
  let machine: Record<string, string | number> | undefined;
  try {
    const [pgVersion] = await sys.query<{ server_version: string }>("SHOW server_version");
    machine = {
      nproc: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      postgres: pgVersion?.server_version.split(" ")[0] ?? "unknown",
      redis: /redis_version:(\S+)/.exec(await sys.redis.info("server"))?.[1] ?? "unknown",
    };
    const { status } = await sys.open(pr);
    if (status !== 200) throw new Error(`opening the PR answered ${status}`);
    const base = await sys.waitConverged(120_000);
    if (base.problems.length) throw new Error(`the first deploy did not converge: ${base.problems.join("; ")}`);
    const calibration: Timeline[] = [];
    for (let i = 0; i < 3; i++) {
      calibration.push(await deployWithoutKill(sys, 60_000));
      await quiet(sys, 60_000);
    }
    timeline = {
      helmStart: median(calibration.map((c) => c.helmStart)),
      helmEnd: median(calibration.map((c) => c.helmEnd)),
      written: median(calibration.map((c) => c.written)),
      running: median(calibration.map((c) => c.running)),
    };
    log(`a deploy without a kill (median of 3, ms after the push): helm starts ${timeline.helmStart}, ends ${timeline.helmEnd}, result written ${timeline.written}, running ${timeline.running}`);
    for (let run = 1; run <= opts.runs; run++) {
      const target = opts.only ?? phases[(run - 1) % phases.length]!;
      try {
        const r = await killedRun(sys, run, target, timeline, rnd, opts);
        rows.push(r);
        log(
          `run ${run}: kill ${r.killAfterPushMs} ms after the push (${phaseText[r.phase]}), lease left ${r.leaseLeftAtKillMs === undefined ? "none" : `${Math.round(r.leaseLeftAtKillMs)} ms`}, pause ${r.pauseMs} ms, startup ${r.startupMs} ms → running ${r.recoveryMs ?? "NEVER"} ms after the worker was available (redo applied at ${r.redoStartMs ?? "–"} by ${r.redoBy ?? "–"}, reconcile enqueued at ${r.reconcileEnqueuedMs ?? "–"}), GitHub ${r.reportedMs ?? "–"} ms; helm redos ${r.helmRedos}, overlaps ${r.overlaps}${r.killedHelmEnd ? `; killed helm: ${r.killedHelmEnd}, release at the restart: ${r.releaseAtRestart}` : ""}${r.problems.length ? `; problems: ${r.problems.join("; ")}` : ""}`,
        );
      } catch (err) {
        errors.push(`run ${run}: ${(err as Error).message}`);
        log(`run ${run}: ERROR ${(err as Error).message}`);
        if (sys.workers.length === 0) await sys.startWorker("worker-a");
      }
      const q = await quiet(sys, 120_000);
      log(`  the dead worker's deploy job given back and the staging converged ${Number.isNaN(q) ? "NOT within 120 s" : `${q} ms`} after that`);
    }
  } finally {
    rollout.stop();
    await sys.stop({ keepDir: opts.keepLogs });
    await proxy?.close();
    if (opts.keepLogs) log(`the processes' logs are in ${sys.dir}`);
  }

  const counted = rows.filter((r) => r.phase !== "after");
  const recovered = counted.flatMap((r) => (r.recoveryMs === undefined ? [] : [r.recoveryMs]));
  const s = summarize(recovered);
  const lines: string[] = [];
  lines.push(`Recovery after a kill at a random point, ${rows.length} run(s), ${startedAt.toISOString()}, ${describeSource()}, seed ${opts.seed}`);
  if (machine) {
    lines.push(
      `Machine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    );
  }
  lines.push(
    `Deploy without a kill: helm starts ${timeline?.helmStart} ms after the push, ends ${timeline?.helmEnd}, result written ${timeline?.written}, running ${timeline?.running} (Kubernetes API latency ${opts.kubeLatencyMs} ms, helm ${opts.helmMs} ms, rollout ${opts.rolloutMs} ms; reconcile every ${opts.reconcileSeconds} s; pause before the restart 0–${opts.pauseMaxMs} ms)`,
  );
  lines.push("");
  lines.push(
    "| Kill landed | runs | worker available → redo applied p50 ms | max ms | → running p50 ms | p95 ms | max ms | → GitHub shows it max ms | helm redos | helm overlaps | lost |",
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const row = (name: string, mine: RunResult[]): string => {
    const redo = summarize(mine.flatMap((r) => (r.redoStartMs === undefined ? [] : [r.redoStartMs])));
    const rec = summarize(mine.flatMap((r) => (r.recoveryMs === undefined ? [] : [r.recoveryMs])));
    const rep = summarize(mine.flatMap((r) => (r.reportedMs === undefined ? [] : [r.reportedMs])));
    const lost = mine.filter((r) => r.recoveryMs === undefined).length;
    return `| ${name} | ${mine.length} | ${ms(redo.p50)} | ${ms(redo.max)} | ${ms(rec.p50)} | ${ms(rec.p95)} | ${ms(rec.max)} | ${ms(rep.max)} | ${mine.reduce((a, r) => a + r.helmRedos, 0)} | ${mine.reduce((a, r) => a + r.overlaps, 0)} | ${lost} |`;
  };
  for (const p of phases) {
    const mine = rows.filter((r) => r.phase === p);
    if (mine.length) lines.push(row(phaseText[p], mine));
  }
  lines.push(row("**all**", counted));
  lines.push("");
  lines.push(`- Worker available → running: p50 ${ms(s.p50)} ms, p95 ${ms(s.p95)} ms, max ${ms(s.max)} ms (n = ${s.count}); within 15 s: ${recovered.filter((x) => x <= 15_000).length} of ${counted.length}`);
  const after = rows.filter((r) => r.phase === "after").length;
  if (after) lines.push(`- Kills that landed after the deploy had finished (left out): ${after}`);
  const redoBy = (by: string): number => counted.filter((r) => r.redoBy === by).length;
  lines.push(`- Redo applied by the dead worker's own job given back by BullMQ's stalled-job check: ${redoBy("stalled job")}; by another job (the reconciler's recovery job, or the push's job not yet taken): ${redoBy("other job")}`);
  const startup = summarize(rows.map((r) => r.startupMs));
  lines.push(`- Worker start (process spawned → "Octostage worker started"): p50 ${ms(startup.p50)} ms, max ${ms(startup.max)} ms; pause before it 0–${opts.pauseMaxMs} ms`);
  const leases = rows.flatMap((r) => (r.leaseLeftAtKillMs === undefined ? [] : [r.leaseLeftAtKillMs]));
  lines.push(`- Deploy lease left at the kill (when one was held): ${leases.length ? `${ms(Math.min(...leases))}–${ms(Math.max(...leases))} ms` : "–"}`);
  const stoppedHelm = rows.filter((r) => r.helmStopped !== undefined);
  lines.push(`- The killed worker's helm stopped by its watchdog within 15 s: ${stoppedHelm.filter((r) => r.helmStopped).length} of ${stoppedHelm.length}`);
  if (errors.length) lines.push("", "Errors:", ...errors.map((e) => `- ${e}`));
  const problems = rows.flatMap((r) => r.problems.map((p) => `run ${r.run}: ${p}`));
  if (problems.length) lines.push("", "Not converged:", ...problems.map((p) => `- ${p}`));
  console.log(lines.join("\n"));

  const out = join(root, "bench", "recovery", `results-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, `${JSON.stringify({ benchmark: "recovery", date: startedAt.toISOString(), source: describeSource(), machine, options: opts, timeline, rows, errors }, null, 2)}\n`);
  log(`results written to ${out}`);
}

await main();
