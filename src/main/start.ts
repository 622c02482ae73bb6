import { existsSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import type { DestinationStream } from "pino";
import { Probot } from "probot";
import type { ProbotOctokit } from "probot";
import { applyMigrations } from "../adapters/db/migrate.ts";
import { createDb } from "../adapters/db/prisma.ts";
import { createStagingStore } from "../adapters/db/staging-store.ts";
import { createGitHubCodeHost } from "../adapters/github/code-host.ts";
import { createProbotOctokitClass } from "../adapters/github/octokit.ts";
import { createHelmCli } from "../adapters/helm/helm-cli.ts";
import { createAjvChecker } from "../adapters/json-schema/ajv.ts";
import { createChartCatalog } from "../app/charts.ts";
import { createKubeCluster } from "../adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../adapters/kube/kube-config.ts";
import { KubeError } from "../adapters/kube/kube-error.ts";
import { createQueues } from "../adapters/queue/bullmq.ts";
import { createSlackChat } from "../adapters/slack/slack-chat.ts";
import type { AppDeps } from "../app/deps.ts";
import { errorSummary } from "../app/change-staging.ts";
import { defaultTiming, sleep } from "../app/timing.ts";
import type { Timing } from "../app/timing.ts";
import { hasGitHubApp, hasSlack } from "../config/env.ts";
import { ConfigError } from "../config/errors.ts";
import type { Env } from "../config/env.ts";
import { loadProjectConfig } from "../config/project.ts";
import { createJiraClient } from "../adapters/jira/jira-client.ts";
import { systemClock } from "../ports/clock.ts";
import type { Clock } from "../ports/clock.ts";
import { createLogger } from "./logger.ts";
import type { ServerPolling } from "./serve.ts";
import { startWorker } from "./worker.ts";

const root = resolve(import.meta.dirname, "../..");

export interface StartOptions extends ServerPolling {
  env: Env;
  /** Tests turn Octokit's throttling off; production keeps retry and throttling on. */
  octokit?: typeof ProbotOctokit;
  /** Lease, heartbeat and wait durations (tests shorten them). */
  timing?: Timing;
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream;
  /** The time as use cases see it (tests move it forward to cover weeks of lifecycle policies). */
  clock?: Clock;
}

export interface Octostage {
  url: string | undefined;
  deps: AppDeps | undefined;
  close(): Promise<void>;
}

/** The project config file: OCTOSTAGE_CONFIG, else ./octostage.yaml, else the example (with a warning). */
function projectConfigPath(env: Env): { path: string; example: boolean } {
  if (env.OCTOSTAGE_CONFIG !== "octostage.yaml" || existsSync(env.OCTOSTAGE_CONFIG)) return { path: env.OCTOSTAGE_CONFIG, example: false };
  return { path: resolve(root, "octostage.example.yaml"), example: true };
}

/**
 * The cluster's configuration: KUBECONFIG, else in-cluster, else ~/.kube/config as kubectl
 * and helm would. Missing or broken, start-up stops with a ConfigError saying what to set.
 */
async function kubeConfigFor(env: Env): Promise<ReturnType<typeof loadKubeConfig>> {
  const home = join(homedir(), ".kube", "config");
  const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);
  const path = env.KUBECONFIG ?? (!inCluster && existsSync(home) ? home : undefined);
  try {
    const connection = loadKubeConfig(path);
    // A kubeconfig for client-node (exec plugins and the like) is read by it now, not at the first request.
    await connection.ready();
    return connection;
  } catch (err) {
    if (err instanceof KubeError) throw new ConfigError("Kubernetes configuration", [`KUBECONFIG: ${err.message}`]);
    throw err;
  }
}

/** The composition root: the only place that wires adapters into use cases. */
export async function startOctostage(opts: StartOptions): Promise<Octostage> {
  const { env } = opts;
  const logger = createLogger(env.LOG_LEVEL, opts.logDestination);
  const cfg = projectConfigPath(env);
  if (cfg.example) logger.warn({ path: cfg.path }, "no octostage.yaml: using the example project config");
  const project = await loadProjectConfig(cfg.path);
  const applied = await applyMigrations({ databaseUrl: env.DATABASE_URL });
  if (applied.length) logger.info({ applied }, "database migrated");
  const db = createDb(env.DATABASE_URL);
  const clock = opts.clock ?? systemClock;
  const store = createStagingStore(db, { clock });
  const queues = createQueues({ redisUrl: env.REDIS_URL, prefix: env.OCTOSTAGE_QUEUE_PREFIX, logger });
  const closers: (() => Promise<void>)[] = [];
  const readiness = {
    database: async () => void (await db.$queryRaw`SELECT 1`),
    redis: () => queues.ping(),
  };
  const serve = env.OCTOSTAGE_ROLE !== "worker";

  if (!hasGitHubApp(env)) {
    logger.warn(
      { missing: ["APP_ID", "PRIVATE_KEY or PRIVATE_KEY_PATH", "WEBHOOK_SECRET"].filter((n) => !env[n.split(" ")[0] as keyof Env]) },
      "no GitHub App credentials: open the server's / page to register Octostage from app.yml (docs/operators/install.md)",
    );
    // Until registered, only the operator's own machine reaches the setup page, unless HOST says otherwise.
    const { serveSetupPages } = await import("./serve.ts");
    const http = await serveSetupPages(env, root, logger, readiness);
    logger.info({ url: http.url }, "Octostage is waiting to be registered as a GitHub App");
    return {
      url: http.url,
      deps: undefined,
      async close() {
        await http.close();
        await queues.close();
        await db.$disconnect();
      },
    };
  }

  const probot = new Probot({
    appId: env.APP_ID,
    privateKey: env.privateKey,
    secret: env.WEBHOOK_SECRET,
    log: logger,
    Octokit: opts.octokit ?? createProbotOctokitClass({ throttle: env.GITHUB_THROTTLE }),
    ...(env.GHE_HOST ? { baseUrl: `${env.GHE_PROTOCOL}://${env.GHE_HOST}/api/v3` } : {}),
  });
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  // Jira Cloud's remote links, when its credentials are configured (docs/operators/jira.md).
  const issueTracker = env.JIRA_BASE_URL && env.JIRA_EMAIL && env.JIRA_API_TOKEN ? createJiraClient({ baseUrl: env.JIRA_BASE_URL, email: env.JIRA_EMAIL, apiToken: env.JIRA_API_TOKEN }) : undefined;
  const intakeDeps = { store, queue: queues.workQueue, project, logger, clock, ...(issueTracker ? { issueTracker } : {}) };
  const codeHost = createGitHubCodeHost({ getOctokit: (id) => (id === undefined ? probot.auth() : probot.auth(id)), logger });
  // KUBECONFIG reaches helm through its environment (it may list several files).
  const helm = createHelmCli({ helmBin: env.HELM_BIN, env: env.KUBECONFIG ? { KUBECONFIG: env.KUBECONFIG } : {}, logger, killGraceMs: (opts.timing ?? defaultTiming).helmKillGraceMs });
  // Chart keys and values.schema.json checks, for the API (server) and PR comments (worker): `helm pull`, cached.
  const charts = createChartCatalog({ helm, checker: createAjvChecker(), clock });
  // Only workers talk to the cluster and run helm; a server-only process needs neither.
  const cluster = env.OCTOSTAGE_ROLE === "server" ? undefined : createKubeCluster({ kubeConfig: await kubeConfigFor(env), logger, deployerClusterRole: env.OCTOSTAGE_DEPLOYER_CLUSTERROLE });
  const deps: AppDeps | undefined =
    !cluster
      ? undefined
      : {
          ...intakeDeps,
          helm,
          charts,
          cluster,
          codeHost,
          workerId,
          timing: opts.timing ?? defaultTiming,
          sleep,
          ...(hasSlack(env) ? { chat: createSlackChat({ botToken: env.SLACK_BOT_TOKEN, ...(env.SLACK_API_URL ? { apiUrl: env.SLACK_API_URL } : {}) }) } : {}),
        };

  let url: string | undefined;
  if (serve) {
    const { startServer } = await import("./serve.ts");
    const server = await startServer({ env, opts, root, db, probot, intakeDeps, codeHost, charts, readiness });
    url = server.url;
    closers.push(...server.closers);
  }
  if (deps && cluster) {
    // The chart installs the deployer ClusterRole; on a development cluster the worker creates it if it may.
    await cluster.ensureDeployerRole().then(
      (outcome) => outcome === "created" && logger.info({ clusterRole: env.OCTOSTAGE_DEPLOYER_CLUSTERROLE }, "created the deployer ClusterRole"),
      (err: unknown) =>
        logger.warn(
          { clusterRole: env.OCTOSTAGE_DEPLOYER_CLUSTERROLE, err: errorSummary(err) },
          "could not check or create the deployer ClusterRole: install it and let the worker get it (docs/operators/install.md, Kubernetes access and RBAC); deploys fail until it exists",
        ),
    );
    const worker = await startWorker(deps, queues, {
      redisUrl: env.REDIS_URL,
      prefix: env.OCTOSTAGE_QUEUE_PREFIX,
      concurrency: env.OCTOSTAGE_WORKER_CONCURRENCY,
      reportConcurrency: env.OCTOSTAGE_REPORT_CONCURRENCY,
      reconcileEveryMs: env.OCTOSTAGE_RECONCILE_SECONDS * 1000,
      lifecycleEveryMs: env.OCTOSTAGE_LIFECYCLE_SECONDS * 1000,
      probeStore: readiness.database,
      pullRequestSync: { everyMs: env.OCTOSTAGE_PR_SYNC_SECONDS * 1000, batch: 10 },
    });
    closers.push(() => worker.close());
    logger.info({ concurrency: env.OCTOSTAGE_WORKER_CONCURRENCY, reportConcurrency: env.OCTOSTAGE_REPORT_CONCURRENCY }, "Octostage worker started");
  }
  return {
    url,
    deps,
    async close() {
      for (const close of closers.reverse()) await close();
      await queues.close();
      await db.$disconnect();
    },
  };
}
