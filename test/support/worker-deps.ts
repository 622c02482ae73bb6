// The use cases' dependencies on real adapters (Postgres store, helm CLI adapter running the
// helm double, client-node on the Kubernetes API double), with a recording queue: for tests of
// execution that do not need BullMQ in between.
import { createHelmCli } from "../../src/adapters/helm/helm-cli.ts";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import type { AppDeps } from "../../src/app/deps.ts";
import { defaultTiming, sleep } from "../../src/app/timing.ts";
import type { Timing } from "../../src/app/timing.ts";
import type { CodeHost } from "../../src/ports/code-host.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import type { WorkQueue } from "../../src/ports/queue.ts";
import { testProject } from "./builders.ts";
import type { TestDb } from "./db.ts";
import type { HelmDouble } from "./helm-double.ts";
import type { KubeApiDouble } from "./kube-api-double.ts";

export interface RecordingQueue extends WorkQueue {
  deploys: { stagingId: string; generation: number; recovery: boolean }[];
  reports: { stagingId: string; version: number; delay: number }[];
  commands: string[];
}

export function recordingQueue(): RecordingQueue {
  const q: RecordingQueue = {
    deploys: [],
    reports: [],
    commands: [],
    enqueueCommand: async (id) => void q.commands.push(id),
    enqueueDeploy: async (stagingId, generation, options = {}) => void q.deploys.push({ stagingId, generation, recovery: options.recovery ?? false }),
    enqueueReport: async (stagingId, version, delay = 0) => void q.reports.push({ stagingId, version, delay }),
  };
  return q;
}

/** Short waits, so cleanup and namespace tests do not sit for minutes. */
export const testTiming: Timing = {
  ...defaultTiming,
  namespacePollMs: 20,
  namespaceGoneTimeoutMs: 3_000,
  namespaceTerminatingWaitMs: 3_000,
  cleanupRetryBaseMs: 200,
  cleanupRetryMaxMs: 1_000,
};

const unexpected = () => Promise.reject(new Error("unexpected GitHub call"));

/** Reporting is not under test here: any call is a test bug. */
const noCodeHost: CodeHost = {
  getPermission: unexpected,
  addReaction: unexpected,
  postComment: unexpected,
  ensureCheckRun: unexpected,
  ensureStatusComment: unexpected,
  ensureDeployment: unexpected,
  getPullRequest: unexpected,
  ensureComment: unexpected,
  deactivateDeployment: unexpected,
  findInstallation: unexpected,
  resolveRef: unexpected,
};

export function workerDeps(db: TestDb, kube: KubeApiDouble, helm: HelmDouble, workerId = "worker-1", overrides: Partial<AppDeps> = {}): AppDeps & { queue: RecordingQueue } {
  return {
    store: db.store,
    queue: recordingQueue(),
    project: testProject(),
    helm: createHelmCli({ helmBin: helm.bin, env: { ...helm.env, KUBECONFIG: kube.kubeconfigPath }, logger: silentLogger, killGraceMs: 1_000 }),
    cluster: createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), logger: silentLogger }),
    codeHost: noCodeHost,
    clock: { now: () => new Date() },
    logger: silentLogger,
    workerId,
    timing: testTiming,
    sleep,
    ...overrides,
  } as AppDeps & { queue: RecordingQueue };
}
