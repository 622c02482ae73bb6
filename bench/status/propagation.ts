// Propagation: from one object change in the Kubernetes API double to (a) the staging's status
// in Postgres and (b) the check-run update reaching the GitHub double.
import { pullRequestPayload, deliverWebhook } from "../../test/support/webhooks.ts";
import type { StatusBenchOptions } from "./args.ts";
import { webPod } from "./objects.ts";
import { cpuMs, machineBusy, sampleRss } from "./proc.ts";
import { summarize } from "./stats.ts";
import type { Summary } from "./stats.ts";
import type { Program } from "../../test/support/octostage-process.ts";
import { installationId, owner, repo, startStatusSystem, webhookSecret } from "./system.ts";
import type { StatusSystem } from "./system.ts";

export interface PropagationResult {
  stagings: number;
  samples: number;
  setupSeconds: number;
  toPostgres: Summary;
  /** Change → the StatusTransition row's createdAt (the server's write, before its commit). */
  toTransitionRow: Summary;
  toGitHub: Summary;
  byDirection: { direction: string; toPostgres: Summary; toGitHub: Summary }[];
  timeouts: number;
  /** N stagings flipped at the same instant, after the sequential samples. */
  burst: { size: number; toPostgres: Summary; toGitHub: Summary; timeouts: number } | undefined;
  /** Samples where Postgres showed another status (e.g. degraded) before the expected one. */
  detours: number;
  serverCpuPct: number;
  rss: { startRss: number; maxRss: number; endRss: number; peak: number };
  /** All cores, everything on the machine (this bench, Postgres, Redis, other people's runs). */
  machineBusyPct: number;
  memory: Record<string, number> | undefined;
}

interface Target { id: string; name: string; namespace: string; deployment: string; pod: string; checkRunPath: string; failed: boolean }
interface Sample { direction: "running → failed" | "failed → running"; toPostgres: number; toTransitionRow: number; toGitHub: number; detour: boolean }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => void process.stderr.write(`[bench:status] ${msg}\n`);
const sampleTimeoutMs = 30_000;

async function createStagings(sys: StatusSystem, n: number): Promise<Target[]> {
  for (let pr = 1; pr <= n; pr++) {
    const sha = pr.toString(16).padStart(40, "b");
    const d = await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { owner, repo, number: pr, sha, installationId }), webhookSecret);
    if (d.status !== 200) throw new Error(`webhook for PR ${pr} answered ${d.status}: ${d.body}`);
  }
  // Deployed by helm (double), made ready by the double's controller, reported (with Probot's throttling).
  for (let last = 0; ; await sleep(500)) {
    const rows = await sys.db.db.staging.findMany({ include: { channels: true } });
    const checkRunId = (r: (typeof rows)[number]) => (r.channels[0]?.state as { checkRun?: { id: number } } | null)?.checkRun?.id ?? null;
    const done = rows.filter((r) => r.status === "running" && (r.channels[0]?.reportedVersion ?? 0) >= r.statusVersion && checkRunId(r) !== null);
    if (done.length === n) {
      return done.map((r) => ({
        id: r.id,
        name: r.name,
        namespace: r.namespace,
        deployment: `${r.name}-web`,
        pod: `${r.name}-web-7f9c5d8b6-x2k4p`,
        checkRunPath: `/repos/${owner}/${repo}/check-runs/${String(checkRunId(r))}`,
        failed: false,
      }));
    }
    if (Date.now() - last > 15_000) {
      last = Date.now();
      log(`${done.length}/${n} stagings running and reported`);
    }
  }
}

/**
 * Flips every target at the same instant (running ⇄ failed) and follows each to Postgres and to
 * the GitHub double. Returns once every report has finished (Probot's write limiter is then idle
 * for the next change, so its wait is not what a sequential sample measures), or at the timeout.
 */
async function flip(sys: StatusSystem, targets: Target[], gapMs: number, timeoutMs: number): Promise<(Sample | undefined)[]> {
  const plan = targets.map((t) => ({ t, toFail: !t.failed, toPostgres: undefined as number | undefined, toGitHub: undefined as number | undefined, detour: false, reported: false }));
  // The crashing pod goes in first, while the Deployment is still ready (health ignores pods
  // then): the measured change is the Deployment losing its ready replicas, one watch event.
  for (const p of plan) if (p.toFail) sys.kube.put(webPod(p.t.namespace, p.t.name, p.t.pod, "crashing"));
  await sleep(gapMs);
  const from = sys.github.requests.length;
  const t0 = performance.now();
  const wall0 = Date.now();
  for (const { t, toFail } of plan) {
    const ready = toFail ? 0 : 2;
    sys.kube.patchStatus("Deployment", t.namespace, t.deployment, { readyReplicas: ready, availableReplicas: ready });
    if (!toFail) sys.kube.put(webPod(t.namespace, t.name, t.pod, "healthy"));
  }
  const ids = targets.map((t) => t.id);
  while (performance.now() - t0 < timeoutMs && plan.some((p) => p.toGitHub === undefined || !p.reported)) {
    const rows = await sys.db.db.staging.findMany({ where: { id: { in: ids } }, select: { id: true, status: true, statusVersion: true, channels: { where: { channel: "github" }, select: { reportedVersion: true } } } });
    const now = performance.now();
    for (const p of plan) {
      const row = rows.find((r) => r.id === p.t.id)!;
      if (p.toPostgres === undefined && row.status === (p.toFail ? "failed" : "running")) p.toPostgres = now - t0;
      else if (p.toPostgres === undefined && row.status !== (p.toFail ? "running" : "failed")) p.detour = true;
      p.reported = p.toPostgres !== undefined && (row.channels[0]?.reportedVersion ?? 0) >= row.statusVersion;
    }
    for (let i = from; i < sys.github.requests.length; i++) {
      const r = sys.github.requests[i]!;
      const p = r.method === "PATCH" ? plan.find((x) => x.toGitHub === undefined && x.t.checkRunPath === r.path) : undefined;
      if (p && r.body?.conclusion === (p.toFail ? "failure" : "success")) p.toGitHub = sys.githubTimes[i]! - t0;
    }
    await sleep(5);
  }
  return Promise.all(
    plan.map(async (p) => {
      p.t.failed = p.toFail;
      if (p.toPostgres === undefined || p.toGitHub === undefined) return undefined;
      const to = p.toFail ? "failed" : "running";
      const row = await sys.db.db.statusTransition.findFirst({ where: { stagingId: p.t.id, to }, orderBy: { createdAt: "desc" } });
      const direction = p.toFail ? "running → failed" : "failed → running";
      return { direction, toPostgres: p.toPostgres, toTransitionRow: row ? row.createdAt.getTime() - wall0 : Number.NaN, toGitHub: p.toGitHub, detour: p.detour } as const;
    }),
  );
}

export async function runPropagation(opts: StatusBenchOptions, program?: Program): Promise<PropagationResult> {
  const started = performance.now();
  const sys = await startStatusSystem(opts.logLevel, opts.nodeFlags, undefined, "all", opts.serverEnv, program);
  try {
    log(`Octostage up in ${Math.round(sys.startupMs)} ms (pid ${sys.pid}); creating ${opts.stagings} stagings through webhooks`);
    const targets = await createStagings(sys, opts.stagings);
    sys.kube.setController("manual");
    for (const t of targets) sys.kube.put(webPod(t.namespace, t.name, t.pod, "healthy"));
    await sleep(2000);
    const setupSeconds = (performance.now() - started) / 1000;
    log(`setup done in ${setupSeconds.toFixed(0)} s; measuring ${opts.samples} changes`);
    const stopRss = sampleRss(sys.pid);
    const stopBusy = machineBusy();
    const cpu0 = cpuMs(sys.pid);
    const t0 = performance.now();
    const samples: Sample[] = [];
    let timeouts = 0;
    for (let k = 0; k < opts.samples; k++) {
      const [s] = await flip(sys, [targets[k % targets.length]!], opts.gapMs, sampleTimeoutMs);
      if (s) samples.push(s);
      else timeouts++;
      if ((k + 1) % 20 === 0) log(`${k + 1}/${opts.samples} samples`);
    }
    const serverCpuPct = ((cpuMs(sys.pid) - cpu0) / (performance.now() - t0)) * 100;
    const rss = stopRss();
    const machineBusyPct = stopBusy();
    const directions = [...new Set(samples.map((s) => s.direction))];
    let burst: PropagationResult["burst"];
    if (opts.burst > 0) {
      log(`burst: flipping ${opts.burst} stagings at once`);
      await sleep(2000); // report pacing: every staging's last report is over 1.5 s old
      const out = await flip(sys, targets.slice(0, opts.burst), opts.gapMs, Math.max(60_000, opts.burst * 5_000));
      const ok = out.filter((s) => s !== undefined);
      burst = { size: opts.burst, toPostgres: summarize(ok.map((s) => s.toPostgres)), toGitHub: summarize(ok.map((s) => s.toGitHub)), timeouts: out.length - ok.length };
    }
    return {
      stagings: opts.stagings,
      samples: samples.length,
      setupSeconds,
      toPostgres: summarize(samples.map((s) => s.toPostgres)),
      toTransitionRow: summarize(samples.map((s) => s.toTransitionRow)),
      toGitHub: summarize(samples.map((s) => s.toGitHub)),
      byDirection: directions.map((direction) => {
        const of = samples.filter((s) => s.direction === direction);
        return { direction, toPostgres: summarize(of.map((s) => s.toPostgres)), toGitHub: summarize(of.map((s) => s.toGitHub)) };
      }),
      timeouts,
      burst,
      detours: samples.filter((s) => s.detour).length,
      serverCpuPct,
      rss,
      machineBusyPct,
      memory: await sys.memoryAfterGc(),
    };
  } finally {
    await sys.stop();
  }
}
