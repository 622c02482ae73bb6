import type { CostPrices } from "./cost.ts";
import type { JiraPolicy } from "./jira.ts";
import type { LifecyclePolicy } from "./lifecycle.ts";
import type { Sandbox } from "./sandbox.ts";
import type { SlackSettings } from "./slack-access.ts";
import type { ValuePolicy } from "./value-policy.ts";

/** A repository's staging settings, as validated from the project config (src/config/project.ts). */

export interface ChartSource {
  /** https:// chart repository URL, or an oci:// reference to the chart itself. */
  repository: string;
  name: string;
  version?: string;
}

export interface TriggerPolicy {
  /** Deploy draft PRs automatically. */
  drafts: boolean;
  /** When non-empty, only PRs carrying one of these labels deploy automatically. */
  labels: string[];
}

export interface RepoSettings {
  /** owner/name on GitHub. */
  repo: string;
  /** Short project name that prefixes staging names. */
  name: string;
  chart: ChartSource;
  /**
   * Where a `chart.repository` override may point besides `chart.repository` itself: URL
   * prefixes ending in "/" or whole URLs. Empty (the default): nowhere else. The chart runs
   * with Octostage's cluster rights, so this is the operators' choice, not the PR's.
   */
  allowedChartRepositories?: string[];
  values: Record<string, unknown>;
  /** Dotted values path that receives the image tag. */
  imageTagKey: string;
  /** Template of the image tag: {sha}, {shortSha}, {pr}, {name}. */
  imageTagTemplate: string;
  /** Dotted values path that receives the host. */
  hostKey: string;
  hostTemplate: string;
  urlTemplate: string;
  namespaceTemplate: string;
  deployTimeoutSeconds: number;
  trigger: TriggerPolicy;
  /** Values paths (with `*` for one segment) whose values are secrets, besides secret-looking keys. */
  secretKeys?: string[];
  /** What overrides may set (see value-policy.ts); the default policy when absent. */
  valuePolicy?: ValuePolicy;
  /** The sandbox of each staging namespace (see sandbox.ts); the default sandbox when absent. */
  sandbox?: Sandbox;
  /** Close, merge, retention, idle, keep and limit policies (lifecycle.ts); the defaults when absent. */
  lifecycle?: LifecyclePolicy;
  /** Jira issues linked to this repository's stagings (jira.ts); no linking when absent. */
  jira?: JiraPolicy;
  /** Slack roles and notification channel (slack-access.ts); nobody steers from Slack when absent. */
  slack?: SlackSettings;
}

/** The project config: every repository Octostage serves, with its settings. */
export interface ProjectConfig {
  repositories: RepoSettings[];
  /** Settings of a repository by owner/name (case-insensitive), or undefined when not configured. */
  forRepo(fullName: string): RepoSettings | undefined;
  /** Resource prices for the cost estimate; no estimate when absent. */
  cost?: CostPrices;
  housekeeping?: { pruneAfterDays: number };
}
