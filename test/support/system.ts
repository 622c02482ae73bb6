// The whole of Octostage, started through its composition root against the doubles:
// Kubernetes API double, helm double executable, GitHub API double, real Postgres and Redis.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { createProbotOctokitClass } from "../../src/adapters/github/octokit.ts";
import { parseEnv } from "../../src/config/env.ts";
import { startOctostage } from "../../src/main/start.ts";
import type { Octostage } from "../../src/main/start.ts";
import { createTestDb } from "./db.ts";
import type { TestDb } from "./db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "./github-double.ts";
import type { GitHubDouble } from "./github-double.ts";
import { createHelmDouble } from "./helm-double.ts";
import type { HelmDouble } from "./helm-double.ts";
import { startKubeApiDouble } from "./kube-api-double.ts";
import type { KubeApiDouble } from "./kube-api-double.ts";
import { installOctostageRbac } from "./octostage-rbac.ts";
import type { Clock } from "../../src/ports/clock.ts";
import type { Timing } from "../../src/app/timing.ts";

export const webhookSecret = "e2e-webhook-secret";
export const installationId = 4242;

export interface TestSystem {
  app: Octostage;
  webhookUrl: string;
  kube: KubeApiDouble;
  helm: HelmDouble;
  github: GitHubDouble;
  db: TestDb;
  stop(): Promise<void>;
}

export const e2eRepository = {
  repo: "octo-org/web",
  name: "web",
  chart: { repository: "https://charts.example.com", name: "web", version: "1.2.3" },
  values: { replicaCount: 2, image: { repository: "ghcr.io/octo-org/web" }, ingress: { enabled: true } },
  hostTemplate: "{name}.staging.example.com",
};

export interface TestSystemOptions {
  /** Every log line the system writes (JSON), at LOG_LEVEL. */
  logs?: string[];
  /**
   * The Kubernetes API double enforces RBAC, and the worker authenticates as its ServiceAccount
   * with exactly the chart's worker ClusterRole (see octostage-rbac.ts).
   */
  rbac?: boolean;
  /** How often an API event stream looks for a new status (default 1 s). */
  apiEventPollMs?: number;
  /** The time Octostage's use cases see (test/support/clock.ts moves it forward). */
  clock?: Clock;
  /** Lease, retry and wait durations (defaultTiming otherwise). */
  timing?: Timing;
  /** How often a Slack answer following a staging looks at it (default 2 s). */
  slackFollowPollMs?: number;
  /** The web dashboard on, signing in through the GitHub double's OAuth client; its live pages look every `dashboardLivePollMs`. */
  dashboard?: boolean;
  dashboardLivePollMs?: number;
  /** Top-level project config besides `repositories` (cost prices, housekeeping). */
  project?: Record<string, unknown>;
}

export async function startTestSystem(repositories: unknown[] = [e2eRepository], extraEnv: Record<string, string> = {}, options: TestSystemOptions = {}): Promise<TestSystem> {
  const [kube, github, db] = await Promise.all([startKubeApiDouble({ rbac: options.rbac === true }), startGitHubDouble(), createTestDb()]);
  const kubeconfig = options.rbac ? await installOctostageRbac(kube) : kube.kubeconfigPath;
  const helm = createHelmDouble();
  // helm runs with a minimal environment that keeps HELM_* variables: the double's settings.
  Object.assign(process.env, helm.env);
  const dir = mkdtempSync(join(tmpdir(), "octostage-e2e-"));
  const configPath = join(dir, "octostage.yaml");
  writeFileSync(configPath, stringify({ ...options.project, repositories }));
  const env = parseEnv({
    APP_ID: "1",
    PRIVATE_KEY: generateTestPrivateKey(),
    WEBHOOK_SECRET: webhookSecret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    DATABASE_URL: db.url,
    REDIS_URL: "redis://127.0.0.1:6379",
    PORT: "0",
    HOST: "127.0.0.1",
    HELM_BIN: helm.bin,
    KUBECONFIG: kubeconfig,
    OCTOSTAGE_CONFIG: configPath,
    OCTOSTAGE_QUEUE_PREFIX: `e2e-${randomBytes(4).toString("hex")}`,
    OCTOSTAGE_RECONCILE_SECONDS: "1",
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "silent",
    ...(options.dashboard ? { GITHUB_CLIENT_ID: github.clientId, GITHUB_CLIENT_SECRET: github.clientSecret } : {}),
    ...extraEnv,
  });
  const logs = options.logs;
  const app = await startOctostage({
    env,
    octokit: createProbotOctokitClass({ throttle: false, retryAfterBaseMs: 1 }),
    ...(options.apiEventPollMs ? { apiEventPollMs: options.apiEventPollMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.slackFollowPollMs ? { slackFollowPollMs: options.slackFollowPollMs } : {}),
    ...(options.dashboardLivePollMs ? { dashboardLivePollMs: options.dashboardLivePollMs } : {}),
    ...(options.timing ? { timing: options.timing } : {}),
    ...(logs ? { logDestination: { write: (line: string) => void logs.push(line) } } : {}),
  });
  return {
    app,
    webhookUrl: `${app.url}${env.WEBHOOK_PATH}`,
    kube,
    helm,
    github,
    db,
    async stop() {
      await app.close();
      await Promise.all([kube.close(), github.close()]);
      await db.drop();
      helm.cleanup();
    },
  };
}
