import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../../src/config/errors.ts";
import { loadProjectConfig, parseProjectConfig } from "../../src/config/project.ts";
import { stagingIdentity } from "../../src/domain/spec.ts";

const dir = mkdtempSync(join(tmpdir(), "octostage-project-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fullYaml = `
repositories:
  - repo: acme/web
    name: web
    chart:
      repository: https://charts.example.com
      name: web
      version: 1.4.2
    values:
      replicaCount: 1
      image: { repository: ghcr.io/acme/web }
    imageTagKey: image.tag
    imageTagTemplate: "{shortSha}"
    hostKey: ingress.hosts[0].host
    hostTemplate: "{name}.staging.example.com"
    urlTemplate: "https://{host}/"
    namespaceTemplate: "staging-{name}"
    deployTimeoutSeconds: 900
    trigger: { drafts: true, labels: [staging] }
  - repo: Acme/Billing.API
    chart: { repository: "oci://ghcr.io/acme/charts/billing" }
    hostTemplate: "{repo}-{pr}.{owner}.example.com"
`;

/** A minimal valid repository entry, to break one field at a time. */
function repo(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { repo: "acme/web", chart: { repository: "https://charts.example.com", name: "web" }, hostTemplate: "{name}.example.com", ...over };
}

function problemsOf(raw: unknown): string[] {
  try {
    parseProjectConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the config to be refused");
}

describe("parseProjectConfig: valid configs", () => {
  test("a full example parses, with defaults filled in for what is left out", () => {
    const config = parseProjectConfig(parseYaml(fullYaml));
    expect(config.repositories).toHaveLength(2);
    expect(config.repositories[0]).toEqual({
      repo: "acme/web",
      name: "web",
      chart: { repository: "https://charts.example.com", name: "web", version: "1.4.2" },
      allowedChartRepositories: [],
      values: { replicaCount: 1, image: { repository: "ghcr.io/acme/web" } },
      imageTagKey: "image.tag",
      imageTagTemplate: "{shortSha}",
      hostKey: "ingress.hosts[0].host",
      hostTemplate: "{name}.staging.example.com",
      urlTemplate: "https://{host}/",
      namespaceTemplate: "staging-{name}",
      deployTimeoutSeconds: 900,
      trigger: { drafts: true, labels: ["staging"] },
      secretKeys: [],
      valuePolicy: { denyTemplates: true, denyKeys: ["namespaceOverride", "*.namespaceOverride", "*securityContext*", "*hostPath*", "*hostNetwork*", "*hostPID*", "*hostIPC*", "*privileged*"] },
      sandbox: {
        podSecurity: "baseline",
        resourceQuota: expect.objectContaining({ pods: "40", "limits.memory": "8Gi", "services.loadbalancers": "0" }),
        limitRange: { defaultRequest: { cpu: "50m", memory: "64Mi" }, default: { cpu: "500m", memory: "512Mi" }, max: { cpu: "2", memory: "4Gi" } },
      },
      lifecycle: { onClose: "archive", onMerge: "archive", retentionDays: 14, idleDays: null, keepLabel: "octostage/keep", maxRunning: null, onLimit: "archive-oldest", warnHours: 24 },
    });
    expect(config.repositories[1]).toEqual({
      repo: "Acme/Billing.API",
      name: "billing-api",
      chart: { repository: "oci://ghcr.io/acme/charts/billing", name: "" },
      allowedChartRepositories: [],
      values: {},
      imageTagKey: "image.tag",
      imageTagTemplate: "{sha}",
      hostKey: "ingress.hostname",
      hostTemplate: "{repo}-{pr}.{owner}.example.com",
      urlTemplate: "https://{host}",
      namespaceTemplate: "octostage-{name}",
      deployTimeoutSeconds: 600,
      trigger: { drafts: false, labels: [] },
      secretKeys: [],
      valuePolicy: { denyTemplates: true, denyKeys: expect.arrayContaining(["*securityContext*"]) },
      sandbox: expect.objectContaining({ podSecurity: "baseline" }),
      lifecycle: expect.objectContaining({ retentionDays: 14, idleDays: null }),
    });
  });

  test("sandbox: Pod Security level, quota and limits, each replaceable or switched off (null)", () => {
    const repo = { repo: "acme/web", chart: { repository: "https://charts.example.com", name: "web" }, hostTemplate: "{name}.example.com" };
    const custom = parseProjectConfig({ repositories: [{ ...repo, sandbox: { podSecurity: "restricted", resourceQuota: null, limitRange: { max: { memory: "1Gi" } } } }] }).repositories[0]!;
    expect(custom.sandbox).toEqual({ podSecurity: "restricted", resourceQuota: null, limitRange: { max: { memory: "1Gi" } } });
    expect(problemsOf({ repositories: [{ ...repo, sandbox: { podSecurity: "none", resourceQuota: { pods: "lots" } } }] })).toEqual([
      expect.stringContaining("repositories[0].sandbox.podSecurity"),
      "repositories[0].sandbox.resourceQuota.pods: must be a Kubernetes quantity such as 500m, 2 or 4Gi",
    ]);
  });

  test("secretKeys are values paths, with * for one key or list index", () => {
    const repo = { repo: "acme/web", chart: { repository: "https://charts.example.com", name: "web" }, hostTemplate: "{name}.example.com" };
    expect(parseProjectConfig({ repositories: [{ ...repo, secretKeys: ["database.url", "env[*].value", "auth.*", "tls[0].key"] }] }).repositories[0]!.secretKeys).toEqual([
      "database.url",
      "env[*].value",
      "auth.*",
      "tls[0].key",
    ]);
    expect(problemsOf({ repositories: [{ ...repo, secretKeys: ["a..b", "x*y", ""] }] })).toEqual([
      "repositories[0].secretKeys[0]: must be a dotted path like db.url, env[*].value or auth.*",
      "repositories[0].secretKeys[1]: must be a dotted path like db.url, env[*].value or auth.*",
      "repositories[0].secretKeys[2]: must be a dotted path like db.url, env[*].value or auth.*",
    ]);
  });

  test("every configured repository yields valid staging names and namespaces", () => {
    const config = parseProjectConfig(parseYaml(fullYaml));
    for (const settings of config.repositories) {
      for (const pr of [1, 42, 99999, 123456]) expect(() => stagingIdentity(settings, pr)).not.toThrow();
    }
    expect(stagingIdentity(config.repositories[1]!, 7)).toEqual({ name: "billing-api-pr-7", namespace: "octostage-billing-api-pr-7" });
  });

  test("forRepo finds a repository case-insensitively, and nothing for others", () => {
    const config = parseProjectConfig(parseYaml(fullYaml));
    expect(config.forRepo("acme/web")?.name).toBe("web");
    expect(config.forRepo("ACME/Web")?.name).toBe("web");
    expect(config.forRepo("acme/billing.api")?.name).toBe("billing-api");
    expect(config.forRepo("acme/other")).toBeUndefined();
    expect(config.forRepo("web")).toBeUndefined();
  });

  test("chart.allowedRepositories defaults to none and is kept apart from the chart helm gets", () => {
    const plain = parseProjectConfig({ repositories: [repo()] }).repositories[0]!;
    expect(plain.allowedChartRepositories).toEqual([]);
    const allowed = parseProjectConfig({ repositories: [repo({ chart: { repository: "https://charts.example.com", name: "web", allowedRepositories: ["oci://ghcr.io/acme/charts/"] } })] }).repositories[0]!;
    expect(allowed.allowedChartRepositories).toEqual(["oci://ghcr.io/acme/charts/"]);
    expect(allowed.chart).not.toHaveProperty("allowedRepositories");
  });

  test("the shipped octostage.example.yaml is valid", async () => {
    const config = await loadProjectConfig(join(import.meta.dirname, "../../octostage.example.yaml"));
    expect(config.repositories.length).toBeGreaterThan(0);
  });
});

describe("parseProjectConfig: each invalid setting names the field and the rule", () => {
  test.each([
    ["bad chart repository URL", repo({ chart: { repository: "charts.example.com", name: "web" } }), "repositories[0].chart.repository", /https:\/\/.*oci:\/\//],
    ["allowed chart repository with credentials", repo({ chart: { repository: "https://charts.example.com", name: "web", allowedRepositories: ["https://user:pw@charts.example.com/"] } }), "repositories[0].chart.allowedRepositories[0]", /https:\/\/ or oci:\/\/ URL.*without credentials/],
    ["allowed chart repository over plain http", repo({ chart: { repository: "https://charts.example.com", name: "web", allowedRepositories: ["http://charts.example.com/"] } }), "repositories[0].chart.allowedRepositories[0]", /https:\/\/ or oci:\/\//],
    ["missing chart name for an https repository", repo({ chart: { repository: "https://charts.example.com" } }), "repositories[0].chart.name", /required for an https/],
    ["bad chart name", repo({ chart: { repository: "https://c.example.com", name: "-web" } }), "repositories[0].chart.name", /chart name/],
    ["unknown placeholder in hostTemplate", repo({ hostTemplate: "{branch}.example.com" }), "repositories[0].hostTemplate", /unknown placeholder \{branch\}.*allowed: \{name\}/],
    ["unknown placeholder in imageTagTemplate", repo({ imageTagTemplate: "{host}" }), "repositories[0].imageTagTemplate", /unknown placeholder \{host\}/],
    ["unknown placeholder in namespaceTemplate", repo({ namespaceTemplate: "ns-{owner}-{name}" }), "repositories[0].namespaceTemplate", /unknown placeholder \{owner\}/],
    ["namespace template shared by every staging", repo({ namespaceTemplate: "octostage-pr-{pr}" }), "repositories[0].namespaceTemplate", /must contain \{name\}/],
    ["namespace rendering to a non-DNS label", repo({ namespaceTemplate: "Staging_{name}" }), "repositories[0].namespaceTemplate", /renders "Staging_web-pr-99999", not a DNS label/],
    ["namespace too long", repo({ name: "n".repeat(40), namespaceTemplate: "octostage-preview-{name}" }), "repositories[0].namespaceTemplate", /not a DNS label.*63/],
    ["host that is not a host name", repo({ hostTemplate: "{name}.example.com/app" }), "repositories[0].hostTemplate", /not a host name/],
    ["bad values key", repo({ imageTagKey: "image..tag" }), "repositories[0].imageTagKey", /dotted path/],
    ["bad host values key", repo({ hostKey: "ingress.hosts[x]" }), "repositories[0].hostKey", /dotted path/],
    ["repo not owner/name", repo({ repo: "web" }), "repositories[0].repo", /owner\/name/],
    ["project name not lowercase", repo({ name: "Web" }), "repositories[0].name", /lowercase/],
    ["deploy timeout too short", repo({ deployTimeoutSeconds: 5 }), "repositories[0].deployTimeoutSeconds", /30/],
    ["drafts not a boolean", repo({ trigger: { drafts: "yes" } }), "repositories[0].trigger.drafts", /boolean/],
    ["unknown key in a repository", repo({ hostTemplat: "{name}.x" }), "repositories[0]", /Unrecognized key.*hostTemplat/],
    ["unknown key in chart", repo({ chart: { repository: "oci://r/c", url: "x" } }), "repositories[0].chart", /Unrecognized key.*url/],
    ["unknown key in trigger", repo({ trigger: { label: ["x"] } }), "repositories[0].trigger", /Unrecognized key.*label/],
  ])("%s", (_what, entry, field, rule) => {
    const problems = problemsOf({ repositories: [entry] });
    const mine = problems.filter((p) => p.startsWith(`${field}: `));
    expect(mine, problems.join("\n")).toHaveLength(1);
    expect(mine[0]).toMatch(rule);
  });

  test("an unknown top-level key is refused", () => {
    expect(problemsOf({ repositories: [repo()], defaults: {} })).toEqual([expect.stringMatching(/^\(root\): Unrecognized key.*defaults/)]);
  });

  test("an empty or missing repository list is refused", () => {
    expect(problemsOf({ repositories: [] })).toEqual(["repositories: list at least one repository"]);
    expect(problemsOf({})[0]).toMatch(/^repositories: /);
    expect(problemsOf(null)[0]).toMatch(/^\(root\): /);
  });

  test("a repository listed twice (in any case) is refused", () => {
    const problems = problemsOf({ repositories: [repo(), repo({ repo: "ACME/WEB", name: "web2" })] });
    expect(problems).toEqual(["repositories[1].repo: same as repositories[0]; each must be unique"]);
  });

  test("two repositories with the same project name are refused (their stagings would collide)", () => {
    const problems = problemsOf({ repositories: [repo({ repo: "acme/web" }), repo({ repo: "other/web" })] });
    expect(problems).toEqual(["repositories[1].name: same as repositories[0]; each must be unique"]);
  });

  test("all problems are reported at once", () => {
    const problems = problemsOf({ repositories: [repo({ imageTagKey: "a..b", deployTimeoutSeconds: 1 }), repo({ repo: "x" })] });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "repositories[0].deployTimeoutSeconds",
      "repositories[0].imageTagKey",
      "repositories[1].repo",
    ]);
  });
});

describe("loadProjectConfig", () => {
  test("reads and validates a YAML file", async () => {
    const file = join(dir, "ok.yaml");
    writeFileSync(file, fullYaml);
    const config = await loadProjectConfig(file);
    expect(config.forRepo("acme/web")?.deployTimeoutSeconds).toBe(900);
  });

  test("a missing file says to set OCTOSTAGE_CONFIG", async () => {
    const missing = join(dir, "nope.yaml");
    const err = await loadProjectConfig(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).toContain("OCTOSTAGE_CONFIG");
    expect((err as ConfigError).problems[0]).toContain(missing);
  });

  test("invalid YAML and invalid settings name the file", async () => {
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "repositories: [\n  - repo: acme/web\n   chart: {");
    await expect(loadProjectConfig(broken)).rejects.toThrow(new RegExp(`project config ${broken}[\\s\\S]*not valid YAML`));
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "repositories:\n  - repo: acme/web\n    chart: { repository: https://c.example.com }\n    hostTemplate: x\n");
    await expect(loadProjectConfig(bad)).rejects.toThrow(new RegExp(`project config ${bad}[\\s\\S]*repositories\\[0\\]\\.chart\\.name`));
  });
});
