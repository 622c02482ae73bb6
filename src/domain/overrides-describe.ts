/**
 * `/octo config`: the effective configuration as markdown for a PR comment. Values that look
 * like secrets are hidden: keys such as `db.password`, `env[n].value` next to a secret-looking
 * `env[n].name`, and URLs with a password in them.
 */
import type { EffectiveConfig, EffectiveEntry } from "./overrides.ts";
import { isSecretKey } from "./overrides-validation.ts";
import { isSecretPath } from "./secrets.ts";

/** At most this many rows of default values; edited and unset ones are always shown. */
const maxDefaultRows = 150;
const maxCell = 80;

/** An inline code span that survives backticks and table pipes. */
function code(text: string): string {
  const clipped = text.length <= maxCell ? text : `${text.slice(0, maxCell - 1)}…`;
  const longestRun = Math.max(0, ...[...clipped.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longestRun + 1);
  const pad = clipped.startsWith("`") || clipped.endsWith("`") ? " " : "";
  return `${fence}${pad}${clipped.replace(/\|/g, "\\|")}${pad}${fence}`;
}

const hidden = "(hidden: looks like a secret)";
const urlWithPassword = /:\/\/[^/\s:@]*:[^/\s@]+@/;

/** A copy with the values of secret-looking keys, and of URLs with a password, hidden. */
function redact(value: unknown): unknown {
  if (typeof value === "string") return urlWithPassword.test(value) ? hidden : value;
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== "object" || value === null) return value;
  const named = "name" in value && typeof value.name === "string" && isSecretKey(value.name);
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, isSecretKey(k) || (named && k === "value") ? hidden : redact(v)]),
  );
}

function valueCell(entry: EffectiveEntry, values: Record<string, unknown>, secretKeys: readonly string[]): string {
  if (entry.value === undefined) return entry.origin === "unset" ? "(removed)" : "(none)";
  if (isSecretKey(entry.key) || (entry.scope === "app" && isSecretPath(values, entry.key, secretKeys))) return hidden;
  const shown = redact(entry.value);
  return shown === hidden ? hidden : code(JSON.stringify(shown) ?? "");
}

function table(entries: readonly EffectiveEntry[], values: Record<string, unknown>, secretKeys: readonly string[]): string[] {
  return ["| Key | Value | Origin |", "| --- | --- | --- |", ...entries.map((e) => `| ${code(e.key)} | ${valueCell(e, values, secretKeys)} | ${e.origin} |`)];
}

/** Markdown: deployment settings, then app values as dotted paths, each marked default, edited or unset. */
export function describeEffectiveConfig(cfg: EffectiveConfig, secretKeys: readonly string[] = []): string {
  const deployment = cfg.entries.filter((e) => e.scope === "deployment");
  const app = cfg.entries.filter((e) => e.scope === "app");
  const defaults = app.filter((e) => e.origin === "default").length;
  let shownDefaults = 0;
  const shown = app.filter((e) => e.origin !== "default" || ++shownDefaults <= maxDefaultRows);
  const lines = ["**Effective configuration**", "", "Deployment:", "", ...table(deployment, cfg.values, secretKeys), "", "App values (Helm values):", ""];
  lines.push(...(shown.length ? table(shown, cfg.values, secretKeys) : ["_No values._"]));
  if (defaults > maxDefaultRows) lines.push("", `…and ${defaults - maxDefaultRows} more default values.`);
  lines.push("", "Change with `/octo override key=value`, `/octo override --deployment key=value` or `/octo unset [--deployment] key`.");
  return lines.join("\n");
}
