// `npm run bench:lifecycle -- [--stagings 10000] [--runs 20] [--act-runs 10]`: the lifecycle sweep
// (src/app/lifecycle/sweep.ts) over N PR stagings in 5 repositories, on a fresh schema of the
// local PostgreSQL, with the Prisma store, a fixed injected clock and a queue double that counts.
// Stagings are recorded as the intake records `pull_request.opened` (changeStaging with
// decidePullRequestEvent), then given their lifecycle facts (archived, kept, noticed, idle...) by
// one SQL update. Measures (1) a quiet sweep (candidates only already noticed: nothing to do),
// (2) the candidate query alone plus its EXPLAIN (ANALYZE, BUFFERS), (3) a sweep that acts (the
// clock 48 h later: 100 due after their notice, 200 to warn), checking every count. Prints a table and writes
// bench/lifecycle/results-<date>.json. Goal: every sweep < 1 s. `--keep-schema` leaves the
// database schema behind (named in the output) to look at it by hand; `--profile` prints where
// this process's CPU went during the acting sweeps.
import { mkdtempSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import os from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { pullRequestSpec } from "../../src/app/desired-spec.ts";
import { ruleFor, sweepLifecycle } from "../../src/app/lifecycle/sweep.ts";
import type { SweepSummary } from "../../src/app/lifecycle/sweep.ts";
import type { Db } from "../../src/adapters/db/prisma.ts";
import { createStagingStore } from "../../src/adapters/db/staging-store.ts";
import { parseProjectConfig } from "../../src/config/project.ts";
import { githubActor } from "../../src/domain/actor.ts";
import { decidePullRequestEvent } from "../../src/domain/intent/pull-request.ts";
import { defaultLifecyclePolicy, keepForever } from "../../src/domain/lifecycle.ts";
import type { LifecyclePolicy, LifecyclePolicyName } from "../../src/domain/lifecycle.ts";
import type { ProjectConfig } from "../../src/domain/settings.ts";
import { stagingIdentity } from "../../src/domain/spec.ts";
import { Prisma } from "../../src/generated/prisma/client.ts";
import type { Clock } from "../../src/ports/clock.ts";
import type { Logger } from "../../src/ports/logger.ts";
import type { WorkQueue } from "../../src/ports/queue.ts";
import type { StagingStore } from "../../src/ports/store.ts";
import { createTestDb, testDatabaseUrl } from "../../test/support/db.ts";
import { summarizeProfile } from "../intake/cpu-profile.ts";
import { summarize } from "../intake/stats.ts";
import { wholeNumberOption } from "../options.ts";
import { describeSource } from "../source.ts";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => wholeNumberOption(args, name, fallback);
const stagings = option("stagings", 10_000);
const runs = option("runs", 20);
const actRuns = option("act-runs", 10);
/** Leaves the schema in place (its name is printed) to look at the data and plans by hand. */
const keepSchema = args.includes("--keep-schema");
/** Profiles this process's CPU during the acting sweeps (V8 sampling profiler) and prints where it went. */
const profile = args.includes("--profile");
const goalMs = 1000;
const log = (msg: string): void => void process.stderr.write(`[bench:lifecycle] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// The project: 5 repositories; two archive stagings idle for 7 days, one keeps archived ones 7 days.

const H = 3600 * 1000;
const D = 24 * H;
const T = Date.parse("2026-12-02T12:00:00.000Z"); // the quiet sweep's "now"
const T2 = T + 48 * H; // the acting sweep's "now"
const owner = "octo-org";
const repos: { repo: string; lifecycle: Partial<LifecyclePolicy> }[] = [
  { repo: "web", lifecycle: { idleDays: 7 } },
  { repo: "api", lifecycle: { idleDays: 7 } },
  { repo: "billing", lifecycle: { retentionDays: 7 } },
  { repo: "docs", lifecycle: {} },
  { repo: "mobile", lifecycle: {} },
];
const project: ProjectConfig = parseProjectConfig({
  repositories: repos.map((r) => ({
    repo: `${owner}/${r.repo}`,
    name: r.repo,
    chart: { repository: "https://charts.example.com", name: r.repo, version: "1.2.3" },
    values: { replicaCount: 2, image: { repository: `ghcr.io/${owner}/${r.repo}` } },
    hostTemplate: "{name}.staging.example.com",
    lifecycle: r.lifecycle,
  })),
});
const policyOf = (i: number): LifecyclePolicy => project.repositories[i]!.lifecycle ?? defaultLifecyclePolicy;

// ---------------------------------------------------------------------------------------------
// The population. Deadlines are relative to T (warnHours 24 everywhere):
//   A  deadline in (T+1h, T+23h], notice already given   → quiet at T (same notice), acted at T2
//      (idle archive, retention cleanup, and a keep ending then on a staging past its retention)
//   C  deadline in (T+49h, T+71h], no notice              → not a candidate at T, warned at T2
// Nothing is due without a notice given earlier (what the sweep does then has changed while this
// bench was written: act at once, or warn for a full window first), so the counts hold either way.
//   archived: deadline after T+3d (not a candidate at T or T2); active: activity within 3 days
//   (idle repositories) or 30 days (no idle policy); kept: keepUntil far ahead, `keep` forever or
//   the keep label (never candidates); deleted (cleaned up earlier).

type Kind = "active" | "archived" | "deleted" | "kept-until" | "kept-forever" | "kept-label" | "A-idle" | "A-retention" | "A-kept" | "C-idle" | "C-retention";

/** Per repository, by whether it has an idle policy; the rest of its stagings are "active". */
const groups: Record<"idle" | "plain", Partial<Record<Kind, number>>> = {
  idle: { "A-idle": 25, "A-retention": 8, "A-kept": 2, "C-idle": 50, "C-retention": 20, archived: 330, "kept-until": 20, "kept-forever": 20, "kept-label": 20, deleted: 80 },
  plain: { "A-retention": 8, "A-kept": 2, "C-retention": 20, archived: 330, "kept-until": 20, "kept-forever": 20, "kept-label": 20, deleted: 80 },
};

interface Plan {
  repo: number;
  pr: number;
  name: string;
  kind: Kind;
  desiredState: "active" | "archived" | "deleted";
  archivedAt: number | null;
  lastActivityAt: number;
  keepUntil: number | null;
  keepLabel: boolean;
  notice: { at: number; policy: LifecyclePolicyName } | null;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(20261202);
/** A whole second in [from, to). */
const between = (from: number, to: number): number => from + Math.floor((rng() * (to - from)) / 1000) * 1000;

function planFor(repo: number, pr: number, kind: Kind): Plan {
  const policy = policyOf(repo);
  const R = (policy.retentionDays ?? 14) * D;
  const I = (policy.idleDays ?? 7) * D;
  const name = stagingIdentity(project.repositories[repo]!, pr).name;
  const base = { repo, pr, name, kind, keepUntil: null, keepLabel: false, notice: null };
  const archived = (archivedAt: number): Pick<Plan, "desiredState" | "archivedAt" | "lastActivityAt"> => ({ desiredState: "archived", archivedAt, lastActivityAt: archivedAt - between(0, 5 * D) });
  const idle = (deadline: number): Pick<Plan, "desiredState" | "archivedAt" | "lastActivityAt"> => ({ desiredState: "active", archivedAt: null, lastActivityAt: deadline - I });
  const hasIdle = policy.idleDays !== null;
  switch (kind) {
    case "active":
      return { ...base, desiredState: "active", archivedAt: null, lastActivityAt: between(T - (hasIdle ? 3 : 30) * D, T) };
    case "archived":
      return { ...base, ...archived(between(T + 3 * D + H, T + R) - R) };
    case "deleted":
      return { ...base, desiredState: "deleted", archivedAt: null, lastActivityAt: between(T - 60 * D, T - 14 * D) };
    case "kept-until":
      return { ...base, ...archived(between(T - 40 * D, T - 20 * D)), keepUntil: between(T + 5 * D, T + 30 * D) };
    case "kept-forever":
      return { ...base, ...(hasIdle ? idle(between(T - 20 * D, T - D)) : archived(between(T - 40 * D, T - 20 * D))), keepUntil: keepForever.getTime() };
    case "kept-label":
      return { ...base, ...(hasIdle ? idle(between(T - 20 * D, T - D)) : archived(between(T - 40 * D, T - 20 * D))), keepLabel: true };
    case "A-idle": {
      const d = between(T + H, T + 23 * H);
      return { ...base, ...idle(d), notice: { at: d, policy: "idle" } };
    }
    case "A-retention": {
      const d = between(T + H, T + 23 * H);
      return { ...base, ...archived(d - R), notice: { at: d, policy: "retention" } };
    }
    case "A-kept": {
      const d = between(T + H, T + 23 * H);
      return { ...base, ...archived(between(T - 30 * D, T - 20 * D)), keepUntil: d, notice: { at: d, policy: "retention" } };
    }
    case "C-idle":
      return { ...base, ...idle(between(T + 49 * H, T + 71 * H)) };
    case "C-retention":
      return { ...base, ...archived(between(T + 49 * H, T + 71 * H) - R) };
  }
}

function population(): Plan[] {
  const perRepo = Math.floor(stagings / repos.length);
  const plans: Plan[] = [];
  repos.forEach((_, repo) => {
    const n = perRepo + (repo < stagings % repos.length ? 1 : 0);
    const counts = groups[policyOf(repo).idleDays !== null ? "idle" : "plain"];
    const kinds: Kind[] = Object.entries(counts).flatMap(([k, c]) => Array<Kind>(c).fill(k as Kind));
    if (kinds.length > n) throw new Error(`--stagings ${stagings}: at least ${kinds.length * repos.length} (the fixed groups)`);
    while (kinds.length < n) kinds.push("active");
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    kinds.forEach((kind, i) => plans.push(planFor(repo, i + 1, kind)));
  });
  return plans;
}

const count = (plans: readonly Plan[], ...kinds: Kind[]): number => plans.filter((p) => kinds.includes(p.kind)).length;

// ---------------------------------------------------------------------------------------------
// Seeding.

async function seed(store: StagingStore, plans: readonly Plan[]): Promise<void> {
  const one = async (p: Plan): Promise<void> => {
    const settings = project.repositories[p.repo]!;
    const repoName = repos[p.repo]!.repo;
    const sha = (p.pr * 7919 + p.repo).toString(16).padStart(40, "c");
    const out = await store.changeStaging({
      target: { key: { repoOwner: owner, repoName, prNumber: p.pr }, create: { ...stagingIdentity(settings, p.pr), installationId: 4242 } },
      deliveryId: `bench-lifecycle-${p.repo}-${p.pr}`,
      event: "pull_request.opened",
      decide: (current) =>
        decidePullRequestEvent(settings.trigger, current?.staging ?? null, { action: "opened", state: "open", merged: false, headSha: sha, headRef: `feature-${p.pr}`, draft: false, labels: [], fromFork: false, updatedAt: null }, githubActor("bench")),
      spec: pullRequestSpec(settings, owner, repoName, p.pr),
    });
    if (out.outcome !== "changed") throw new Error(`seed ${p.name}: ${out.outcome}`);
  };
  const started = performance.now();
  for (let i = 0; i < plans.length; i += 10) {
    await Promise.all(plans.slice(i, i + 10).map(one));
    if ((i + 10) % 2000 === 0) log(`${i + 10} stagings recorded (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}

/** The lifecycle facts of every staging in one statement (what months of pushes, archives and keeps leave behind). */
async function applyFacts(sql: pg.Client, plans: readonly Plan[]): Promise<void> {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const status = (s: Plan["desiredState"]): string => (s === "active" ? "running" : s);
  const res = await sql.query(
    `UPDATE "Staging" s SET "desiredState" = v.ds, "status" = v.st, "archivedAt" = v.aa, "lastActivityAt" = v.la,
       "keepUntil" = v.ku, "keepLabel" = v.kl, "noticeAt" = v.na, "noticePolicy" = v.np, "statusChangedAt" = COALESCE(v.aa, v.la),
       "observedGeneration" = s."generation",
       "deployedSha" = CASE WHEN v.ds = 'deleted' THEN NULL ELSE s."headSha" END,
       "archivedReplicas" = CASE WHEN v.ds = 'archived' THEN '{"Deployment/web": 2}'::jsonb ELSE NULL END
     FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamp(3)[], $5::timestamp(3)[], $6::timestamp(3)[], $7::boolean[], $8::timestamp(3)[], $9::text[])
       AS v(name, ds, st, aa, la, ku, kl, na, np)
     WHERE s."name" = v.name`,
    [
      plans.map((p) => p.name),
      plans.map((p) => p.desiredState),
      plans.map((p) => status(p.desiredState)),
      plans.map((p) => iso(p.archivedAt)),
      plans.map((p) => iso(p.lastActivityAt)),
      plans.map((p) => iso(p.keepUntil)),
      plans.map((p) => p.keepLabel),
      plans.map((p) => iso(p.notice?.at ?? null)),
      plans.map((p) => p.notice?.policy ?? null),
    ],
  );
  if (res.rowCount !== plans.length) throw new Error(`lifecycle facts: ${res.rowCount} rows updated, not ${plans.length}`);
}

// ---------------------------------------------------------------------------------------------
// Doubles and instruments.

interface QueueCounts {
  deploys: number;
  reports: number;
  commands: number;
}
const enqueued: QueueCounts = { deploys: 0, reports: 0, commands: 0 };
const queue: WorkQueue = {
  enqueueCommand: async () => void enqueued.commands++,
  enqueueDeploy: async () => void enqueued.deploys++,
  enqueueReport: async () => void enqueued.reports++,
};
const resetQueue = (): void => void Object.assign(enqueued, { deploys: 0, reports: 0, commands: 0 });

const warnings: string[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (meta, msg) => void warnings.push(`${msg} ${JSON.stringify(meta)}`),
  error: (meta, msg) => void warnings.push(`${msg} ${JSON.stringify(meta)}`),
  child: () => logger,
};

let nowMs = T;
const clock: Clock = { now: () => new Date(nowMs) };

/** Time spent in each store method (and calls), to say what dominates a sweep. */
const spent = new Map<string, { ms: number; calls: number }>();
function timed(store: StagingStore): StagingStore {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(store) as [string, (...a: unknown[]) => Promise<unknown>][]) {
    out[name] = async (...a: unknown[]) => {
      const started = performance.now();
      try {
        return await fn(...a);
      } finally {
        const s = spent.get(name) ?? { ms: 0, calls: 0 };
        s.ms += performance.now() - started;
        s.calls++;
        spent.set(name, s);
      }
    };
  }
  return out as unknown as StagingStore;
}

/** The store's Prisma client, recording the SQL of the next `$queryRaw` while `capture.on` (for EXPLAIN). */
const capture: { on: boolean; sql: Prisma.Sql | null } = { on: false, sql: null };
function capturing(db: Db): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== "$queryRaw") return Reflect.get(target, prop, receiver) as unknown;
      return (strings: TemplateStringsArray, ...values: unknown[]) => {
        if (capture.on) capture.sql = Prisma.sql(strings, ...(values as Prisma.Sql[]));
        return target.$queryRaw(strings, ...values);
      };
    },
  });
}

const expectSummary = (what: string, got: SweepSummary, want: SweepSummary): void => {
  const diff = (Object.keys(want) as (keyof SweepSummary)[]).filter((k) => got[k] !== want[k]);
  if (diff.length) throw new Error(`${what}: summary ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  if (warnings.length) throw new Error(`${what}: the sweep logged warnings:\n${warnings.slice(0, 5).join("\n")}`);
};
const expectQueue = (what: string, want: QueueCounts): void => {
  if (enqueued.deploys !== want.deploys || enqueued.reports !== want.reports || enqueued.commands !== want.commands) {
    throw new Error(`${what}: enqueued ${JSON.stringify(enqueued)}, expected ${JSON.stringify(want)}`);
  }
};

// ---------------------------------------------------------------------------------------------

const plans = population();
const expectedAt = {
  quietT: { candidates: count(plans, "A-idle", "A-retention", "A-kept"), archived: 0, cleanedUp: 0, warned: 0, noticesCleared: 0 },
  actT2: {
    candidates: count(plans, "A-idle", "A-retention", "A-kept", "C-idle", "C-retention"),
    archived: count(plans, "A-idle"),
    cleanedUp: count(plans, "A-retention", "A-kept"),
    warned: count(plans, "C-idle", "C-retention"),
    noticesCleared: 0,
  },
  quietT2: { candidates: count(plans, "C-idle", "C-retention"), archived: 0, cleanedUp: 0, warned: 0, noticesCleared: 0 },
};
const acting = expectedAt.actT2.archived + expectedAt.actT2.cleanedUp;
const expectedQueueT2: QueueCounts = { deploys: acting, reports: acting + expectedAt.actT2.warned, commands: 0 };

const db = await createTestDb();
const sql = new pg.Client({ connectionString: testDatabaseUrl, options: `-c search_path="${db.schema}"` });
await sql.connect();
try {
  const seedStarted = performance.now();
  await seed(db.store, plans);
  await applyFacts(sql, plans);
  await sql.query(`VACUUM ANALYZE "Staging"`);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const byKind = new Map<Kind, number>();
  for (const p of plans) byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
  const inState = (s: Plan["desiredState"]): number => plans.filter((p) => p.desiredState === s).length;
  const byState = { active: inState("active"), archived: inState("archived"), deleted: inState("deleted") };
  log(`${plans.length} stagings seeded in ${seedSeconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(byKind))}`);

  const store = timed(createStagingStore(capturing(db.db), { clock }));
  const deps = { store, queue, project, logger, clock };
  const rulesAt = (ms: number) => project.repositories.map((r) => ruleFor(r.repo.toLowerCase(), r.lifecycle ?? defaultLifecyclePolicy, new Date(ms)));

  type Row = { what: string; n: number; p50: number; p99: number; max: number; candidates: number; acted: string; goal: string; met: boolean | null };
  const rows: Row[] = [];
  const record = (what: string, ms: number[], candidates: number, acted: string, goal: boolean): void => {
    const s = summarize(ms);
    rows.push({ what, n: ms.length, p50: s.p50, p99: s.p99, max: s.max, candidates, acted, goal: goal ? `< ${goalMs} ms` : "", met: goal ? s.max < goalMs : null });
  };

  async function quietSweeps(what: string, want: SweepSummary): Promise<void> {
    for (let i = 0; i < 3; i++) expectSummary(`${what} (warm-up)`, await sweepLifecycle(deps), want);
    resetQueue();
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const summary = await sweepLifecycle(deps);
      ms.push(performance.now() - started);
      expectSummary(what, summary, want);
    }
    expectQueue(what, { deploys: 0, reports: 0, commands: 0 });
    record(what, ms, want.candidates, "0 (nothing due)", true);
  }

  async function queryAlone(what: string, at: number, want: number): Promise<string[]> {
    const rules = rulesAt(at);
    for (let i = 0; i < 3; i++) await store.listLifecycleCandidates(rules, 5_000);
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const got = await store.listLifecycleCandidates(rules, 5_000);
      ms.push(performance.now() - started);
      if (got.length !== want) throw new Error(`${what}: ${got.length} candidates, expected ${want}`);
    }
    capture.on = true;
    await store.listLifecycleCandidates(rules, 5_000);
    capture.on = false;
    if (!capture.sql) throw new Error("the candidate query was not captured");
    const explain = Prisma.sql`EXPLAIN (ANALYZE, BUFFERS) ${capture.sql}`;
    const lines = (await db.db.$queryRaw<{ "QUERY PLAN": string }[]>(explain)).map((r) => r["QUERY PLAN"]);
    // The plan PostgreSQL would take if it could not scan the table: whether the indexes serve the query at all.
    const [, forced] = await db.db.$transaction([db.db.$executeRaw`SET LOCAL enable_seqscan = off`, db.db.$queryRaw<{ "QUERY PLAN": string }[]>(explain)]);
    const forcedLines = forced.map((r) => r["QUERY PLAN"]);
    const describe = (plan: string[]): string => {
      const indexes = [...new Set(plan.flatMap((l) => [...l.matchAll(/Index (?:Only )?Scan (?:Backward )?(?:using|on) "?(\w+)"?/g)].map((m) => m[1]!)))];
      const seq = plan.some((l) => /Seq Scan on "?Staging"?/.test(l));
      const exec = plan.find((l) => l.startsWith("Execution Time"))?.replace("Execution Time: ", "") ?? "?";
      return `${seq ? "**Seq Scan**" : "no seq scan"}, ${indexes.length ? `indexes ${indexes.map((x) => `\`${x}\``).join(", ")}` : "no index"}, execution ${exec}`;
    };
    record(what, ms, want, `plan: ${describe(lines)}; with enable_seqscan off: ${describe(forcedLines)}`, false);
    return [...lines, "", "with enable_seqscan = off:", ...forcedLines];
  }

  // (1) Quiet: at T only already-noticed stagings are candidates, their notices still hold.
  nowMs = T;
  spent.clear();
  await quietSweeps(`quiet sweep at T (${expectedAt.quietT.candidates} noticed, none due)`, expectedAt.quietT);
  const quietSpent = Object.fromEntries([...spent].map(([k, v]) => [k, { ...v }]));

  // (2) The query alone, and its plan, at T and at T2 (before acting).
  const planT = await queryAlone(`listLifecycleCandidates at T`, T, expectedAt.quietT.candidates);
  nowMs = T2;
  const planT2 = await queryAlone(`listLifecycleCandidates at T+48h`, T2, expectedAt.actT2.candidates);

  // (3) Acting at T2: 100 due (idle archive, retention cleanup, a keep ended), 200 to warn. Between
  // runs the changed rows are put back from a snapshot (the audit rows they added stay).
  await sql.query(`CREATE TABLE bench_snapshot AS SELECT * FROM "Staging"`);
  const cols = (await sql.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'Staging' AND column_name <> 'id' ORDER BY ordinal_position`, [db.schema])).rows.map((r) => `"${r.column_name}"`);
  const restore = async (): Promise<number> =>
    (await sql.query(`UPDATE "Staging" s SET (${cols.join(", ")}) = (${cols.map((c) => `b.${c}`).join(", ")}) FROM bench_snapshot b WHERE s.id = b.id AND s."statusVersion" <> b."statusVersion"`)).rowCount ?? 0;
  const actMs: number[] = [];
  const actCpuMs: number[] = [];
  const actSpent: Record<string, { ms: number; calls: number }>[] = [];
  const profiler = profile ? new Session() : null;
  if (profiler) {
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
  }
  const profileDir = profiler ? mkdtempSync(join(os.tmpdir(), "octostage-bench-lifecycle-")) : "";
  const cpuByArea = new Map<string, number>();
  const cpuByFunction = new Map<string, number>();
  for (let i = 0; i < actRuns; i++) {
    if (i > 0) {
      const put = await restore();
      if (put !== expectedAt.actT2.candidates) throw new Error(`restore: ${put} rows put back, expected ${expectedAt.actT2.candidates}`);
    }
    resetQueue();
    spent.clear();
    if (profiler) await profiler.post("Profiler.start");
    const cpu = process.cpuUsage();
    const started = performance.now();
    const summary = await sweepLifecycle(deps);
    actMs.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    actCpuMs.push((used.user + used.system) / 1000);
    expectSummary(`acting sweep ${i + 1}`, summary, expectedAt.actT2);
    expectQueue(`acting sweep ${i + 1}`, expectedQueueT2);
    actSpent.push(Object.fromEntries([...spent].map(([k, v]) => [k, { ...v }])));
    if (profiler) {
      const { profile: cpuProfile } = await profiler.post("Profiler.stop");
      const path = join(profileDir, `acting-${i + 1}.cpuprofile`);
      writeFileSync(path, JSON.stringify(cpuProfile));
      const got = summarizeProfile(path);
      for (const r of got.byArea) cpuByArea.set(r.name, (cpuByArea.get(r.name) ?? 0) + r.ms);
      for (const r of got.byFunction) cpuByFunction.set(r.name, (cpuByFunction.get(r.name) ?? 0) + r.ms);
    }
  }
  const a = expectedAt.actT2;
  record(`acting sweep at T+48h`, actMs, a.candidates, `${a.archived} archived, ${a.cleanedUp} cleaned up, ${a.warned} warned; ${expectedQueueT2.deploys} deploy + ${expectedQueueT2.reports} report jobs`, true);
  const actRows = await sql.query<{ desiredState: string; n: string }>(`SELECT s."desiredState", count(*) AS n FROM "Staging" s JOIN bench_snapshot b USING (id) WHERE s."desiredState" <> b."desiredState" GROUP BY 1`);
  const moved = Object.fromEntries(actRows.rows.map((r) => [r.desiredState, Number(r.n)]));
  if (moved.archived !== a.archived || moved.deleted !== a.cleanedUp) throw new Error(`after acting: desired states changed ${JSON.stringify(moved)}, expected ${a.archived} archived, ${a.cleanedUp} deleted`);

  // (1b) Quiet again at T2 after acting: the 200 warned now carry their notices.
  spent.clear();
  await quietSweeps(`quiet sweep at T+48h after acting (${expectedAt.quietT2.candidates} noticed)`, expectedAt.quietT2);

  const startedAt = new Date();
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  const pgVersion = (await sql.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  console.log(`Lifecycle sweep, ${plans.length} stagings (${byState.active} active, ${byState.archived} archived, ${byState.deleted} deleted; ${count(plans, "kept-until", "kept-forever", "kept-label", "A-kept")} kept) in ${repos.length} repositories, ${startedAt.toISOString()}, ${describeSource()}, ${machine.cpus} cores, ${machine.node}, PostgreSQL ${pgVersion}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log("| what | n | p50 ms | p99 ms | max ms | candidates | result | goal | met |\n|---|---:|---:|---:|---:|---:|---|---|---|");
  const f = (x: number): string => (x < 100 ? x.toFixed(1) : Math.round(x).toString());
  for (const r of rows) console.log(`| ${r.what} | ${r.n} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${r.candidates} | ${r.acted} | ${r.goal} | ${r.met === null ? "" : r.met ? "yes" : "**no**"} |`);
  const fmtSpent = (s: Record<string, { ms: number; calls: number }>): string =>
    Object.entries(s)
      .sort((x, y) => y[1].ms - x[1].ms)
      .map(([k, v]) => `${k} ${f(v.ms)} ms / ${v.calls} calls`)
      .join(", ");
  console.log(`\nTime in the store, quiet sweeps at T (all ${runs + 3} runs): ${fmtSpent(quietSpent)}`);
  actSpent.forEach((s, i) => console.log(`Time in the store, acting sweep ${i + 1} (${f(actMs[i]!)} ms in all, of which this process on CPU ${f(actCpuMs[i]!)} ms): ${fmtSpent(s)}`));
  if (profiler) {
    profiler.disconnect();
    const top = (m: Map<string, number>, n: number): string =>
      [...m]
        .sort((x, y) => y[1] - x[1])
        .slice(0, n)
        .map(([k, v]) => `    ${f(v / actRuns).padStart(6)} ms  ${k}`)
        .join("\n");
    console.log(`\nCPU of this process per acting sweep (mean of ${actRuns}, self time, profiles in ${profileDir}), by area:\n${top(cpuByArea, 12)}\nby function:\n${top(cpuByFunction, 20)}`);
  }
  console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the candidate query at T:\n${planT.map((l) => `    ${l}`).join("\n")}`);
  console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the candidate query at T+48h:\n${planT2.map((l) => `    ${l}`).join("\n")}`);
  const out = join(root, "bench/lifecycle", `results-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    out,
    `${JSON.stringify({ benchmark: "lifecycle", date: startedAt.toISOString(), source: describeSource(), machine, postgres: pgVersion, options: { stagings, runs, actRuns }, population: Object.fromEntries(byKind), seedSeconds, rows, quietSpent, actSpent, actCpuMs, planT, planT2 }, null, 2)}\n`,
  );
  console.log(`\nresults: ${out}`);
  if (rows.some((r) => r.met === false)) process.exitCode = 1;
} finally {
  await sql.end();
  if (keepSchema) {
    await db.db.$disconnect();
    log(`schema ${db.schema} kept: ${db.url}`);
  } else {
    await db.drop();
  }
}
