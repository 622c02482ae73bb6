// The server role's wiring: webhooks, the HTTP API, Slack, Jira and the dashboard. Imported by
// start.ts only in a process that serves (OCTOSTAGE_ROLE all or server): a worker-only process
// never loads Fastify, Bolt, the dashboard or the setup pages (about 20 MB of RSS).
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { Probot } from "probot";
import type { Db } from "../adapters/db/prisma.ts";
import { createTokenStore } from "../adapters/db/token-store.ts";
import { createSignedInUser } from "../adapters/github/signed-in-user.ts";
import { createRedisSessionStore } from "../adapters/web/redis-sessions.ts";
import { createRepoRoles } from "../app/web/dashboard.ts";
import { errorSummary } from "../app/change-staging.ts";
import type { ChartCatalog } from "../app/charts.ts";
import type { AppDeps } from "../app/deps.ts";
import { hasDashboard, hasSlack } from "../config/env.ts";
import type { Env } from "../config/env.ts";
import { createDashboard, isDashboardPath } from "../entrypoints/web/dashboard.ts";
import { githubApp } from "../entrypoints/github-app.ts";
import { createApi } from "../entrypoints/http-api/api.ts";
import { startHttpServer } from "../entrypoints/http-server.ts";
import type { HttpServerOptions, Middleware } from "../entrypoints/http-server.ts";
import { jiraWebhook } from "../entrypoints/jira-webhook.ts";
import { setupPages } from "../entrypoints/setup-pages.ts";
import { createSlackSurface } from "../entrypoints/slack/slack-app.ts";
import { webhookEndpoint } from "../entrypoints/webhook-endpoint.ts";

/** How often the live surfaces look for changes (tests make them faster). */
export interface ServerPolling {
  /** How often an API event stream looks for a new status (default 1 s). */
  apiEventPollMs?: number;
  /** How often a Slack answer that follows a staging looks at it (default 2 s). */
  slackFollowPollMs?: number;
  /** How often the dashboard's live pages look for changes (tests: faster). */
  dashboardLivePollMs?: number;
}

type IntakeDeps = Pick<AppDeps, "store" | "queue" | "project" | "logger" | "clock" | "issueTracker">;

/** The environment of a registered GitHub App (hasGitHubApp). */
type AppEnv = Env & { APP_ID: string; privateKey: string; WEBHOOK_SECRET: string };

export interface ServerContext {
  env: AppEnv;
  opts: ServerPolling;
  root: string;
  db: Db;
  probot: Probot;
  intakeDeps: IntakeDeps;
  codeHost: AppDeps["codeHost"];
  charts: ChartCatalog;
  readiness: HttpServerOptions["readiness"];
}

export interface RunningServer {
  url: string;
  closers: (() => Promise<void>)[];
}

/** Before the GitHub App is registered: only the setup pages, on the operator's own machine unless HOST says otherwise. */
export async function serveSetupPages(env: Env, root: string, logger: IntakeDeps["logger"], readiness: HttpServerOptions["readiness"]): Promise<{ url: string; close(): Promise<void> }> {
  return startHttpServer({
    port: env.PORT,
    host: env.HOST ?? "127.0.0.1",
    logger,
    readiness: { ...readiness, githubApp: () => Promise.reject(new Error("not registered: open / to register")) },
    handlers: [
      setupPages({
        appYmlPath: resolve(root, "app.yml"),
        envPath: resolve(root, ".env"),
        webhookPath: env.WEBHOOK_PATH,
        ...(env.GHE_HOST ? { gheHost: env.GHE_HOST } : {}),
        gheProtocol: env.GHE_PROTOCOL,
        ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
        port: env.PORT,
        trustedProxies: env.TRUSTED_PROXIES,
        logger,
      }),
    ],
  });
}

/** The server role: every surface on one HTTP server, each calling the one core with its actor. */
export async function startServer(ctx: ServerContext): Promise<RunningServer> {
  const { env, opts, db, probot, intakeDeps, codeHost, charts, readiness } = ctx;
  const { logger, clock, project } = intakeDeps;
  const closers: (() => Promise<void>)[] = [];
  await probot.load(githubApp(intakeDeps));
  const tokenStore = createTokenStore(db);
  const api = await createApi({
    deps: { ...intakeDeps, codeHost, charts },
    tokens: { tokens: tokenStore, clock },
    logger,
    trustedProxies: env.TRUSTED_PROXIES,
    ...(opts.apiEventPollMs ? { eventPollMs: opts.apiEventPollMs } : {}),
  });
  closers.push(() => api.close());
  // Idempotency keys are kept a day.
  const prune = setInterval(() => {
    tokenStore.pruneIdempotent(new Date(Date.now() - 86_400_000)).catch((err: unknown) => logger.warn({ err: errorSummary(err) }, "could not prune idempotency keys"));
  }, 3_600_000);
  prune.unref();
  closers.push(() => Promise.resolve(clearInterval(prune)));
  // Slack's /octo, buttons and form (docs/operators/slack.md): on this server, or over Socket Mode.
  const slack = hasSlack(env)
    ? createSlackSurface({
        deps: { ...intakeDeps, codeHost, charts },
        logger,
        botToken: env.SLACK_BOT_TOKEN,
        ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
        ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
        ...(env.SLACK_API_URL ? { apiUrl: env.SLACK_API_URL } : {}),
        path: env.SLACK_EVENTS_PATH,
        ...(opts.slackFollowPollMs ? { followPollMs: opts.slackFollowPollMs } : {}),
      })
    : undefined;
  if (slack) {
    await slack.start();
    closers.push(() => slack.close());
  }
  // The web dashboard (docs/operators/dashboard.md), with the GitHub App's OAuth client.
  let dashboard: Awaited<ReturnType<typeof createDashboard>> | undefined;
  if (hasDashboard(env)) {
    const sessions = createRedisSessionStore({ redisUrl: env.REDIS_URL, prefix: env.OCTOSTAGE_QUEUE_PREFIX });
    closers.push(() => sessions.close());
    const githubUrl = env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}` : "https://github.com";
    dashboard = await createDashboard({
      deps: { ...intakeDeps, codeHost, charts, roles: createRepoRoles({ codeHost, project, clock, logger }) },
      logger,
      sessions,
      clientId: env.GITHUB_CLIENT_ID,
      clientSecret: env.GITHUB_CLIENT_SECRET,
      // Without SESSION_SECRET, one derived from the private key: a new key signs everyone out.
      sessionSecret: env.SESSION_SECRET ?? createHash("sha256").update(`octostage-session\u0000${env.privateKey}`).digest("hex"),
      githubUrl,
      ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
      signedInUser: createSignedInUser(env.GHE_HOST ? { apiUrl: `${githubUrl}/api/v3` } : {}),
      demo: env.OCTOSTAGE_DEMO,
      ...(env.JIRA_BASE_URL ? { jiraUrl: env.JIRA_BASE_URL } : {}),
      ...(opts.dashboardLivePollMs ? { livePollMs: opts.dashboardLivePollMs } : {}),
    });
    closers.push(() => dashboard!.close());
  }
  const handlers: Middleware[] = [
    ...(slack?.middleware ? [slack.middleware] : []),
    ...(dashboard ? [((req, res, next) => (isDashboardPath((req.url ?? "/").split("?")[0]!) ? dashboard.handle(req, res) : next())) satisfies Middleware] : []),
    (req, res, next) => ((req.url ?? "").startsWith("/api/v1/") || req.url === "/api/v1" ? api.handle(req, res) : next()),
    webhookEndpoint({ path: env.WEBHOOK_PATH, secret: env.WEBHOOK_SECRET, receiver: probot, logger, maxBytes: env.WEBHOOK_MAX_BYTES, maxInFlight: env.WEBHOOK_MAX_IN_FLIGHT }),
    ...(env.JIRA_WEBHOOK_SECRET ? [jiraWebhook({ path: env.JIRA_WEBHOOK_PATH, secret: env.JIRA_WEBHOOK_SECRET, deps: intakeDeps })] : []),
  ];
  const http = await startHttpServer({ port: env.PORT, host: env.HOST ?? "0.0.0.0", logger, readiness, handlers });
  closers.push(() => http.close());
  logger.info({ url: http.url, webhookPath: env.WEBHOOK_PATH, role: env.OCTOSTAGE_ROLE, dashboard: dashboard ? `${http.url}/` : "off (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET)", slack: slack ? (env.SLACK_APP_TOKEN ? "socket mode" : env.SLACK_EVENTS_PATH) : "off" }, "Octostage server listening");
  return { url: http.url, closers };
}
