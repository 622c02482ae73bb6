/**
 * One change of intent in one transaction: the delivery id, the staging row locked FOR UPDATE,
 * the decision on the row as it is now, override edits, the desired spec derived from the
 * resulting inputs and overrides, the new generation and the audit entry. Two writers on one
 * staging (a push and a command, say) are serialized by the row lock; each sees the other's
 * committed change, so none is lost.
 */
import { randomUUID } from "node:crypto";
import { Prisma } from "../../generated/prisma/client.ts";
import type { Staging } from "../../generated/prisma/client.ts";
import type { StagingInputs } from "../../domain/intent/inputs.ts";
import type { Clock } from "../../ports/clock.ts";
import type { ChangeOutcome, ChangeRequest, Lease, OverrideRecord, StagingRecord, StagingSnapshot } from "../../ports/store.ts";
import { poolOf, prismaTypes } from "./prisma.ts";
import type { Db } from "./prisma.ts";
import { toStaging } from "./records.ts";

export type Tx = Prisma.TransactionClient;

/** GitHub gives up on a webhook after 10 s: a change waits at most this long in all. */
export const intentTransaction = { maxWait: 4_000, timeout: 5_000 } as const;

export function json(value: unknown): Prisma.InputJsonValue {
  // JSON-safe by construction (values documents, specs); Prisma wants its own type.
  return value as Prisma.InputJsonValue;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";
}

async function lockStaging(tx: Tx, target: ChangeRequest<unknown>["target"]): Promise<Staging | undefined> {
  const rows =
    "id" in target
      ? await tx.$queryRaw<Staging[]>`SELECT * FROM "Staging" WHERE "id" = ${target.id}::uuid FOR UPDATE`
      : "name" in target
        ? await tx.$queryRaw<Staging[]>`SELECT * FROM "Staging" WHERE "name" = ${target.name} FOR UPDATE`
        : await tx.$queryRaw<Staging[]>`
          SELECT * FROM "Staging"
          WHERE "repoOwner" = ${target.key.repoOwner} AND "repoName" = ${target.key.repoName} AND "prNumber" = ${target.key.prNumber}
          FOR UPDATE`;
  return rows[0];
}

/** An Override row (from Prisma, or from the fast path's JSON) as the decisions see it. */
function toOverride(r: { scope: string; key: string; op: string; value: unknown; actor: string; source: string; updatedAt: Date | string }): OverrideRecord {
  return {
    scope: r.scope === "deployment" ? "deployment" : "app",
    key: r.key,
    op: r.op === "unset" ? "unset" : "set",
    ...(r.op === "set" ? { value: r.value } : {}),
    actor: r.actor,
    source: r.source,
    at: new Date(r.updatedAt),
  };
}

export async function loadOverrides(tx: Tx, stagingId: string): Promise<OverrideRecord[]> {
  const rows = await tx.override.findMany({ where: { stagingId }, orderBy: [{ updatedAt: "asc" }, { id: "asc" }] });
  return rows.map(toOverride);
}

function inputsOf(s: StagingRecord): StagingInputs {
  return {
    desiredState: s.desiredState,
    headSha: s.headSha,
    headRef: s.headRef,
    headFromFork: s.headFromFork,
    headChangedAt: s.headChangedAt,
    prUpdatedAt: s.prUpdatedAt,
    approvedSha: s.approvedSha,
    approvedBy: s.approvedBy,
    skipReason: s.skipReason,
    imageTag: s.imageTag,
    follow: s.follow,
    keepUntil: s.keepUntil,
    keepLabel: s.keepLabel,
  };
}

const emptyInputs: Omit<StagingInputs, "headSha" | "headRef"> = {
  desiredState: "active",
  headFromFork: false,
  headChangedAt: null,
  prUpdatedAt: null,
  approvedSha: null,
  approvedBy: null,
  skipReason: null,
  imageTag: null,
  follow: false,
  keepUntil: null,
  keepLabel: false,
};

export interface ChangeHooks {
  /**
   * Runs inside the transaction, right after the staging row is locked (tests pause writers here).
   * A store with this hook always takes the locking path (the fast path locks nothing).
   */
  afterLock?(target: ChangeRequest<unknown>["target"]): Promise<void>;
  /** Runs on the fast path between its read and its conditional write (tests change the row here). */
  afterRead?(target: ChangeRequest<unknown>["target"]): Promise<void>;
  /** Runs inside a lease holder's write, right after its lease was checked (tests pause writers here). */
  afterFence?(lease: Lease): Promise<void>;
}

/** The row's columns a change of intent writes (both paths). */
function changedColumns(current: StagingRecord | null, inputs: StagingInputs, spec: ReturnType<ChangeRequest<unknown>["spec"]>, action: { actor: { source: string } }, now: Date) {
  return {
    desiredState: inputs.desiredState,
    headSha: inputs.headSha,
    headRef: inputs.headRef,
    headFromFork: inputs.headFromFork,
    headChangedAt: inputs.headChangedAt,
    prUpdatedAt: inputs.prUpdatedAt,
    approvedSha: inputs.approvedSha,
    approvedBy: inputs.approvedBy,
    skipReason: inputs.skipReason,
    imageTag: inputs.imageTag,
    follow: inputs.follow,
    keepUntil: inputs.keepUntil,
    keepLabel: inputs.keepLabel,
    // Retention counts from the archive; idle from the last thing a person (not a policy) did.
    archivedAt: inputs.desiredState !== "archived" ? null : current?.desiredState === "archived" ? current.archivedAt : now,
    ...(action.actor.source === "system" ? {} : { lastActivityAt: now }),
    // A notice of a coming policy action is put back by the next sweep if it still holds.
    noticeAt: null,
    noticePolicy: null,
    desiredSpec: json(spec),
    url: spec.url,
  };
}

type FastRow = Staging & { rowVersion: string; overridesJson: { scope: string; key: string; op: string; value: unknown; actor: string; source: string; updatedAt: string }[] };

// The fast path's two statements, prepared once per connection (node-postgres named statements)
// and run on the pool under Prisma's client: Prisma's runtime building the statements and mapping
// every column back cost more CPU than the statements themselves (bench/README.md, "Where intake
// stands"). Rows come back typed as Prisma types them (prismaTypes); every parameter is cast.
// The staging's columns by name, as this release's Prisma schema has them, never `*`: a prepared
// statement's result must not change shape, and a newer release's migration adding a column while
// this process runs (a rolling update) would otherwise fail it ("cached plan must not change
// result type") on every connection that had prepared it.
const stagingColumns = (alias: string): string => Object.values(Prisma.StagingScalarFieldEnum).map((c) => `${alias}"${c}"`).join(", ");

const FAST_READ = {
  name: "octostage-intake-read",
  text: `
    SELECT ${stagingColumns("s.")}, s.xmin::text AS "rowVersion",
      COALESCE((SELECT json_agg(json_build_object('scope', o."scope", 'key', o."key", 'op', o."op", 'value', o."value", 'actor', o."actor", 'source', o."source",
                                                  'updatedAt', to_char(o."updatedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ORDER BY o."updatedAt", o."id")
                FROM "Override" o WHERE o."stagingId" = s."id"), '[]'::json) AS "overridesJson",
      $1::text IS NOT NULL AND EXISTS (SELECT 1 FROM "WebhookDelivery" d WHERE d."id" = $1::text) AS "seen"
    FROM "Staging" s
    WHERE s."repoOwner" = $2::text AND s."repoName" = $3::text AND s."prNumber" = $4::int`,
};

const FAST_WRITE = {
  name: "octostage-intake-write",
  text: `
    WITH u AS (
      UPDATE "Staging" SET
        "desiredState" = $1::text, "headSha" = $2::text, "headRef" = $3::text, "headFromFork" = $4::boolean,
        "headChangedAt" = $5::timestamp(3), "prUpdatedAt" = $6::timestamp(3), "approvedSha" = $7::text, "approvedBy" = $8::text,
        "skipReason" = $9::text, "imageTag" = $10::text, "follow" = $11::boolean, "keepUntil" = $12::timestamp(3), "keepLabel" = $13::boolean,
        "archivedAt" = $14::timestamp(3), "lastActivityAt" = $15::timestamp(3), "noticeAt" = NULL, "noticePolicy" = NULL,
        "desiredSpec" = $16::jsonb, "url" = $17::text,
        "statusVersion" = "statusVersion" + 1,
        "generation" = "generation" + $18::int,
        "retryAt" = CASE WHEN $19::boolean THEN NULL ELSE "retryAt" END,
        "attempts" = CASE WHEN $19::boolean THEN 0 ELSE "attempts" END,
        "updatedAt" = $20::timestamp(3)
      WHERE "id" = $21::uuid AND xmin::text = $22::text
      RETURNING ${stagingColumns("")}
    ),
    d AS (
      INSERT INTO "WebhookDelivery" ("id", "event") SELECT $23::text, $24::text FROM u WHERE $23::text IS NOT NULL
      ON CONFLICT DO NOTHING RETURNING "id"
    ),
    a AS (
      INSERT INTO "Action" ("id", "stagingId", "kind", "actor", "actorName", "source", "detail", "generation", "state", "deliveryId", "createdAt")
      SELECT $25::uuid, u."id", $26::text, $27::text, $28::text, $29::text, $30::jsonb, u."generation", $31::text, $23::text, $20::timestamp(3)
      FROM u RETURNING "id"
    )
    SELECT ${stagingColumns("u.")} FROM u, a`,
};

/** A DateTime parameter as Prisma stores it: UTC, the zone dropped by the timestamp cast. */
const utc = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/**
 * The hot path of intake (issue 14): a pull request event on an existing staging in two
 * statements and no interactive transaction. One read (the row, its row version `xmin` and its
 * overrides), the same decision as the locking path, then one statement that writes only if the
 * row is still the one read: it updates the staging (WHERE xmin is unchanged), records the
 * delivery and the audit entry from that update, all or nothing. A row changed in between (a
 * command, a worker's write) makes the update match nothing: the locking path then decides again
 * on the row as it is. Delivery ids stay exact: a delivery is recorded only with its change, and
 * a redelivery finds it (ON CONFLICT) and is a duplicate. Events that create a staging or edit
 * overrides take the locking path, and so does a client without its pool.
 */
async function changeFast<R>(db: Db, clock: Clock, req: ChangeRequest<R>, hooks: ChangeHooks): Promise<ChangeOutcome<R> | undefined> {
  const pool = poolOf(db);
  if (!pool || !("key" in req.target) || hooks.afterLock) return undefined;
  const { key } = req.target;
  const rows = await pool.query<FastRow & { seen: boolean }>({ ...FAST_READ, values: [req.deliveryId ?? null, key.repoOwner, key.repoName, key.prNumber], types: prismaTypes });
  const row = rows.rows[0];
  if (!row) return undefined;
  if (row.seen) return { outcome: "duplicate" };
  await hooks.afterRead?.(req.target);
  const current = toStaging(row);
  const overrides = row.overridesJson.map(toOverride);
  const decision = req.decide({ staging: current, overrides });
  if (!decision.change) {
    // Nothing to change, but the delivery is recorded: its redelivery is a duplicate, not work.
    if (!req.deliveryId) return { outcome: "unchanged", reason: decision.reason, result: decision.result, staging: current };
    const inserted = await db.$executeRaw`INSERT INTO "WebhookDelivery" ("id", "event") VALUES (${req.deliveryId}, ${req.event}) ON CONFLICT DO NOTHING`;
    return inserted === 0 ? { outcome: "duplicate" } : { outcome: "unchanged", reason: decision.reason, result: decision.result, staging: current };
  }
  if ((decision.overrides ?? []).length > 0) return undefined;
  const now = clock.now();
  const { action } = decision;
  const inputs: StagingInputs = { ...inputsOf(current), ...decision.inputs };
  const spec = req.spec(inputs, overrides, current.name);
  const c = changedColumns(current, inputs, spec, action, now);
  const bump = decision.bumpGeneration === true;
  const actionId = randomUUID();
  const written = await pool.query<Staging>({
    ...FAST_WRITE,
    values: [
      c.desiredState, c.headSha, c.headRef, c.headFromFork,
      utc(c.headChangedAt), utc(c.prUpdatedAt), c.approvedSha, c.approvedBy,
      c.skipReason, c.imageTag, c.follow, utc(c.keepUntil), c.keepLabel,
      utc(c.archivedAt), utc(c.lastActivityAt ?? current.lastActivityAt),
      JSON.stringify(spec), c.url,
      bump ? 1 : 0, bump, utc(now),
      current.id, row.rowVersion,
      req.deliveryId ?? null, req.event,
      actionId, action.kind, action.actor.id, action.actor.name, action.actor.source,
      action.detail === undefined ? null : JSON.stringify(action.detail), bump ? "queued" : "skipped",
    ],
    types: prismaTypes,
  });
  const out = written.rows[0];
  // Changed since it was read: decide again under the row lock.
  if (!out) return undefined;
  return { outcome: "changed", result: decision.result, staging: toStaging(out), actionId, created: false };
}

async function changeOnce<R>(db: Db, clock: Clock, req: ChangeRequest<R>, hooks: ChangeHooks): Promise<ChangeOutcome<R>> {
  return db.$transaction(async (tx): Promise<ChangeOutcome<R>> => {
    if (req.deliveryId) {
      const inserted = await tx.webhookDelivery.createMany({ data: [{ id: req.deliveryId, event: req.event }], skipDuplicates: true });
      if (inserted.count === 0) return { outcome: "duplicate" };
    }
    const row = await lockStaging(tx, req.target);
    await hooks.afterLock?.(req.target);
    const current = row ? toStaging(row) : null;
    const overrides = current ? await loadOverrides(tx, current.id) : [];
    const snapshot: StagingSnapshot | null = current ? { staging: current, overrides } : null;
    const decision = req.decide(snapshot);
    if (!decision.change) return { outcome: "unchanged", reason: decision.reason, result: decision.result, staging: current };

    const now = clock.now();
    const { action } = decision;
    const base = current ? inputsOf(current) : { ...emptyInputs, headSha: "", headRef: "" };
    const inputs: StagingInputs = { ...base, ...decision.inputs };
    if (!current) {
      if ("id" in req.target || !req.target.create) throw new Error(`staging ${JSON.stringify(req.target)} does not exist`);
      if (!inputs.headSha && !inputs.imageTag) throw new Error("a new staging needs a head commit or an image tag");
    }
    // The overrides the change leaves behind: an edit replaces the earlier one of its key.
    const edits: OverrideRecord[] = (decision.overrides ?? []).map((o) => ({ ...o, actor: action.actor.id, source: action.actor.source, at: now }));
    const edited = new Set(edits.map((e) => `${e.scope}\u0000${e.key}`));
    const after = [...overrides.filter((o) => !edited.has(`${o.scope}\u0000${o.key}`)), ...edits];
    const name = current?.name ?? ("id" in req.target ? "" : (req.target.create?.name ?? ""));
    const spec = req.spec(inputs, after, name);

    const data = changedColumns(current, inputs, spec, action, now);
    let staging: Staging;
    let created = false;
    if (current) {
      staging = await tx.staging.update({
        where: { id: current.id },
        // New intent starts afresh: no backoff left over from failures of an older generation.
        data: { ...data, statusVersion: { increment: 1 }, ...(decision.bumpGeneration ? { generation: { increment: 1 }, retryAt: null, attempts: 0 } : {}) },
      });
    } else if (!("id" in req.target) && req.target.create) {
      // A PR's staging is reported on the PR (its GitHub channel); a named staging has no PR.
      const origin =
        "key" in req.target
          ? { origin: "pull_request", ...req.target.key, channels: { create: [{ channel: "github" }] } }
          : { origin: "named", repoOwner: req.target.create.repoOwner, repoName: req.target.create.repoName, prNumber: null };
      const { create } = req.target;
      staging = await tx.staging.create({
        data: {
          ...origin,
          name: create.name,
          namespace: create.namespace,
          installationId: BigInt(create.installationId),
          ...data,
          generation: 1,
          // A staging held from the start has nothing for the worker to do yet.
          observedGeneration: decision.bumpGeneration ? 0 : 1,
          statusChangedAt: now,
        },
      });
      created = true;
    } else {
      throw new Error(`staging ${JSON.stringify(req.target)} does not exist`);
    }
    for (const e of edits) {
      const fields = { op: e.op, value: e.op === "set" ? json(e.value ?? null) : Prisma.DbNull, actor: e.actor, source: e.source, updatedAt: now };
      await tx.override.upsert({
        where: { stagingId_scope_key: { stagingId: staging.id, scope: e.scope, key: e.key } },
        create: { stagingId: staging.id, scope: e.scope, key: e.key, ...fields, createdAt: now },
        update: fields,
      });
    }
    const audit = await tx.action.create({
      data: {
        stagingId: staging.id,
        kind: action.kind,
        actor: action.actor.id,
        actorName: action.actor.name,
        source: action.actor.source,
        ...(action.detail === undefined ? {} : { detail: json(action.detail) }),
        generation: staging.generation,
        state: decision.bumpGeneration ? "queued" : "skipped",
        deliveryId: req.deliveryId ?? null,
        createdAt: now,
      },
    });
    return { outcome: "changed", result: decision.result, staging: toStaging(staging), actionId: audit.id, created };
  }, intentTransaction);
}

export async function changeStaging<R>(db: Db, clock: Clock, req: ChangeRequest<R>, hooks: ChangeHooks = {}): Promise<ChangeOutcome<R>> {
  const fast = await changeFast(db, clock, req, hooks);
  if (fast) return fast;
  try {
    return await changeOnce(db, clock, req, hooks);
  } catch (err) {
    // Two first events for one PR raced to create it: the loser sees it now (and its delivery id is free again).
    if (isUniqueViolation(err)) return changeOnce(db, clock, req, hooks);
    throw err;
  }
}
