/**
 * The HTTP API's request and response schemas (zod). The same schemas validate requests,
 * serialize responses and generate the OpenAPI 3.1 document at /api/v1/openapi.json.
 */
import { z } from "zod";
import { roles } from "../../domain/roles.ts";
import { stagingStatuses } from "../../domain/state-machine.ts";

export const errorCodes = ["invalid_request", "unauthorized", "forbidden", "not_found", "conflict", "invalid", "unavailable", "rate_limited", "idempotency_key_reused", "internal"] as const;

export const errorSchema = z
  .object({ error: z.object({ code: z.enum(errorCodes), message: z.string() }) })
  .meta({ id: "Error", description: "Every error: a stable code and a message for people." });

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** Override values: `{ "api.replicas": 2 }`; keys as in PR comments (`a.b[0].c`). */
const valuesMap = z.record(z.string().min(1).max(256), scalar);

const stagingName = z.string().min(1).max(53).meta({ description: "The staging's name (DNS label, at most 53 characters)." });

export const stagingSchema = z
  .object({
    name: z.string(),
    repo: z.string().meta({ description: "owner/name" }),
    origin: z.enum(["pull_request", "named"]),
    pullRequest: z.number().int().nullable(),
    namespace: z.string(),
    ref: z.string().meta({ description: "The PR's head branch, or the ref a named staging was given." }),
    sha: z.string().meta({ description: "The commit it runs or will run (empty for a staging from an image tag alone)." }),
    imageTag: z.string().nullable().meta({ description: "A named staging's explicit image tag." }),
    follow: z.boolean(),
    desiredState: z.enum(["active", "archived", "held", "deleted"]),
    status: z.enum(stagingStatuses),
    reason: z.string().nullable(),
    url: z.string().nullable(),
    deployedSha: z.string().nullable(),
    generation: z.number().int(),
    observedGeneration: z.number().int(),
    statusVersion: z.number().int(),
    statusChangedAt: z.string().meta({ format: "date-time" }),
    archivedAt: z.string().nullable().meta({ format: "date-time", description: "When it was archived (retention counts from here)." }),
    lastActivityAt: z.string().meta({ format: "date-time", description: "The last push, command or restore by a person (the idle policy counts from here)." }),
    kept: z
      .object({ by: z.enum(["label", "keep"]), label: z.string().optional(), until: z.string().nullable().meta({ format: "date-time", description: "null: until `keep off` (or while the label is on the PR)." }) })
      .nullable()
      .meta({ description: "Exempt from the idle and retention policies: by the PR's keep label or by `keep`." }),
    nextPolicyAction: z
      .object({ action: z.enum(["archive", "cleanup"]), policy: z.enum(["idle", "retention"]), at: z.string().meta({ format: "date-time" }) })
      .nullable()
      .meta({ description: "What a lifecycle policy will do to it by itself, and when (docs/users/lifecycle.md)." }),
    cost: z
      .object({
        estimate: z.literal(true),
        currency: z.string(),
        perDay: z.number(),
        toDate: z.number(),
        savedToDate: z.number().meta({ description: "What archiving saved (CPU and memory not requested while archived)." }),
      })
      .nullable()
      .meta({ description: "An estimate from the pods' resource requests and the volumes' sizes at the configured prices; null without prices (docs/users/lifecycle.md#cost)." }),
  })
  .meta({ id: "Staging" });

export const configEntrySchema = z.object({
  scope: z.enum(["app", "deployment"]),
  key: z.string(),
  value: z.unknown().optional().meta({ description: "Hidden (\"[secret]\") for keys that look like secrets or are listed in secretKeys." }),
  source: z.enum(["chart", "project", "override", "unset"]).meta({ description: "chart: the chart's own default (values.yaml); project: the project config's; override: set for this staging; unset: a default removed for this staging." }),
  by: z.string().nullable().meta({ description: "Who made the override (source:id)." }),
  at: z.string().nullable().meta({ format: "date-time" }),
});

export const stagingDetailsSchema = stagingSchema
  .extend({
    config: z
      .object({
        chart: z.object({ repository: z.string(), name: z.string().optional(), version: z.string().optional() }),
        deployTimeoutSeconds: z.number().int(),
        namespaceQuota: z.string().nullable(),
        entries: z.array(configEntrySchema),
      })
      .nullable(),
  })
  .meta({ id: "StagingDetails" });

export const listQuery = z.object({
  repo: z.string().optional().meta({ description: "owner/name" }),
  status: z.enum(stagingStatuses).optional(),
  all: z.enum(["true", "false"]).optional().meta({ description: "Deleted stagings too." }),
  cursor: z.string().max(53).optional().meta({ description: "The `next` of the previous page." }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const listSchema = z.object({ items: z.array(stagingSchema), next: z.string().nullable() }).meta({ id: "StagingList" });

const overrideEdits = {
  set: valuesMap.optional().meta({ description: "App overrides (Helm values) to set, merged: keys not named stay." }),
  deployment: valuesMap.optional().meta({ description: "Deployment overrides to set: chart.version, chart.repository, deployTimeoutSeconds, namespaceQuota." }),
};

export const createBody = z
  .object({
    name: stagingName,
    repo: z.string().meta({ description: "owner/name of a repository of the project config." }),
    ref: z.string().optional().meta({ description: "A branch, tag or commit SHA, resolved through GitHub." }),
    tag: z.string().optional().meta({ description: "An explicit image tag (instead of the commit's)." }),
    follow: z.boolean().optional().meta({ description: "Track the branch: a push to it updates the staging." }),
    jira: z.array(z.string().max(64)).max(10).optional().meta({ description: "Jira issue keys to link (replacing those given before this way); keys of the repository's Jira projects." }),
    ...overrideEdits,
  })
  .strict()
  .meta({ id: "CreateStaging" });

export const updateBody = z
  .object({
    ref: z.string().optional(),
    tag: z.string().nullable().optional().meta({ description: "null removes the explicit tag." }),
    follow: z.boolean().optional(),
    jira: z.array(z.string().max(64)).max(10).optional().meta({ description: "Jira issue keys to link (replacing those given before this way); keys of the repository's Jira projects." }),
    ...overrideEdits,
    unset: z.array(z.string()).optional().meta({ description: "App override keys to unset." }),
    unsetDeployment: z.array(z.string()).optional(),
    create: z.object({ repo: z.string() }).optional().meta({ description: "Create the staging when there is none (CI)." }),
  })
  .strict()
  .meta({ id: "UpdateStaging" });

export const updatedSchema = z.object({ staging: stagingSchema, created: z.boolean(), changed: z.boolean() }).meta({ id: "UpdatedStaging" });
export const projectCostSchema = z
  .object({
    project: z.string(),
    repo: z.string(),
    running: z.number().int().meta({ description: "Stagings running or being deployed." }),
    archived: z.number().int(),
    cost: z
      .object({
        estimate: z.literal(true),
        currency: z.string(),
        perDay: z.number().meta({ description: "What the repository's stagings cost per day at their current requests." }),
        toDate: z.number().meta({ description: "What they have cost so far (cleaned-up ones included)." }),
        savedToDate: z.number().meta({ description: "What archiving saved so far." }),
        savedPerDay: z.number().meta({ description: "What the archived ones save per day." }),
      })
      .nullable()
      .meta({ description: "null without prices in the project config (docs/users/lifecycle.md#cost)." }),
  })
  .meta({ id: "ProjectCost" });

export const keepBody = z
  .object({
    keep: z
      .string()
      .max(40)
      .meta({ description: 'As in PR comments: "7d" (days from now), "until 2027-01-15" (through that day, UTC), "" (until "off"), or "off".', examples: ["7d", "until 2027-01-15", "", "off"] }),
  })
  .meta({ id: "KeepRequest" });

export const steeredSchema = z.object({ staging: stagingSchema, result: z.string() }).meta({ id: "SteeredStaging" });

export const actionSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    actor: z.string(),
    actorName: z.string().nullable(),
    source: z.string(),
    generation: z.number().int(),
    state: z.string(),
    detail: z.unknown(),
    exitCode: z.number().int().nullable(),
    durationMs: z.number().int().nullable(),
    error: z.string().nullable(),
    hasLog: z.boolean(),
    createdAt: z.string().meta({ format: "date-time" }),
  })
  .meta({ id: "Action" });

export const actionLogSchema = z
  .object({ id: z.string(), staging: z.string().nullable(), kind: z.string(), state: z.string(), log: z.string(), note: z.string().nullable() })
  .meta({ id: "ActionLog" });

export const tokenSchema = z
  .object({
    name: z.string(),
    role: z.enum(roles),
    prefix: z.string(),
    createdBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "Token" });

export const createTokenBody = z.object({ name: z.string(), role: z.enum(roles), expiresInDays: z.number().int().optional() }).strict().meta({ id: "CreateToken" });
export const createdTokenSchema = z.object({ token: z.string().meta({ description: "Shown this once; only its hash is stored." }), record: tokenSchema }).meta({ id: "CreatedToken" });

const keySchema = z.object({
  key: z.string(),
  type: z.string().meta({ description: "string, number, integer, boolean, object, array or null" }),
  default: z.unknown().optional(),
  description: z.string().optional(),
});
export const keysSchema = z.object({ project: z.string(), chart: z.string(), version: z.string().nullable(), schema: z.boolean(), keys: z.array(keySchema) }).meta({ id: "ChartKeys" });

export const nameParams = z.object({ name: stagingName });
