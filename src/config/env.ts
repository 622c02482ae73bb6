import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError, describeIssues } from "./errors.ts";

/**
 * Environment variables, following Probot's names where Probot has one.
 * Every variable is documented in docs/operators/configuration.md.
 */
const envSchema = z.object({
  APP_ID: z.string().regex(/^\d+$/, "must be the numeric GitHub App id").optional(),
  PRIVATE_KEY: z.string().optional(),
  PRIVATE_KEY_PATH: z.string().optional(),
  WEBHOOK_SECRET: z.string().min(1, "must not be empty").optional(),
  WEBHOOK_PATH: z.string().startsWith("/", "must start with /").default("/api/github/webhooks"),
  /** The largest webhook payload taken (bytes); larger ones are refused with 413 before being read. */
  WEBHOOK_MAX_BYTES: z.coerce.number().int().min(64 * 1024).max(25 * 1024 * 1024).default(2 * 1024 * 1024),
  /** Webhooks handled at once; past it, 503 with Retry-After at once (overload is shed, not queued past GitHub's 10 s). */
  WEBHOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(128),
  GHE_HOST: z.string().optional(),
  GHE_PROTOCOL: z.enum(["http", "https"]).default("https"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .default("postgresql://postgres@127.0.0.1:5432/octostage"),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL").default("redis://127.0.0.1:6379"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Default: 0.0.0.0 once registered; 127.0.0.1 while waiting to be registered (only the operator's machine reaches the setup page). */
  HOST: z.string().min(1).optional(),
  /** Reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-Host/-Proto are believed. */
  TRUSTED_PROXIES: z
    .string()
    .optional()
    .transform((v) => (v ?? "").split(",").map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine((x) => /^[0-9a-f:.]+(\/\d{1,3})?$/i.test(x), "must be IP addresses or CIDR ranges, comma-separated"))),
  /** Where GitHub reaches this server (used when registering the app), e.g. https://octostage.example.com. */
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  HELM_BIN: z.string().min(1).default("helm"),
  KUBECONFIG: z.string().optional(),
  OCTOSTAGE_CONFIG: z.string().default("octostage.yaml"),
  OCTOSTAGE_ROLE: z.enum(["all", "server", "worker"]).default("all"),
  OCTOSTAGE_QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9:_-]+$/).default("octostage"),
  OCTOSTAGE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  OCTOSTAGE_REPORT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(50),
  OCTOSTAGE_RECONCILE_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  /** The lifecycle sweep (idle, retention, notices) and housekeeping. */
  OCTOSTAGE_LIFECYCLE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /**
   * Octokit's client-side pacing of GitHub requests (writes 1 s apart, as GitHub asks). Turn it
   * off only for a GitHub Enterprise Server without rate limits (or a test double).
   */
  GITHUB_THROTTLE: z.enum(["true", "false"]).default("true").transform((v) => v === "true"),
  /** The ClusterRole helm's identity is bound to in each staging namespace (the chart names it <release>-deployer). */
  OCTOSTAGE_DEPLOYER_CLUSTERROLE: z.string().regex(/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/, "must be a ClusterRole name").default("octostage-deployer"),
  /** Each open PR staging is checked against GitHub at most this often (a lost webhook). */
  OCTOSTAGE_PR_SYNC_SECONDS: z.coerce.number().int().min(30).max(86_400).default(600),
  /** Jira Cloud (docs/operators/jira.md): the site, and an account's email and API token for the remote links. */
  JIRA_BASE_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://example.atlassian.net" }).optional(),
  JIRA_EMAIL: z.string().min(3).optional(),
  JIRA_API_TOKEN: z.string().min(1).optional(),
  /** The Jira webhook's secret (or Jira Automation's shared token); the webhook endpoint exists only with it. */
  JIRA_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  JIRA_WEBHOOK_PATH: z.string().startsWith("/", "must start with /").default("/jira/webhook"),
  /**
   * Slack (docs/operators/slack.md): the bot token, and the signing secret (requests to
   * SLACK_EVENTS_PATH) or an app-level token (Socket Mode, no public URL needed).
   */
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, "must be the app's bot token (xoxb-...)").optional(),
  SLACK_SIGNING_SECRET: z.string().min(16, "must be the app's signing secret").optional(),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, "must be an app-level token (xapp-...) with connections:write").optional(),
  /** The Slack Web API's base URL (a proxy, or a test double); Slack's own by default. */
  SLACK_API_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL ending in /api/" }).optional(),
  SLACK_EVENTS_PATH: z.string().startsWith("/", "must start with /").default("/slack/events"),
  /**
   * The web dashboard (docs/operators/dashboard.md): the GitHub App's OAuth client, which the
   * registration page's manifest flow hands out; without both, there is no dashboard.
   */
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  /** Signs the dashboard's session cookie; default: derived from the app's private key. */
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters (openssl rand -hex 32)").optional(),
  /** A banner on every dashboard page: this is `npm run demo`, nothing is real. */
  OCTOSTAGE_DEMO: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type Env = z.infer<typeof envSchema> & {
  /** The PEM private key, read from PRIVATE_KEY or PRIVATE_KEY_PATH. */
  privateKey?: string;
};

/** Parses the environment; throws ConfigError naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError("environment", describeIssues(parsed.error));
  const env: Env = parsed.data;
  if (env.PRIVATE_KEY) {
    env.privateKey = env.PRIVATE_KEY.replace(/\\n/g, "\n");
  } else if (env.PRIVATE_KEY_PATH) {
    try {
      env.privateKey = readFileSync(env.PRIVATE_KEY_PATH, "utf8");
    } catch {
      throw new ConfigError("environment", [`PRIVATE_KEY_PATH: cannot read ${env.PRIVATE_KEY_PATH}`]);
    }
  }
  const jira = [env.JIRA_BASE_URL, env.JIRA_EMAIL, env.JIRA_API_TOKEN];
  if (jira.some(Boolean) && !jira.every(Boolean)) {
    throw new ConfigError("environment", ["JIRA_BASE_URL, JIRA_EMAIL and JIRA_API_TOKEN: set all three for Jira remote links, or none"]);
  }
  if (Boolean(env.GITHUB_CLIENT_ID) !== Boolean(env.GITHUB_CLIENT_SECRET)) {
    throw new ConfigError("environment", [`${env.GITHUB_CLIENT_ID ? "GITHUB_CLIENT_SECRET" : "GITHUB_CLIENT_ID"}: the dashboard's sign-in needs both the GitHub App's client id and client secret (the app's settings page, "Client secrets")`]);
  }
  if ((env.SLACK_SIGNING_SECRET || env.SLACK_APP_TOKEN) && !env.SLACK_BOT_TOKEN) {
    throw new ConfigError("environment", ["SLACK_BOT_TOKEN: Slack needs the app's bot token (xoxb-...) besides SLACK_SIGNING_SECRET or SLACK_APP_TOKEN"]);
  }
  if (env.SLACK_BOT_TOKEN && !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN) {
    throw new ConfigError("environment", ["SLACK_SIGNING_SECRET or SLACK_APP_TOKEN: set the signing secret (Slack calls SLACK_EVENTS_PATH) or an app-level token (Socket Mode)"]);
  }
  if (env.privateKey && !env.privateKey.includes("PRIVATE KEY-----")) {
    throw new ConfigError("environment", ["PRIVATE_KEY: is not a PEM private key (-----BEGIN ... PRIVATE KEY-----)"]);
  }
  return env;
}

/** Slack is on when the bot token is set (parseEnv checks the rest). */
export function hasSlack(env: Env): env is Env & { SLACK_BOT_TOKEN: string } {
  return Boolean(env.SLACK_BOT_TOKEN);
}

/** Whether the web dashboard can sign people in (the GitHub App's OAuth client). */
export function hasDashboard(env: Env): env is Env & { GITHUB_CLIENT_ID: string; GITHUB_CLIENT_SECRET: string } {
  return Boolean(env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET);
}

/** Whether the GitHub App credentials are all there (else Octostage explains how to register). */
export function hasGitHubApp(env: Env): env is Env & { APP_ID: string; privateKey: string; WEBHOOK_SECRET: string } {
  return Boolean(env.APP_ID && env.privateKey && env.WEBHOOK_SECRET);
}
