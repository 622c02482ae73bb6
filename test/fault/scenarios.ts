/**
 * The fault scenarios, shared by test/fault/fault-suite.test.ts (which asserts on what they
 * return) and bench/fault/run.ts (which runs them N times and tabulates). Each injects its
 * faults into a running FaultSystem, sends intents around them, orders itself only on observable
 * state (rows, helm calls, logs), and measures how long the system takes to converge.
 * A scenario throws only when the fault could not be set up as intended (e.g. helm never
 * started); whether the system healed is in the result (`problems`), for the caller to judge.
 */
import { readFileSync } from "node:fs";
import type { HelmCall } from "../support/helm-double.ts";
import type { OctostageProcess } from "../support/octostage-process.ts";
import { waitFor } from "../support/wait.ts";
import type { Delivery } from "../support/webhooks.ts";
import type { FaultSystem } from "./fault-system.ts";

export interface ScenarioResult {
  scenario: string;
  /** Faults injected (process kills, outages, flushes, failed or dropped requests). */
  faults: number;
  /** Intents sent during the scenario (pushes, override commands). */
  intents: number;
  /** What had not converged when the scenario gave up waiting (empty: every intent applied). */
  problems: string[];
  /** helm.overlaps() over the whole run so far. */
  overlaps: number;
  /** Time to converge after each fault ended, ms. */
  convergeMs: number[];
}

const prNumbers = [1, 2, 3];
let overrideRuns = 0;
const convergeTimeoutMs = 60_000;

const tagOf = (c: HelmCall): unknown => (c.values[0] as { image?: { tag?: unknown } } | undefined)?.image?.tag;

/** Is `pid` a live helm double process (not a reused pid)? */
function helmAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("main.ts");
  } catch {
    return false;
  }
}

/** A helm upgrade of the PR's release deploying `sha` that has not ended. */
function runningUpgrade(sys: FaultSystem, pr: number, sha: string): HelmCall | undefined {
  return sys.upgrades(pr).find((c) => tagOf(c) === sha && c.endedAt === undefined);
}

function summary(sys: FaultSystem, scenario: string, faults: number, intentsBefore: number, convergeMs: number[], problems: string[]): ScenarioResult {
  return { scenario, faults, intents: sys.sent.count - intentsBefore, problems, overlaps: sys.helm.overlaps().length, convergeMs };
}

/** Opens the PRs and waits until every staging runs and is reported. */
export async function baseline(sys: FaultSystem): Promise<ScenarioResult & { answers: Delivery[] }> {
  const before = sys.sent.count;
  const answers: Delivery[] = [];
  for (const pr of prNumbers) if (!sys.intents.has(pr)) answers.push(await sys.open(pr));
  const c = await sys.waitConverged(convergeTimeoutMs);
  return { ...summary(sys, "baseline", 0, before, [c.ms], c.problems), answers };
}

export interface WorkerKillResult extends ScenarioResult {
  killedPid: number;
  survivorPid: number | undefined;
  helmPid: number;
  /** Kill → the killed worker's helm process gone (NaN: still alive 15 s later). */
  helmGoneMs: number;
  helmEnd: HelmCall | undefined;
  /** Kill → the staging running the pushed SHA (status running, deployedSha = head). */
  recoveryMs: number;
  /** Kill → GitHub showing it too (check run success, latest status reported). */
  reportedMs: number;
  /** A helm upgrade of the pushed SHA started after the kill and succeeded (the survivor's: the replacement starts only afterwards). */
  deployedByOther: boolean;
}

/** Resolves once no reconcile run holds its Redis lock (a run takes milliseconds, once a second). */
async function outsideReconcile(sys: FaultSystem): Promise<void> {
  await waitFor("no reconcile run in progress", async () => !(await sys.reconcileLockHeld()), 10_000, 1);
}

/**
 * helm is made to hang once its pending revision is written (helm.hang), a push is sent, and the
 * worker holding the staging's deploy lease (the Lease row's owner pid) is killed with SIGKILL
 * mid-upgrade. The kill is timed outside a reconcile run (a worker killed inside one leaves the
 * reconcile lock behind: see killDuringReconcile) and outside a report job.
 */
export async function workerKill(sys: FaultSystem, pr = 1): Promise<WorkerKillResult> {
  const before = sys.sent.count;
  const { victim, call, sha } = await hungDeploy(sys, pr);
  const survivor = sys.workers.find((w) => w !== victim);
  // GitHub shows "Deploying" and no report job runs: the kill hits helm, not a report in flight.
  await waitFor(
    "the deploying status reported, no report job running",
    async () => {
      const s = await sys.staging(pr);
      return s !== undefined && (s.reportedVersion ?? 0) >= s.statusVersion && (await sys.redis.llen(`${sys.queuePrefix}:report:active`)) === 0;
    },
    15_000,
  );
  await outsideReconcile(sys);
  victim.kill("SIGKILL");
  const killedAt = Date.now();
  try {
    await victim.exited;
    let helmGoneMs = Number.NaN;
    await waitFor("the killed worker's helm process gone", () => !helmAlive(call.pid), 15_000, 20)
      .then(() => (helmGoneMs = Date.now() - killedAt))
      .catch(() => undefined);
    const deployed = await sys.waitConverged(convergeTimeoutMs, { reported: false });
    const recoveryMs = Date.now() - killedAt;
    const c = await sys.waitConverged(2 * convergeTimeoutMs);
    const reportedMs = Date.now() - killedAt;
    const helmEnd = sys.helm.calls().find((x) => x.pid === call.pid);
    // The killed worker is dead and its replacement not started yet: a later run is the survivor's.
    const after = sys.upgrades(pr).filter((x) => tagOf(x) === sha && Date.parse(x.startedAt) > killedAt && x.exitCode === 0);
    return {
      ...summary(sys, "worker kill -9 during helm", 1, before, [recoveryMs], [...new Set([...deployed.problems, ...c.problems])]),
      killedPid: victim.pid,
      survivorPid: survivor?.pid,
      helmPid: call.pid,
      helmGoneMs,
      helmEnd,
      recoveryMs,
      reportedMs,
      deployedByOther: after.length > 0,
    };
  } finally {
    await sys.replaceWorker(victim);
  }
}

export interface RestartResult extends ScenarioResult {
  /** The dead deploy lease's time left at the kill (ms). */
  leaseLeftMs: number | undefined;
  pauseMs: number;
  /** The first worker started again → it is ready ("Octostage worker started"). */
  startupMs: number;
  /** That worker ready → the staging runs the pushed SHA. */
  recoveryMs: number;
  /** That worker ready → GitHub shows it. */
  reportedMs: number;
}

/**
 * No worker left (issue 14, "Fast recovery"): a push with helm held, every worker killed with
 * SIGKILL while the lease holder runs helm, a pause, then one worker started again (the others
 * after the staging converged, for the scenarios that follow). Nothing can happen before a
 * worker is back; then the dead holder's lease must expire before the deploy is redone. Measured
 * from that worker being ready to the staging running the pushed SHA.
 */
export async function restartAfterKill(sys: FaultSystem, pr = 1, pauseMs = 1_000): Promise<RestartResult> {
  const before = sys.sent.count;
  const { sha } = await hungDeploy(sys, pr);
  await outsideReconcile(sys);
  const victims = [...sys.workers];
  for (const w of victims) w.kill("SIGKILL");
  const killedAt = Date.now();
  const [lease] = await sys.query<{ expires: number }>(
    `SELECT (extract(epoch FROM l."expiresAt") * 1000)::float8 AS expires FROM "Lease" l JOIN "Staging" s ON s.id = l."stagingId"
      WHERE s."prNumber" = $1 AND l.kind = 'deploy' AND l."expiresAt" > now()`,
    [pr],
  );
  await Promise.all(victims.map((w) => w.exited));
  await new Promise((r) => setTimeout(r, pauseMs));
  const [first, ...others] = victims;
  const startedAt = Date.now();
  await sys.replaceWorker(first!);
  const availableAt = Date.now();
  const deployed = await sys.waitConverged(convergeTimeoutMs, { reported: false, prs: [pr] });
  const recoveryMs = Date.now() - availableAt;
  const reported = await sys.waitConverged(convergeTimeoutMs, { prs: [pr] });
  const reportedMs = Date.now() - availableAt;
  for (const w of others) await sys.replaceWorker(w);
  const redone = sys.upgrades(pr).filter((c) => tagOf(c) === sha && Date.parse(c.startedAt) > killedAt && c.exitCode === 0);
  const problems = [...new Set([...deployed.problems, ...reported.problems])];
  if (!redone.length) problems.push(`PR ${pr}: no successful helm upgrade of the pushed SHA after the kill`);
  return {
    ...summary(sys, "every worker killed during helm, one restarted", victims.length, before, [recoveryMs], problems),
    leaseLeftMs: lease ? lease.expires - killedAt : undefined,
    pauseMs,
    startupMs: availableAt - startedAt,
    recoveryMs,
    reportedMs,
  };
}

/** Pushes `pr` with helm hanging for a minute once its pending revision is written; returns the worker running it. */
async function hungDeploy(sys: FaultSystem, pr: number): Promise<{ victim: OctostageProcess; call: HelmCall; sha: string }> {
  sys.helm.hang(60_000, "upgrade", 1);
  const { sha, status } = await sys.push(pr);
  if (status !== 200) throw new Error(`push answered ${status}`);
  return { ...(await hungRun(sys, pr, sha)), sha };
}

/** The running (hung) upgrade of `sha` with its pending revision written, and the worker holding the deploy lease. */
async function hungRun(sys: FaultSystem, pr: number, sha: string, startedAfter = 0): Promise<{ victim: OctostageProcess; call: HelmCall }> {
  const call = await waitFor(
    "helm upgrade running with its pending revision written",
    () => (sys.releaseStatus(pr) === "pending-upgrade" ? sys.upgrades(pr).find((c) => tagOf(c) === sha && c.endedAt === undefined && Date.parse(c.startedAt) > startedAfter) : undefined),
    30_000,
  );
  const holderPid = await waitFor("the deploy lease's holder", () => sys.deployLeaseHolderPid(pr), 10_000);
  const victim = sys.workers.find((w) => w.pid === holderPid);
  if (!victim) throw new Error(`the deploy lease is held by pid ${holderPid}, which is none of the live workers (${sys.workers.map((w) => w.pid).join(", ")})`);
  return { victim, call };
}

export interface KillBugResult {
  /** Kill → converged, or undefined when not within the window. */
  convergedAfterMs: number | undefined;
  windowMs: number;
  problems: string[];
  /** What the kill left behind (the reconcile lock's remaining TTL, dedup keys…). */
  leftBehind: Record<string, unknown>;
}

/**
 * A worker killed in the middle of a reconcile run leaves the reconcile lock
 * (`<prefix>:reconcile:lock`, deleted only by its holder) behind until it expires: it is short
 * (max(10 s, 2 × interval)) and renewed while a run lasts, so work only the reconciler can restart
 * (the dead worker's deploy) waits seconds, not a minute (it was 60 s when this was found). Both
 * workers are killed the moment the lock appears (which one holds it is not visible from outside)
 * while one of them runs a hung helm upgrade; two fresh workers are started; the staging should
 * converge within `windowMs` of the kill.
 */
export async function killDuringReconcile(sys: FaultSystem, pr = 2, windowMs = 20_000, waitReported = false): Promise<KillBugResult> {
  const lockKey = `${sys.queuePrefix}:reconcile:lock`;
  let lockTtlMs = -2;
  let killedAt = 0;
  for (let attempt = 1; attempt <= 3 && lockTtlMs <= 0; attempt++) {
    await hungDeploy(sys, pr);
    const victims = [...sys.workers];
    // Poll the lock as fast as Redis answers; kill as soon as a run holds it.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(await sys.reconcileLockHeld()));
    for (const w of victims) w.kill("SIGKILL");
    killedAt = Date.now();
    await Promise.all(victims.map((w) => w.exited));
    lockTtlMs = await sys.redis.pttl(lockKey);
    for (const w of victims) await sys.replaceWorker(w);
  }
  if (lockTtlMs <= 0) throw new Error("could not kill the workers during a reconcile run in 3 attempts");
  const c = await sys.waitConverged(Math.max(0, killedAt + windowMs - Date.now()), { reported: false });
  const convergedAfterMs = c.problems.length ? undefined : Date.now() - killedAt;
  // Clean up for the next test, should the lock still be there.
  const leftBehind: Record<string, unknown> = { reconcileLockTtlMs: lockTtlMs };
  if (await sys.redis.del(lockKey)) leftBehind.lockDeletedAfterMs = Date.now() - killedAt;
  const d = await sys.waitConverged(convergeTimeoutMs, { reported: false });
  leftBehind.deployedAfterMs = d.problems.length ? undefined : Date.now() - killedAt;
  if (waitReported) {
    const r = await sys.waitConverged(120_000);
    leftBehind.reportedAfterMs = r.problems.length ? undefined : Date.now() - killedAt;
  }
  return { convergedAfterMs, windowMs, problems: c.problems, leftBehind };
}

/**
 * The worker that runs a staging's recovery deploy (after a first worker died mid-deploy) is
 * killed too. Its job and the first one stay "active" in dead workers until BullMQ's stalled-job
 * check; their deduplication keys would drop every new deploy job of the staging meanwhile (54 s
 * when this was found). Each recovery job is keyed by the run it recovers
 * (`recover-<id>-<last lease token>`), so the reconciler's next one is not dropped. The staging
 * should converge within `windowMs` of the second kill.
 */
export async function killDuringRecovery(sys: FaultSystem, pr = 3, windowMs = 20_000, waitReported = false): Promise<KillBugResult> {
  const first = await hungDeploy(sys, pr);
  sys.helm.hang(60_000, "upgrade", 1); // the recovery run hangs too
  await outsideReconcile(sys);
  first.victim.kill("SIGKILL");
  const firstKilledAt = Date.now();
  await sys.replaceWorker(first.victim);
  // The reconciler's recovery job runs the same SHA again (after the first lease expired).
  const second = await hungRun(sys, pr, first.sha, firstKilledAt);
  await outsideReconcile(sys);
  second.victim.kill("SIGKILL");
  const killedAt = Date.now();
  await sys.replaceWorker(second.victim);
  const keys = await sys.redis.keys(`${sys.queuePrefix}:deploy:de:*`);
  const leftBehind: Record<string, unknown> = {};
  for (const k of keys) leftBehind[k.slice(sys.queuePrefix.length + 1)] = await sys.redis.get(k);
  const active = await sys.redis.lrange(`${sys.queuePrefix}:deploy:active`, 0, -1);
  leftBehind.activeDeployJobs = active;
  const c = await sys.waitConverged(Math.max(0, killedAt + windowMs - Date.now()), { reported: false });
  if (waitReported) {
    const r = await sys.waitConverged(120_000);
    leftBehind.reportedAfterMs = r.problems.length ? undefined : Date.now() - killedAt;
  }
  return { convergedAfterMs: c.problems.length ? undefined : Date.now() - killedAt, windowMs, problems: c.problems, leftBehind };
}

export interface RedisRestartResult extends ScenarioResult {
  /** Webhooks sent while Redis was down, with their answers. */
  duringOutage: Delivery[];
  /** Redis back → the pushes sent during the outage deployed (and reported). */
  pushesAppliedMs: number;
  /** Redis back → the /octo override sent during the outage in helm's values (its job is re-enqueued by the reconciler once the command is 30 s old). */
  overrideAppliedMs: number;
  /** Override actions recorded for the command sent during the outage (should be 1). */
  overrideActions: number;
  /** Replies the bot posted to that command (should be 1). */
  overrideReplies: number;
  commandState: string | undefined;
}

/**
 * Redis stopped while webhooks arrive (two pushes and an /octo override comment), then started
 * again, empty (no persistence): every intent was recorded in PostgreSQL and must be applied.
 */
export async function redisRestart(sys: FaultSystem): Promise<RedisRestartResult> {
  const before = sys.sent.count;
  const marks = sys.workers.map((w) => w.mark());
  const overridePr = 1;
  const overrideValue = 10 + ++overrideRuns; // a new value each run: helm must not have it already
  const commentsBefore = sys.github.comments.length;

  await sys.services.redis.stop();
  const duringOutage: Delivery[] = [];
  let commentId: number | undefined;
  try {
    duringOutage.push(await sys.push(2));
    const comment = await sys.override(overridePr, "api.replicas", overrideValue);
    commentId = comment.commentId;
    duringOutage.push(comment);
    duringOutage.push(await sys.push(3));
    // Every worker saw the outage before Redis comes back.
    await Promise.all(sys.workers.map((w, i) => w.waitForLog(/Redis connection error/, { from: marks[i]!, timeoutMs: 20_000 })));
  } finally {
    await sys.services.redis.start();
  }
  const upAt = Date.now();
  const pushes = await sys.waitConverged(convergeTimeoutMs, { prs: [2, 3] });
  const pushesAppliedMs = Date.now() - upAt;
  const all = await sys.waitConverged(convergeTimeoutMs);
  const overrideAppliedMs = Date.now() - upAt;

  const s = await sys.staging(overridePr);
  const actions = await sys.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "Action" WHERE "stagingId" = $1 AND kind = 'override' AND detail->>'commentId' = $2`,
    [s?.id, String(commentId ?? "")],
  );
  const commands = await sys.query<{ state: string }>(`SELECT state FROM "Command" WHERE "commentId" = $1`, [commentId ?? -1]);
  const replies = sys.github.comments
    .slice(commentsBefore)
    .filter((c) => c.user?.type === "Bot" && !String(c.body).includes("<!-- octostage:status -->") && String(c.body).includes(`api.replicas=${overrideValue}`));
  return {
    ...summary(sys, "Redis restart", 1, before, [overrideAppliedMs], [...new Set([...pushes.problems, ...all.problems])]),
    duringOutage,
    pushesAppliedMs,
    overrideAppliedMs,
    overrideActions: actions[0]?.n ?? 0,
    overrideReplies: replies.length,
    commandState: commands.length === 1 ? commands[0]!.state : `${commands.length} commands`,
  };
}

export interface RedisFlushResult extends ScenarioResult {
  /** FLUSHALL → the reconcile schedule back in Redis (re-asserted by a worker, every 30 s). */
  scheduleBackMs: number | undefined;
}

/** FLUSHALL while PR 2 deploys (helm held for 3 s) and a newer push of it waits behind that job, with a push of PR 3 around it. */
export async function redisFlush(sys: FaultSystem): Promise<RedisFlushResult> {
  const before = sys.sent.count;
  sys.helm.hang(3_000, "upgrade", 1);
  const p2 = await sys.push(2);
  await waitFor("helm deploying PR 2", () => runningUpgrade(sys, 2, p2.sha), 30_000);
  await sys.push(3);
  await sys.push(2);
  await sys.services.redis.flushall();
  const flushedAt = Date.now();
  const c = await sys.waitConverged(convergeTimeoutMs);
  const convergedMs = Date.now() - flushedAt;
  let scheduleBackMs: number | undefined;
  await waitFor("the reconcile schedule back", async () => (await sys.redis.exists(`${sys.queuePrefix}:reconcile:repeat`)) === 1, 45_000, 100)
    .then(() => (scheduleBackMs = Date.now() - flushedAt))
    .catch(() => undefined);
  return { ...summary(sys, "Redis FLUSHALL", 1, before, [convergedMs], c.problems), scheduleBackMs };
}

export interface PostgresResult extends ScenarioResult {
  duringOutage: Delivery;
  readyzDuringOutage: number;
  /** Per worker: its "pausing the workers" log line, or undefined if it printed none during the outage. */
  paused: (string | undefined)[];
  /** Per worker that paused: its "workers resumed" line, or undefined. */
  resumed: (string | undefined)[];
  redelivery: Delivery;
}

/** A worker pauses within a couple of reconcile ticks (1 s) of the outage; this is generous. */
const pauseWithinMs = 10_000;

/**
 * PostgreSQL stopped (pg_ctl -m fast) while a push arrives: the webhook is refused with 503; the
 * workers should pause and resume by themselves; GitHub's redelivery (same payload, new delivery
 * id) is applied.
 */
export async function postgresOutage(sys: FaultSystem, pr = 1): Promise<PostgresResult> {
  const before = sys.sent.count;
  const marks = sys.workers.map((w) => w.mark());
  let outage: { pushed: Delivery & { sha: string; payload: unknown }; readyzDuringOutage: number; paused: (string | undefined)[] };
  await sys.services.postgres.stop();
  try {
    const pushed = await sys.push(pr);
    const readyzDuringOutage = await fetch(`${sys.server.url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    const paused = await Promise.all(sys.workers.map((w, i) => w.waitForLog(/pausing the workers/, { from: marks[i]!, timeoutMs: pauseWithinMs }).catch(() => undefined)));
    outage = { pushed, readyzDuringOutage, paused };
  } finally {
    await sys.services.postgres.start();
  }
  const { pushed, readyzDuringOutage, paused } = outage;
  const upAt = Date.now();
  const resumed = await Promise.all(
    sys.workers.map(async (w, i) => (paused[i] === undefined ? undefined : w.waitForLog(/workers resumed/, { from: marks[i]!, timeoutMs: 30_000 }).catch(() => undefined))),
  );
  // GitHub's "Redeliver": the same payload under a new delivery id.
  const redelivery = await waitFor(
    "the redelivery accepted",
    async () => {
      const d = await sys.deliver("pull_request", pushed.payload);
      return d.status === 200 ? d : undefined;
    },
    20_000,
    500,
  );
  const c = await sys.waitConverged(convergeTimeoutMs);
  return {
    ...summary(sys, "PostgreSQL restart", 1, before, [Date.now() - upAt], c.problems),
    duringOutage: pushed,
    readyzDuringOutage,
    paused,
    resumed,
    redelivery,
  };
}

/** Requests after `mark` matching each rule, up to its count: how many injected failures were served. */
function served(requests: { method: string; path: string }[], rules: { method: string; pattern: RegExp; count: number }[]): number {
  let n = 0;
  for (const r of rules) n += Math.min(r.count, requests.filter((q) => q.method === r.method && r.pattern.test(q.path)).length);
  return n;
}

export interface KubeResult extends ScenarioResult {
  failuresServed: number;
  watchDrops: number;
}

/**
 * Kubernetes API 500s (informers' lists and watches, the worker's namespace calls, helm's release
 * storage) and dropped watch streams, around pushes of two PRs: deploys must converge and health
 * must still reach running.
 */
export async function kubeFaults(sys: FaultSystem, prs: number[] = [2, 3]): Promise<KubeResult> {
  const before = sys.sent.count;
  const mark = sys.kube.requests.length;
  const rules = [
    { method: "GET", pattern: /^\/apis\/apps\/v1\/(deployments|statefulsets)$/, count: 4 },
    { method: "GET", pattern: /^\/api\/v1\/pods$/, count: 2 },
    { method: "GET", pattern: /^\/api\/v1\/namespaces\/[^/]+$/, count: 2 },
    { method: "POST", pattern: /^\/api\/v1\/namespaces\/[^/]+\/secrets$/, count: 1 },
  ];
  for (const r of rules) sys.kube.failNext(r.method, r.pattern, 500, r.count);
  sys.kube.dropWatches("end");
  let watchDrops = 1;
  const pushed: string[] = [];
  for (const pr of prs) pushed.push((await sys.push(pr)).sha);
  // Drop the watches again while helm works, so the rollout's events must come from a reconnect.
  await waitFor("helm deploying the pushes", () => prs.some((pr, i) => sys.upgrades(pr).some((c) => tagOf(c) === pushed[i])), 30_000);
  sys.kube.dropWatches("destroy");
  watchDrops += 1;
  const faultsEndAt = Date.now();
  const c = await sys.waitConverged(convergeTimeoutMs);
  const failuresServed = served(sys.kube.requests.slice(mark), rules);
  return {
    ...summary(sys, "Kubernetes API 500s + dropped watches", failuresServed + watchDrops, before, [Date.now() - faultsEndAt], c.problems),
    failuresServed,
    watchDrops,
  };
}

export interface GitHubResult extends ScenarioResult {
  answered5xx: number;
  answeredSecondary: number;
}

/** GitHub 502s and secondary rate limits while three PRs are pushed: every check run must end up showing the final status. */
export async function githubFaults(sys: FaultSystem, prs: number[] = prNumbers): Promise<GitHubResult> {
  const before = sys.sent.count;
  const mark = sys.github.requests.length;
  sys.github.failNext("POST", /\/check-runs$/, 502, 2);
  sys.github.failNext("PATCH", /\/check-runs\/\d+$/, 502, 3);
  sys.github.failNext("PATCH", /\/issues\/comments\/\d+$/, 502, 1);
  sys.github.secondaryRateLimitNext(4, { retryAfterSeconds: 1 });
  const startedAt = Date.now();
  for (const pr of prs) await sys.push(pr);
  const c = await sys.waitConverged(convergeTimeoutMs);
  const answered = sys.github.requests.slice(mark);
  const answered5xx = answered.filter((r) => r.status === 502).length;
  const answeredSecondary = answered.filter((r) => r.status === 403).length;
  return {
    ...summary(sys, "GitHub 502s + secondary rate limits", answered5xx + answeredSecondary, before, [Date.now() - startedAt], c.problems),
    answered5xx,
    answeredSecondary,
  };
}
