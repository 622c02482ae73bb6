import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isDnsLabel, stagingName } from "../domain/naming.ts";
import type { ProjectConfig, RepoSettings } from "../domain/settings.ts";
import { renderTemplate, unknownVariables } from "../domain/template.ts";
import type { TemplateVariable } from "../domain/template.ts";
import { defaultSandbox, quantityPattern } from "../domain/sandbox.ts";
import { defaultValuePolicy } from "../domain/value-policy.ts";
import { defaultLifecyclePolicy } from "../domain/lifecycle.ts";
import { defaultJiraPolicy } from "../domain/jira.ts";
import { parseValuePath } from "../domain/values.ts";
import { slackAccessEntryProblem } from "../domain/slack-access.ts";
import { ConfigError, describeIssues } from "./errors.ts";

/**
 * The project config (YAML, path in OCTOSTAGE_CONFIG): DevOps-owned, never read from a PR.
 * Every field is documented in docs/operators/configuration.md.
 */

const quantity = z.string().regex(quantityPattern, "must be a Kubernetes quantity such as 500m, 2 or 4Gi");

const valuesKey = z.string().refine((k) => !("error" in parseValuePath(k)), "must be a dotted path like image.tag");

function template(allowed: readonly TemplateVariable[]) {
  return z.string().min(1).superRefine((t, ctx) => {
    const unknown = unknownVariables(t, allowed);
    if (unknown.length) {
      ctx.addIssue({
        code: "custom",
        message: `unknown placeholder ${unknown.map((u) => `{${u}}`).join(", ")}; allowed: ${allowed.map((a) => `{${a}}`).join(", ")}`,
      });
    }
  });
}

const chartSchema = z
  .object({
    repository: z
      .string()
      .regex(/^(https?|oci):\/\/\S+$/, "must be an https:// chart repository URL or an oci:// reference"),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, "must be a chart name").optional(),
    version: z.string().min(1).optional(),
    allowedRepositories: z
      .array(
        z
          .string()
          .regex(/^(https|oci):\/\/[^\s/@]+(\/\S*)?$/, "must be an https:// or oci:// URL (a prefix ends with /), without credentials"),
      )
      .default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.repository.startsWith("oci://") && !c.name) {
      ctx.addIssue({ code: "custom", path: ["name"], message: "is required for an https:// chart repository" });
    }
  });

const slackEntry = z.string().superRefine((e, ctx) => {
  const problem = slackAccessEntryProblem(e);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const repoSchema = z
  .object({
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"),
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase letters, digits and dashes").max(40).optional(),
    chart: chartSchema,
    values: z.record(z.string(), z.unknown()).default({}),
    imageTagKey: valuesKey.default("image.tag"),
    imageTagTemplate: template(["sha", "shortSha", "pr", "name"]).default("{sha}"),
    hostKey: valuesKey.default("ingress.hostname"),
    hostTemplate: template(["name", "pr", "owner", "repo"]),
    urlTemplate: template(["host", "name", "pr"]).default("https://{host}"),
    // {name} is required: two stagings must never share a namespace (cleanup deletes it).
    namespaceTemplate: template(["name", "pr"])
      .refine((t) => t.includes("{name}"), "must contain {name}, so every staging gets its own namespace")
      .default("octostage-{name}"),
    deployTimeoutSeconds: z.number().int().min(30).max(3600).default(600),
    // The staging namespace's Pod Security level, ResourceQuota and LimitRange (domain/sandbox.ts).
    sandbox: z
      .object({
        podSecurity: z.enum(["privileged", "baseline", "restricted"]).default(defaultSandbox.podSecurity),
        resourceQuota: z.record(z.string().min(1), quantity).nullable().default(() => ({ ...defaultSandbox.resourceQuota })),
        limitRange: z
          .object({ defaultRequest: z.record(z.string(), quantity), default: z.record(z.string(), quantity), max: z.record(z.string(), quantity) })
          .partial()
          .strict()
          .nullable()
          .default(() => structuredClone(defaultSandbox.limitRange)),
      })
      .strict()
      .default(() => structuredClone(defaultSandbox)),
    valuePolicy: z
      .object({
        denyTemplates: z.boolean().default(defaultValuePolicy.denyTemplates),
        denyKeys: z.array(z.string().min(1).max(128)).default([...defaultValuePolicy.denyKeys]),
      })
      .strict()
      .default({ denyTemplates: defaultValuePolicy.denyTemplates, denyKeys: [...defaultValuePolicy.denyKeys] }),
    // Values paths whose values are secrets besides those that look like it (password, token...):
    // removed from helm's output, reasons, replies and logs. `*` stands for one key or list index.
    secretKeys: z
      .array(z.string().regex(/^(\*|[^.[\]*]+)(\[(\d+|\*)\])*(\.(\*|[^.[\]*]+)(\[(\d+|\*)\])*)*$/, "must be a dotted path like db.url, env[*].value or auth.*"))
      .default([]),
    trigger: z
      .object({
        drafts: z.boolean().default(false),
        labels: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ drafts: false, labels: [] }),
    // What happens to stagings by themselves (docs/users/lifecycle.md); null turns a policy off.
    lifecycle: z
      .object({
        onClose: z.enum(["archive", "cleanup"]).default(defaultLifecyclePolicy.onClose),
        onMerge: z.enum(["archive", "cleanup"]).default(defaultLifecyclePolicy.onMerge),
        retentionDays: z.number().int().min(1).max(3650).nullable().default(defaultLifecyclePolicy.retentionDays),
        idleDays: z.number().int().min(1).max(3650).nullable().default(defaultLifecyclePolicy.idleDays),
        keepLabel: z.string().min(1).max(50).default(defaultLifecyclePolicy.keepLabel),
        maxRunning: z.number().int().min(1).max(10_000).nullable().default(defaultLifecyclePolicy.maxRunning),
        onLimit: z.enum(["archive-oldest", "refuse"]).default(defaultLifecyclePolicy.onLimit),
        warnHours: z.number().int().min(1).max(24 * 14).default(defaultLifecyclePolicy.warnHours),
      })
      .strict()
      .default(() => ({ ...defaultLifecyclePolicy })),
    // Jira issues linked to stagings (docs/operators/jira.md); absent: no linking.
    jira: z
      .object({
        projects: z.array(z.string().regex(/^[A-Z][A-Z0-9_]{1,19}$/, "must be a Jira project key such as WEB (2 to 20 capital letters, digits, _)")).min(1, "list the Jira project keys to link"),
        onDone: z.enum(["archive", "cleanup", "nothing"]).default(defaultJiraPolicy.onDone),
        restoreOnReopen: z.boolean().default(defaultJiraPolicy.restoreOnReopen),
      })
      .strict()
      .optional(),
    // Slack (docs/operators/slack.md): who may do what from Slack, and where notifications go.
    slack: z
      .object({
        channel: z.string().regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel id (C… or G…: the channel's details in Slack show it)").optional(),
        roles: z
          .object({ read: z.array(slackEntry).default([]), operate: z.array(slackEntry).default([]), admin: z.array(slackEntry).default([]) })
          .strict()
          .default({ read: [], operate: [], admin: [] }),
        grantedBy: z.string().min(1).max(200).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const price = z.number().min(0).max(1_000_000);

const projectSchema = z
  .object({
    repositories: z.array(repoSchema).min(1, "list at least one repository"),
    // Prices of the cluster's resources for the cost estimate (no defaults: a guess would look like a fact).
    cost: z
      .object({ currency: z.string().min(1).max(8), cpuHour: price, memoryGiBHour: price, storageGiBMonth: price })
      .strict()
      .optional(),
    // Webhook deliveries, command records and helm output older than this are pruned; the audit log stays.
    housekeeping: z.object({ pruneAfterDays: z.number().int().min(1).max(3650).default(30) }).strict().default({ pruneAfterDays: 30 }),
  })
  .strict();

export type { ProjectConfig } from "../domain/settings.ts";

function checkRepo(r: RepoSettings, i: number): string[] {
  const problems: string[] = [];
  const sample = stagingName(r.name, 99999);
  const ns = renderTemplate(r.namespaceTemplate, { name: sample, pr: "99999" });
  if (!isDnsLabel(ns)) {
    problems.push(`repositories[${i}].namespaceTemplate: renders "${ns}", not a DNS label (lowercase, digits, dashes, ≤ 63 chars)`);
  }
  const host = renderTemplate(r.hostTemplate, { name: sample, pr: "99999", owner: "o", repo: "r" });
  if (!/^[a-z0-9.-]+$/i.test(host)) {
    problems.push(`repositories[${i}].hostTemplate: renders "${host}", not a host name`);
  }
  return problems;
}

export function parseProjectConfig(raw: unknown, source = "project config"): ProjectConfig {
  const parsed = projectSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(source, describeIssues(parsed.error));
  const repositories: RepoSettings[] = parsed.data.repositories.map(({ slack, ...r }) => ({
    ...r,
    ...(slack ? { slack: { ...(slack.channel ? { channel: slack.channel } : {}), access: { ...slack.roles, ...(slack.grantedBy ? { grantedBy: slack.grantedBy } : {}) } } } : {}),
    name: r.name ?? r.repo.split("/")[1]!.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
    chart: { repository: r.chart.repository, name: r.chart.name ?? "", ...(r.chart.version ? { version: r.chart.version } : {}) },
    allowedChartRepositories: r.chart.allowedRepositories,
  }));
  const problems = repositories.flatMap(checkRepo);
  const seen = new Map<string, number>();
  repositories.forEach((r, i) => {
    for (const [key, label] of [
      [r.repo.toLowerCase(), "repo"],
      [`name:${r.name}`, "name"],
    ] as const) {
      const prev = seen.get(key);
      if (prev !== undefined) problems.push(`repositories[${i}].${label}: same as repositories[${prev}]; each must be unique`);
      seen.set(key, i);
    }
  });
  if (problems.length) throw new ConfigError(source, problems);
  const byRepo = new Map(repositories.map((r) => [r.repo.toLowerCase(), r]));
  return {
    repositories,
    forRepo: (fullName) => byRepo.get(fullName.toLowerCase()),
    ...(parsed.data.cost ? { cost: parsed.data.cost } : {}),
    housekeeping: parsed.data.housekeeping,
  };
}

export async function loadProjectConfig(path: string): Promise<ProjectConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ConfigError("project config", [
      `OCTOSTAGE_CONFIG: cannot read ${path}; copy octostage.example.yaml there, or set OCTOSTAGE_CONFIG`,
    ]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`project config ${path}`, [`not valid YAML: ${(err as Error).message}`]);
  }
  return parseProjectConfig(raw, `project config ${path}`);
}
