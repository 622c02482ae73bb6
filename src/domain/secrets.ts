/**
 * Which values of a staging are secrets, so the one redactor (redact.ts) can remove them from
 * helm's output, reasons, replies and logs: values at keys that look like secrets (isSecretKey),
 * the `value` of an env-style entry whose `name` looks like one (DB_PASSWORD), and values at keys
 * the project config marks secret (`secretKeys`, where `*` stands for one key or list index).
 */
import { isSecretKey } from "./overrides-validation.ts";
import { flattenValues, getValueAt, parseValuePath } from "./values.ts";
import type { PathSegment, Values } from "./values.ts";

/** `db.password`, `auth.*`, `env[*].value`: a dotted path where `*` (or `[*]`) matches any one segment. */
function secretKeyPattern(pattern: string): (path: readonly PathSegment[]) => boolean {
  const parts = pattern.replace(/\[\*\]/g, ".*").replace(/\[(\d+)\]/g, ".$1").split(".");
  return (path) =>
    path.length === parts.length && parts.every((p, i) => p === "*" || p === String(path[i]));
}

function namedSecret(values: Values, path: readonly PathSegment[]): boolean {
  if (path[path.length - 1] !== "value") return false;
  const name = getValueAt(values, [...path.slice(0, -1), "name"]);
  return typeof name === "string" && isSecretKey(name);
}

/** Whether the value at `key` is a secret, by the same rules as secretValues. */
export function isSecretPath(values: Values, key: string, patterns: readonly string[] = []): boolean {
  const path = parseValuePath(key);
  if ("error" in path) return isSecretKey(key);
  return isSecretKey(key) || namedSecret(values, path) || patterns.some((p) => secretKeyPattern(p)(path));
}

/** Every secret value of a values document, as text (numbers and booleans too; nested documents whole). */
export function secretValues(values: Values, patterns: readonly string[] = []): string[] {
  const matchers = patterns.map(secretKeyPattern);
  const out = new Set<string>();
  for (const leaf of flattenValues(values)) {
    const secret = isSecretKey(leaf.key) || namedSecret(values, leaf.path) || matchers.some((m) => m(leaf.path));
    if (!secret || leaf.value === null || leaf.value === undefined) continue;
    out.add(typeof leaf.value === "string" ? leaf.value : JSON.stringify(leaf.value));
  }
  return [...out];
}
