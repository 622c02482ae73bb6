// The use cases' dependencies on real adapters (Postgres store, helm CLI adapter running the
// helm double, client-node on the Kubernetes API double), with a recording queue: for tests of
// execution that do not need BullMQ in between.
import { createHelmCli } from "../../src/adapters/helm/helm-cli.ts";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import type { AppDeps } from "../../src/app/deps.ts";
import type { CodeHost } from "../../src/ports/code-host.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import type { CommentCommandsJob, WorkQueue } from "../../src/ports/queue.ts";
import { testProject } from "./builders.ts";
import type { TestDb } from "./db.ts";
import type { HelmDouble } from "./helm-double.ts";
import type { KubeApiDouble } from "./kube-api-double.ts";

export interface RecordingQueue extends WorkQueue {
  deploys: { stagingId: string; generation: number }[];
  reports: { stagingId: string; version: number; delay: number }[];
  commands: CommentCommandsJob[];
}

export function recordingQueue(): RecordingQueue {
  const q: RecordingQueue = {
    deploys: [],
    reports: [],
    commands: [],
    enqueueCommands: async (job) => void q.commands.push(job),
    enqueueDeploy: async (stagingId, generation) => void q.deploys.push({ stagingId, generation }),
    enqueueReport: async (stagingId, version, delay = 0) => void q.reports.push({ stagingId, version, delay }),
  };
  return q;
}

/** Reporting is not under test here: any call is a test bug. */
const noCodeHost: CodeHost = {
  getPermission: () => Promise.reject(new Error("unexpected GitHub call")),
  addReaction: () => Promise.reject(new Error("unexpected GitHub call")),
  postComment: () => Promise.reject(new Error("unexpected GitHub call")),
  ensureCheckRun: () => Promise.reject(new Error("unexpected GitHub call")),
  ensureStatusComment: () => Promise.reject(new Error("unexpected GitHub call")),
  ensureDeployment: () => Promise.reject(new Error("unexpected GitHub call")),
};

export function workerDeps(db: TestDb, kube: KubeApiDouble, helm: HelmDouble, workerId = "worker-1"): AppDeps & { queue: RecordingQueue } {
  return {
    store: db.store,
    queue: recordingQueue(),
    project: testProject(),
    helm: createHelmCli({ helmBin: helm.bin, env: { ...helm.env, KUBECONFIG: kube.kubeconfigPath }, logger: silentLogger }),
    cluster: createKubeCluster({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), logger: silentLogger }),
    codeHost: noCodeHost,
    clock: { now: () => new Date() },
    logger: silentLogger,
    workerId,
  };
}
