// N pull-request stagings written straight into PostgreSQL (createMany, a few seconds for
// 1,000), shaped as the worker leaves them: the desired spec from the real spec function, a
// deployed SHA, a workload snapshot, a usage ledger (so the cost column is filled), mixed
// statuses over the last 30 days, and each PR's history of actions (1..maxPushes deploys) (its first one names who
// opened it: the table's "by") and status transitions.
import { randomUUID } from "node:crypto";
import { pullRequestSpec } from "../../src/app/desired-spec.ts";
import type { ProjectConfig } from "../../src/config/project.ts";
import type { StagingInputs } from "../../src/domain/intent/inputs.ts";
import { stagingIdentity } from "../../src/domain/spec.ts";
import type { StagingStatus } from "../../src/domain/state-machine.ts";
import type { TestDb } from "../../test/support/db.ts";

export const owner = "octo-org";
export const installationId = 4242;

const chart = { repository: "https://charts.example.com", name: "app", version: "1.2.3" };

/** Two repositories, configured like test/support/system.ts's e2eRepository. */
export const benchRepositories = ["web", "api"].map((repo) => ({
  repo: `${owner}/${repo}`,
  name: repo,
  chart: { ...chart, name: repo },
  values: { replicaCount: 2, image: { repository: `ghcr.io/${owner}/${repo}` }, ingress: { enabled: true } },
  hostTemplate: "{name}.staging.example.com",
}));

/** Cost prices, so every row's cost cell is computed (as in the dashboard's e2e test). */
export const benchCost = { currency: "EUR", cpuHour: 0.03, memoryGiBHour: 0.004, storageGiBMonth: 0.1 };

const day = 86_400_000;

/** Status by position: 70 % running, 10 % failed, 5 % each deploying, degraded, pending (none archived: every row is shown). */
function statusOf(i: number): StagingStatus {
  const k = i % 20;
  if (k < 14) return "running";
  if (k === 14) return "deploying";
  if (k === 15) return "degraded";
  if (k === 16 || k === 17) return "failed";
  if (k === 18) return "pending";
  return "running";
}

const failure =
  'helm upgrade --install failed: UPGRADE FAILED: release web-pr-123 failed, and has been rolled back due to atomic being set: timed out waiting for the condition (Deployment "web" has 0 of 2 replicas ready: container "web" in CrashLoopBackOff)';

export interface Seeded {
  /** Names of the stagings, newest status change first (the table's order). */
  names: string[];
  byStatus: Partial<Record<StagingStatus, number>>;
  actions: number;
  transitions: number;
  ms: number;
}

/** `maxPushes`: each PR has 1..maxPushes deploy actions (and two transitions each), by position. */
export async function seedStagings(db: TestDb, project: ProjectConfig, n: number, maxPushes = 8, now = new Date()): Promise<Seeded> {
  const started = performance.now();
  const stagings = [];
  const actions = [];
  const transitions = [];
  const byStatus: Partial<Record<StagingStatus, number>> = {};
  for (let i = 0; i < n; i++) {
    // 60 % web, 40 % api; PR numbers counting up per repository.
    const settings = project.repositories[i % 5 < 3 ? 0 : 1]!;
    const repo = settings.repo.split("/")[1]!;
    const pr = 1000 + i;
    const { name, namespace } = stagingIdentity(settings, pr);
    const sha = (i * 2654435761).toString(16).padStart(40, "a").slice(-40);
    const status = statusOf(i);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    // Spread over 30 days, not in name order.
    const changedAt = new Date(now.getTime() - ((i * 7919) % (30 * 24 * 60)) * 60_000 - 30_000);
    const createdAt = new Date(changedAt.getTime() - ((i % 9) + 1) * day);
    const inputs: StagingInputs = { desiredState: "active", headSha: sha, headRef: `feature/change-${i}`, headFromFork: false, headChangedAt: changedAt, prUpdatedAt: changedAt, approvedSha: null, approvedBy: null, skipReason: null, imageTag: null, follow: false, keepUntil: null, keepLabel: false };
    const spec = pullRequestSpec(settings, owner, repo, pr)(inputs, [], name);
    const id = randomUUID();
    const deployed = status === "running" || status === "degraded" || status === "failed";
    stagings.push({
      id,
      name,
      origin: "pull_request",
      repoOwner: owner,
      repoName: repo,
      prNumber: pr,
      installationId: BigInt(installationId),
      namespace,
      desiredState: "active",
      desiredSpec: JSON.parse(JSON.stringify(spec)) as object,
      generation: (i % 6) + 1,
      observedGeneration: status === "pending" ? i % 6 : (i % 6) + 1,
      status,
      reason: status === "failed" ? failure : status === "degraded" ? `1 of 2 pods not ready: ${name}-web-7f9c5d8b6-x2k4p: CrashLoopBackOff (restarted 7 times)` : null,
      statusChangedAt: changedAt,
      statusVersion: (i % 6) * 3 + 3,
      url: `https://${name}.staging.example.com`,
      headSha: sha,
      headRef: `feature/change-${i}`,
      headChangedAt: changedAt,
      prUpdatedAt: changedAt,
      deployedSha: deployed ? sha : null,
      lastDeployError: status === "failed" ? failure : null,
      lastActivityAt: changedAt,
      usage: {
        since: createdAt.toISOString(),
        updatedAt: changedAt.toISOString(),
        cpuCoreHours: 12.5 + (i % 40),
        memoryGiBHours: 48 + (i % 90),
        storageGiBHours: 240,
        savedCpuCoreHours: 0,
        savedMemoryGiBHours: 0,
        current: { cpuCores: 0.5, memoryGiB: 1, storageGiB: 10 },
        archived: null,
      },
      workloads: deployed
        ? {
            workloads: [
              { kind: "Deployment", name: `${name}-web`, ready: status === "running" ? 2 : 1, desired: 2 },
              { kind: "Deployment", name: `${name}-worker`, ready: 1, desired: 1 },
            ],
            pods: ["x2k4p", "q8m3z", "w7n2c"].map((suffix, k) => ({ name: `${name}-web-7f9c5d8b6-${suffix}`, phase: "Running", ready: status === "running" || k > 0, restarts: status === "running" || k > 0 ? 0 : 7, problem: status === "running" || k > 0 ? null : "CrashLoopBackOff" })),
            morePods: 0,
          }
        : undefined,
      createdAt,
    });
    // One deploy per push: 1..maxPushes per PR, the first by the PR's author.
    const pushes = (i % maxPushes) + 1;
    for (let g = 1; g <= pushes; g++) {
      const at = new Date(createdAt.getTime() + ((changedAt.getTime() - createdAt.getTime()) * (g - 1)) / pushes);
      actions.push({
        stagingId: id,
        kind: "deploy",
        actor: g === 1 ? `dev-${i % 37}` : "octostage",
        source: g === 1 ? "github" : "system",
        generation: g,
        state: g < pushes || status !== "failed" ? "succeeded" : "failed",
        exitCode: 0,
        durationMs: 20_000 + (i % 30) * 1000,
        output: `Release "${name}" has been upgraded. Happy Helming!\nNAME: ${name}\nNAMESPACE: ${namespace}\nSTATUS: deployed\nREVISION: ${g}\n`,
        createdAt: at,
        startedAt: at,
        finishedAt: new Date(at.getTime() + 25_000),
      });
      transitions.push({ stagingId: id, from: g === 1 ? "pending" : "running", to: "deploying", cause: "push", actor: "octostage", createdAt: at });
      transitions.push({ stagingId: id, from: "deploying", to: g < pushes ? "running" : status, cause: "deploy", actor: "octostage", createdAt: new Date(at.getTime() + 25_000) });
    }
  }
  for (let i = 0; i < stagings.length; i += 1000) await db.db.staging.createMany({ data: stagings.slice(i, i + 1000) });
  for (let i = 0; i < actions.length; i += 2000) await db.db.action.createMany({ data: actions.slice(i, i + 2000) });
  for (let i = 0; i < transitions.length; i += 2000) await db.db.statusTransition.createMany({ data: transitions.slice(i, i + 2000) });
  await db.db.$executeRawUnsafe(`ANALYZE "Staging", "Action", "StatusTransition"`);
  const names = [...stagings].sort((a, b) => b.statusChangedAt.getTime() - a.statusChangedAt.getTime() || a.name.localeCompare(b.name)).map((s) => s.name);
  return { names, byStatus, actions: actions.length, transitions: transitions.length, ms: performance.now() - started };
}
