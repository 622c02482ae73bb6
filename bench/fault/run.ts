// Fault injection benchmark: the scenarios of test/fault/ (worker kill -9 during helm, Redis
// restart + FLUSHALL, PostgreSQL restart, Kubernetes API 500s and dropped watches, GitHub 502s
// and secondary rate limits, a worker killed during a reconcile run or during a recovery deploy,
// every worker killed and one restarted)
// run N times against one system: a server and two workers as separate processes, a private
// PostgreSQL and Redis, the doubles in this process.
// `npm run bench:fault -- [--runs 3]`; bench/README.md ("Fault injection") explains the numbers.
import { describeSource } from "../source.ts";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { startFaultSystem } from "../../test/fault/fault-system.ts";
import type { FaultSystem } from "../../test/fault/fault-system.ts";
import { baseline, githubFaults, killDuringReconcile, killDuringRecovery, kubeFaults, postgresOutage, redisFlush, redisRestart, restartAfterKill, workerKill } from "../../test/fault/scenarios.ts";
import type { KillBugResult, ScenarioResult } from "../../test/fault/scenarios.ts";
import { ms, summarize } from "../intake/stats.ts";

const root = resolve(import.meta.dirname, "../..");
const log = (message: string): void => void process.stderr.write(`[bench:fault] ${message}\n`);

interface Options {
  runs: number;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--runs") opts.runs = Number(argv[++i]);
    else if (a === "--help") {
      console.log("npm run bench:fault -- [--runs N]");
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error("--runs must be a positive integer");
  return opts;
}

async function describeMachine(sys: FaultSystem): Promise<Record<string, string | number>> {
  const [row] = await sys.query<{ server_version: string }>("SHOW server_version");
  const info = await sys.redis.info("server");
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: row?.server_version.split(" ")[0] ?? "unknown",
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
  };
}

interface Row {
  scenario: string;
  run: number;
  result?: ScenarioResult;
  error?: string;
}

/** A number each result of `scenario` carries under `key` (and `pick` within it). */
function numbers(rows: Row[], scenario: string, pick: (r: Record<string, unknown>) => unknown[]): number[] {
  return rows.filter((r) => r.scenario === scenario && r.result).flatMap((r) => pick(r.result as unknown as Record<string, unknown>).filter((x): x is number => typeof x === "number" && Number.isFinite(x)));
}

const stat = (values: number[]): string => {
  const s = summarize(values);
  return `p50 ${ms(s.p50)} ms, max ${ms(s.max)} ms (n = ${s.count})`;
};

const killName = "worker kill -9 during helm";
const restartName = "every worker killed during helm, one restarted 1 s later";
const redisRestartName = "Redis restart (2 pushes + /octo override during the outage)";
const redisFlushName = "Redis FLUSHALL during a deploy";
const postgresName = "PostgreSQL restart (a push during the outage, redelivered)";
const reconcileKillName = "kill -9 of both workers during a reconcile run";
const recoveryKillName = "kill -9 of the worker running a recovery deploy";

/** Kill → the staging runs the pushed SHA must fit in this (as test/fault asserts); past it, the push counts as lost. */
const killWindowMs = 20_000;

interface KillResult extends ScenarioResult {
  windowMs: number;
  /** What the kill left behind (the reconcile lock's TTL, dedup keys, active jobs) and when GitHub showed the result. */
  leftBehind: Record<string, unknown>;
}

/**
 * One of the double-kill scenarios as a table row: converged = kill → the staging runs the pushed
 * SHA (like the worker kill row); not within the window, its problems are the intents lost.
 * `kills(pushes)`: workers killed, from the pushes the scenario sent (one per attempt).
 */
async function killScenario(sys: FaultSystem, name: string, kills: (pushes: number) => number, scenario: () => Promise<KillBugResult>): Promise<KillResult> {
  const before = sys.sent.count;
  const r = await scenario();
  const intents = sys.sent.count - before;
  return {
    scenario: name,
    faults: kills(intents),
    intents,
    problems: r.problems,
    overlaps: sys.helm.overlaps().length,
    convergeMs: r.convergedAfterMs === undefined ? [] : [r.convergedAfterMs],
    windowMs: r.windowMs,
    leftBehind: r.leftBehind,
  };
}

/** Intents not applied: a PR whose last pushed SHA is not deployed, an override not in helm's values. */
const lostIntents = (problems: string[]): number => problems.filter((p) => /deployedSha|override /.test(p)).length;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  log("starting a private PostgreSQL and Redis, the doubles, a server and two workers");
  const sys = await startFaultSystem();
  const rows: Row[] = [];
  let machine: Record<string, string | number> | undefined;
  try {
    machine = await describeMachine(sys);
    const b = await baseline(sys);
    if (b.problems.length) throw new Error(`baseline did not converge: ${b.problems.join("; ")}`);
    log(`baseline: 3 stagings running after ${b.convergeMs[0]} ms`);
    const scenarios: [string, () => Promise<ScenarioResult>][] = [
      [killName, () => workerKill(sys, 1)],
      [restartName, () => restartAfterKill(sys, 1)],
      [redisRestartName, () => redisRestart(sys)],
      [redisFlushName, () => redisFlush(sys)],
      [postgresName, () => postgresOutage(sys, 1)],
      ["Kubernetes API 500s + dropped watches", () => kubeFaults(sys)],
      ["GitHub 502s + secondary rate limits", () => githubFaults(sys)],
      // Last: they leave a staging unconverged for a while (each waits until GitHub shows it converged).
      // Each attempt pushes and kills both workers (retried, up to 3 times, if no reconcile run held the lock).
      [reconcileKillName, () => killScenario(sys, reconcileKillName, (pushes) => 2 * pushes, () => killDuringReconcile(sys, 2, killWindowMs, true))],
      [recoveryKillName, () => killScenario(sys, recoveryKillName, () => 2, () => killDuringRecovery(sys, 3, killWindowMs, true))],
    ];
    for (let run = 1; run <= opts.runs; run++) {
      for (const [name, scenario] of scenarios) {
        const t = Date.now();
        try {
          const result = await scenario();
          rows.push({ scenario: name, run, result });
          log(`run ${run}: ${name}: converge ${result.convergeMs.map((x) => `${x} ms`).join(", ") || "(none)"}, ${result.problems.length} problems (${((Date.now() - t) / 1000).toFixed(0)} s)`);
        } catch (err) {
          rows.push({ scenario: name, run, error: (err as Error).message });
          log(`run ${run}: ${name}: ERROR ${(err as Error).message}`);
        }
      }
    }
  } finally {
    await sys.stop();
  }

  const lines: string[] = [];
  lines.push(`Fault injection, ${opts.runs} run(s), ${startedAt.toISOString()}, ${describeSource()}`);
  if (machine) lines.push(`Machine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}`);
  lines.push("");
  lines.push("| Scenario | runs | faults injected | intents sent | intents lost | helm overlaps | converge after fault p50 ms | max ms | errors |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const [name] of new Map(rows.map((r) => [r.scenario, true]))) {
    const mine = rows.filter((r) => r.scenario === name);
    const ok = mine.flatMap((r) => (r.result ? [r.result] : []));
    const converge = summarize(ok.flatMap((r) => r.convergeMs));
    const sum = (f: (r: ScenarioResult) => number): number => ok.reduce((a, r) => a + f(r), 0);
    lines.push(
      `| ${name} | ${mine.length} | ${sum((r) => r.faults)} | ${sum((r) => r.intents)} | ${sum((r) => lostIntents(r.problems))} | ${Math.max(0, ...ok.map((r) => r.overlaps))} | ${ms(converge.p50)} | ${ms(converge.max)} | ${mine.length - ok.length} |`,
    );
  }
  const deliveryMs = (key: string) => (r: Record<string, unknown>) => {
    const d = r[key];
    return (Array.isArray(d) ? d : [d]).map((x) => (x as { ms?: number } | undefined)?.ms);
  };
  lines.push("");
  lines.push(`- Recovery after a worker kill -9 (kill → staging running the pushed SHA, deployed by the other worker): ${stat(numbers(rows, killName, (r) => [r.recoveryMs]))}; kill → GitHub shows it: ${stat(numbers(rows, killName, (r) => [r.reportedMs]))}; the killed worker's helm gone after ${stat(numbers(rows, killName, (r) => [r.helmGoneMs]))}`);
  lines.push(
    `- Every worker killed during helm, one restarted 1 s later (that worker ready → the staging runs the pushed SHA; the row's converge column is this): ${stat(numbers(rows, restartName, (r) => [r.recoveryMs]))}; → GitHub shows it: ${stat(numbers(rows, restartName, (r) => [r.reportedMs]))}; deploy lease left at the kill: ${stat(numbers(rows, restartName, (r) => [r.leaseLeftMs]))}`,
  );
  lines.push(`- Webhooks while Redis was down: answered in ${stat(numbers(rows, redisRestartName, deliveryMs("duringOutage")))}; Redis back → pushes applied ${stat(numbers(rows, redisRestartName, (r) => [r.pushesAppliedMs]))}, /octo override applied ${stat(numbers(rows, redisRestartName, (r) => [r.overrideAppliedMs]))}`);
  lines.push(`- FLUSHALL → reconcile schedule back in Redis: ${stat(numbers(rows, redisFlushName, (r) => [r.scheduleBackMs]))}`);
  lines.push(
    `- Webhook while PostgreSQL was down: answered (503) in ${stat(numbers(rows, postgresName, deliveryMs("duringOutage")))}; workers that logged "pausing the workers": ${numbers(rows, postgresName, (r) => [(r.paused as unknown[]).filter(Boolean).length]).join(", ")} of 2`,
  );
  const leftBehind = (key: string) => (r: Record<string, unknown>) => [(r.leftBehind as Record<string, unknown>)[key]];
  lines.push(
    `- Both workers killed during a reconcile run (kill → the staging runs the pushed SHA, window ${killWindowMs} ms): ${stat(numbers(rows, reconcileKillName, (r) => r.convergeMs as unknown[]))}; kill → GitHub shows it: ${stat(numbers(rows, reconcileKillName, leftBehind("reportedAfterMs")))}; reconcile lock TTL at the kill: ${stat(numbers(rows, reconcileKillName, leftBehind("reconcileLockTtlMs")))}`,
  );
  lines.push(
    `- Worker running a recovery deploy killed (second kill → the staging runs the pushed SHA, window ${killWindowMs} ms): ${stat(numbers(rows, recoveryKillName, (r) => r.convergeMs as unknown[]))}; kill → GitHub shows it: ${stat(numbers(rows, recoveryKillName, leftBehind("reportedAfterMs")))}`,
  );
  const unconverged = rows.flatMap((r) => (r.result?.problems.length ? r.result.problems.map((p) => `run ${r.run}, ${r.scenario}: ${p}`) : []));
  if (unconverged.length) lines.push("", "Not converged:", ...unconverged.map((p) => `- ${p}`));
  console.log(lines.join("\n"));

  const out = join(root, "bench", "fault", `results-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, `${JSON.stringify({ benchmark: "fault", date: startedAt.toISOString(), source: describeSource(), machine, options: opts, rows }, null, 2)}\n`);
  log(`results written to ${out}`);
}

await main();
