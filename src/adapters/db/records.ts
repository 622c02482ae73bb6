/** Rows to records. JSON columns are parsed like any other input, never cast. */
import type { WorkloadSnapshot } from "../../domain/workload-snapshot.ts";
import { z } from "zod";
import type { Action, Command, ReportChannel, Staging } from "../../generated/prisma/client.ts";
import type { DesiredState } from "../../domain/intent/inputs.ts";
import type { UsageLedger } from "../../domain/cost.ts";
import type { DesiredSpec } from "../../domain/spec.ts";
import { isStagingStatus } from "../../domain/state-machine.ts";
import type { ActionRecord, CommandRecord, ReportChannelRecord, StagingRecord } from "../../ports/store.ts";

const chartSchema = z.object({ repository: z.string(), name: z.string(), version: z.string().optional() });

const desiredSpecSchema = z.object({
  sha: z.string(),
  ref: z.string(),
  imageTag: z.string(),
  chart: chartSchema,
  values: z.record(z.string(), z.unknown()),
  host: z.string(),
  url: z.string(),
  deployTimeoutSeconds: z.number().int(),
  namespaceQuota: z.object({ profile: z.string(), hard: z.record(z.string(), z.string()) }).optional(),
  secretKeys: z.array(z.string()).optional(),
  sandbox: z
    .object({
      podSecurity: z.enum(["privileged", "baseline", "restricted"]),
      resourceQuota: z.record(z.string(), z.string()).nullable(),
      limitRange: z
        .object({ defaultRequest: z.record(z.string(), z.string()).optional(), default: z.record(z.string(), z.string()).optional(), max: z.record(z.string(), z.string()).optional() })
        .nullable(),
    })
    .optional(),
}) satisfies z.ZodType<DesiredSpec>;

const resourcesSchema = z.object({ cpuCores: z.number(), memoryGiB: z.number(), storageGiB: z.number() });
const usageSchema = z.object({
  since: z.string(),
  updatedAt: z.string(),
  cpuCoreHours: z.number(),
  memoryGiBHours: z.number(),
  storageGiBHours: z.number(),
  savedCpuCoreHours: z.number(),
  savedMemoryGiBHours: z.number(),
  current: resourcesSchema,
  archived: z.object({ cpuCores: z.number(), memoryGiB: z.number() }).nullable(),
}) satisfies z.ZodType<UsageLedger>;

const snapshotSchema = z.object({
  workloads: z.array(z.object({ kind: z.string(), name: z.string(), ready: z.number(), desired: z.number() })),
  pods: z.array(z.object({ name: z.string(), phase: z.string(), ready: z.boolean(), restarts: z.number(), problem: z.string().nullable() })),
  morePods: z.number(),
}) satisfies z.ZodType<WorkloadSnapshot>;

const replicasSchema = z.record(z.string(), z.number().int().min(0)).nullable();
const desiredStates = ["active", "archived", "held", "deleted"] as const satisfies readonly DesiredState[];
const desiredStateSchema = z.enum(desiredStates);

/** A row whose JSON no longer parses is a bug or a manual edit: say which row and field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const out = schema.safeParse(value);
  if (!out.success) throw new Error(`invalid ${where} in the database: ${out.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return out.data;
}

export function toStaging(row: Staging): StagingRecord {
  return {
    id: row.id,
    name: row.name,
    repoOwner: row.repoOwner,
    repoName: row.repoName,
    origin: row.origin === "named" ? "named" : "pull_request",
    prNumber: row.prNumber,
    installationId: Number(row.installationId),
    imageTag: row.imageTag,
    follow: row.follow,
    namespace: row.namespace,
    desiredState: parse(desiredStateSchema, row.desiredState, `Staging ${row.id} desiredState`),
    desiredSpec: parse(desiredSpecSchema, row.desiredSpec, `Staging ${row.id} desiredSpec`),
    generation: row.generation,
    observedGeneration: row.observedGeneration,
    status: isStagingStatus(row.status) ? row.status : "failed",
    reason: row.reason,
    statusChangedAt: row.statusChangedAt,
    statusVersion: row.statusVersion,
    url: row.url,
    headSha: row.headSha,
    headRef: row.headRef,
    headFromFork: row.headFromFork,
    headChangedAt: row.headChangedAt,
    prUpdatedAt: row.prUpdatedAt,
    prCheckedAt: row.prCheckedAt,
    prEtag: row.prEtag,
    deployedSha: row.deployedSha,
    lastDeployError: row.lastDeployError,
    skipReason: row.skipReason,
    approvedSha: row.approvedSha,
    approvedBy: row.approvedBy,
    archivedReplicas: parse(replicasSchema, row.archivedReplicas, `Staging ${row.id} archivedReplicas`),
    deployStartedAt: row.deployStartedAt,
    retryAt: row.retryAt,
    attempts: row.attempts,
    archivedAt: row.archivedAt,
    lastActivityAt: row.lastActivityAt,
    keepUntil: row.keepUntil,
    keepLabel: row.keepLabel,
    notice: row.noticeAt && (row.noticePolicy === "retention" || row.noticePolicy === "idle") ? { at: row.noticeAt, policy: row.noticePolicy } : null,
    // An estimate: a ledger that no longer reads (an older shape) starts again rather than failing the staging.
    usage: usageSchema.safeParse(row.usage).data ?? null,
    workloads: snapshotSchema.safeParse(row.workloads).data ?? null,
  };
}

const actionKinds = ["deploy", "update", "archive", "restore", "cleanup", "override", "hold", "recover", "keep"] as const;
const actionStates = ["queued", "running", "succeeded", "failed", "superseded", "skipped"] as const;
const sources = ["github", "api", "slack", "jira", "web", "system"] as const;

/** An action's source as stored, checked like every enum read back from the database. */
export function toActorSource(source: string, what: string): ActionRecord["source"] {
  return parse(z.enum(sources), source, what);
}

export function toAction(row: Action): ActionRecord {
  return {
    id: row.id,
    stagingId: row.stagingId,
    kind: parse(z.enum(actionKinds), row.kind, `Action ${row.id} kind`),
    actor: row.actor,
    actorName: row.actorName,
    source: toActorSource(row.source, `Action ${row.id} source`),
    generation: row.generation,
    state: parse(z.enum(actionStates), row.state, `Action ${row.id} state`),
    detail: row.detail,
    exitCode: row.exitCode,
    durationMs: row.durationMs,
    output: row.output,
    error: row.error,
    deliveryId: row.deliveryId,
    createdAt: row.createdAt,
  };
}

export function toChannel(row: ReportChannel): ReportChannelRecord {
  return {
    stagingId: row.stagingId,
    channel: parse(z.enum(["github", "jira", "slack"]), row.channel, `ReportChannel ${row.stagingId} channel`),
    reportedVersion: row.reportedVersion,
    reportedAt: row.reportedAt,
    state: row.state,
    error: row.errorCode ? { code: row.errorCode, message: row.error ?? row.errorCode, version: row.errorVersion } : null,
    notBefore: row.notBefore,
  };
}

export function toCommand(row: Command): CommandRecord {
  return {
    id: row.id,
    source: parse(z.literal("github"), row.source, `Command ${row.id} source`),
    externalId: row.externalId,
    deliveryId: row.deliveryId ?? "",
    installationId: Number(row.installationId),
    repoOwner: row.repoOwner,
    repoName: row.repoName,
    prNumber: row.prNumber,
    commentId: Number(row.commentId),
    commentedAt: row.commentedAt,
    actor: row.actor,
    body: row.body,
    state: parse(z.enum(["queued", "replied"]), row.state, `Command ${row.id} state`),
    reply: row.reply,
    createdAt: row.createdAt,
  };
}
