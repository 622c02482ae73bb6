/** What the API shows of the core's records: plain JSON, dates as ISO strings, secret values hidden. */
import type { z } from "zod";
import { latestEdits } from "../../domain/overrides.ts";
import type { EffectiveConfig } from "../../domain/overrides.ts";
import { isSecretKey } from "../../domain/overrides-validation.ts";
import { isSecretPath } from "../../domain/secrets.ts";
import type { LifecycleSummary } from "../../domain/lifecycle-summary.ts";
import type { StagingDetails } from "../../app/stagings/service.ts";
import type { ActionRecord, OverrideRecord, StagingRecord } from "../../ports/store.ts";
import type { TokenRecord } from "../../ports/tokens.ts";
import type { actionSchema, configEntrySchema, stagingDetailsSchema, stagingSchema, tokenSchema } from "./schemas.ts";

const hidden = "[secret]";
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function stagingView(s: StagingRecord, life: LifecycleSummary): z.infer<typeof stagingSchema> {
  return {
    name: s.name,
    repo: `${s.repoOwner}/${s.repoName}`,
    origin: s.origin,
    pullRequest: s.prNumber,
    namespace: s.namespace,
    ref: s.headRef,
    sha: s.headSha,
    imageTag: s.imageTag,
    follow: s.follow,
    desiredState: s.desiredState,
    status: s.status,
    reason: s.reason,
    url: s.url,
    deployedSha: s.deployedSha,
    generation: s.generation,
    observedGeneration: s.observedGeneration,
    statusVersion: s.statusVersion,
    statusChangedAt: s.statusChangedAt.toISOString(),
    archivedAt: iso(s.archivedAt),
    lastActivityAt: s.lastActivityAt.toISOString(),
    kept: life.kept === null ? null : life.kept.by === "label" ? { by: "label", label: life.kept.label, until: null } : { by: "keep", until: iso(life.kept.until) },
    nextPolicyAction: life.next ? { action: life.next.action, policy: life.next.policy, at: life.next.at.toISOString() } : null,
    cost: life.cost ? { estimate: true, currency: life.cost.currency, perDay: life.cost.perDay, toDate: life.cost.toDate, savedToDate: life.cost.savedToDate } : null,
  };
}

function configEntries(config: EffectiveConfig, overrides: readonly OverrideRecord[], secretKeys: readonly string[]): z.infer<typeof configEntrySchema>[] {
  const edits = new Map(latestEdits(overrides).map((o) => [`${o.scope}\u0000${o.key}`, o]));
  return config.entries.map((e) => {
    const edit = edits.get(`${e.scope}\u0000${e.key}`);
    const secret = isSecretKey(e.key) || (e.scope === "app" && isSecretPath(config.values, e.key, secretKeys));
    return {
      scope: e.scope,
      key: e.key,
      ...(e.value === undefined ? {} : { value: secret ? hidden : e.value }),
      source: e.origin === "default" ? "project" : e.origin === "edited" ? "override" : "unset",
      by: edit ? `${edit.source}:${edit.actor}` : null,
      at: edit ? edit.at.toISOString() : null,
    };
  });
}

export function stagingDetailsView(d: StagingDetails, secretKeys: readonly string[], life: LifecycleSummary): z.infer<typeof stagingDetailsSchema> {
  return {
    ...stagingView(d.staging, life),
    config: d.config
      ? {
          chart: { repository: d.config.chart.repository, ...(d.config.chart.name ? { name: d.config.chart.name } : {}), ...(d.config.chart.version ? { version: d.config.chart.version } : {}) },
          deployTimeoutSeconds: d.config.deployTimeoutSeconds,
          namespaceQuota: d.config.namespaceQuota ?? null,
          entries: [
            ...configEntries(d.config, d.overrides ?? [], secretKeys),
            ...(d.chartDefaults ?? []).map((c) => ({ scope: "app" as const, key: c.key, value: isSecretKey(c.key) ? hidden : c.value, source: "chart" as const, by: null, at: null })),
          ],
        }
      : null,
  };
}

export function actionView(a: ActionRecord): z.infer<typeof actionSchema> {
  return {
    id: a.id,
    kind: a.kind,
    actor: a.actor,
    actorName: a.actorName,
    source: a.source,
    generation: a.generation,
    state: a.state,
    detail: a.detail ?? null,
    exitCode: a.exitCode,
    durationMs: a.durationMs,
    error: a.error,
    hasLog: Boolean(a.output),
    createdAt: a.createdAt.toISOString(),
  };
}

export function tokenView(t: TokenRecord): z.infer<typeof tokenSchema> {
  return {
    name: t.name,
    role: t.role,
    prefix: t.prefix,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    expiresAt: iso(t.expiresAt),
    lastUsedAt: iso(t.lastUsedAt),
    revokedAt: iso(t.revokedAt),
  };
}
