/** The Postgres store: one transaction per change of intent, fenced writes for lease holders. */
import { Prisma } from "../../generated/prisma/client.ts";
import type { Staging } from "../../generated/prisma/client.ts";
import { isStagingStatus } from "../../domain/state-machine.ts";
import { systemClock } from "../../ports/clock.ts";
import type { Clock } from "../../ports/clock.ts";
import type { ChangeRequest, IssueLinkSource, StagingKey, StagingStore } from "../../ports/store.ts";
import { changeStaging, json, loadOverrides } from "./change-staging.ts";
import type { ChangeHooks } from "./change-staging.ts";
import type { Db } from "./prisma.ts";
import { toAction, toActorSource, toChannel, toCommand, toStaging } from "./records.ts";
import { toStoreError } from "./unavailable.ts";
import * as worker from "./worker-writes.ts";

export interface StagingStoreOptions {
  /** Stamps status changes, actions and reports (lease expiry is the database's time). */
  clock?: Clock;
  /** Injected interleavings for concurrency tests; none in production. */
  hooks?: ChangeHooks;
}

const observedStatuses = ["deploying", "running", "degraded", "failed", "restoring"];

/** Every method's database failure becomes StoreUnavailableError when Postgres could not be reached. */
function guarded(store: StagingStore): StagingStore {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(store) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    out[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toStoreError(err);
      }
    };
  }
  return out as unknown as StagingStore;
}

/** Which staging a change is for, as far as this process can tell without reading it. */
function targetOf(target: ChangeRequest<unknown>["target"]): string {
  if ("id" in target) return `id\u0000${target.id}`;
  if ("name" in target) return `name\u0000${target.name}`;
  return `pr\u0000${target.key.repoOwner}\u0000${target.key.repoName}\u0000${target.key.prNumber}`;
}

/**
 * Runs the changes of one staging one after another in this process (others run alongside).
 * Correctness never depends on it: the database decides every race (a conditional write, a row
 * lock). It is about cost under bursts (issue 14): events of one PR arriving together would
 * otherwise conflict in PostgreSQL, each loser taking the locking path and holding a pooled
 * connection while it waits for the row, which at 400 webhooks/s doubled the CPU per webhook.
 */
function oneAtATimePerStaging(): <T>(target: string, run: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (target, run) => {
    const before = tails.get(target) ?? Promise.resolve();
    const mine = before.then(run, run);
    const tail = mine.catch(() => undefined);
    tails.set(target, tail);
    void tail.then(() => {
      if (tails.get(target) === tail) tails.delete(target);
    });
    return mine;
  };
}

export function createStagingStore(db: Db, options: StagingStoreOptions = {}): StagingStore {
  const clock = options.clock ?? systemClock;
  const ctx = { db, clock, hooks: options.hooks ?? {} };
  const inOrder = oneAtATimePerStaging();
  const store: StagingStore = {
    changeStaging: (req) => inOrder(targetOf(req.target), () => changeStaging(db, clock, req, options.hooks)),

    async get(id) {
      const row = await db.staging.findUnique({ where: { id } });
      return row ? toStaging(row) : null;
    },

    async find(key: StagingKey) {
      const row = await db.staging.findUnique({ where: { repoOwner_repoName_prNumber: key } });
      return row ? toStaging(row) : null;
    },

    async findByName(name) {
      const row = await db.staging.findUnique({ where: { name } });
      return row ? toStaging(row) : null;
    },

    async listStagings(filter) {
      const rows = await db.staging.findMany({
        where: {
          ...(filter.repo ? { repoOwner: { equals: filter.repo.owner, mode: "insensitive" }, repoName: { equals: filter.repo.name, mode: "insensitive" } } : {}),
          ...(filter.status ? { status: filter.status } : filter.includeDeleted ? {} : { status: { not: "deleted" } }),
          ...(filter.after ? { name: { gt: filter.after } } : {}),
        },
        orderBy: { name: "asc" },
        take: filter.limit,
      });
      return rows.map(toStaging);
    },

    async listFollowing(repoOwner, repoName, ref) {
      const rows = await db.staging.findMany({
        where: { origin: "named", follow: true, headRef: ref, repoOwner: { equals: repoOwner, mode: "insensitive" }, repoName: { equals: repoName, mode: "insensitive" }, desiredState: { not: "deleted" } },
      });
      return rows.map(toStaging);
    },

    async forget(id) {
      await db.staging.deleteMany({ where: { id } });
    },

    async getAction(id) {
      const row = await db.action.findUnique({ where: { id } });
      return row ? toAction(row) : null;
    },

    async findByNamespace(namespace) {
      const row = await db.staging.findFirst({ where: { namespace, status: { not: "deleted" } } });
      return row ? toStaging(row) : null;
    },

    async listObserved() {
      const rows = await db.staging.findMany({ where: { desiredState: { not: "archived" }, status: { in: observedStatuses } } });
      return rows.map(toStaging);
    },

    async listInRollout() {
      const rows = await db.staging.findMany({ where: { desiredState: { not: "archived" }, status: { in: ["deploying", "restoring"] } } });
      return rows.map(toStaging);
    },

    async listPullRequestsToCheck(before, limit) {
      const rows = await db.staging.findMany({
        where: { origin: "pull_request", desiredState: { in: ["active", "held"] }, OR: [{ prCheckedAt: null }, { prCheckedAt: { lt: before } }] },
        orderBy: [{ prCheckedAt: { sort: "asc", nulls: "first" } }, { id: "asc" }],
        take: limit,
      });
      return rows.map(toStaging);
    },

    async markPullRequestChecked(id, at, etag) {
      await db.staging.updateMany({ where: { id }, data: { prCheckedAt: at, prEtag: etag } });
    },

    transition: (id, input) => worker.transition(db, clock, id, input),

    async listTransitions(id) {
      const rows = await db.statusTransition.findMany({ where: { stagingId: id }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
      return rows.map((r) => ({
        from: isStagingStatus(r.from) ? r.from : "failed",
        to: isStagingStatus(r.to) ? r.to : "failed",
        reason: r.reason,
        cause: r.cause,
        actor: r.actor,
        at: r.createdAt,
      }));
    },

    async listActions(id) {
      const rows = await db.action.findMany({ where: { stagingId: id }, orderBy: [{ createdAt: "asc" }, { generation: "asc" }] });
      return rows.map(toAction);
    },

    async listMark(repos) {
      if (repos.length === 0) return "0";
      const [row] = await db.$queryRaw<{ mark: string }[]>`
        SELECT count(*)::text || ':' || coalesce(sum("statusVersion"), 0)::text || ':' || coalesce(sum("generation"), 0)::text || ':' || coalesce(max("statusChangedAt")::text, '') AS mark
        FROM "Staging" WHERE lower("repoOwner" || '/' || "repoName") = ANY(${repos.map((r) => r.toLowerCase())}::text[])`;
      return row?.mark ?? "0";
    },

    async creators(ids) {
      if (ids.length === 0) return new Map();
      // DISTINCT ON in SQL: Prisma's `distinct` reads every action of every staging and dedupes in memory.
      const rows = await db.$queryRaw<{ stagingId: string; source: string; actor: string; actorName: string | null }[]>`
        SELECT DISTINCT ON ("stagingId") "stagingId"::text AS "stagingId", "source", "actor", "actorName"
        FROM "Action" WHERE "stagingId" = ANY(${[...ids]}::uuid[])
        ORDER BY "stagingId", "createdAt" ASC, "generation" ASC`;
      return new Map(rows.map((r) => [r.stagingId, { source: toActorSource(r.source, `Action of ${r.stagingId} source`), actor: r.actor, actorName: r.actorName }]));
    },

    listOverrides: (id) => loadOverrides(db, id),

    acquireLease: (id, kind, owner, ttlMs) => worker.acquireLease(db, id, kind, owner, ttlMs),
    renewLease: (lease, ttlMs) => worker.renewLease(db, lease, ttlMs),
    releaseLease: (lease) => worker.releaseLease(db, lease),
    startGeneration: (lease, start) => worker.startGeneration(ctx, lease, start),
    progress: (lease, status) => worker.progress(ctx, lease, status),
    setArchivedReplicas: (lease, replicas) => worker.setArchivedReplicas(ctx, lease, replicas),
    finishGeneration: (lease, finish) => worker.finishGeneration(ctx, lease, finish),
    audit: (lease, entry) => worker.audit(ctx, lease, entry),

    async getChannel(stagingId, channel) {
      const row = await db.reportChannel.findUnique({ where: { stagingId_channel: { stagingId, channel } } });
      return row ? toChannel(row) : null;
    },

    async updateChannel(lease, channel, update) {
      await db.$transaction(async (tx) => {
        await worker.assertLease(tx, lease);
        await ctx.hooks.afterFence?.(lease);
        const data = {
          ...(update.reportedAt ? { reportedAt: update.reportedAt } : {}),
          ...(update.state === undefined ? {} : { state: json(update.state) }),
          ...(update.error === undefined
            ? {}
            : update.error === null
              ? { errorCode: null, error: null, errorVersion: null }
              : { errorCode: update.error.code, error: update.error.message, errorVersion: update.error.version }),
          ...(update.notBefore === undefined ? {} : { notBefore: update.notBefore }),
        };
        await tx.reportChannel.upsert({
          where: { stagingId_channel: { stagingId: lease.stagingId, channel } },
          create: { stagingId: lease.stagingId, channel, ...data, ...(update.reportedVersion === undefined ? {} : { reportedVersion: update.reportedVersion }) },
          update: data,
        });
        // Never backwards: a slower reporter that showed an older version does not undo a newer one.
        if (update.reportedVersion !== undefined) {
          await tx.reportChannel.updateMany({
            where: { stagingId: lease.stagingId, channel, reportedVersion: { lt: update.reportedVersion } },
            data: { reportedVersion: update.reportedVersion },
          });
        }
      });
    },

    async recordCommand(cmd) {
      return db.$transaction(async (tx) => {
        await tx.webhookDelivery.createMany({ data: [{ id: cmd.deliveryId, event: "issue_comment.created" }], skipDuplicates: true });
        const inserted = await tx.command.createMany({
          data: [
            {
              source: cmd.source,
              externalId: cmd.externalId,
              deliveryId: cmd.deliveryId,
              installationId: BigInt(cmd.installationId),
              repoOwner: cmd.repoOwner,
              repoName: cmd.repoName,
              prNumber: cmd.prNumber,
              commentId: BigInt(cmd.commentId),
              commentedAt: cmd.commentedAt,
              actor: cmd.actor,
              body: cmd.body,
              createdAt: clock.now(),
            },
          ],
          skipDuplicates: true,
        });
        const row = await tx.command.findUniqueOrThrow({ where: { source_externalId: { source: cmd.source, externalId: cmd.externalId } } });
        return { outcome: inserted.count === 1 ? ("recorded" as const) : ("duplicate" as const), command: toCommand(row) };
      });
    },

    async getCommand(id) {
      const row = await db.command.findUnique({ where: { id } });
      return row ? toCommand(row) : null;
    },

    async saveCommandReply(id, reply) {
      await db.command.updateMany({ where: { id, reply: null }, data: { reply } });
    },

    async markCommandReplied(id) {
      await db.command.updateMany({ where: { id }, data: { state: "replied", repliedAt: clock.now() } });
    },

    async listWork(now, opts = {}) {
      const limit = opts.limit ?? 500;
      const deploy = await db.$queryRaw<(Pick<Staging, "id" | "generation"> & { lastLease: bigint | null })[]>`
        SELECT s."id", s."generation", (SELECT l."token" FROM "Lease" l WHERE l."stagingId" = s."id" AND l."kind" = 'deploy') AS "lastLease" FROM "Staging" s
        WHERE s."generation" > s."observedGeneration" AND s."desiredState" <> 'held'
          AND NOT (s."desiredState" = 'deleted' AND s."status" = 'deleted')
          AND (s."retryAt" IS NULL OR s."retryAt" <= ${now})
          AND NOT EXISTS (SELECT 1 FROM "Lease" l WHERE l."stagingId" = s."id" AND l."kind" = 'deploy' AND l."expiresAt" > now())
        ORDER BY s."updatedAt" LIMIT ${limit}`;
      const report = await db.$queryRaw<{ id: string; statusVersion: number; statusChangedAt: Date; reportedAt: Date | null; lastLease: bigint | null }[]>`
        SELECT s."id", s."statusVersion", s."statusChangedAt", c."reportedAt", (SELECT l."token" FROM "Lease" l WHERE l."stagingId" = s."id" AND l."kind" = 'report') AS "lastLease" FROM "Staging" s
        JOIN "ReportChannel" c ON c."stagingId" = s."id"
        WHERE s."statusVersion" > c."reportedVersion"
          AND (c."notBefore" IS NULL OR c."notBefore" <= ${now})
          AND (c."errorVersion" IS NULL OR c."errorVersion" < s."statusVersion")
          AND NOT EXISTS (SELECT 1 FROM "Lease" l WHERE l."stagingId" = s."id" AND l."kind" = 'report' AND l."expiresAt" > now())
        ORDER BY s."statusChangedAt" LIMIT ${limit}`;
      const commands = await db.command.findMany({
        where: { state: "queued", createdAt: { lt: opts.commandsOlderThan ?? now } },
        orderBy: { createdAt: "asc" },
        take: limit,
        select: { id: true },
      });
      const token = (t: bigint | null) => (t === null ? null : Number(t));
      return {
        deploy: deploy.map((d) => ({ id: d.id, generation: d.generation, lastLease: token(d.lastLease) })),
        report: report.map((r) => ({ id: r.id, statusVersion: r.statusVersion, statusChangedAt: r.statusChangedAt, reportedAt: r.reportedAt, lastLease: token(r.lastLease) })),
        commands,
      };
    },

    async pruneHistory(before) {
      const deliveries = await db.webhookDelivery.deleteMany({ where: { receivedAt: { lt: before } } });
      const commands = await db.command.deleteMany({ where: { OR: [{ state: "replied", repliedAt: { lt: before } }, { createdAt: { lt: before } }] } });
      const outputs = await db.action.updateMany({ where: { createdAt: { lt: before }, output: { not: null } }, data: { output: null } });
      return { deliveries: deliveries.count, commands: commands.count, outputs: outputs.count };
    },

    async listLifecycleCandidates(rules, limit) {
      // The time tests first (cheap, selective), the repository match (lower() on two columns) last.
      const due = rules.flatMap((r) => {
        const repo = Prisma.sql`lower(s."repoOwner") = ${r.repoOwner.toLowerCase()} AND lower(s."repoName") = ${r.repoName.toLowerCase()}`;
        const unkept = Prisma.sql`NOT s."keepLabel" AND (s."keepUntil" IS NULL OR s."keepUntil" <= ${r.keptAfter})`;
        return [
          ...(r.archivedBefore ? [Prisma.sql`(s."desiredState" = 'archived' AND s."archivedAt" <= ${r.archivedBefore} AND ${unkept} AND ${repo})`] : []),
          ...(r.idleBefore ? [Prisma.sql`(s."desiredState" = 'active' AND s."lastActivityAt" <= ${r.idleBefore} AND ${unkept} AND ${repo})`] : []),
        ];
      });
      const rows = await db.$queryRaw<Staging[]>`
        SELECT * FROM "Staging" s
        WHERE s."noticeAt" IS NOT NULL ${due.length ? Prisma.sql`OR ${Prisma.join(due, " OR ")}` : Prisma.empty}
        ORDER BY COALESCE(s."archivedAt", s."lastActivityAt") LIMIT ${limit}`;
      return rows.map(toStaging);
    },

    async setNotices(changes) {
      if (changes.length === 0) return [];
      const ts = (d: Date | null) => Prisma.sql`${d}::timestamp(3)`;
      const values = changes.map(
        (c) =>
          Prisma.sql`(${c.id}::uuid, ${ts(c.notice?.at ?? null)}, ${c.notice?.policy ?? null}::text, ${c.expected.desiredState}::text, ${c.expected.keepLabel}::boolean, ${ts(c.expected.keepUntil)}, ${ts(c.expected.lastActivityAt)}, ${ts(c.expected.archivedAt)})`,
      );
      return db.$queryRaw<{ id: string; statusVersion: number }[]>`
        UPDATE "Staging" s SET "noticeAt" = v.at, "noticePolicy" = v.policy, "statusVersion" = s."statusVersion" + 1, "updatedAt" = now()
        FROM (VALUES ${Prisma.join(values)}) AS v(id, at, policy, ds, kl, ku, la, aa)
        WHERE s."id" = v.id AND s."desiredState" = v.ds AND s."keepLabel" = v.kl AND s."keepUntil" IS NOT DISTINCT FROM v.ku
          AND s."lastActivityAt" = v.la AND s."archivedAt" IS NOT DISTINCT FROM v.aa
          AND (s."noticeAt" IS DISTINCT FROM v.at OR s."noticePolicy" IS DISTINCT FROM v.policy)
        RETURNING s."id", s."statusVersion"`;
    },

    async listRunning(repoOwner, repoName) {
      const rows = await db.staging.findMany({
        where: { repoOwner: { equals: repoOwner, mode: "insensitive" }, repoName: { equals: repoName, mode: "insensitive" }, desiredState: "active" },
        orderBy: { lastActivityAt: "asc" },
      });
      return rows.map(toStaging);
    },

    async saveUsage(id, expectedUpdatedAt, usage) {
      const n = await db.$executeRaw`
        UPDATE "Staging" SET "usage" = ${JSON.stringify(usage)}::jsonb
        WHERE "id" = ${id}::uuid AND ("usage"->>'updatedAt') IS NOT DISTINCT FROM ${expectedUpdatedAt}`;
      return n > 0;
    },

    async saveWorkloads(id, snapshot) {
      await db.$executeRaw`UPDATE "Staging" SET "workloads" = ${JSON.stringify(snapshot)}::jsonb WHERE "id" = ${id}::uuid`;
    },

    async setIssueLinks(stagingId, sources, links, report) {
      return db.$transaction(async (tx) => {
        const before = await tx.jiraLink.findMany({ where: { stagingId }, select: { issueKey: true } });
        await tx.jiraLink.deleteMany({ where: { stagingId, source: { in: [...sources] }, issueKey: { notIn: links.map((l) => l.issueKey) } } });
        await tx.jiraLink.createMany({ data: links.map((l) => ({ stagingId, issueKey: l.issueKey, source: l.source })), skipDuplicates: true });
        const added = links.filter((l) => !before.some((b) => b.issueKey === l.issueKey)).map((l) => l.issueKey);
        // The Jira channel reports the staging on each linked issue (a new link: from the start).
        if (report && links.length > 0) {
          await tx.reportChannel.upsert({ where: { stagingId_channel: { stagingId, channel: "jira" } }, create: { stagingId, channel: "jira" }, update: added.length ? { reportedVersion: 0 } : {} });
        }
        return { added };
      });
    },

    async listIssueLinks(stagingId) {
      const rows = await db.jiraLink.findMany({ where: { stagingId }, orderBy: { issueKey: "asc" } });
      return rows.map((r) => ({ issueKey: r.issueKey, source: r.source as IssueLinkSource, doneAction: r.doneAction === "archive" || r.doneAction === "cleanup" ? r.doneAction : null }));
    },

    async setIssueDoneAction(stagingId, issueKey, action) {
      await db.jiraLink.updateMany({ where: { stagingId, issueKey }, data: { doneAction: action } });
    },

    async findByIssueKey(issueKey) {
      const rows = await db.staging.findMany({ where: { jiraLinks: { some: { issueKey } }, desiredState: { not: "deleted" } }, orderBy: { name: "asc" } });
      return rows.map(toStaging);
    },

  };
  return guarded(store);
}

