/**
 * Per-staging overrides, Octopod style: edits (set, unset) over the project defaults, with who
 * made them. *App* overrides are Helm values paths; *deployment* overrides change how the
 * staging is deployed (chart version and repository, deploy timeout, namespace quota).
 * effectiveConfig is the one place that turns defaults + edits into what gets deployed.
 */
import type { OverrideScope } from "./overrides-validation.ts";
import { deploymentOverride, validateOverride, validateOverrideKey } from "./overrides-validation.ts";
import type { DeploymentKey } from "./overrides-validation.ts";
import type { ChartSource, RepoSettings } from "./settings.ts";
import { defaultValuePolicy, valuePolicyRefusal } from "./value-policy.ts";
import { flattenValues, getValueAt, parseValuePath, setValueAt, unsetValueAt } from "./values.ts";
import type { PathSegment, Values } from "./values.ts";

export { deploymentOverrideKeys, isSecretKey, namespaceQuotaProfiles, secretKeyRefusal, validateOverride, validateOverrideKey } from "./overrides-validation.ts";
export { flattenValues } from "./values.ts";

export interface OverrideEdit {
  scope: OverrideScope;
  key: string;
  op: "set" | "unset";
  value?: unknown;
  actor: string;
  source: string;
  at: Date;
}

export interface EffectiveEntry {
  scope: OverrideScope;
  key: string;
  /** undefined for an unset app value, or a deployment setting without a default (chart.version). */
  value: unknown;
  origin: "default" | "edited" | "unset";
}

export interface EffectiveConfig {
  values: Record<string, unknown>;
  chart: ChartSource;
  deployTimeoutSeconds: number;
  namespaceQuota?: string;
  /** Deployment settings first (all four), then every app value as a dotted path, then removed app values. */
  entries: EffectiveEntry[];
}

/** The latest edit of each (scope, key), in the order of those latest edits. `edits` come oldest first. */
export function latestEdits<E extends Pick<OverrideEdit, "scope" | "key">>(edits: readonly E[]): E[] {
  const latest = new Map<string, E>();
  for (const edit of edits) {
    const id = `${edit.scope}\u0000${edit.key}`;
    latest.delete(id);
    latest.set(id, edit);
  }
  return [...latest.values()];
}

function isPrefix(prefix: readonly PathSegment[], path: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => s === path[i]);
}

function pathOf(key: string): PathSegment[] {
  const path = parseValuePath(key);
  return "error" in path ? [] : path;
}

/**
 * Defaults + edits. App edits set or unset values paths over settings.values (an unset removes
 * a default value too), in the order of their latest edit; deployment edits replace
 * chart.version, chart.repository, deployTimeoutSeconds and namespaceQuota, and an unset one
 * goes back to the default. The latest edit per (scope, key) wins; `edits` come oldest first.
 * Edits that intake would have refused (a malformed key, an invalid deployment value, a set
 * without a value, a chart repository the operators do not allow) are skipped, so a bad row
 * can never reach helm.
 */
interface ParsedRepository {
  scheme: string;
  host: string;
  segments: string[];
}

/**
 * A chart repository URL as what it points at: scheme, host (with port) and path segments.
 * Undefined for anything not plainly an https:// or oci:// URL: credentials, query or
 * fragment, `..` or `.` segments (also percent-encoded), backslashes, spaces or control
 * characters, percent-escapes at all (a repository has no need of them).
 */
function parseChartRepository(raw: string): ParsedRepository | undefined {
  if (/[\s\\%\p{Cc}]/u.test(raw) || raw.length > 512) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "oci:") || !url.hostname || url.username || url.password || url.search || url.hash || raw.includes("@")) return undefined;
  const path = raw.slice(raw.indexOf("//") + 2).replace(/^[^/]*/, "");
  const segments = path.split("/").filter(Boolean);
  if (segments.some((s) => s === "." || s === "..")) return undefined;
  return { scheme: url.protocol, host: url.host.toLowerCase(), segments };
}

/**
 * A chart repository a `chart.repository` override may use: the configured one, or one the
 * operators allowed (settings.allowedChartRepositories: a whole URL, or a prefix ending in "/").
 * Compared as parsed URLs, by scheme, host and path segments: "https://charts.acme.dev/" does
 * not let "https://charts.acme.dev.evil.net", "https://charts.acme.dev/../x" or
 * "https://charts.acme.dev%2e%2e/x" in.
 */
export function chartRepositoryAllowed(settings: RepoSettings, repository: string): boolean {
  const wanted = parseChartRepository(repository);
  if (!wanted) return false;
  const same = (a: ParsedRepository, b: ParsedRepository, prefix: boolean) =>
    a.scheme === b.scheme &&
    a.host === b.host &&
    (prefix ? a.segments.length <= b.segments.length : a.segments.length === b.segments.length) &&
    a.segments.every((s, i) => s === b.segments[i]);
  return [settings.chart.repository, ...(settings.allowedChartRepositories ?? [])].some((entry, i) => {
    const allowed = parseChartRepository(entry);
    return allowed !== undefined && same(allowed, wanted, i > 0 && entry.endsWith("/"));
  });
}

export function effectiveConfig(settings: RepoSettings, edits: readonly OverrideEdit[]): EffectiveConfig {
  let values: Values = settings.values;
  const setPaths: PathSegment[][] = [];
  const unsets: { key: string; path: PathSegment[] }[] = [];
  const deployment = new Map<DeploymentKey, unknown>();
  for (const edit of latestEdits(edits)) {
    if (edit.scope === "deployment") {
      const known = deploymentOverride(edit.key);
      // A repository the operators no longer allow (the config changed since) is not used either.
      const disallowed = known?.key === "chart.repository" && !chartRepositoryAllowed(settings, edit.value as string);
      if (known && edit.op === "set" && validateOverride("deployment", edit.key, edit.value) === undefined && !disallowed) {
        deployment.set(known.key, edit.value);
      }
      continue;
    }
    if (validateOverrideKey("app", edit.key) !== undefined) continue;
    // An edit the repository's value policy refuses (it may predate the policy) never reaches helm.
    if (valuePolicyRefusal(settings.valuePolicy ?? defaultValuePolicy, edit.key, edit.op, edit.value) !== undefined) continue;
    const path = pathOf(edit.key);
    if (edit.op === "unset") {
      values = unsetValueAt(values, path);
      unsets.push({ key: edit.key, path });
    } else if (edit.value !== undefined) {
      values = setValueAt(values, path, edit.value);
      setPaths.push(path);
    }
  }
  const version = deployment.get("chart.version") ?? settings.chart.version;
  const chart: ChartSource = {
    ...settings.chart,
    repository: (deployment.get("chart.repository") as string | undefined) ?? settings.chart.repository,
    ...(version === undefined ? {} : { version: version as string }),
  };
  const deployTimeoutSeconds = (deployment.get("deployTimeoutSeconds") as number | undefined) ?? settings.deployTimeoutSeconds;
  const namespaceQuota = deployment.get("namespaceQuota") as string | undefined;
  const current: Record<DeploymentKey, unknown> = {
    "chart.version": chart.version,
    "chart.repository": chart.repository,
    deployTimeoutSeconds,
    namespaceQuota,
  };
  const entries: EffectiveEntry[] = (Object.keys(current) as DeploymentKey[]).map((key) => ({
    scope: "deployment",
    key,
    value: current[key],
    origin: deployment.has(key) ? "edited" : "default",
  }));
  for (const leaf of flattenValues(values)) {
    const edited = setPaths.some((p) => isPrefix(p, leaf.path) || isPrefix(leaf.path, p));
    entries.push({ scope: "app", key: leaf.key, value: leaf.value, origin: edited ? "edited" : "default" });
  }
  for (const u of unsets) {
    if (getValueAt(values, u.path) === undefined) entries.push({ scope: "app", key: u.key, value: undefined, origin: "unset" });
  }
  return { values, chart, deployTimeoutSeconds, ...(namespaceQuota === undefined ? {} : { namespaceQuota }), entries };
}
