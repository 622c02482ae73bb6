import { Prisma } from "../../generated/prisma/client.ts";
import type { Action, Staging } from "../../generated/prisma/client.ts";
import type { DesiredSpec } from "../../domain/spec.ts";
import { checkTransition, isStagingStatus } from "../../domain/state-machine.ts";
import type {
  ActionRecord,
  ActionResult,
  DesiredState,
  IntentInput,
  IntentOutcome,
  StagingKey,
  StagingRecord,
  StagingStore,
  TransitionInput,
  TransitionOutcome,
} from "../../ports/store.ts";
import type { Db } from "./prisma.ts";

const maxOutputChars = 16_000;
const intakeTransaction = { maxWait: 8_000, timeout: 8_000 };

function toRecord(row: Staging): StagingRecord {
  const status = isStagingStatus(row.status) ? row.status : "failed";
  return {
    id: row.id,
    name: row.name,
    repoOwner: row.repoOwner,
    repoName: row.repoName,
    prNumber: row.prNumber,
    installationId: Number(row.installationId),
    namespace: row.namespace,
    desiredState: row.desiredState as DesiredState,
    desiredSpec: row.desiredSpec as unknown as DesiredSpec,
    generation: row.generation,
    observedGeneration: row.observedGeneration,
    status,
    reason: row.reason,
    statusChangedAt: row.statusChangedAt,
    statusVersion: row.statusVersion,
    reportedVersion: row.reportedVersion,
    reported: { at: row.reportedAt, check: row.reportedCheckHash, comment: row.reportedCommentHash, deployment: row.reportedDeploymentHash },
    url: row.url,
    headSha: row.headSha,
    headRef: row.headRef,
    deployedSha: row.deployedSha,
    lastDeployError: row.lastDeployError,
    skipReason: row.skipReason,
    approvedSha: row.approvedSha,
    approvedBy: row.approvedBy,
    archivedReplicas: (row.archivedReplicas as Record<string, number> | null) ?? null,
    deployStartedAt: row.deployStartedAt,
    checkRun: row.checkRunId !== null && row.checkRunSha ? { id: Number(row.checkRunId), sha: row.checkRunSha } : null,
    commentId: row.commentId !== null ? Number(row.commentId) : null,
    deployment:
      row.deploymentId !== null && row.deploymentSha ? { id: Number(row.deploymentId), sha: row.deploymentSha } : null,
  };
}

function toAction(row: Action): ActionRecord {
  return {
    id: row.id,
    kind: row.kind as ActionRecord["kind"],
    actor: row.actor,
    source: row.source as ActionRecord["source"],
    generation: row.generation,
    state: row.state as ActionRecord["state"],
    detail: row.detail,
    exitCode: row.exitCode,
    durationMs: row.durationMs,
    output: row.output,
    error: row.error,
    deliveryId: row.deliveryId,
    createdAt: row.createdAt,
  };
}

function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";
}

/** The Postgres store. Every change of intent is one transaction. */
export function createStagingStore(db: Db): StagingStore {
  async function recordIntentOnce(input: IntentInput): Promise<IntentOutcome> {
    // Under a burst the pool may be busy for a while: wait for it (GitHub allows 10 s) rather
    // than fail the webhook after Prisma's default 2 s and lose the intent.
    return db.$transaction(async (tx) => {
      if (input.deliveryId) {
        const inserted = await tx.webhookDelivery.createMany({
          data: [{ id: input.deliveryId, event: input.event }],
          skipDuplicates: true,
        });
        if (inserted.count === 0) return { outcome: "duplicate" } as const;
      }
      const where = { repoOwner_repoName_prNumber: input.key };
      const existing = await tx.staging.findUnique({ where, select: { id: true } });
      const spec = input.desiredSpec;
      const common = {
        desiredState: input.desiredState,
        skipReason: input.skipReason,
        ...(input.approval !== undefined ? { approvedSha: input.approval?.sha ?? null, approvedBy: input.approval?.by ?? null } : {}),
        ...(spec ? { desiredSpec: json(spec), headSha: spec.sha, headRef: spec.ref, url: spec.url } : {}),
      };
      let staging: Staging;
      if (existing) {
        staging = await tx.staging.update({
          where,
          data: {
            ...common,
            statusVersion: { increment: 1 },
            ...(input.bumpGeneration ? { generation: { increment: 1 } } : {}),
          },
        });
      } else {
        if (!spec) throw new Error("a new staging needs a desired spec");
        staging = await tx.staging.create({
          data: {
            ...input.key,
            ...input.create,
            ...common,
            desiredSpec: json(spec),
            headSha: spec.sha,
            headRef: spec.ref,
            installationId: BigInt(input.create.installationId),
            generation: 1,
          },
        });
      }
      for (const o of input.overrides ?? []) {
        const data = {
          op: o.op,
          value: o.op === "set" ? json(o.value ?? null) : Prisma.DbNull,
          actor: input.action.actor,
          source: input.action.source,
        };
        await tx.override.upsert({
          where: { stagingId_scope_key: { stagingId: staging.id, scope: o.scope, key: o.key } },
          create: { stagingId: staging.id, scope: o.scope, key: o.key, ...data },
          update: data,
        });
      }
      const action = await tx.action.create({
        data: {
          stagingId: staging.id,
          kind: input.action.kind,
          actor: input.action.actor,
          source: input.action.source,
          detail: input.action.detail === undefined ? undefined : json(input.action.detail),
          generation: staging.generation,
          state: input.bumpGeneration || !existing ? "queued" : "skipped",
          deliveryId: input.deliveryId ?? null,
        },
      });
      return { outcome: "recorded", staging: toRecord(staging), actionId: action.id, created: !existing } as const;
    }, intakeTransaction);
  }

  return {
    async recordIntent(input) {
      try {
        return await recordIntentOnce(input);
      } catch (err) {
        // Two first webhooks for one PR raced to create it: the second sees it now.
        if (isUniqueViolation(err)) return recordIntentOnce(input);
        throw err;
      }
    },

    async get(id) {
      const row = await db.staging.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
    },

    async find(key: StagingKey) {
      const row = await db.staging.findUnique({ where: { repoOwner_repoName_prNumber: key } });
      return row ? toRecord(row) : null;
    },

    async findByNamespace(namespace) {
      const row = await db.staging.findFirst({ where: { namespace, status: { not: "deleted" } } });
      return row ? toRecord(row) : null;
    },

    async listObserved() {
      const rows = await db.staging.findMany({
        where: { desiredState: { not: "archived" }, status: { in: ["deploying", "running", "degraded", "failed", "restoring"] } },
      });
      return rows.map(toRecord);
    },

    async listInRollout() {
      const rows = await db.staging.findMany({ where: { desiredState: { not: "archived" }, status: { in: ["deploying", "restoring"] } } });
      return rows.map(toRecord);
    },

    async transition(id, input: TransitionInput): Promise<TransitionOutcome> {
      for (;;) {
        const row = await db.staging.findUniqueOrThrow({ where: { id } });
        const current = toRecord(row);
        if (input.expectedStatusVersion !== undefined && current.statusVersion !== input.expectedStatusVersion) {
          return { applied: false, staging: current, stale: true };
        }
        const check = checkTransition(current.status, input.to);
        if (!check.ok) return { applied: false, staging: current, refused: check.error };
        if (!check.changed && current.reason === input.reason) return { applied: false, staging: current };
        const now = new Date();
        const updated = await db.$transaction(async (tx) => {
          const res = await tx.staging.updateMany({
            where: { id, status: current.status, statusVersion: current.statusVersion },
            data: {
              status: input.to,
              reason: input.reason,
              statusVersion: { increment: 1 },
              ...(check.changed ? { statusChangedAt: now } : {}),
            },
          });
          if (res.count === 0) return null;
          if (check.changed) {
            await tx.statusTransition.create({
              data: { stagingId: id, from: current.status, to: input.to, reason: input.reason, cause: input.cause, actor: input.actor },
            });
          }
          return tx.staging.findUniqueOrThrow({ where: { id } });
        });
        if (updated) return { applied: true, staging: toRecord(updated), changed: check.changed };
        // Someone else moved it meanwhile: decide again on the fresh row.
      }
    },

    async startGeneration(id, generation) {
      const now = new Date();
      await db.$transaction([
        db.action.updateMany({
          where: { stagingId: id, state: "queued", generation: { lt: generation } },
          data: { state: "superseded", finishedAt: now, error: `superseded by generation ${generation}` },
        }),
        db.action.updateMany({
          where: { stagingId: id, state: "queued", generation },
          data: { state: "running", startedAt: now },
        }),
      ]);
    },

    async finishGeneration(id, generation, result: ActionResult) {
      await db.action.updateMany({
        where: { stagingId: id, generation, state: { in: ["running", "queued"] } },
        data: {
          state: result.state,
          exitCode: result.exitCode ?? null,
          durationMs: result.durationMs ?? null,
          output: result.output?.slice(-maxOutputChars) ?? null,
          error: result.error?.slice(0, 4000) ?? null,
          finishedAt: new Date(),
        },
      });
    },

    async setObservedGeneration(id, generation) {
      await db.staging.updateMany({
        where: { id, observedGeneration: { lt: generation } },
        data: { observedGeneration: generation },
      });
    },

    async setArchivedReplicas(id, replicas) {
      await db.staging.update({ where: { id }, data: { archivedReplicas: replicas === null ? Prisma.DbNull : json(replicas) } });
    },

    async setDeployStarted(id, at) {
      await db.staging.update({ where: { id }, data: { deployStartedAt: at } });
    },

    async setDeployOutcome(id, outcome) {
      await db.staging.update({
        where: { id },
        data: "error" in outcome ? { lastDeployError: outcome.error } : { deployedSha: outcome.deployedSha, lastDeployError: null },
      });
    },

    async markReported(id, version, github, hashes = {}) {
      await db.staging.update({
        where: { id },
        data: {
          ...(hashes.at ? { reportedAt: hashes.at } : {}),
          ...(hashes.check ? { reportedCheckHash: hashes.check } : {}),
          ...(hashes.comment ? { reportedCommentHash: hashes.comment } : {}),
          ...(hashes.deployment ? { reportedDeploymentHash: hashes.deployment } : {}),
          ...(github.checkRun ? { checkRunId: BigInt(github.checkRun.id), checkRunSha: github.checkRun.sha } : {}),
          ...(github.commentId !== undefined ? { commentId: BigInt(github.commentId) } : {}),
          ...(github.deployment
            ? { deploymentId: BigInt(github.deployment.id), deploymentSha: github.deployment.sha }
            : {}),
        },
      });
      await db.staging.updateMany({ where: { id, reportedVersion: { lt: version } }, data: { reportedVersion: version } });
    },

    async listTransitions(id) {
      const rows = await db.statusTransition.findMany({ where: { stagingId: id }, orderBy: { createdAt: "asc" } });
      return rows.map((r) => ({
        from: isStagingStatus(r.from) ? r.from : "failed",
        to: isStagingStatus(r.to) ? r.to : "failed",
        reason: r.reason,
        cause: r.cause,
        actor: r.actor,
        at: r.createdAt,
      }));
    },

    async listOverrides(id) {
      const rows = await db.override.findMany({ where: { stagingId: id }, orderBy: { updatedAt: "asc" } });
      return rows.map((r) => ({
        scope: r.scope === "deployment" ? ("deployment" as const) : ("app" as const),
        key: r.key,
        op: r.op === "unset" ? ("unset" as const) : ("set" as const),
        ...(r.op === "set" ? { value: r.value } : {}),
        actor: r.actor,
        source: r.source,
        at: r.updatedAt,
      }));
    },

    async recordDelivery(id, event) {
      const inserted = await db.webhookDelivery.createMany({ data: [{ id, event }], skipDuplicates: true });
      return inserted.count === 1;
    },

    async forgetDelivery(id) {
      await db.webhookDelivery.deleteMany({ where: { id } });
    },

    async listActions(id) {
      const rows = await db.action.findMany({ where: { stagingId: id }, orderBy: [{ createdAt: "asc" }, { generation: "asc" }] });
      return rows.map(toAction);
    },

    async acquireLease(id, kind, owner, ttlMs) {
      const rows = await db.$queryRaw<{ owner: string }[]>`
        INSERT INTO "Lease" ("stagingId", "kind", "owner", "expiresAt")
        VALUES (${id}::uuid, ${kind}, ${owner}, now() + ${ttlMs} * interval '1 millisecond')
        ON CONFLICT ("stagingId", "kind") DO UPDATE
          SET "owner" = EXCLUDED."owner", "expiresAt" = EXCLUDED."expiresAt"
          WHERE "Lease"."expiresAt" < now() OR "Lease"."owner" = EXCLUDED."owner"
        RETURNING "owner"`;
      return rows.length === 1;
    },

    async releaseLease(id, kind, owner) {
      await db.lease.deleteMany({ where: { stagingId: id, kind, owner } });
    },

    async pruneDeliveries(before) {
      const out = await db.webhookDelivery.deleteMany({ where: { receivedAt: { lt: before } } });
      await db.commandRun.deleteMany({ where: { createdAt: { lt: before } } });
      return out.count;
    },

    async getCommandRun(deliveryId) {
      return db.commandRun.findUnique({ where: { deliveryId }, select: { reply: true, repliedAt: true } });
    },

    async saveCommandRun(deliveryId, reply) {
      await db.commandRun.upsert({ where: { deliveryId }, create: { deliveryId, reply }, update: {} });
    },

    async markCommandReplied(deliveryId) {
      await db.commandRun.update({ where: { deliveryId }, data: { repliedAt: new Date() } });
    },

    async listNeedingWork() {
      const deploy = await db.$queryRaw<Staging[]>`
        SELECT s.* FROM "Staging" s
        WHERE s."generation" > s."observedGeneration" AND s."desiredState" <> 'held' AND s."status" <> 'deleted'
          AND NOT EXISTS (SELECT 1 FROM "Lease" l WHERE l."stagingId" = s."id" AND l."kind" = 'deploy' AND l."expiresAt" > now())
        LIMIT 500`;
      const report = await db.$queryRaw<Staging[]>`
        SELECT s.* FROM "Staging" s
        WHERE s."statusVersion" > s."reportedVersion"
          AND NOT EXISTS (SELECT 1 FROM "Lease" l WHERE l."stagingId" = s."id" AND l."kind" = 'report' AND l."expiresAt" > now())
        LIMIT 500`;
      return { deploy: deploy.map(toRecord), report: report.map(toRecord) };
    },
  };
}
