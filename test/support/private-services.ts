/**
 * A PostgreSQL and a Redis of the test's own, on free ports in a temp directory, so a suite can
 * stop, restart and flush them without disturbing the other test files, which share
 * 127.0.0.1:5432 and 127.0.0.1:6379.
 *
 * - PostgreSQL: `initdb` (trust auth) and `pg_ctl start` (the `postgres` server) from the newest
 *   /usr/lib/postgresql/<version>/bin, listening on 127.0.0.1 only, its unix socket in the temp
 *   directory, fsync off. Run as the `postgres` OS user when we are root (postgres refuses to run
 *   as root). `stop()` is `pg_ctl -m fast stop`; `start()` again keeps the data and the port.
 *   The database `octostage` is created; Octostage migrates it when it starts.
 * - Redis: `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no --dir <tmp>`, a
 *   child process. Without persistence, a restart comes back empty (like a failover to a fresh
 *   replica); `flushall()` empties the running one.
 *
 * Both are stopped when the test process exits, whatever happens.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";

const setupHint = "Run `bash scripts/setup.sh` (it installs postgresql and redis-server).";

interface ServiceControl {
  port: number;
  /** Starts it (again, on the same port; PostgreSQL keeps its data). Resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and waits until it is gone. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  running(): boolean;
}

export interface PrivateServices {
  dir: string;
  /** The `octostage` database on the private PostgreSQL. */
  databaseUrl: string;
  redisUrl: string;
  postgres: ServiceControl & { logPath: string };
  redis: ServiceControl & { logPath: string; flushall(): Promise<void> };
  /** Stops both and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The newest PostgreSQL whose initdb, pg_ctl and postgres are installed. */
function postgresBin(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => ["initdb", "pg_ctl", "postgres"].every((b) => existsSync(join(base, v, "bin", b))))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error(`PostgreSQL server binaries not found in ${base}/<version>/bin (initdb, pg_ctl, postgres). ${setupHint}`);
  return join(base, versions[0], "bin");
}

function redisServerBin(): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/local/bin", "/usr/sbin"])) {
    const candidate = join(dir, "redis-server");
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(`redis-server not found on PATH. ${setupHint}`);
}

const isRoot = process.getuid?.() === 0;

/** argv that runs `file` as the postgres OS user when we are root (postgres refuses root). */
function asPostgres(file: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
}

function run(file: string, args: string[], what: string): string {
  const [cmd, argv] = asPostgres(file, args);
  const out = spawnSync(cmd, argv, { encoding: "utf8", timeout: 60_000 });
  if (out.error) throw new Error(`${what}: ${out.error.message}. ${setupHint}`);
  if (out.status !== 0) throw new Error(`${what} failed (exit ${out.status}):\n${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

export async function startPrivateServices(): Promise<PrivateServices> {
  const pgBin = postgresBin();
  const redisBin = redisServerBin();
  const dir = mkdtempSync(join(tmpdir(), "octostage-private-"));
  const dataDir = join(dir, "pgdata");
  const pgLog = join(dir, "postgres.log");
  const redisLog = join(dir, "redis.log");
  if (isRoot) {
    const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (id.status !== 0) throw new Error(`no \`postgres\` OS user to run PostgreSQL as (we are root). ${setupHint}`);
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const [pgPort, redisPort] = [await freePort(), await freePort()];

  run(join(pgBin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], "initdb");
  let pgRunning = false;
  const pgOptions = `-p ${pgPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;

  const postgres = {
    port: pgPort,
    logPath: pgLog,
    running: () => pgRunning,
    async start() {
      run(join(pgBin, "pg_ctl"), ["-D", dataDir, "-l", pgLog, "-o", pgOptions, "-w", "-t", "60", "start"], "pg_ctl start");
      pgRunning = true;
      for (let i = 0; i < 100 && !(await portOpen(pgPort)); i++) await sleep(50);
    },
    async stop() {
      if (!pgRunning) return;
      run(join(pgBin, "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"], "pg_ctl stop");
      pgRunning = false;
    },
    async restart() {
      await postgres.stop();
      await postgres.start();
    },
  };

  let redisChild: ChildProcess | undefined;
  const redis = {
    port: redisPort,
    logPath: redisLog,
    running: () => redisChild !== undefined,
    async start() {
      if (redisChild) return;
      const fd = openSync(redisLog, "a");
      const child = spawn(redisBin, ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
        stdio: ["ignore", fd, fd],
      });
      closeSync(fd);
      redisChild = child;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.once("exit", () => {
        if (redisChild === child) redisChild = undefined;
      });
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (await portOpen(redisPort)) break;
        const gone = await Promise.race([exited.then(() => true), sleep(50).then(() => false)]);
        if (gone || Date.now() > deadline) throw new Error(`redis-server did not start on ${redisPort}:\n${readFileSync(redisLog, "utf8").slice(-2000)}`);
      }
    },
    async stop() {
      const child = redisChild;
      if (!child) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      redisChild = undefined;
    },
    async restart() {
      await redis.stop();
      await redis.start();
    },
    async flushall() {
      const client = new Redis(redisPort, "127.0.0.1", { maxRetriesPerRequest: 1, lazyConnect: true });
      try {
        await client.connect();
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
  };

  // Whatever happens to the test process, the services go with it.
  const onExit = (): void => {
    if (pgRunning) {
      const [cmd, argv] = asPostgres(join(pgBin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "stop"]);
      spawnSync(cmd, argv, { timeout: 10_000 });
    }
    redisChild?.kill("SIGKILL");
  };
  process.once("exit", onExit);

  let stopped = false;
  const services: PrivateServices = {
    dir,
    databaseUrl: `postgresql://postgres@127.0.0.1:${pgPort}/octostage`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    postgres,
    redis,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off("exit", onExit);
      await Promise.allSettled([postgres.stop(), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all([postgres.start(), redis.start()]);
    const admin = new pg.Client({ host: "127.0.0.1", port: pgPort, user: "postgres", database: "postgres" });
    await admin.connect();
    await admin.query("CREATE DATABASE octostage");
    await admin.end();
  } catch (err) {
    await services.stop();
    throw err;
  }
  return services;
}
