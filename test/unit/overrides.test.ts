import { describe, expect, test } from "vitest";
import {
  chartRepositoryAllowed,
  deploymentOverrideKeys,
  effectiveConfig,
  flattenValues,
  isSecretKey,
  latestEdits,
  secretKeyRefusal,
  validateOverride,
  validateOverrideKey,
} from "../../src/domain/overrides.ts";
import type { EffectiveConfig, OverrideEdit } from "../../src/domain/overrides.ts";
import { describeEffectiveConfig } from "../../src/domain/overrides-describe.ts";
import type { RepoSettings } from "../../src/domain/settings.ts";

/** A deep-frozen copy: any mutation of an input throws in strict mode. */
function frozen<T>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (v && typeof v === "object") {
      Object.freeze(v);
      Object.values(v).forEach(freeze);
    }
  };
  freeze(copy);
  return copy;
}

const settings: RepoSettings = frozen({
  repo: "acme/web",
  name: "web",
  chart: { repository: "https://charts.acme.dev", name: "web", version: "1.0.0" },
  allowedChartRepositories: ["oci://ghcr.io/acme/charts/"],
  values: {
    image: { repository: "ghcr.io/acme/web", tag: "latest" },
    replicaCount: 1,
    env: [
      { name: "LOG_LEVEL", value: "info" },
      { name: "FEATURE_X", value: "off" },
    ],
    resources: {},
  },
  imageTagKey: "image.tag",
  imageTagTemplate: "{sha}",
  hostKey: "ingress.hostname",
  hostTemplate: "{name}.staging.acme.dev",
  urlTemplate: "https://{host}",
  namespaceTemplate: "octostage-{name}",
  deployTimeoutSeconds: 600,
  trigger: { drafts: false, labels: [] },
});

let clock = Date.parse("2026-01-01T00:00:00Z");
function edit(scope: OverrideEdit["scope"], key: string, op: OverrideEdit["op"], value?: unknown): OverrideEdit {
  clock += 1000;
  return { scope, key, op, ...(op === "set" ? { value } : {}), actor: "octocat", source: "github", at: new Date(clock) };
}
const set = (key: string, value: unknown) => edit("app", key, "set", value);
const unset = (key: string) => edit("app", key, "unset");
const setDeployment = (key: string, value: unknown) => edit("deployment", key, "set", value);

function origins(cfg: EffectiveConfig, scope: "app" | "deployment" = "app"): Record<string, string> {
  return Object.fromEntries(cfg.entries.filter((e) => e.scope === scope).map((e) => [e.key, e.origin]));
}

describe("validateOverride: app scope", () => {
  test.each<[string, unknown]>([
    ["image.tag", "v2"],
    ["replicaCount", 3],
    ["feature.enabled", false],
    ["resources.limits", null],
    ["env[0].value", ""],
    ["ingress.annotations.nginx/proxy-body-size", "8m"],
    ["k".repeat(128), 1],
    ["a", "x".repeat(1024)],
    ["a", "multi\nline\ttext\r"],
    ["hosts[999]", "h"],
    ["ünïcødé.ключ", "значение 🚀"],
  ])("accepts %s = %j", (key, value) => {
    expect(validateOverride("app", key, value)).toBeUndefined();
  });

  test.each<[string, unknown, string]>([
    ["", "x", "The key is empty"],
    ["a..b", "x", 'Bad key: "a..b" is not a dotted path like a.b[0].c (bad part "")'],
    ["a[-1]", "x", 'Bad key: "a[-1]" is not a dotted path like a.b[0].c (bad part "a[-1]")'],
    ["k".repeat(129), "x", `Key "${"k".repeat(39)}…" is too long: 129 characters, at most 128`],
    ["a b", "x", 'Key "a b" cannot contain quotes, backticks, backslashes, "=", spaces or control characters'],
    ["a=b", "x", 'Key "a=b" cannot contain quotes, backticks, backslashes, "=", spaces or control characters'],
    ["a`b", "x", 'Key "a`b" cannot contain quotes, backticks, backslashes, "=", spaces or control characters'],
    ["--a", "x", 'Key "--a" cannot start with "-" (that marks a flag such as --deployment)'],
    ["x.__proto__", "x", 'Key "x.__proto__" uses the reserved name "__proto__"'],
    ["list[1000]", "x", 'Key "list[1000]" has list index 1000: at most 999'],
    ["a\ud800", "x", 'Key "a\ud800" is not valid Unicode text'],
    ["a", "x".repeat(1025), 'The value of "a" is too long: 1025 characters, at most 1024'],
    ["a", "bell\u0007", 'The value of "a" contains control characters'],
    ["a", "\udc00", 'The value of "a" is not valid Unicode text'],
    ["a", Number.NaN, 'The value of "a" must be a finite number'],
    ["a", Number.POSITIVE_INFINITY, 'The value of "a" must be a finite number'],
    ["a", { b: 1 }, 'The value of "a" must be a string, number, boolean or null'],
    ["a", [1], 'The value of "a" must be a string, number, boolean or null'],
    ["a", undefined, 'The value of "a" must be a string, number, boolean or null'],
  ])("refuses %j = %j", (key, value, message) => {
    expect(validateOverride("app", key, value)).toBe(message);
  });

  test("secret-looking keys are valid overrides (Slack, CLI); only comments refuse them, through secretKeyRefusal", () => {
    expect(validateOverride("app", "db.password", "hunter2")).toBeUndefined();
    expect(secretKeyRefusal("db.password")).toMatch(/^"db\.password" looks like a secret: its value is not taken from PR comments/);
    expect(secretKeyRefusal("image.tag")).toBeUndefined();
  });
});

describe("validateOverride: deployment scope", () => {
  const validKeys = "chart.version, chart.repository, deployTimeoutSeconds, namespaceQuota";

  test("the fixed, documented set of keys", () => {
    expect(deploymentOverrideKeys.map((d) => d.key)).toEqual(["chart.version", "chart.repository", "deployTimeoutSeconds", "namespaceQuota"]);
    for (const d of deploymentOverrideKeys) expect(d.description.length).toBeGreaterThan(10);
  });

  test("an unknown key is refused, listing the valid keys (and the closest one)", () => {
    expect(validateOverride("deployment", "replicas", 2)).toBe(`Unknown deployment override "replicas"; valid keys: ${validKeys}`);
    expect(validateOverride("deployment", "namespaceQuote", "small")).toBe(
      `Unknown deployment override "namespaceQuote" (did you mean namespaceQuota?); valid keys: ${validKeys}`,
    );
    expect(validateOverrideKey("deployment", "image.tag")).toBe(`Unknown deployment override "image.tag"; valid keys: ${validKeys}`);
    expect(validateOverrideKey("deployment", "chart.version")).toBeUndefined();
  });

  test.each<[string, unknown]>([
    ["chart.version", "1.4.2"],
    ["chart.version", "2.0"],
    ["chart.version", "v1.0.0-rc.1+build.5"],
    ["chart.version", "^1.2"],
    ["chart.repository", "https://charts.example.com"],
    ["chart.repository", "https://charts.example.com:8443/stable"],
    ["chart.repository", "oci://ghcr.io/acme/charts/web"],
    ["deployTimeoutSeconds", 30],
    ["deployTimeoutSeconds", 3600],
    ["namespaceQuota", "small"],
    ["namespaceQuota", "medium"],
    ["namespaceQuota", "large"],
  ])("accepts %s = %j", (key, value) => {
    expect(validateOverride("deployment", key, value)).toBeUndefined();
  });

  test.each<[string, unknown]>([
    ["chart.version", ""],
    ["chart.version", "--post-renderer=/tmp/x"],
    ["chart.version", "-1"],
    ["chart.version", "latest"],
    ["chart.version", "1.4.2;rm -rf /"],
    ["chart.version", 1.4],
    ["chart.version", "v".repeat(65)],
    ["chart.repository", "http://charts.example.com"],
    ["chart.repository", "https://user:pass@charts.example.com"],
    ["chart.repository", "oci://token@ghcr.io/acme"],
    ["chart.repository", "charts.example.com"],
    ["chart.repository", "file:///etc/passwd"],
    ["deployTimeoutSeconds", 29],
    ["deployTimeoutSeconds", 3601],
    ["deployTimeoutSeconds", 60.5],
    ["deployTimeoutSeconds", "600"],
    ["namespaceQuota", "huge"],
    ["namespaceQuota", "Small"],
    ["namespaceQuota", null],
  ])("refuses %s = %j", (key, value) => {
    expect(validateOverride("deployment", key, value)).toMatch(new RegExp(`^${key.replace(".", "\\.")} must `));
  });
});

describe("isSecretKey", () => {
  test.each([
    "password",
    "db.password",
    "postgresql.auth.postgresPassword",
    "DB_PASSWORD",
    "smtp.passwd",
    "secret",
    "oauth.clientSecret",
    "aws.secretAccessKey",
    "secrets.db.host",
    "github.token",
    "slack.botToken",
    "access_token",
    "auth.apiKey",
    "api_key",
    "stripe.API-KEY",
    "tls.privateKey",
    "ssh.private",
    "registry.credentials",
    "registry.creds",
    "sentry.dsn",
    "db.connectionString",
    "env[0].password",
  ])("%s looks like a secret", (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  test.each(["image.tag", "replicaCount", "tokenizer.mode", "ingress.hostname", "keycloak.url", "privacy.policy", "author", "monkey", "passThrough", "env[0].value"])(
    "%s does not",
    (key) => {
      expect(isSecretKey(key)).toBe(false);
    },
  );
});

describe("latestEdits", () => {
  test("keeps the latest edit of each (scope, key), in the order of those latest edits", () => {
    const a1 = set("a", 1);
    const b = set("b", 2);
    const a2 = unset("a");
    const deploymentA = setDeployment("a", 3);
    expect(latestEdits([a1, b, a2, deploymentA])).toEqual([b, a2, deploymentA]);
  });
});

describe("flattenValues", () => {
  test("leaves as dotted paths with list indices; empty containers and undottable keys stay whole", () => {
    expect(flattenValues({ a: { b: [1, { c: true }] }, e: {}, l: [], ann: { "nginx.org/x": "y" }, n: null })).toEqual([
      { key: "a.b[0]", path: ["a", "b", 0], value: 1 },
      { key: "a.b[1].c", path: ["a", "b", 1, "c"], value: true },
      { key: "e", path: ["e"], value: {} },
      { key: "l", path: ["l"], value: [] },
      { key: "ann", path: ["ann"], value: { "nginx.org/x": "y" } },
      { key: "n", path: ["n"], value: null },
    ]);
  });
});

describe("effectiveConfig", () => {
  test("defaults only", () => {
    const cfg = effectiveConfig(settings, []);
    expect(cfg.values).toEqual(settings.values);
    expect(cfg.chart).toEqual(settings.chart);
    expect(cfg.deployTimeoutSeconds).toBe(600);
    expect(cfg).not.toHaveProperty("namespaceQuota");
    expect(cfg.entries.every((e) => e.origin === "default")).toBe(true);
    expect(cfg.entries.filter((e) => e.scope === "deployment")).toEqual([
      { scope: "deployment", key: "chart.version", value: "1.0.0", origin: "default" },
      { scope: "deployment", key: "chart.repository", value: "https://charts.acme.dev", origin: "default" },
      { scope: "deployment", key: "deployTimeoutSeconds", value: 600, origin: "default" },
      { scope: "deployment", key: "namespaceQuota", value: undefined, origin: "default" },
    ]);
    expect(cfg.entries.filter((e) => e.scope === "app").map((e) => [e.key, e.value])).toEqual([
      ["image.repository", "ghcr.io/acme/web"],
      ["image.tag", "latest"],
      ["replicaCount", 1],
      ["env[0].name", "LOG_LEVEL"],
      ["env[0].value", "info"],
      ["env[1].name", "FEATURE_X"],
      ["env[1].value", "off"],
      ["resources", {}],
    ]);
  });

  test("a set replaces a default or adds a value, without touching the settings", () => {
    const cfg = effectiveConfig(settings, [set("image.tag", "v2"), set("ingress.enabled", true)]);
    expect(cfg.values).toEqual({ ...settings.values, image: { repository: "ghcr.io/acme/web", tag: "v2" }, ingress: { enabled: true } });
    expect(origins(cfg)).toMatchObject({ "image.tag": "edited", "image.repository": "default", "ingress.enabled": "edited" });
    expect(settings.values.image).toEqual({ repository: "ghcr.io/acme/web", tag: "latest" });
  });

  test("an unset removes a default value and shows as unset", () => {
    const cfg = effectiveConfig(settings, [unset("image.repository")]);
    expect(cfg.values.image).toEqual({ tag: "latest" });
    expect(cfg.entries).toContainEqual({ scope: "app", key: "image.repository", value: undefined, origin: "unset" });
    expect(origins(cfg)["image.tag"]).toBe("default");
  });

  test("the latest edit per key wins", () => {
    expect(effectiveConfig(settings, [set("image.tag", "v2"), set("image.tag", "v3")]).values.image).toMatchObject({ tag: "v3" });
    expect(effectiveConfig(settings, [set("image.tag", "v2"), unset("image.tag")]).values.image).toEqual({ repository: "ghcr.io/acme/web" });
    const back = effectiveConfig(settings, [unset("image.tag"), set("image.tag", "v4")]);
    expect(back.values.image).toMatchObject({ tag: "v4" });
    expect(back.entries.filter((e) => e.origin === "unset")).toEqual([]);
  });

  test("overlapping paths apply in the order of their latest edit", () => {
    expect(effectiveConfig(settings, [set("image.tag", "v2"), set("image", "plain")]).values.image).toBe("plain");
    expect(effectiveConfig(settings, [set("image", "plain"), set("image.tag", "v2")]).values.image).toEqual({ tag: "v2" });
    expect(effectiveConfig(settings, [set("image.tag", "v1"), set("image", "plain"), set("image.tag", "v2")]).values.image).toEqual({ tag: "v2" });
  });

  test("a set past the end of a list leaves holes, shown as null (as YAML writes them)", () => {
    const cfg = effectiveConfig(settings, [set("env[3].name", "LATE")]);
    expect(cfg.entries.filter((e) => e.key.startsWith("env[2]") || e.key.startsWith("env[3]"))).toEqual([
      { scope: "app", key: "env[2]", value: null, origin: "default" },
      { scope: "app", key: "env[3].name", value: "LATE", origin: "edited" },
    ]);
  });

  test("list index paths: set an element's field, append to a new list, remove an element", () => {
    const cfg = effectiveConfig(settings, [set("env[1].value", "on"), set("hosts[0]", "a.test"), unset("env[0]")]);
    expect(cfg.values.env).toEqual([{ name: "FEATURE_X", value: "on" }]);
    expect(cfg.values.hosts).toEqual(["a.test"]);
    expect(origins(cfg)).toMatchObject({ "hosts[0]": "edited", "env[0].name": "default" });
  });

  test("an unset that a later set refills is not shown as unset", () => {
    const cfg = effectiveConfig(settings, [unset("image"), set("image.tag", "v9")]);
    expect(cfg.values.image).toEqual({ tag: "v9" });
    expect(cfg.entries.filter((e) => e.origin === "unset")).toEqual([]);
  });

  test("deployment overrides change the chart version, repository, timeout and quota; an unset goes back to the default", () => {
    const cfg = effectiveConfig(settings, [
      setDeployment("chart.version", "2.1.0"),
      setDeployment("deployTimeoutSeconds", 1200),
      setDeployment("chart.repository", "oci://ghcr.io/acme/charts/web"),
      setDeployment("namespaceQuota", "large"),
    ]);
    expect(cfg.chart).toEqual({ repository: "oci://ghcr.io/acme/charts/web", name: "web", version: "2.1.0" });
    expect(cfg.deployTimeoutSeconds).toBe(1200);
    expect(cfg.namespaceQuota).toBe("large");
    expect(cfg.values).toEqual(settings.values);
    expect(origins(cfg, "deployment")).toEqual({
      "chart.version": "edited",
      "chart.repository": "edited",
      deployTimeoutSeconds: "edited",
      namespaceQuota: "edited",
    });
    const reverted = effectiveConfig(settings, [setDeployment("deployTimeoutSeconds", 1200), edit("deployment", "deployTimeoutSeconds", "unset")]);
    expect(reverted.deployTimeoutSeconds).toBe(600);
    expect(origins(reverted, "deployment").deployTimeoutSeconds).toBe("default");
  });

  test("a chart repository override is used only where the operators allow it (a prefix must end in /)", () => {
    const allowed = { ...settings, allowedChartRepositories: ["oci://ghcr.io/acme/charts/", "https://charts.partner.dev/stable"] };
    expect(chartRepositoryAllowed(allowed, "https://charts.acme.dev")).toBe(true); // the configured one
    expect(chartRepositoryAllowed(allowed, "oci://ghcr.io/acme/charts/web")).toBe(true);
    expect(chartRepositoryAllowed(allowed, "https://charts.partner.dev/stable")).toBe(true);
    expect(chartRepositoryAllowed(allowed, "https://charts.partner.dev/stable-evil")).toBe(false); // not a prefix: a whole URL
    expect(chartRepositoryAllowed(allowed, "oci://ghcr.io/acme/chartsx/web")).toBe(false);
    expect(chartRepositoryAllowed({ ...settings, allowedChartRepositories: [] }, "oci://ghcr.io/acme/charts/web")).toBe(false);
    // Compared as parsed URLs: no way out of the allowed path, or to another host.
    for (const hostile of [
      "oci://ghcr.io/acme/charts/../../evil/web",
      "oci://ghcr.io/acme/charts/%2e%2e/%2e%2e/evil/web",
      "oci://ghcr.io/acme/charts/%2E%2E/evil",
      "oci://ghcr.io/acme/charts/./web",
      "oci://ghcr.io@evil.example/acme/charts/web",
      "oci://evil.example#@ghcr.io/acme/charts/web",
      "oci://ghcr.io/acme/charts/web?x=1",
      "oci://ghcr.io/acme/charts/ web",
      "oci://ghcr.io/acme/charts\\..\\evil",
      "oci://ghcr.io.evil.example/acme/charts/web",
      "https://charts.partner.dev/stable/../other",
      "OCI://GHCR.IO/acme/charts/../x",
    ]) {
      expect(chartRepositoryAllowed(allowed, hostile), hostile).toBe(false);
    }
    // Host names are compared without regard to case; paths are not.
    expect(chartRepositoryAllowed(allowed, "oci://GHCR.io/acme/charts/web")).toBe(true);
    expect(chartRepositoryAllowed(allowed, "oci://ghcr.io/ACME/charts/web")).toBe(false);
    // A stored override the config no longer allows falls back to the configured repository.
    const cfg = effectiveConfig({ ...settings, allowedChartRepositories: [] }, [setDeployment("chart.repository", "oci://ghcr.io/acme/charts/web")]);
    expect(cfg.chart.repository).toBe("https://charts.acme.dev");
    expect(origins(cfg, "deployment")["chart.repository"]).toBe("default");
  });

  test("a chart without a default version gets one from an override", () => {
    const noVersion = { ...settings, chart: { repository: "https://charts.acme.dev", name: "web" } };
    expect(effectiveConfig(noVersion, []).chart).toEqual({ repository: "https://charts.acme.dev", name: "web" });
    expect(effectiveConfig(noVersion, [setDeployment("chart.version", "3.0.0")]).chart.version).toBe("3.0.0");
  });

  test("app and deployment keys are separate even when spelled alike", () => {
    const cfg = effectiveConfig(settings, [set("chart.version", "x"), setDeployment("chart.version", "2.0.0")]);
    expect(cfg.chart.version).toBe("2.0.0");
    expect(cfg.values).toEqual({ ...settings.values, chart: { version: "x" } });
    const unsetApp = effectiveConfig(settings, [setDeployment("chart.version", "2.0.0"), unset("chart.version")]);
    expect(unsetApp.chart.version).toBe("2.0.0");
  });

  test("edits intake would refuse never reach the result", () => {
    const cfg = effectiveConfig(settings, [
      setDeployment("replicas", 3),
      setDeployment("deployTimeoutSeconds", "forever"),
      setDeployment("chart.repository", "http://insecure.example"),
      set("a..b", 1),
      set("__proto__.polluted", true),
      set("list[5000000000]", 1),
      edit("app", "image.tag", "set"),
    ]);
    expect(cfg.values).toEqual(settings.values);
    expect(cfg.chart).toEqual(settings.chart);
    expect(cfg.deployTimeoutSeconds).toBe(600);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("describeEffectiveConfig", () => {
  test("each key with its value and whether it is default, edited or unset", () => {
    const text = describeEffectiveConfig(
      effectiveConfig(settings, [set("image.tag", "2"), set("replicaCount", 2), unset("image.repository"), setDeployment("deployTimeoutSeconds", 900)]),
    );
    expect(text).toContain("| `deployTimeoutSeconds` | `900` | edited |");
    expect(text).toContain('| `chart.version` | `"1.0.0"` | default |');
    expect(text).toContain("| `namespaceQuota` | (none) | default |");
    expect(text).toContain('| `image.tag` | `"2"` | edited |');
    expect(text).toContain("| `replicaCount` | `2` | edited |");
    expect(text).toContain('| `env[1].value` | `"off"` | default |');
    expect(text).toContain("| `resources` | `{}` | default |");
    expect(text).toContain("| `image.repository` | (removed) | unset |");
    expect(text.indexOf("Deployment:")).toBeLessThan(text.indexOf("App values"));
  });

  test("secret-looking values are hidden: keys, env entries named like secrets, URLs with a password, nested keys", () => {
    const withSecrets = {
      ...settings,
      values: {
        db: { password: "hunter2", url: "postgres://app:hunter3@db:5432/app" },
        env: [{ name: "API_TOKEN", value: "tok-123" }, { name: "LOG_LEVEL", value: "debug" }],
        annotations: { "vault.io/x": "y", apiKey: "k-456" },
      },
    };
    const text = describeEffectiveConfig(effectiveConfig(withSecrets, []));
    for (const secret of ["hunter2", "hunter3", "tok-123", "k-456"]) expect(text).not.toContain(secret);
    expect(text).toContain("| `db.password` | (hidden: looks like a secret) | default |");
    expect(text).toContain("| `env[0].value` | (hidden: looks like a secret) | default |");
    expect(text).toContain('| `env[1].value` | `"debug"` | default |');
    expect(text).toContain('"vault.io/x":"y"');
  });

  test("pipes and backticks in values cannot break the table; long values are cut", () => {
    const text = describeEffectiveConfig(effectiveConfig(settings, [set("a", "x|y"), set("b", "``tick`"), set("c", "z".repeat(300))]));
    expect(text).toContain('| `a` | `"x\\|y"` | edited |');
    expect(text).toContain('| `b` | ```"``tick`"``` | edited |');
    const row = text.split("\n").find((l) => l.startsWith("| `c` |"))!;
    expect(row).toContain("…");
    expect(row.length).toBeLessThan(120);
  });

  test("a large values file shows 150 default rows, every edited one, and how many were left out", () => {
    const big = { ...settings, values: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, i])) };
    const text = describeEffectiveConfig(effectiveConfig(big, [set("k399", "edited")]));
    const appRows = text.split("App values")[1]!.split("\n").filter((l) => l.startsWith("| `"));
    expect(appRows).toHaveLength(151);
    expect(text).toContain('| `k399` | `"edited"` | edited |');
    expect(text).toContain("…and 249 more default values.");
  });

  test("no app values", () => {
    expect(describeEffectiveConfig(effectiveConfig({ ...settings, values: {} }, []))).toContain("_No values._");
  });
});
