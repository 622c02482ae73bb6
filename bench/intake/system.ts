// The system under test: Octostage as its own process(es) (`src/main/octostage.ts`, exactly as
// `npm start` runs it) against real PostgreSQL and Redis, with the GitHub API double, the
// Kubernetes API double and the helm double executable from test/support.
import { freePort } from "../../test/support/private-services.ts";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { createTestDb } from "../../test/support/db.ts";
import type { TestDb } from "../../test/support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../../test/support/github-double.ts";
import type { GitHubDouble } from "../../test/support/github-double.ts";
import { createHelmDouble } from "../../test/support/helm-double.ts";
import type { HelmDouble } from "../../test/support/helm-double.ts";
import { startKubeApiDouble } from "../../test/support/kube-api-double.ts";
import type { KubeApiDouble } from "../../test/support/kube-api-double.ts";
import type { BenchOptions } from "./args.ts";
import { serverNodeFlags } from "../serve-command.ts";

export const root = resolve(import.meta.dirname, "../..");
export const webhookSecret = "bench-webhook-secret";
export const installationId = 4242;
export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const webhookPath = "/api/github/webhooks";

/** The repository the bench sends webhooks for, configured like e2eRepository in test/support/system.ts. */
export const benchRepository = {
  repo: "octo-org/web",
  name: "web",
  chart: { repository: "https://charts.example.com", name: "web", version: "1.2.3" },
  values: { replicaCount: 2, image: { repository: "ghcr.io/octo-org/web" }, ingress: { enabled: true } },
  hostTemplate: "{name}.staging.example.com",
};

export interface StopRecord {
  role: string;
  /** From SIGTERM to exit. */
  ms: number;
  /** "exit 0", or "SIGKILL" when it had not stopped within the grace period. */
  how: string;
}

const stopGraceMs = 60_000;

interface Proc {
  role: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  spawnedAt: number;
}

export interface BenchSystem {
  baseUrl: string;
  webhookUrl: string;
  db: TestDb;
  helm: HelmDouble;
  github: GitHubDouble;
  kube: KubeApiDouble;
  queuePrefix: string;
  /** Server (and worker) output, one file per process. */
  logPaths: string[];
  /** The Octostage processes: OCTOSTAGE_ROLE, pid, and the epoch ms just before spawning. */
  processes: { role: string; pid: number; spawnedAt: number }[];
  /** Where the probe writes its JSON (when --probe). */
  probePath: string | undefined;
  /** Directory with the CPU profile(s) (when --cpu-prof). */
  cpuProfDir: string | undefined;
  /** Stops the processes gracefully (SIGTERM, then SIGKILL after 60 s); says how long each took. Idempotent. */
  stopProcesses(): Promise<StopRecord[]>;
  /** Everything else: doubles, schema, Redis keys, temp files. Idempotent. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, procs: Proc[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead) throw new Error(`the ${dead.role} process exited (${dead.child.exitCode ?? dead.child.signalCode}) before ${what}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Deletes every Redis key under the bench's queue prefix. */
async function dropQueueKeys(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

export async function startBenchSystem(opts: BenchOptions): Promise<BenchSystem> {
  const [kube, github, db] = await Promise.all([startKubeApiDouble(), startGitHubDouble(), createTestDb()]);
  const helm = createHelmDouble();
  const dir = mkdtempSync(join(tmpdir(), "octostage-bench-"));
  const configPath = join(dir, "octostage.yaml");
  writeFileSync(configPath, stringify({ repositories: [benchRepository] }));
  const queuePrefix = `bench-${randomBytes(4).toString("hex")}`;
  const port = await freePort();
  const probePath = opts.probe ? join(dir, "probe-server.json") : undefined;
  const cpuProfDir = opts.cpuProf ? join(dir, "cpu-prof") : undefined;

  // --helm-nice: a wrapper that runs the helm double at a lower CPU priority. Octostage starts
  // helm in its own session (detached), and with sched_autogroup each session is scheduled as a
  // group of its own, where a plain nice value changes nothing against other sessions: so the
  // wrapper lowers its session's autogroup nice too (/proc/self/autogroup, Linux), then nice.
  let helmBin = helm.bin;
  if (opts.helmNice > 0) {
    helmBin = join(dir, "helm-niced");
    const script = [
      "#!/bin/sh",
      `[ -w /proc/self/autogroup ] && echo ${opts.helmNice} > /proc/self/autogroup 2>/dev/null`,
      `exec /usr/bin/nice -n ${opts.helmNice} "${helm.bin}" "$@"`,
      "",
    ].join("\n");
    writeFileSync(helmBin, script, { mode: 0o755 });
  }

  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? tmpdir(),
    APP_ID: "1",
    PRIVATE_KEY: generateTestPrivateKey(),
    WEBHOOK_SECRET: webhookSecret,
    WEBHOOK_PATH: webhookPath,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    PORT: String(port),
    HOST: "127.0.0.1",
    HELM_BIN: helmBin,
    // All HELM_*: the helm adapter passes them through to the helm double.
    ...helm.env,
    KUBECONFIG: kube.kubeconfigPath,
    OCTOSTAGE_CONFIG: configPath,
    OCTOSTAGE_QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: opts.logLevel,
    ...(opts.workerConcurrency ? { OCTOSTAGE_WORKER_CONCURRENCY: String(opts.workerConcurrency) } : {}),
  };

  const procs: Proc[] = [];
  const logPaths: string[] = [];
  function start(role: "all" | "server" | "worker", extra: Record<string, string> = {}): void {
    const nodeFlags: string[] = serverNodeFlags(role);
    // The probe measures the server side of intake; the worker process (if separate) is left alone.
    if (probePath && role !== "worker") nodeFlags.push("--import", "./bench/intake/probe.ts");
    if (cpuProfDir) nodeFlags.push("--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${role}.cpuprofile`);
    const logPath = join(dir, `${role}.log`);
    const fd = openSync(logPath, "a");
    const spawnedAt = Date.now();
    const child = spawn(process.execPath, [...nodeFlags, "src/main/octostage.ts"], {
      cwd: root,
      env: { ...baseEnv, OCTOSTAGE_ROLE: role, ...(probePath && role !== "worker" ? { BENCH_PROBE_OUT: probePath } : {}), ...extra },
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    procs.push({ role, child, exited, spawnedAt });
    logPaths.push(logPath);
  }

  let stopping: Promise<StopRecord[]> | undefined;
  function stopProcesses(): Promise<StopRecord[]> {
    stopping ??= Promise.all(
      procs.map(async (p): Promise<StopRecord> => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return { role: p.role, ms: 0, how: `had exited (${p.child.exitCode ?? p.child.signalCode})` };
        const started = Date.now();
        p.child.kill("SIGTERM");
        const timer = setTimeout(() => {
          process.stderr.write(`[bench:intake] the ${p.role} process did not stop within ${stopGraceMs / 1000} s of SIGTERM: killing it\n`);
          p.child.kill("SIGKILL");
        }, stopGraceMs);
        const code = await p.exited;
        clearTimeout(timer);
        const record = { role: p.role, ms: Date.now() - started, how: code === null ? String(p.child.signalCode) : `exit ${code}` };
        process.stderr.write(`[bench:intake] the ${p.role} process stopped in ${record.ms} ms (${record.how})\n`);
        return record;
      }),
    );
    return stopping;
  }
  let cleaned = false;
  async function cleanup(): Promise<void> {
    if (cleaned) return;
    cleaned = true;
    await stopProcesses();
    await Promise.allSettled([kube.close(), github.close(), dropQueueKeys(queuePrefix)]);
    await db.drop();
    helm.cleanup();
    // Logs, probe output and profiles stay in `dir` when something is worth reading.
    const keep = readdirSync(dir).some((f) => (f.endsWith(".log") && statSync(join(dir, f)).size > 0) || f === "cpu-prof" || f.startsWith("probe"));
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }

  try {
    if (opts.worker === "in-process") start("all");
    else start("server");
    if (opts.worker === "separate") start("worker");
    const baseUrl = `http://127.0.0.1:${port}`;
    await until("/readyz to answer 200", async () => (await fetch(`${baseUrl}/readyz`)).status === 200, 60_000, procs);
    if (opts.worker !== "none") {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const deploy = new Queue("deploy", { connection, prefix: queuePrefix });
      try {
        await until("the deploy worker to connect", async () => (await deploy.getWorkersCount()) > 0, 60_000, procs);
      } finally {
        await deploy.close();
        connection.disconnect();
      }
    }
    return {
      baseUrl,
      webhookUrl: `${baseUrl}${webhookPath}`,
      db,
      helm,
      github,
      kube,
      queuePrefix,
      logPaths,
      processes: procs.map((p) => ({ role: p.role, pid: p.child.pid!, spawnedAt: p.spawnedAt })),
      probePath,
      cpuProfDir,
      stopProcesses,
      cleanup,
    };
  } catch (err) {
    const tails = logPaths.map((path) => `--- ${path} (last lines) ---\n${readFileSync(path, "utf8").split("\n").slice(-25).join("\n")}`);
    process.stderr.write(`${tails.join("\n")}\n`);
    await cleanup().catch(() => undefined);
    throw err;
  }
}
