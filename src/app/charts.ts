/**
 * What a project's chart accepts: its configurable keys (from values.yaml and values.schema.json,
 * read with `helm pull`, cached per chart version) and, when it has a schema, the check every
 * override goes through, from every surface, before it is saved: the error names the key and
 * the rule, as helm would refuse it at deploy time.
 */
import { flattenValues } from "../domain/overrides.ts";
import type { ChartSource } from "../domain/settings.ts";
import type { Clock } from "../ports/clock.ts";
import type { Helm } from "../ports/helm.ts";
import { HelmError } from "../ports/helm.ts";
import type { SchemaIssue, ValuesSchemaChecker } from "../ports/values-schema.ts";

export interface ChartKey {
  key: string;
  type: string;
  default?: unknown;
  description?: string;
}

interface ChartInfo {
  version: string | null;
  schema: Record<string, unknown> | null;
  keys: ChartKey[];
}

export interface ChartCatalog {
  info(chart: ChartSource): Promise<{ ok: true; value: ChartInfo } | { ok: false; message: string }>;
  /** Issues of the chart's schema with these values (none without a schema). */
  check(info: ChartInfo, values: Record<string, unknown>): SchemaIssue[];
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

type SchemaNode = { type?: unknown; description?: unknown; properties?: Record<string, SchemaNode>; default?: unknown };

/** Keys from the defaults, with types and descriptions from the schema where it says more (and keys only the schema has). */
function keysOf(values: Record<string, unknown>, schema: Record<string, unknown> | null): ChartKey[] {
  const keys = new Map<string, ChartKey>();
  for (const { key, value } of flattenValues(values)) keys.set(key, { key, type: typeName(value), default: value });
  const walk = (node: SchemaNode, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (child.properties) {
        walk(child, key);
        continue;
      }
      const known = keys.get(key);
      const type = Array.isArray(child.type) ? child.type.join("|") : typeof child.type === "string" ? child.type : known?.type ?? "any";
      keys.set(key, {
        key,
        type,
        ...(known && "default" in known ? { default: known.default } : child.default !== undefined ? { default: child.default } : {}),
        ...(typeof child.description === "string" ? { description: child.description } : {}),
      });
    }
  };
  if (schema) walk(schema, "");
  return [...keys.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** Pinned versions are kept for the process's life; a chart without a pinned version for `ttlMs`. */
export function createChartCatalog(deps: { helm: Pick<Helm, "pullChart">; checker: ValuesSchemaChecker; clock: Clock }, ttlMs = 10 * 60_000, failureTtlMs = 60_000): ChartCatalog {
  const cache = new Map<string, { at: number; info: ChartInfo }>();
  /** A chart that could not be read is not asked for again for a minute (helm missing, the repository down). */
  const failures = new Map<string, { at: number; message: string }>();
  return {
    async info(chart) {
      const id = `${chart.repository}\u0000${chart.name ?? ""}\u0000${chart.version ?? ""}`;
      const now = deps.clock.now().getTime();
      const hit = cache.get(id);
      if (hit && (chart.version !== undefined || now - hit.at < ttlMs)) return { ok: true, value: hit.info };
      const failed = failures.get(id);
      if (failed && now - failed.at < failureTtlMs) return { ok: false, message: failed.message };
      try {
        const files = await deps.helm.pullChart(chart);
        const info = { version: files.version, schema: files.schema, keys: keysOf(files.values, files.schema) };
        if (cache.size > 100) cache.delete(cache.keys().next().value!);
        cache.set(id, { at: now, info });
        failures.delete(id);
        return { ok: true, value: info };
      } catch (err) {
        const message = `could not read the chart: ${err instanceof HelmError ? err.message : (err as Error).message}`;
        if (failures.size > 100) failures.delete(failures.keys().next().value!);
        failures.set(id, { at: now, message });
        return { ok: false, message };
      }
    },
    check(info, values) {
      return info.schema ? deps.checker.check(info.schema, values) : [];
    },
  };
}

/** The schema issues an override edit is responsible for: at its key, inside it, or at a parent it replaced. */
export function issuesOf(issues: readonly SchemaIssue[], keys: readonly string[]): SchemaIssue[] {
  const under = (path: string, key: string) => path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`);
  return issues.filter((i) => keys.some((k) => under(i.path, k) || (i.path !== "" && under(k, i.path))));
}
