// The informer caches keep trimmed objects: trimming must keep everything the snapshots (and so
// health) read, and drop the rest.
import type { V1Deployment, V1Job, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { isControlledJob, jobSnapshot, trimJob } from "../../src/adapters/kube/job-snapshot.ts";
import { podSnapshot, trimPod } from "../../src/adapters/kube/pod-snapshot.ts";
import { trimWorkload, workloadSnapshot } from "../../src/adapters/kube/workload-snapshot.ts";
import { realisticPod } from "../support/realistic-pod.ts";

const size = (o: unknown): number => JSON.stringify(o).length;

const pods: [string, V1Pod][] = [
  ["running and ready", realisticPod("web-pr-1", "web-7f9c5d8b6-x2k4p")],
  ["crash-looping", realisticPod("web-pr-1", "web-7f9c5d8b6-q8m3z", { ready: false })],
  ["a Job's pod", realisticPod("web-pr-1", "web-migrate-aaaaa", { jobName: "web-migrate" })],
  [
    "unschedulable",
    {
      metadata: { name: "web-1", namespace: "web-pr-2", resourceVersion: "7", labels: { "job-name": "seed" } },
      spec: { containers: [{ name: "web", image: "ghcr.io/acme/web:1" }] },
      status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient memory." }] },
    },
  ],
  ["without status", { metadata: { name: "web-2", namespace: "web-pr-2" }, spec: { containers: [{ name: "web" }] } }],
  [
    "image pull, OOM, sha256 image",
    {
      metadata: { name: "web-3", namespace: "web-pr-3" },
      spec: { containers: [{ name: "web", image: "ghcr.io/acme/web:1" }, { name: "side", image: "busybox" }] },
      status: {
        phase: "Running",
        containerStatuses: [
          { name: "web", image: "sha256:abc", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason: "ImagePullBackOff", message: "manifest unknown" } } },
          { name: "side", image: "busybox", imageID: "", ready: false, restartCount: 3, state: { terminated: { reason: "OOMKilled", exitCode: 137 } }, lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } } },
        ],
      },
    },
  ],
];

describe("trimPod", () => {
  it.each(pods)("keeps what health reads of a pod (%s)", (_label, pod) => {
    expect(podSnapshot(trimPod(pod))).toEqual(podSnapshot(pod));
  });

  it("keeps what the cache uses, and is a small part of a real pod", () => {
    const pod = realisticPod("web-pr-1", "web-7f9c5d8b6-x2k4p") as V1Pod;
    const trimmed = trimPod(pod);
    expect(trimmed.metadata).toMatchObject({ name: "web-7f9c5d8b6-x2k4p", namespace: "web-pr-1", resourceVersion: "48213377" });
    expect(trimmed.metadata?.managedFields).toBeUndefined();
    expect(trimmed.spec?.volumes).toBeUndefined();
    expect(size(trimmed)).toBeLessThan(size(pod) / 5);
  });
});

describe("trimWorkload", () => {
  const deployment: V1Deployment = {
    metadata: { name: "web", namespace: "web-pr-1", resourceVersion: "12", generation: 4, labels: { a: "b" }, managedFields: [{ manager: "helm" }] },
    spec: { replicas: 3, selector: { matchLabels: { a: "b" } }, template: { spec: { containers: [{ name: "web", image: "x" }] } } },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2, observedGeneration: 4, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "timed out" }] },
  };
  const statefulSet: V1StatefulSet = { metadata: { name: "db", namespace: "web-pr-1" }, spec: { serviceName: "db", selector: {}, template: {} } };

  it("keeps what health reads of a Deployment and a StatefulSet, defaults included", () => {
    expect(workloadSnapshot("Deployment", trimWorkload(deployment))).toEqual(workloadSnapshot("Deployment", deployment));
    expect(workloadSnapshot("StatefulSet", trimWorkload(statefulSet))).toEqual(workloadSnapshot("StatefulSet", statefulSet));
    expect(trimWorkload(deployment).metadata).toEqual({ name: "web", namespace: "web-pr-1", resourceVersion: "12", generation: 4 });
  });
});

describe("trimJob", () => {
  const jobs: [string, V1Job][] = [
    ["a failed hook", { metadata: { name: "web-migrate", namespace: "n", resourceVersion: "3", annotations: { "helm.sh/hook": "pre-upgrade", "helm.sh/hook-weight": "1" } }, spec: { template: {} }, status: { failed: 3, conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "limit" }] } }],
    ["a running Job", { metadata: { name: "seed", namespace: "n" }, spec: { template: {} }, status: { active: 1 } }],
    ["a suspended Job", { metadata: { name: "later", namespace: "n" }, spec: { suspend: true, template: {} } }],
    ["a FailureTarget (Kubernetes 1.31+, pods still terminating)", { metadata: { name: "web-migrate", namespace: "n" }, spec: { template: {} }, status: { conditions: [{ type: "FailureTarget", status: "True", reason: "BackoffLimitExceeded", lastTransitionTime: new Date("2026-11-30T10:00:00Z") }] } }],
    ["a KEDA ScaledJob's run", { metadata: { name: "worker-x", namespace: "n", ownerReferences: [{ apiVersion: "keda.sh/v1alpha1", kind: "ScaledJob", name: "worker", uid: "u", controller: true }] }, spec: { template: {} } }],
    ["a CronJob's run", { metadata: { name: "nightly-1", namespace: "n", ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "nightly", uid: "u" }] }, spec: { template: {} }, status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } }],
  ];
  it.each(jobs)("keeps what health reads of a Job (%s)", (_label, job) => {
    expect(jobSnapshot(trimJob(job))).toEqual(jobSnapshot(job));
    expect(isControlledJob(trimJob(job))).toBe(isControlledJob(job));
  });

  it("reads what finished a Job, whichever condition Kubernetes set first, and when", () => {
    const at = new Date("2026-11-30T10:00:00Z");
    const job = (conditions: object[]): V1Job => ({ metadata: { name: "j", namespace: "n" }, spec: { template: {} }, status: { conditions } as V1Job["status"] });
    expect(jobSnapshot(job([{ type: "FailureTarget", status: "True", reason: "DeadlineExceeded", lastTransitionTime: at }])).finished).toEqual({ type: "Failed", reason: "DeadlineExceeded", at });
    expect(jobSnapshot(job([{ type: "SuccessCriteriaMet", status: "True" }, { type: "Complete", status: "True" }])).finished).toEqual({ type: "Complete" });
    expect(jobSnapshot(job([{ type: "Failed", status: "False" }])).finished).toBeUndefined();
    expect(isControlledJob(jobs[4]![1])).toBe(true);
    expect(isControlledJob(jobs[0]![1])).toBe(false);
  });
});
