/**
 * Octostage as separate processes for fault injection: one server (OCTOSTAGE_ROLE=server) and two
 * workers (OCTOSTAGE_ROLE=worker; bench/recovery runs one), each `node src/main/octostage.ts`, against a PostgreSQL and a
 * Redis of their own (test/support/private-services.ts: they can be stopped, restarted and
 * flushed without disturbing other test files) and the Kubernetes API, helm and GitHub doubles,
 * which run in this process. Used by test/fault/fault-suite.test.ts, bench/fault/run.ts and
 * bench/recovery/run.ts.
 *
 * It keeps a ledger of the intents it sent (each PR's last pushed SHA, each override command) and
 * checks them against what Octostage did: the Staging rows (read with plain SQL, so a restart of
 * PostgreSQL does not break the observer), helm's recorded calls and values, and the check runs
 * at the GitHub double.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { Redis } from "ioredis";
import pg from "pg";
import { stringify } from "yaml";
import { generateTestPrivateKey, startGitHubDouble } from "../support/github-double.ts";
import type { GitHubDouble } from "../support/github-double.ts";
import { createHelmDouble, releaseHistory } from "../support/helm-double.ts";
import type { HelmCall, HelmDouble } from "../support/helm-double.ts";
import { startKubeApiDouble } from "../support/kube-api-double.ts";
import type { KubeApiDouble } from "../support/kube-api-double.ts";
import { startOctostageProcess } from "../support/octostage-process.ts";
import type { OctostageProcess, Program } from "../support/octostage-process.ts";
import { freePort, startPrivateServices } from "../support/private-services.ts";
import type { PrivateServices } from "../support/private-services.ts";
import { deliverWebhook, issueCommentPayload, pullRequestPayload } from "../support/webhooks.ts";
import type { Delivery } from "../support/webhooks.ts";

const webhookSecret = "fault-webhook-secret";
const installationId = 4242;
const owner = "octo-org";
const repo = "web";
/** Has write permission on the repository: may run /octo override. */
const committer = "dev";

const faultRepository = {
  repo: `${owner}/${repo}`,
  name: repo,
  chart: { repository: "https://charts.example.com", name: "web", version: "1.2.3" },
  values: { replicaCount: 2, image: { repository: "ghcr.io/octo-org/web" }, ingress: { enabled: true } },
  hostTemplate: "{name}.staging.example.com",
};

const releaseOf = (pr: number): string => `${repo}-pr-${pr}`;
const namespaceOf = (pr: number): string => `octostage-${repo}-pr-${pr}`;

/** What was asked of one PR's staging: the last pushed head, and every override sent (key → value). */
interface PrIntent {
  sha: string;
  overrides: Record<string, unknown>;
}

interface StagingRow {
  id: string;
  prNumber: number;
  status: string;
  reason: string | null;
  headSha: string;
  deployedSha: string | null;
  generation: number;
  observedGeneration: number;
  statusVersion: number;
  lastDeployError: string | null;
  reportedVersion: number | null;
}

interface ConvergeOptions {
  /** Also require GitHub to show it: the channel reported the latest status and the head's check run succeeded. Default true. */
  reported?: boolean;
  /** Only these PRs (default: every PR opened). */
  prs?: number[];
}

export interface FaultSystem {
  dir: string;
  services: PrivateServices;
  kube: KubeApiDouble;
  helm: HelmDouble;
  github: GitHubDouble;
  server: OctostageProcess;
  /** The live workers (a killed one is replaced through replaceWorker). */
  workers: OctostageProcess[];
  /** Every Octostage process started, dead ones included (their logs stay readable). */
  processes: OctostageProcess[];
  webhookUrl: string;
  /** OCTOSTAGE_QUEUE_PREFIX of the processes. */
  queuePrefix: string;
  /** A client of the private Redis, to look at (reconnects after a restart; commands fail while it is down). */
  redis: Redis;
  /** Is a reconcile run in progress somewhere (its Redis lock `<prefix>:reconcile:lock` is set)? */
  reconcileLockHeld(): Promise<boolean>;
  intents: Map<number, PrIntent>;
  /** Intents sent (PR opened or pushed, override commands). */
  sent: { count: number };
  deliver(event: string, payload: unknown, id?: string): Promise<Delivery>;
  /** Opens a PR on GitHub (the double) and sends its `opened` webhook. */
  open(pr: number): Promise<Delivery & { sha: string; payload: unknown }>;
  /** Pushes a new head to the PR (the double) and sends its `synchronize` webhook. */
  push(pr: number): Promise<Delivery & { sha: string; payload: unknown }>;
  /** Posts `/octo override key=value` as the committer (the comment exists on GitHub first). */
  override(pr: number, key: string, value: string | number | boolean): Promise<Delivery & { commentId: number }>;
  startWorker(name: string): Promise<OctostageProcess>;
  /** Waits for a dead worker's exit and starts a new one in its place. */
  replaceWorker(dead: OctostageProcess): Promise<OctostageProcess>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  staging(pr: number): Promise<StagingRow | undefined>;
  /** The pid of the worker holding the PR's deploy lease (from its owner id host:pid:random), if one does. */
  deployLeaseHolderPid(pr: number): Promise<number | undefined>;
  /** helm upgrade calls of the PR's release, in start order. */
  upgrades(pr: number): HelmCall[];
  /** The last revision's status of the PR's release (helm's Secrets in the API double). */
  releaseStatus(pr: number): string | undefined;
  /** What does not match the ledger yet, one line per problem; empty when everything converged. */
  problems(options?: ConvergeOptions): Promise<string[]>;
  /** Polls problems() until empty or the timeout; returns the time it took and what was left. */
  waitConverged(timeoutMs: number, options?: ConvergeOptions): Promise<{ ms: number; problems: string[] }>;
  /** The last `lines` lines of every process's output, for a failing test. */
  logTails(lines?: number): string;
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let shaCounter = 0;
function nextSha(pr: number): string {
  shaCounter += 1;
  return createHash("sha1").update(`${process.pid}:${pr}:${shaCounter}:${randomUUID()}`).digest("hex");
}

function valueAt(values: unknown, path: string): unknown {
  let at: unknown = values;
  for (const part of path.split(".")) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

export interface FaultSystemOptions {
  /** Extra environment for every Octostage process. */
  env?: Record<string, string>;
  /** Workers started with the server (default 2: worker-a, worker-b). */
  workers?: number;
  /**
   * The kubeconfig the processes use (default: the Kubernetes API double's own), e.g. one that
   * points at a proxy in front of the double (bench/recovery adds latency that way).
   */
  kubeconfig?: (kube: KubeApiDouble, dir: string) => Promise<string>;
  /** What the processes run (default: this repository's sources), e.g. the JavaScript build. */
  program?: Program;
}

export async function startFaultSystem(options: FaultSystemOptions = {}): Promise<FaultSystem> {
  const dir = mkdtempSync(join(tmpdir(), "octostage-fault-"));
  const services = await startPrivateServices();
  const [kube, github] = await Promise.all([startKubeApiDouble(), startGitHubDouble()]);
  const helm = createHelmDouble();
  github.setPermission(owner, repo, committer, "write");
  let kubeconfigPath = kube.kubeconfigPath;
  if (options.kubeconfig) {
    try {
      kubeconfigPath = await options.kubeconfig(kube, dir);
    } catch (err) {
      await Promise.all([kube.close(), github.close(), services.stop()]);
      helm.cleanup();
      throw err;
    }
  }
  const configPath = join(dir, "octostage.yaml");
  writeFileSync(configPath, stringify({ repositories: [faultRepository] }));
  const port = await freePort();
  const env: Record<string, string> = {
    APP_ID: "1",
    PRIVATE_KEY: generateTestPrivateKey(),
    WEBHOOK_SECRET: webhookSecret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    GITHUB_THROTTLE: "false",
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    HOST: "127.0.0.1",
    HELM_BIN: helm.bin,
    ...helm.env,
    KUBECONFIG: kubeconfigPath,
    OCTOSTAGE_CONFIG: configPath,
    OCTOSTAGE_QUEUE_PREFIX: `fault-${randomUUID().slice(0, 8)}`,
    OCTOSTAGE_RECONCILE_SECONDS: "1",
    LOG_LEVEL: "info",
    ...options.env,
  };
  const queuePrefix = env.OCTOSTAGE_QUEUE_PREFIX!;
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  redis.on("error", () => undefined);
  const pool = new pg.Pool({ connectionString: services.databaseUrl, max: 2, connectionTimeoutMillis: 2_000 });
  // A restart of PostgreSQL ends idle connections: the pool reports it here, and reconnects.
  pool.on("error", () => undefined);
  const processes: OctostageProcess[] = [];
  const workers: OctostageProcess[] = [];
  const intents = new Map<number, PrIntent>();
  const sent = { count: 0 };
  const human = new Octokit({ auth: "a-person", baseUrl: github.apiUrl });

  async function startWorker(name: string): Promise<OctostageProcess> {
    const w = await startOctostageProcess("worker", env, { name, logPath: join(dir, `${name}-${processes.length}.log`), ...(options.program ? { program: options.program } : {}) });
    processes.push(w);
    workers.push(w);
    return w;
  }

  let server: OctostageProcess;
  try {
    // The server first: it applies the migrations, so the workers do not race to.
    server = await startOctostageProcess("server", { ...env, PORT: String(port) }, { name: "server", logPath: join(dir, "server.log"), ...(options.program ? { program: options.program } : {}) });
    processes.push(server);
    const names = Array.from({ length: options.workers ?? 2 }, (_, i) => `worker-${String.fromCharCode(97 + i)}`);
    await Promise.all(names.map((name) => startWorker(name)));
  } catch (err) {
    for (const p of processes) p.kill("SIGKILL");
    redis.disconnect();
    await pool.end().catch(() => undefined);
    await Promise.all([kube.close(), github.close(), services.stop()]);
    helm.cleanup();
    throw err;
  }
  const webhookUrl = `${server.url}/api/github/webhooks`;

  const deliver = (event: string, payload: unknown, id?: string): Promise<Delivery> => deliverWebhook(webhookUrl, event, payload, webhookSecret, id);

  async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await pool.query(sql, params)).rows as T[];
  }

  async function staging(pr: number): Promise<StagingRow | undefined> {
    const rows = await query<StagingRow>(
      `SELECT s.id, s."prNumber", s.status, s.reason, s."headSha", s."deployedSha", s.generation, s."observedGeneration", s."statusVersion", s."lastDeployError",
              c."reportedVersion"
         FROM "Staging" s LEFT JOIN "ReportChannel" c ON c."stagingId" = s.id AND c.channel = 'github'
        WHERE s."repoOwner" = $1 AND s."repoName" = $2 AND s."prNumber" = $3`,
      [owner, repo, pr],
    );
    return rows[0];
  }

  const upgrades = (pr: number): HelmCall[] => helm.calls().filter((c) => c.argv[0] === "upgrade" && c.argv[2] === releaseOf(pr));

  async function problems(opts: ConvergeOptions = {}): Promise<string[]> {
    const reported = opts.reported ?? true;
    const out: string[] = [];
    for (const [pr, intent] of intents) {
      if (opts.prs && !opts.prs.includes(pr)) continue;
      const s = await staging(pr);
      if (!s) {
        out.push(`PR ${pr}: no staging`);
        continue;
      }
      const short = (x: string | null) => x?.slice(0, 7) ?? "null";
      if (s.headSha !== intent.sha) out.push(`PR ${pr}: headSha ${short(s.headSha)}, last pushed ${short(intent.sha)} (intent not recorded)`);
      if (s.deployedSha !== intent.sha) out.push(`PR ${pr}: deployedSha ${short(s.deployedSha)}, last pushed ${short(intent.sha)}`);
      if (s.observedGeneration < s.generation) out.push(`PR ${pr}: generation ${s.generation} not applied (observed ${s.observedGeneration})`);
      if (s.status !== "running") out.push(`PR ${pr}: status ${s.status}${s.reason ? ` (${s.reason})` : ""}`);
      if (s.lastDeployError) out.push(`PR ${pr}: lastDeployError ${s.lastDeployError}`);
      const ok = upgrades(pr).filter((c) => c.exitCode === 0);
      const last = ok.at(-1);
      if (!last) out.push(`PR ${pr}: no successful helm upgrade`);
      else {
        const values = last.values[0];
        if (valueAt(values, "image.tag") !== intent.sha) out.push(`PR ${pr}: last successful helm upgrade has image.tag ${String(valueAt(values, "image.tag")).slice(0, 7)}`);
        for (const [key, value] of Object.entries(intent.overrides)) {
          if (valueAt(values, key) !== value) out.push(`PR ${pr}: override ${key}=${String(value)} not in helm's last values (${JSON.stringify(valueAt(values, key))})`);
        }
      }
      if (reported) {
        if ((s.reportedVersion ?? 0) < s.statusVersion) out.push(`PR ${pr}: status version ${s.statusVersion} not reported to GitHub (reported ${s.reportedVersion})`);
        const runs = github.checkRuns.filter((r) => r.head_sha === intent.sha);
        const run = runs.at(-1);
        if (!run) out.push(`PR ${pr}: no check run for ${short(intent.sha)}`);
        else if (run.conclusion !== "success") out.push(`PR ${pr}: check run for ${short(intent.sha)} is ${run.status}/${run.conclusion} "${run.output?.title}"`);
        if (runs.length > 1) out.push(`PR ${pr}: ${runs.length} check runs for ${short(intent.sha)}`);
      }
    }
    return out;
  }

  let stopped = false;
  const system: FaultSystem = {
    dir,
    services,
    kube,
    helm,
    github,
    server,
    workers,
    processes,
    webhookUrl,
    queuePrefix,
    redis,
    reconcileLockHeld: async () => (await redis.exists(`${queuePrefix}:reconcile:lock`)) === 1,
    intents,
    sent,
    deliver,
    async open(pr) {
      const sha = nextSha(pr);
      github.openPullRequest(owner, repo, { number: pr, sha, ref: `feature-${pr}` });
      intents.set(pr, { sha, overrides: {} });
      sent.count += 1;
      const payload = pullRequestPayload("opened", { owner, repo, number: pr, sha, ref: `feature-${pr}`, installationId });
      return { ...(await deliver("pull_request", payload)), sha, payload };
    },
    async push(pr) {
      const intent = intents.get(pr);
      if (!intent) throw new Error(`PR ${pr} was not opened`);
      const sha = nextSha(pr);
      github.pushPullRequest(owner, repo, pr, sha);
      intent.sha = sha;
      sent.count += 1;
      const payload = pullRequestPayload("synchronize", { owner, repo, number: pr, sha, ref: `feature-${pr}`, installationId });
      return { ...(await deliver("pull_request", payload)), sha, payload };
    },
    async override(pr, key, value) {
      const intent = intents.get(pr);
      if (!intent) throw new Error(`PR ${pr} was not opened`);
      const body = `/octo override ${key}=${String(value)}`;
      // A person's comment: they would post it again if GitHub answered 5xx.
      let data: { id: number } | undefined;
      for (let attempt = 1; !data; attempt++) {
        try {
          data = (await human.rest.issues.createComment({ owner, repo, issue_number: pr, body })).data;
        } catch (err) {
          if (attempt >= 5) throw err;
          await sleep(200);
        }
      }
      intent.overrides[key] = value;
      sent.count += 1;
      const delivery = await deliver("issue_comment", issueCommentPayload({ owner, repo, number: pr, installationId, body, login: committer, commentId: data.id }));
      return { ...delivery, commentId: data.id };
    },
    startWorker,
    async replaceWorker(dead) {
      await dead.exited;
      const at = workers.indexOf(dead);
      if (at >= 0) workers.splice(at, 1);
      return startWorker(dead.name);
    },
    query,
    staging,
    async deployLeaseHolderPid(pr) {
      const rows = await query<{ owner: string }>(
        `SELECT l.owner FROM "Lease" l JOIN "Staging" s ON s.id = l."stagingId"
          WHERE s."repoOwner" = $1 AND s."repoName" = $2 AND s."prNumber" = $3 AND l.kind = 'deploy' AND l."expiresAt" > now()`,
        [owner, repo, pr],
      );
      const pid = rows[0]?.owner.split(":").at(-2);
      return pid === undefined ? undefined : Number(pid);
    },
    upgrades,
    releaseStatus: (pr) => releaseHistory(kube, namespaceOf(pr), releaseOf(pr)).at(-1)?.status,
    problems,
    async waitConverged(timeoutMs, opts) {
      const started = Date.now();
      for (;;) {
        const left = await problems(opts).catch((err: unknown) => [`cannot read the state: ${(err as Error).message}`]);
        if (!left.length || Date.now() - started > timeoutMs) return { ms: Date.now() - started, problems: left };
        await sleep(100);
      }
    },
    logTails(lines = 80) {
      return processes
        .map((p) => {
          const tail = p.logs().trimEnd().split("\n").slice(-lines).join("\n");
          return `----- ${p.name} (pid ${p.pid}, ${p.alive() ? "alive" : "exited"}; full log: ${p.logPath}) -----\n${tail}`;
        })
        .join("\n");
    },
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      await Promise.all(processes.map((p) => p.stop(15_000)));
      await pool.end().catch(() => undefined);
      redis.disconnect();
      await Promise.all([kube.close(), github.close(), services.stop()]);
      helm.cleanup();
      if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return system;
}
