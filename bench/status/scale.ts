// Scale: N stagings tracked, nothing changing. Kubernetes and GitHub requests per minute,
// Postgres transactions per minute, and the server's RSS and CPU.
import { parseProjectConfig } from "../../src/config/project.ts";
import { stagingIdentity } from "../../src/domain/spec.ts";
import { pullRequestSpec } from "../../src/app/desired-spec.ts";
import { githubActor } from "../../src/domain/actor.ts";
import { decidePullRequestEvent } from "../../src/domain/intent/pull-request.ts";
import type { TestDb } from "../../test/support/db.ts";
import type { KubeApiDouble } from "../../test/support/kube-api-double.ts";
import type { StatusBenchOptions } from "./args.ts";
import { realisticPod } from "../../test/support/realistic-pod.ts";
import { webDeployment, webPod } from "./objects.ts";
import { cpuMs, machineBusy, dbActivity, sampleRss } from "./proc.ts";
import type { Program } from "../../test/support/octostage-process.ts";
import { benchRepository, installationId, owner, repo, startStatusSystem } from "./system.ts";

export interface ScaleResult {
  stagings: number;
  role: "all" | "worker";
  foreignPods: number;
  /** Changes made to foreign pods in the window (--foreign-churn), and per second. */
  foreignChanges: number;
  foreignChangesPerSec: number;
  seedSeconds: number;
  startupMs: number;
  seconds: number;
  kubePerMin: number;
  /** Kubernetes requests in the window, by "METHOD path [watch]". */
  kubeBreakdown: Record<string, number>;
  githubPerMin: number;
  /** Postgres table scans and rows written per minute in the run's schema (the server's own work). */
  dbScansPerMin: number;
  dbWritesPerMin: number;
  serverCpuPct: number;
  rss: { startRss: number; maxRss: number; endRss: number; peak: number };
  /** All cores, everything on the machine (this bench, Postgres, Redis, other people's runs). */
  machineBusyPct: number;
  /** process.memoryUsage() of the server at the end, after a forced full GC, MiB. */
  memory: Record<string, number> | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => void process.stderr.write(`[bench:status] ${msg}\n`);

/**
 * What a deployed, running, reported staging leaves behind, written directly instead of through
 * webhooks + helm + reporting: the intent (StagingStore.changeStaging, as the intake records
 * pull_request.opened), the generation marked applied, pending → deploying → running, reported
 * with made-up GitHub ids; in the API double the chart's Deployment (made ready by the double's
 * controller) and two running pods.
 */
async function seedStaging(kube: KubeApiDouble, db: TestDb, pr: number): Promise<void> {
  const settings = parseProjectConfig({ repositories: [benchRepository] }).repositories[0]!;
  const id = stagingIdentity(settings, pr);
  const sha = pr.toString(16).padStart(40, "c");
  const out = await db.store.changeStaging({
    target: { key: { repoOwner: owner, repoName: repo, prNumber: pr }, create: { ...id, installationId } },
    deliveryId: `bench-seed-${pr}`,
    event: "pull_request.opened",
    decide: (current) =>
      decidePullRequestEvent(settings.trigger, current?.staging ?? null, { action: "opened", state: "open", merged: false, headSha: sha, headRef: "feature", draft: false, labels: [], fromFork: false, updatedAt: null }, githubActor("bench")),
    spec: pullRequestSpec(settings, owner, repo, pr),
  });
  if (out.outcome !== "changed") throw new Error(`seed PR ${pr}: ${out.outcome}`);
  const sid = out.staging.id;
  const gen = out.staging.generation;
  const lease = (await db.store.acquireLease(sid, "deploy", "bench", 60_000))!;
  await db.store.startGeneration(lease, { generation: gen, status: { to: "deploying", reason: null, cause: "bench seed", actor: "bench" } });
  const running = await db.store.finishGeneration(lease, {
    generation: gen,
    action: { state: "succeeded", exitCode: 0, durationMs: 1000, output: "seeded by bench/status" },
    observed: true,
    deployOutcome: { deployedSha: sha },
    status: { to: "running", reason: null, cause: "bench seed", actor: "bench" },
  });
  await db.store.releaseLease(lease);
  const report = (await db.store.acquireLease(sid, "report", "bench", 60_000))!;
  const state = { checkRun: { id: 9_000_000 + pr, sha, completed: true }, commentId: 8_000_000 + pr, deployment: { id: 7_000_000 + pr, sha } };
  await db.store.updateChannel(report, "github", { reportedVersion: running.staging.statusVersion, reportedAt: new Date(), state });
  await db.store.releaseLease(report);
  // The namespace as ensureNamespace creates it (labelled as Octostage's, annotated with the staging).
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: id.namespace, labels: { "app.kubernetes.io/managed-by": "octostage" }, annotations: { "octostage.dev/staging-id": sid } } });
  kube.put(webDeployment(id.namespace, id.name));
  for (const suffix of ["x2k4p", "q8m3z"]) kube.put(webPod(id.namespace, id.name, `${id.name}-web-7f9c5d8b6-${suffix}`, "healthy"));
}

const TEAMS = 50;
const foreignPod = (i: number, ready = true): Record<string, unknown> => realisticPod(`team-${i % TEAMS}`, `api-${i}-7f9c5d8b6-x2k4p`, { app: "api", ready });

async function seed(kube: KubeApiDouble, db: TestDb, n: number, foreignPods: number): Promise<void> {
  for (let t = 0; t < Math.min(TEAMS, foreignPods); t++) kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: `team-${t}` } });
  for (let i = 0; i < foreignPods; i++) kube.put(foreignPod(i));
  for (let pr = 1; pr <= n; pr += 10) {
    await Promise.all(Array.from({ length: Math.min(10, n - pr + 1) }, (_, i) => seedStaging(kube, db, pr + i)));
  }
  await sleep(500); // the double's controller marks each Deployment ready ~20 ms after it is put
  const notReady = kube.list("Deployment").filter((d) => d.status?.readyReplicas !== 2).length;
  if (notReady) throw new Error(`${notReady} seeded Deployments are not ready`);
}

/** Other teams' pods turning unready and ready again, `perSecond` changes a second (in 10 batches a second), round-robin. */
function churnForeignPods(kube: KubeApiDouble, pods: number, perSecond: number): { stop(): number } {
  let changes = 0;
  let carry = 0;
  const timer = setInterval(() => {
    carry += perSecond / 10;
    for (; carry >= 1; carry--, changes++) {
      const i = changes % pods;
      kube.put(foreignPod(i, Math.floor(changes / pods) % 2 === 1));
    }
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return changes;
    },
  };
}

function key(r: { method: string; path: string; query: Record<string, string> }): string {
  return `${r.method} ${r.path}${r.query.watch ? " (watch)" : ""}`;
}

export async function runScale(opts: StatusBenchOptions, n: number, program?: Program): Promise<ScaleResult> {
  const t0 = performance.now();
  let seedSeconds = 0;
  const sys = await startStatusSystem(
    opts.logLevel,
    opts.nodeFlags,
    async (kube, db) => {
      await seed(kube, db, n, opts.foreignPods);
      seedSeconds = (performance.now() - t0) / 1000;
    },
    opts.role,
    opts.serverEnv,
    program,
  );
  try {
    log(`${n} stagings${opts.foreignPods ? ` and ${opts.foreignPods} foreign pods` : ""} seeded in ${seedSeconds.toFixed(1)} s; Octostage (${opts.role}) up in ${Math.round(sys.startupMs)} ms (pid ${sys.pid}); settling ${opts.settleSeconds} s`);
    await sleep(opts.settleSeconds * 1000);
    const stagings = await sys.db.db.staging.findMany({ select: { status: true, statusVersion: true, channels: { where: { channel: "github" }, select: { reportedVersion: true } } } });
    const off = stagings.filter((s) => s.status !== "running" || (s.channels[0]?.reportedVersion ?? 0) < s.statusVersion).length;
    if (off) log(`warning: ${off} stagings are not running and reported after settling`);
    const kube0 = sys.kube.requests.length;
    const gh0 = sys.github.requests.length;
    const db0 = await dbActivity(sys.db.schema);
    const cpu0 = cpuMs(sys.pid);
    const stopRss = sampleRss(sys.pid);
    const stopBusy = machineBusy();
    const w0 = performance.now();
    const churn = opts.foreignPods && opts.foreignChurn ? churnForeignPods(sys.kube, opts.foreignPods, opts.foreignChurn) : undefined;
    await sleep(opts.seconds * 1000);
    const foreignChanges = churn?.stop() ?? 0;
    const seconds = (performance.now() - w0) / 1000;
    const cpu1 = cpuMs(sys.pid);
    const rss = stopRss();
    const machineBusyPct = stopBusy();
    const db1 = await dbActivity(sys.db.schema);
    const perMin = (count: number): number => (count * 60) / seconds;
    const kubeBreakdown: Record<string, number> = {};
    for (const r of sys.kube.requests.slice(kube0)) kubeBreakdown[key(r)] = (kubeBreakdown[key(r)] ?? 0) + 1;
    return {
      stagings: n,
      role: opts.role,
      foreignPods: opts.foreignPods,
      foreignChanges,
      foreignChangesPerSec: foreignChanges / seconds,
      seedSeconds,
      startupMs: sys.startupMs,
      seconds,
      kubePerMin: perMin(sys.kube.requests.length - kube0),
      kubeBreakdown,
      githubPerMin: perMin(sys.github.requests.length - gh0),
      dbScansPerMin: perMin(db1.scans - db0.scans),
      dbWritesPerMin: perMin(db1.writes - db0.writes),
      serverCpuPct: ((cpu1 - cpu0) / (seconds * 1000)) * 100,
      rss,
      machineBusyPct,
      memory: await sys.memoryAfterGc(),
    };
  } finally {
    await sys.stop();
  }
}
