/**
 * What an override may say. The `/octo` parser applies these same rules, so it never yields
 * an override that the use case would refuse.
 *
 * - *app* overrides are Helm values: any dotted path (`a.b[0].c`) whose value is a string,
 *   number, boolean or null. Keys that look like secrets (isSecretKey) are refused by the
 *   PR-comment parser on top of this: everyone who can read the PR would see the value.
 * - *deployment* overrides change how the chart is deployed: a fixed set of keys, below.
 */
import { clipInput, commandLimits } from "./command-limits.ts";
import { closestWord } from "./command-suggest.ts";
import { parseValuePath } from "./values.ts";

/** App overrides are Helm values; deployment overrides a fixed set of keys (chart, timeout, quota). */
export type OverrideScope = "app" | "deployment";

export type DeploymentKey = "chart.version" | "chart.repository" | "deployTimeoutSeconds" | "namespaceQuota";
const namespaceQuotas = ["small", "medium", "large"] as const;
export type NamespaceQuota = (typeof namespaceQuotas)[number];

/** What each quota profile allows a staging's namespace (a Kubernetes ResourceQuota's `spec.hard`). */
export const namespaceQuotaProfiles: Readonly<Record<NamespaceQuota, Readonly<Record<string, string>>>> = {
  small: { "requests.cpu": "1", "requests.memory": "2Gi", "limits.cpu": "2", "limits.memory": "4Gi", pods: "20", persistentvolumeclaims: "5" },
  medium: { "requests.cpu": "2", "requests.memory": "4Gi", "limits.cpu": "4", "limits.memory": "8Gi", pods: "40", persistentvolumeclaims: "10" },
  large: { "requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi", pods: "80", persistentvolumeclaims: "20" },
};

export interface DeploymentOverrideKey {
  key: DeploymentKey;
  description: string;
  /** A message saying what is wrong with `value`, or undefined when it is acceptable. */
  validate(value: unknown): string | undefined;
}

const versionPart = String.raw`v?(?:0|[1-9]\d*|[xX*])(?:\.(?:0|[1-9]\d*|[xX*])){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?`;
const comparator = new RegExp(`^(?:\\^|~|>=|<=|>|<|=|!=)?${versionPart}$`);
const hyphenRange = new RegExp(`^${versionPart}\\s+-\\s+${versionPart}$`);

/**
 * A chart version as helm takes it (Masterminds semver): an exact version (1.4.2, v1.0.0-rc.1)
 * or a constraint (^1.2, ~1.2.3, >=1.0 <2, 1.x, 1.2 - 1.4, ^1 || ^2). Never a flag: nothing
 * starting with "-" gets through.
 */
function isChartVersion(value: string): boolean {
  if (value.length === 0 || value.length > 64 || /[\p{Cc}]/u.test(value)) return false;
  return value.split(/\s*\|\|\s*/).every((set) => {
    const trimmed = set.trim();
    if (hyphenRange.test(trimmed)) return true;
    const parts = trimmed.split(/\s*,\s*|\s+/).filter(Boolean);
    return parts.length > 0 && parts.every((p) => comparator.test(p));
  });
}

function isChartRepository(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === "https:" || url.protocol === "oci:") && url.hostname !== "" && !url.username && !url.password;
}

export const deploymentOverrideKeys: readonly DeploymentOverrideKey[] = Object.freeze([
  {
    key: "chart.version",
    description: 'chart version to deploy, such as "1.4.2" (quote a number: chart.version="1.4")',
    validate: (v: unknown) =>
      typeof v === "string" && isChartVersion(v)
        ? undefined
        : `chart.version must be a version such as 1.4.2 or a range such as ^1.4 (at most 64 characters${typeof v === "number" ? `; quote numbers: chart.version="${v}"` : ""})`,
  },
  {
    key: "chart.repository",
    description: "chart repository: an https:// URL, or an oci:// reference to the chart",
    validate: (v: unknown) =>
      typeof v === "string" && isChartRepository(v)
        ? undefined
        : "chart.repository must be an https:// chart repository URL or an oci:// reference, without credentials in it",
  },
  {
    key: "deployTimeoutSeconds",
    description: "how long a deploy may take before it fails: whole seconds from 30 to 3600",
    validate: (v: unknown) =>
      Number.isInteger(v) && (v as number) >= 30 && (v as number) <= 3600
        ? undefined
        : "deployTimeoutSeconds must be a whole number of seconds from 30 to 3600",
  },
  {
    key: "namespaceQuota",
    description: `resource quota of the staging's namespace: ${namespaceQuotas.join(", ")}`,
    validate: (v: unknown) =>
      (namespaceQuotas as readonly unknown[]).includes(v) ? undefined : `namespaceQuota must be one of ${namespaceQuotas.join(", ")}`,
  },
] satisfies DeploymentOverrideKey[]);

const deploymentKeyNames: readonly DeploymentKey[] = deploymentOverrideKeys.map((d) => d.key);

export function deploymentOverride(key: string): DeploymentOverrideKey | undefined {
  return deploymentOverrideKeys.find((d) => d.key === key);
}

/** Substrings that mark a secret wherever they appear in a key segment (case and `-`/`_` ignored). */
const secretFragments = ["password", "passwd", "passphrase", "secret", "apikey", "credential", "privatekey", "accesskey", "connectionstring"];
/** Whole words (camelCase, snake_case and kebab-case split) that mark a secret. */
const secretWords = new Set(["token", "tokens", "pwd", "dsn", "private", "creds", "cred", "pat", "salt"]);

function words(segment: string): string[] {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z])(?=[A-Z][a-z])/g, "$1 ")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * Keys that look like secrets (`db.password`, `auth.apiKey`, `api_key`, `sentry.dsn`,
 * `github.token`, `tls.privateKey`, `aws.secretAccessKey`...). Any segment counts, so
 * `secrets.db.host` is one too. Values for them are refused in PR comments and chat, and
 * `/octo config` hides the values of such defaults.
 */
export function isSecretKey(key: string): boolean {
  return key.split(/[.[\]]+/).some((segment) => {
    const squashed = segment.toLowerCase().replace(/[-_\s]/g, "");
    if (secretFragments.some((f) => squashed.includes(f))) return true;
    return words(segment).some((w) => secretWords.has(w));
  });
}

const reservedSegments = new Set(["__proto__", "prototype", "constructor"]);

/**
 * Checks a key alone (what `unset` needs): the dotted-path rules of values.ts, the length
 * limit, characters that would break the command grammar, and for deployment the fixed keys.
 */
export function validateOverrideKey(scope: OverrideScope, key: string): string | undefined {
  if (key.length === 0) return "The key is empty";
  if (key.length > commandLimits.maxKeyLength) {
    return `Key "${clipInput(key)}" is too long: ${key.length} characters, at most ${commandLimits.maxKeyLength}`;
  }
  if (scope === "deployment") {
    if (deploymentOverride(key)) return undefined;
    const near = closestWord(key, deploymentKeyNames);
    return `Unknown deployment override "${clipInput(key)}"${near ? ` (did you mean ${near}?)` : ""}; valid keys: ${deploymentKeyNames.join(", ")}`;
  }
  if (!key.isWellFormed()) return `Key "${clipInput(key)}" is not valid Unicode text`;
  if (/["'`\\=\s\p{Cc}]/u.test(key)) {
    return `Key "${clipInput(key)}" cannot contain quotes, backticks, backslashes, "=", spaces or control characters`;
  }
  if (key.startsWith("-")) return `Key "${clipInput(key)}" cannot start with "-" (that marks a flag such as --deployment)`;
  const path = parseValuePath(key);
  if ("error" in path) return `Bad key: ${path.error}`;
  for (const segment of path) {
    if (typeof segment === "number" && segment > commandLimits.maxListIndex) {
      return `Key "${clipInput(key)}" has list index ${segment}: at most ${commandLimits.maxListIndex}`;
    }
    if (typeof segment === "string" && reservedSegments.has(segment)) {
      return `Key "${clipInput(key)}" uses the reserved name "${segment}"`;
    }
  }
  return undefined;
}

function validateScalar(key: string, value: unknown): string | undefined {
  if (typeof value === "string") {
    if (value.length > commandLimits.maxValueLength) {
      return `The value of "${clipInput(key)}" is too long: ${value.length} characters, at most ${commandLimits.maxValueLength}`;
    }
    if (!value.isWellFormed()) return `The value of "${clipInput(key)}" is not valid Unicode text`;
    // Newlines, tabs and carriage returns come in as \n, \t and \r inside double quotes.
    if (/[^\P{Cc}\n\r\t]/u.test(value)) return `The value of "${clipInput(key)}" contains control characters`;
    return undefined;
  }
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `The value of "${clipInput(key)}" must be a finite number`;
  if (typeof value === "boolean" || value === null) return undefined;
  return `The value of "${clipInput(key)}" must be a string, number, boolean or null`;
}

/** undefined when `key=value` is an acceptable override in `scope`, else what is wrong, for a human. */
export function validateOverride(scope: OverrideScope, key: string, value: unknown): string | undefined {
  const keyError = validateOverrideKey(scope, key);
  if (keyError) return keyError;
  const scalarError = validateScalar(key, value);
  if (scalarError) return scalarError;
  if (scope === "deployment") return deploymentOverride(key)?.validate(value);
  return undefined;
}

/** Why a value for a secret-looking key is refused where others can read it (a PR comment). */
export function secretKeyRefusal(key: string): string | undefined {
  if (!isSecretKey(key)) return undefined;
  return `"${clipInput(key)}" looks like a secret: its value is not taken from PR comments or Slack, where everyone in the conversation sees it. Set it with the octo CLI or the API, or ask DevOps to put it in the project configuration.`;
}

/** Limits on what a staging's overrides may add up to. */
export const valuesLimits = Object.freeze({ maxOverrides: 500, maxValuesBytes: 256 * 1024 });

/**
 * Checks the values a staging would get (defaults + all its overrides): no list with holes (a
 * list item can only be added at the next index), at most `maxValuesBytes` of values, at most
 * `maxOverrides` overridden keys. A message naming the rule, or undefined when they are fine.
 */
export function valuesDocumentProblem(values: Record<string, unknown>, overrideCount: number, hole: string | undefined): string | undefined {
  if (hole) {
    const list = hole.replace(/\[\d+\]$/, "");
    return `${hole} would leave a hole in the list ${list}: a list item can only be added right after the last one (or replace one that exists)`;
  }
  const bytes = Buffer.byteLength(JSON.stringify(values));
  if (bytes > valuesLimits.maxValuesBytes) {
    return `the staging's values would be ${Math.ceil(bytes / 1024)} KiB: at most ${valuesLimits.maxValuesBytes / 1024} KiB (unset some overrides, or ask DevOps to move large values into the chart)`;
  }
  if (overrideCount > valuesLimits.maxOverrides) return `the staging would have ${overrideCount} overridden keys: at most ${valuesLimits.maxOverrides}`;
  return undefined;
}
