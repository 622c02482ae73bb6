// Intake benchmark: signed pull_request.synchronize webhooks at a steady rate (open loop)
// against the running Octostage server process, with real PostgreSQL and Redis.
// `npm run bench:intake -- --rate 100 --seconds 30`; bench/README.md explains the numbers.
import { describeSource } from "../source.ts";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseOptions } from "./args.ts";
import type { BenchOptions } from "./args.ts";
import { summarizeProfile } from "./cpu-profile.ts";
import type { ProfileSummary } from "./cpu-profile.ts";
import { planWebhooks, runOpenLoop } from "./load.ts";
import type { SentWebhook } from "./load.ts";
import { describeMachine, measureCpu, waitForIdle } from "./machine.ts";
import type { CpuWindow, Machine } from "./machine.ts";
import type { ProbeOutput } from "./probe.ts";
import { runFloor } from "./floor.ts";
import type { FloorResults } from "./floor.ts";
import { renderMarkdown } from "./report.ts";
import { summarize } from "./stats.ts";
import type { Summary } from "./stats.ts";
import { benchRepository, root, startBenchSystem } from "./system.ts";
import type { BenchSystem, StopRecord } from "./system.ts";

const target = { rate: 100, p99Ms: 50 };
const log = (message: string): void => void process.stderr.write(`[bench:intake] ${message}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const toEpoch = (perfMs: number): number => performance.timeOrigin + perfMs;

export interface IntakeResults {
  benchmark: "intake";
  date: string;
  machine: Machine;
  /** The code measured: a commit, and whether src/ or prisma/ had uncommitted changes. */
  source: string;
  /** Machine CPU busy (% of all cores) in the 2 s before anything started: other work on the box. */
  idleBusyPct: number;
  options: BenchOptions;
  target: { rate: number; p99Ms: number; met: boolean | null; note: string };
  load: {
    planned: number;
    measured: number;
    warmup: number;
    /** Webhooks per second actually sent in the measured window. */
    achievedRate: number;
    /** How late the generator put requests on the wire (sentAt − dueAt). */
    generatorLagMs: Summary;
  };
  /** Time to answer, from the due time to the complete response, measured window only. */
  answerMs: Summary;
  /** Same, from when the request actually left (no queueing in the generator). */
  serviceMs: Summary;
  /** Worst one-second windows by p99. */
  worstSeconds: { second: number; count: number; p99: number; max: number; machineBusyPct: number }[];
  deliveries: {
    sent: number;
    ok2xx: number;
    non2xx: { status: number; count: number; error?: string }[];
    recordedDelivery: number;
    recordedAction: number;
    /** Sent but not recorded with both a WebhookDelivery and an Action row. */
    lost: number;
    /** Of those, answered 2xx (the serious kind). */
    lostAfter2xx: number;
    /** Recorded without an audit row, and a later webhook of the same PR was applied (older events change nothing by design). */
    superseded: number;
  };
  helm:
    | {
        webhooks: number;
        runs: number;
        runsForMeasuredWebhooks: number;
        webhooksWithRun: number;
        prsWithFinalShaDeployed: number;
        prs: number;
        /** From the due time of the webhook carrying the SHA to the helm double's startedAt. */
        webhookToHelmStartMs: Summary;
        /** From the last webhook's due time until every staging's generation was applied. */
        drainMs: number | null;
        drained: boolean;
      }
    | { skipped: string };
  cpu: CpuWindow;
  /** SIGTERM to exit of each Octostage process after the run (graceful shutdown under a backlog). */
  stops: StopRecord[];
  probe?: ProbeAnalysis;
  cpuProfile?: Record<string, ProfileSummary>;
  serverLog: { warnings: number; errors: number; samples: string[]; paths: string[] };
  /** CPU of Octostage's processes per webhook sent (ms), all roles together. */
  cpuPerWebhookMs: number;
  /** The same webhooks against the floor server, right after, and Octostage as a multiple of it. */
  floor?: FloorResults & { ratio: { p50: number; p99: number; cpuPerWebhook: number } };
}

export interface ProbeAnalysis {
  requests: number;
  /** Server side: from the HTTP 'request' event to the response's 'finish'. */
  serverMs: Summary;
  poolWaitMs: Summary;
  dbMs: Summary;
  dbQueriesPerRequest: number;
  enqueueMs: Summary;
  /** serverMs − poolWait − db − enqueue: signature check, JSON parse, Probot, zod, our code, and waiting for the event loop. */
  otherMs: Summary;
  /** Client answer time − server time: before the server's request event (accept, headers, a busy loop) and the generator. */
  outsideMs: Summary;
  loopDelayMs: { p99OfSecondP99: number; max: number };
  serverCpuPct: number;
  gc: { count: number; totalMs: number; maxMs: number };
}

function analyzeProbe(probe: ProbeOutput, sent: Map<string, SentWebhook>, window: { from: number; to: number }): ProbeAnalysis {
  const inWindow = probe.requests.filter((r) => sent.get(r.id) && !sent.get(r.id)!.warmup);
  const secs = probe.seconds.filter((s) => s.t >= window.from + 1000 && s.t <= window.to);
  const gc = probe.gc.filter((g) => g.t >= window.from && g.t <= window.to);
  return {
    requests: inWindow.length,
    serverMs: summarize(inWindow.map((r) => r.end - r.start)),
    poolWaitMs: summarize(inWindow.map((r) => r.poolWaitMs)),
    dbMs: summarize(inWindow.map((r) => r.dbMs)),
    dbQueriesPerRequest: inWindow.reduce((a, r) => a + r.dbQueries, 0) / Math.max(1, inWindow.length),
    enqueueMs: summarize(inWindow.map((r) => r.enqueueMs)),
    otherMs: summarize(inWindow.map((r) => r.end - r.start - r.poolWaitMs - r.dbMs - r.enqueueMs)),
    outsideMs: summarize(
      inWindow.map((r) => {
        const w = sent.get(r.id)!;
        return w.doneAt - w.dueAt - (r.end - r.start);
      }),
    ),
    loopDelayMs: { p99OfSecondP99: summarize(secs.map((s) => s.loopDelayP99)).p99, max: Math.max(0, ...secs.map((s) => s.loopDelayMax)) },
    serverCpuPct: (secs.reduce((a, s) => a + s.cpuMs, 0) / Math.max(1, secs.length) / 1000) * 100,
    gc: { count: gc.length, totalMs: gc.reduce((a, g) => a + g.ms, 0), maxMs: Math.max(0, ...gc.map((g) => g.ms)) },
  };
}

async function waitForDrain(system: BenchSystem, lastDueEpoch: number, timeoutMs: number): Promise<{ drained: boolean; drainMs: number | null }> {
  const deadline = Date.now() + timeoutMs;
  let lastLog = 0;
  for (;;) {
    const rows = await system.db.db.staging.findMany({ select: { generation: true, observedGeneration: true } });
    const behind = rows.filter((r) => r.generation > r.observedGeneration).length;
    if (behind === 0 && rows.length > 0) return { drained: true, drainMs: Date.now() - lastDueEpoch };
    if (Date.now() > deadline) return { drained: false, drainMs: null };
    if (Date.now() - lastLog > 10_000) {
      log(`waiting for the worker: ${behind} of ${rows.length} stagings have a generation not applied yet`);
      lastLog = Date.now();
    }
    await sleep(250);
  }
}

function readServerLogs(paths: string[]): IntakeResults["serverLog"] {
  let warnings = 0;
  let errors = 0;
  const samples = new Set<string>();
  for (const path of paths) {
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let level: number;
      let msg = line;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
        level = entry.level ?? 0;
        msg = `${entry.msg ?? ""}${entry.err ? ` (${JSON.stringify(entry.err).slice(0, 200)})` : ""}`;
      } catch {
        // Not pino JSON: a console line (shutdown message, Node's warnings, crash output).
        if (/received SIG(TERM|INT), shutting down|ExperimentalWarning|--trace-warnings/.test(line)) continue;
        level = 50;
      }
      if (level >= 50) errors++;
      else if (level >= 40) warnings++;
      else continue;
      if (samples.size < 8) samples.add(msg.slice(0, 300));
    }
  }
  return { warnings, errors, samples: [...samples], paths };
}


async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const date = new Date();
  const machine = await describeMachine();
  const idleBusyPct = await waitForIdle(15, opts.waitIdleSeconds * 1000, log);
  if (idleBusyPct > 15) log(`warning: the machine is already ${Math.round(idleBusyPct)} % busy before the run; the numbers will suffer`);
  const [owner, repo] = benchRepository.repo.split("/") as [string, string];
  log(`planning ${Math.round(opts.rate * (opts.seconds + opts.warmup))} webhooks for ${opts.prs} pull requests`);
  const plan = await planWebhooks({ rate: opts.rate, seconds: opts.seconds, warmup: opts.warmup, prs: opts.prs, owner, repo });
  log(`starting Octostage (worker: ${opts.worker}) against PostgreSQL ${machine.postgres} and Redis ${machine.redis}`);
  const system = await startBenchSystem(opts);
  let results: IntakeResults | undefined;
  try {
    log(`server ready at ${system.baseUrl}; sending ${opts.rate}/s for ${opts.warmup} s warm-up + ${opts.seconds} s`);
    const endCpu = measureCpu(system.processes);
    const { sent } = await runOpenLoop(system.webhookUrl, plan, opts.rate);
    const cpu = endCpu();
    const measured = sent.filter((w) => !w.warmup);
    const lastDue = Math.max(...sent.map((w) => w.dueAt));
    const window = { from: toEpoch(Math.min(...measured.map((w) => w.dueAt))), to: toEpoch(Math.max(...measured.map((w) => w.doneAt))) };
    log(`sent ${sent.length}; checking what was recorded`);

    let drain = { drained: false, drainMs: null as number | null };
    if (opts.worker !== "none") {
      log("waiting for the worker to apply every generation");
      drain = await waitForDrain(system, toEpoch(lastDue), opts.drainSeconds * 1000);
    }

    // Deliveries: each must have a WebhookDelivery row and an Action carrying its id.
    const ids = sent.map((w) => w.id);
    const [deliveryRows, actionRows] = await Promise.all([
      system.db.db.webhookDelivery.findMany({ where: { id: { in: ids } }, select: { id: true } }),
      system.db.db.action.findMany({ where: { deliveryId: { in: ids } }, select: { deliveryId: true } }),
    ]);
    const recordedDelivery = new Set(deliveryRows.map((r) => r.id));
    const recordedAction = new Set(actionRows.map((r) => r.deliveryId));
    // A delivery recorded without an audit row is an event older (GitHub's updated_at) than one
    // already applied: by design it changes nothing. It is not lost when a later webhook of the
    // same PR was applied (has its audit row); counted apart as "superseded".
    const lastApplied = new Map<number, number>();
    for (const w of sent) if (recordedAction.has(w.id)) lastApplied.set(w.pr, Math.max(lastApplied.get(w.pr) ?? -1, w.index));
    const superseded = (w: SentWebhook): boolean => recordedDelivery.has(w.id) && !recordedAction.has(w.id) && (lastApplied.get(w.pr) ?? -1) > w.index;
    const recorded = (w: SentWebhook): boolean => (recordedDelivery.has(w.id) && recordedAction.has(w.id)) || superseded(w);
    const ok = (w: SentWebhook): boolean => w.status >= 200 && w.status < 300;
    const non2xx = new Map<string, { status: number; count: number; error?: string }>();
    for (const w of sent.filter((x) => !ok(x))) {
      const key = `${w.status}:${w.error ?? ""}`;
      const entry = non2xx.get(key) ?? { status: w.status, count: 0, ...(w.error ? { error: w.error } : {}) };
      entry.count++;
      non2xx.set(key, entry);
    }

    // Webhook → helm start: each helm upgrade deploys one head SHA (the image tag).
    let helm: IntakeResults["helm"] = { skipped: "--worker none: no worker, no helm runs" };
    if (opts.worker !== "none") {
      const bySha = new Map(sent.map((w) => [w.sha, w]));
      const runs = system.helm.calls().filter((c) => c.argv[0] === "upgrade");
      const deltas: number[] = [];
      const shasRun = new Set<string>();
      for (const call of runs) {
        const tag = (call.values[0] as { image?: { tag?: string } } | undefined)?.image?.tag;
        const w = tag ? bySha.get(tag) : undefined;
        if (!w) continue;
        shasRun.add(w.sha);
        if (!w.warmup) deltas.push(Date.parse(call.startedAt) - toEpoch(w.dueAt));
      }
      const lastPerPr = new Map<number, SentWebhook>();
      for (const w of sent) lastPerPr.set(w.pr, w);
      helm = {
        webhooks: sent.length,
        runs: runs.length,
        runsForMeasuredWebhooks: deltas.length,
        webhooksWithRun: shasRun.size,
        prsWithFinalShaDeployed: [...lastPerPr.values()].filter((w) => shasRun.has(w.sha)).length,
        prs: lastPerPr.size,
        webhookToHelmStartMs: summarize(deltas),
        drainMs: drain.drainMs,
        drained: drain.drained,
      };
    }

    log("stopping Octostage");
    const stops = await system.stopProcesses();
    const cpuPerWebhookMs = (cpu.processes.reduce((a, p) => a + (p.pct || 0), 0) / 100) * cpu.seconds * 1000 / Math.max(1, sent.length);
    let floor: IntakeResults["floor"];
    if (opts.floor) {
      log("running the floor: a minimal server doing the same durable work, same webhooks, same rate");
      const f = await runFloor(plan, opts.rate, system.db.url, log);
      floor = { ...f, ratio: { p50: 0, p99: 0, cpuPerWebhook: cpuPerWebhookMs / f.cpuPerWebhookMs } };
    }

    let probe: ProbeAnalysis | undefined;
    if (system.probePath) {
      const raw = JSON.parse(readFileSync(system.probePath, "utf8")) as ProbeOutput;
      probe = analyzeProbe(raw, new Map(sent.map((w) => [w.id, w])), window);
    }
    let cpuProfile: Record<string, ProfileSummary> | undefined;
    if (system.cpuProfDir) {
      cpuProfile = {};
      for (const p of system.processes) {
        const path = join(system.cpuProfDir, `${p.role}.cpuprofile`);
        try {
          cpuProfile[p.role] = summarizeProfile(path, { fromMs: window.from, toMs: window.to, profileStartEpochMs: p.spawnedAt });
          log(`CPU profile of the ${p.role} process: ${path}`);
        } catch (err) {
          log(`no CPU profile for the ${p.role} process: ${(err as Error).message}`);
        }
      }
    }

    const answerMs = summarize(measured.map((w) => w.doneAt - w.dueAt));
    const seconds = new Map<number, number[]>();
    const firstDue = Math.min(...measured.map((w) => w.dueAt));
    for (const w of measured) {
      const s = Math.floor((w.dueAt - firstDue) / 1000);
      seconds.set(s, [...(seconds.get(s) ?? []), w.doneAt - w.dueAt]);
    }
    const worstSeconds = [...seconds.entries()]
      .map(([second, v]) => ({ second, ...summarize(v) }))
      .sort((a, b) => b.p99 - a.p99)
      .slice(0, 5)
      .map(({ second, count, p99, max }) => {
        // The machine's busy share for the CPU sample closest to the end of that second.
        const end = toEpoch(firstDue) + (second + 1) * 1000;
        const sample = cpu.timeline.reduce<{ t: number; busyPct: number } | undefined>((best, x) => (!best || Math.abs(x.t - end) < Math.abs(best.t - end) ? x : best), undefined);
        return { second, count, p99, max, machineBusyPct: sample?.busyPct ?? Number.NaN };
      });
    const measuredSpan = (Math.max(...measured.map((w) => w.sentAt)) - Math.min(...measured.map((w) => w.sentAt))) / 1000;
    const lost = sent.filter((w) => !recorded(w));
    const comparable = opts.rate === target.rate;
    results = {
      benchmark: "intake",
      date: date.toISOString(),
      machine,
      source: describeSource(),
      idleBusyPct,
      options: opts,
      target: {
        ...target,
        met: comparable ? answerMs.p99 < target.p99Ms && lost.length === 0 : null,
        note: comparable ? `p99 < ${target.p99Ms} ms with no delivery lost` : `the target is stated at ${target.rate}/s`,
      },
      load: {
        planned: plan.length,
        measured: measured.length,
        warmup: sent.length - measured.length,
        achievedRate: measuredSpan > 0 ? (measured.length - 1) / measuredSpan : Number.NaN,
        generatorLagMs: summarize(measured.map((w) => w.sentAt - w.dueAt)),
      },
      answerMs,
      serviceMs: summarize(measured.map((w) => w.doneAt - w.sentAt)),
      worstSeconds,
      deliveries: {
        sent: sent.length,
        ok2xx: sent.filter(ok).length,
        non2xx: [...non2xx.values()],
        recordedDelivery: sent.filter((w) => recordedDelivery.has(w.id)).length,
        recordedAction: sent.filter((w) => recordedAction.has(w.id)).length,
        lost: lost.length,
        lostAfter2xx: lost.filter(ok).length,
        superseded: sent.filter(superseded).length,
      },
      helm,
      cpu,
      stops,
      ...(probe ? { probe } : {}),
      ...(cpuProfile ? { cpuProfile } : {}),
      serverLog: readServerLogs(system.logPaths),
      cpuPerWebhookMs,
      ...(floor ? { floor: { ...floor, ratio: { ...floor.ratio, p50: answerMs.p50 / floor.answerMs.p50, p99: answerMs.p99 / floor.answerMs.p99 } } } : {}),
    };
  } finally {
    await system.cleanup();
  }

  const stamp = results.date.replace(/\.\d+Z$/, "").replace(/:/g, "-");
  const out = opts.out ?? join(root, "bench", "intake", `results-${stamp}.json`);
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderMarkdown(results)}\n`);
  log(`results written to ${out}`);
  if (results.deliveries.lost > 0) process.exitCode = 1;
}

await main();
