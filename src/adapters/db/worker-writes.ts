/**
 * Leases with fencing tokens, and the writes of a lease holder. Every write checks, inside its
 * own transaction, that the lease is still held with the same token (the lease row is locked
 * FOR SHARE, so it cannot change hands until the write commits). A worker that lost its lease
 * (its heartbeat failed, it stalled, another worker took over) can write nothing.
 */
import { Prisma } from "../../generated/prisma/client.ts";
import type { Staging } from "../../generated/prisma/client.ts";
import { checkTransition } from "../../domain/state-machine.ts";
import type { Clock } from "../../ports/clock.ts";
import { LeaseLostError } from "../../ports/store.ts";
import type { AuditEntry, GenerationFinish, GenerationStart, Lease, LeaseKind, TransitionInput, TransitionOutcome, WorkerWriteOutcome } from "../../ports/store.ts";
import { intentTransaction, json, type ChangeHooks, type Tx } from "./change-staging.ts";
import type { Db } from "./prisma.ts";
import { toStaging } from "./records.ts";

const maxOutputChars = 16_000;

/** helm's output as kept: its last `maxOutputChars` characters, with a note saying how much was cut. */
function keptOutput(output: string | undefined): string | null {
  if (output === undefined) return null;
  if (output.length <= maxOutputChars) return output;
  return `[… ${output.length - maxOutputChars} earlier characters cut: only the last ${maxOutputChars} are kept]\n${output.slice(-maxOutputChars)}`;
}

export async function acquireLease(db: Db, stagingId: string, kind: LeaseKind, owner: string, ttlMs: number): Promise<Lease | null> {
  // A new token whenever the lease changes hands, even back to the same owner: each run is fenced on its own.
  const rows = await db.$queryRaw<{ token: bigint }[]>`
    INSERT INTO "Lease" ("stagingId", "kind", "owner", "token", "expiresAt")
    VALUES (${stagingId}::uuid, ${kind}, ${owner}, nextval('"Lease_token_seq"'), now() + ${ttlMs} * interval '1 millisecond')
    ON CONFLICT ("stagingId", "kind") DO UPDATE
      SET "owner" = EXCLUDED."owner", "token" = EXCLUDED."token", "expiresAt" = EXCLUDED."expiresAt"
      WHERE "Lease"."expiresAt" < now()
    RETURNING "token"`;
  const row = rows[0];
  return row ? { stagingId, kind, owner, token: Number(row.token) } : null;
}

export async function renewLease(db: Db, lease: Lease, ttlMs: number): Promise<boolean> {
  const count = await db.$executeRaw`
    UPDATE "Lease" SET "expiresAt" = now() + ${ttlMs} * interval '1 millisecond'
    WHERE "stagingId" = ${lease.stagingId}::uuid AND "kind" = ${lease.kind} AND "owner" = ${lease.owner}
      AND "token" = ${lease.token} AND "expiresAt" > now()`;
  return count === 1;
}

export async function releaseLease(db: Db, lease: Lease): Promise<void> {
  await db.$executeRaw`
    DELETE FROM "Lease" WHERE "stagingId" = ${lease.stagingId}::uuid AND "kind" = ${lease.kind} AND "owner" = ${lease.owner} AND "token" = ${lease.token}`;
}

/** Inside a transaction: the lease is still held (and cannot change hands until commit), else LeaseLostError. */
export async function assertLease(tx: Tx, lease: Lease): Promise<void> {
  const rows = await tx.$queryRaw<{ one: number }[]>`
    SELECT 1 AS one FROM "Lease"
    WHERE "stagingId" = ${lease.stagingId}::uuid AND "kind" = ${lease.kind} AND "owner" = ${lease.owner}
      AND "token" = ${lease.token} AND "expiresAt" > now()
    FOR SHARE`;
  if (rows.length !== 1) throw new LeaseLostError(lease);
}

async function lockRow(tx: Tx, id: string): Promise<Staging> {
  const rows = await tx.$queryRaw<Staging[]>`SELECT * FROM "Staging" WHERE "id" = ${id}::uuid FOR UPDATE`;
  const row = rows[0];
  if (!row) throw new Error(`staging ${id} does not exist`);
  return row;
}

/** A status move on a locked row, through the state machine; the row after it and the outcome. */
async function transitionLocked(tx: Tx, clock: Clock, row: Staging, input: TransitionInput): Promise<[Staging, TransitionOutcome]> {
  const current = toStaging(row);
  if (input.expectedStatusVersion !== undefined && current.statusVersion !== input.expectedStatusVersion) {
    return [row, { applied: false, staging: current, stale: true }];
  }
  const check = checkTransition(current.status, input.to);
  if (!check.ok) return [row, { applied: false, staging: current, refused: check.error }];
  if (!check.changed && current.reason === input.reason) return [row, { applied: false, staging: current }];
  const now = clock.now();
  const updated = await tx.staging.update({
    where: { id: row.id },
    data: { status: input.to, reason: input.reason, statusVersion: { increment: 1 }, ...(check.changed ? { statusChangedAt: now } : {}) },
  });
  if (check.changed) {
    await tx.statusTransition.create({
      data: { stagingId: row.id, from: current.status, to: input.to, reason: input.reason, cause: input.cause, actor: input.actor, createdAt: now },
    });
  }
  return [updated, { applied: true, staging: toStaging(updated), changed: check.changed }];
}

export function transition(db: Db, clock: Clock, id: string, input: TransitionInput): Promise<TransitionOutcome> {
  return db.$transaction(async (tx) => (await transitionLocked(tx, clock, await lockRow(tx, id), input))[1], intentTransaction);
}

/** The database, the clock and the test hooks a lease holder's writes use. */
export interface WriteContext {
  db: Db;
  clock: Clock;
  hooks: ChangeHooks;
}

function fenced<T>(ctx: WriteContext, lease: Lease, fn: (tx: Tx, row: Staging) => Promise<T>): Promise<T> {
  return ctx.db.$transaction(async (tx) => {
    await assertLease(tx, lease);
    await ctx.hooks.afterFence?.(lease);
    return fn(tx, await lockRow(tx, lease.stagingId));
  }, intentTransaction);
}

async function withStatus(tx: Tx, clock: Clock, row: Staging, status: GenerationStart["status"]): Promise<WorkerWriteOutcome> {
  if (!status) return { staging: toStaging(row) };
  const [after, outcome] = await transitionLocked(tx, clock, row, status);
  return { staging: toStaging(after), transition: outcome };
}

export function startGeneration(ctx: WriteContext, lease: Lease, start: GenerationStart): Promise<WorkerWriteOutcome> {
  return fenced(ctx, lease, async (tx, row) => {
    const now = ctx.clock.now();
    await tx.action.updateMany({
      where: { stagingId: row.id, state: "queued", generation: { lt: start.generation } },
      data: { state: "superseded", finishedAt: now, error: `superseded by generation ${start.generation}` },
    });
    await tx.action.updateMany({ where: { stagingId: row.id, state: "queued", generation: start.generation }, data: { state: "running", startedAt: now } });
    const current = start.deployStartedAt === undefined ? row : await tx.staging.update({ where: { id: row.id }, data: { deployStartedAt: start.deployStartedAt } });
    return withStatus(tx, ctx.clock, current, start.status);
  });
}

export function progress(ctx: WriteContext, lease: Lease, status: NonNullable<GenerationStart["status"]>): Promise<WorkerWriteOutcome> {
  return fenced(ctx, lease, (tx, row) => withStatus(tx, ctx.clock, row, status));
}

export function setArchivedReplicas(ctx: WriteContext, lease: Lease, replicas: Record<string, number> | null): Promise<void> {
  return fenced(ctx, lease, async (tx, row) => {
    await tx.staging.update({ where: { id: row.id }, data: { archivedReplicas: replicas === null ? Prisma.DbNull : json(replicas) } });
  });
}

export function finishGeneration(ctx: WriteContext, lease: Lease, finish: GenerationFinish): Promise<WorkerWriteOutcome> {
  return fenced(ctx, lease, async (tx, row) => {
    const now = ctx.clock.now();
    const r = finish.action;
    await tx.action.updateMany({
      where: { stagingId: row.id, generation: finish.generation, state: { in: ["running", "queued"] } },
      data: {
        state: r.state,
        exitCode: r.exitCode ?? null,
        durationMs: r.durationMs ?? null,
        output: keptOutput(r.output),
        error: r.error?.slice(0, 4000) ?? null,
        finishedAt: now,
      },
    });
    const outcome = finish.deployOutcome;
    const updated = await tx.staging.update({
      where: { id: row.id },
      data: {
        ...(finish.observed && row.observedGeneration < finish.generation ? { observedGeneration: finish.generation } : {}),
        ...(outcome ? ("error" in outcome ? { lastDeployError: outcome.error } : { deployedSha: outcome.deployedSha, lastDeployError: null }) : {}),
        ...(finish.archivedReplicas === undefined ? {} : { archivedReplicas: finish.archivedReplicas === null ? Prisma.DbNull : json(finish.archivedReplicas) }),
        ...(finish.retryAt === undefined ? {} : { retryAt: finish.retryAt, attempts: finish.retryAt === null ? 0 : { increment: 1 } }),
        ...(finish.usage === undefined ? {} : { usage: json(finish.usage) }),
      },
    });
    return withStatus(tx, ctx.clock, updated, finish.status);
  });
}

export function audit(ctx: WriteContext, lease: Lease, entry: AuditEntry): Promise<void> {
  return fenced(ctx, lease, async (tx, row) => {
    const now = ctx.clock.now();
    await tx.action.create({
      data: {
        stagingId: row.id,
        kind: entry.kind,
        actor: entry.actor.id,
        actorName: entry.actor.name,
        source: entry.actor.source,
        generation: row.generation,
        state: entry.state,
        ...(entry.detail === undefined ? {} : { detail: json(entry.detail) }),
        output: keptOutput(entry.output),
        error: entry.error?.slice(0, 4000) ?? null,
        exitCode: entry.exitCode ?? null,
        durationMs: entry.durationMs ?? null,
        createdAt: now,
        startedAt: now,
        finishedAt: now,
      },
    });
  });
}
