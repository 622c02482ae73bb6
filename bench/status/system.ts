// The system under test: Octostage as its own process (`src/main/octostage.ts` with the flags
// `npm start` runs it with, OCTOSTAGE_ROLE=all), against real PostgreSQL and Redis; the Kubernetes API double,
// the GitHub API double and the helm double live in this (the bench) process, wired by URL as
// test/support/system.ts wires them.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { serverNodeFlags } from "../serve-command.ts";
import { createTestDb } from "../../test/support/db.ts";
import type { TestDb } from "../../test/support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../../test/support/github-double.ts";
import type { GitHubDouble } from "../../test/support/github-double.ts";
import { createHelmDouble } from "../../test/support/helm-double.ts";
import { startKubeApiDouble } from "../../test/support/kube-api-double.ts";
import type { KubeApiDouble } from "../../test/support/kube-api-double.ts";
import type { Program } from "../../test/support/octostage-process.ts";

const root = resolve(import.meta.dirname, "../..");
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const webhookSecret = "bench-status-secret";
export const installationId = 4242;
export const owner = "octo-org";
export const repo = "web";

/** Configured like e2eRepository in test/support/system.ts. */
export const benchRepository = {
  repo: `${owner}/${repo}`,
  name: "web",
  chart: { repository: "https://charts.example.com", name: "web", version: "1.2.3" },
  values: { replicaCount: 2, image: { repository: "ghcr.io/octo-org/web" }, ingress: { enabled: true } },
  hostTemplate: "{name}.staging.example.com",
};

export interface StatusSystem {
  kube: KubeApiDouble;
  github: GitHubDouble;
  db: TestDb;
  /** performance.now() of each GitHub request, index for index with github.requests. */
  githubTimes: number[];
  webhookUrl: string;
  /** The Octostage process (its own RSS and CPU). */
  pid: number;
  /** Milliseconds from spawn to /readyz answering 200 with a deploy worker connected. */
  startupMs: number;
  logPath: string;
  /** The server's latest process.memoryUsage() in MiB (bench/status/memory-probe.ts), if written. */
  memory(): Record<string, number> | undefined;
  /** process.memoryUsage() in MiB right after a forced full GC (the live heap). */
  memoryAfterGc(): Promise<Record<string, number> | undefined>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** Records when each item is pushed (the doubles record requests without a time). */
function stampPushes<T>(list: T[]): number[] {
  const times: number[] = [];
  const push = list.push.bind(list);
  list.push = (...items: T[]): number => {
    const now = performance.now();
    for (let i = 0; i < items.length; i++) times.push(now);
    return push(...items);
  };
  return times;
}

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

/** The workload informers' collections: Octostage watches each once (and, since issue 14, namespaces). */
const WORKLOAD_WATCHES = ["/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets", "/api/v1/pods", "/apis/batch/v1/jobs"];

/**
 * `seed` runs after the doubles and the schema exist, before Octostage starts. `role`
 * "worker" starts OCTOSTAGE_ROLE=worker (no HTTP server: ready once it watches).
 */
export async function startStatusSystem(
  logLevel: string,
  nodeFlags: string[],
  seed?: (kube: KubeApiDouble, db: TestDb) => Promise<void>,
  role: "all" | "worker" = "all",
  serverEnv: Record<string, string> = {},
  /** What runs (default: the sources, as `npm start`); the JavaScript build runs as the image does. */
  program?: Program,
): Promise<StatusSystem> {
  const [kube, github, db] = await Promise.all([startKubeApiDouble(), startGitHubDouble(), createTestDb()]);
  const githubTimes = stampPushes(github.requests);
  const helm = createHelmDouble();
  const dir = mkdtempSync(join(tmpdir(), "octostage-bench-status-"));
  const configPath = join(dir, "octostage.yaml");
  writeFileSync(configPath, stringify({ repositories: [benchRepository] }));
  const prefix = `bench-status-${randomBytes(4).toString("hex")}`;
  const port = await freePort();
  const logPath = join(dir, "octostage.log");
  const memoryPath = join(dir, "memory.json");
  const cleanupDoubles = async (): Promise<void> => {
    await Promise.allSettled([kube.close(), github.close(), dropQueueKeys(prefix)]);
    await db.drop();
    helm.cleanup();
  };
  try {
    await seed?.(kube, db);
  } catch (err) {
    await cleanupDoubles();
    throw err;
  }

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? tmpdir(),
    APP_ID: "1",
    PRIVATE_KEY: generateTestPrivateKey(),
    WEBHOOK_SECRET: webhookSecret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    PORT: String(port),
    HOST: "127.0.0.1",
    HELM_BIN: helm.bin,
    ...helm.env,
    KUBECONFIG: kube.kubeconfigPath,
    OCTOSTAGE_CONFIG: configPath,
    OCTOSTAGE_QUEUE_PREFIX: prefix,
    OCTOSTAGE_ROLE: role,
    LOG_LEVEL: logLevel,
    BENCH_STATUS_MEMORY_OUT: memoryPath,
    ...serverEnv,
  };
  const fd = openSync(logPath, "a");
  const spawnedAt = performance.now();
  const probe = join(root, "bench/status/memory-probe.mjs");
  const child = spawn(process.execPath, [...(program?.nodeFlags ?? serverNodeFlags()), ...nodeFlags, "--expose-gc", "--import", probe, program?.entry ?? "src/main/octostage.ts"], { cwd: program?.root ?? root, env, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await cleanupDoubles();
    rmSync(configPath, { force: true });
    rmSync(memoryPath, { force: true });
    rmSync(`${memoryPath}.gc`, { force: true });
  };
  const read = (path: string): Record<string, number> | undefined => {
    try {
      const usage = JSON.parse(readFileSync(path, "utf8")) as Record<string, number>;
      return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, Math.round(v / 2 ** 20)]));
    } catch {
      return undefined;
    }
  };
  const memory = (): Record<string, number> | undefined => read(memoryPath);
  const memoryAfterGc = async (): Promise<Record<string, number> | undefined> => {
    rmSync(`${memoryPath}.gc`, { force: true });
    child.kill("SIGUSR2");
    for (let i = 0; i < 100; i++, await sleep(100)) {
      const usage = read(`${memoryPath}.gc`);
      if (usage) return usage;
    }
    return undefined;
  };
  try {
    const base = `http://127.0.0.1:${port}`;
    for (const deadline = Date.now() + 60_000; ; await sleep(100)) {
      if (child.exitCode !== null) throw new Error(`Octostage exited with ${child.exitCode} at start-up; see ${logPath}`);
      if (Date.now() > deadline) throw new Error(`Octostage not ready within 60 s; see ${logPath}`);
      const ok = role === "worker" || (await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false));
      // The four workload informers (Deployments, StatefulSets, Pods, Jobs) are watching: the worker side is up.
      const watched = new Set(kube.requests.filter((r) => r.query.watch).map((r) => r.path));
      const watching = WORKLOAD_WATCHES.every((path) => watched.has(path));
      if (ok && watching) break;
    }
    return { kube, github, db, githubTimes, webhookUrl: `${base}/api/github/webhooks`, pid: child.pid!, startupMs: performance.now() - spawnedAt, logPath, memory, memoryAfterGc, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
