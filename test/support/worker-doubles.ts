// The doubles a worker-side integration test needs, for the whole file: a Postgres schema of its
// own, the Kubernetes API double and the helm double, created before the tests and removed after.
import { afterAll, beforeAll } from "vitest";
import { createTestDb } from "./db.ts";
import type { TestDb } from "./db.ts";
import { createHelmDouble } from "./helm-double.ts";
import type { HelmDouble } from "./helm-double.ts";
import { startKubeApiDouble } from "./kube-api-double.ts";
import type { KubeApiDouble, KubeApiDoubleOptions } from "./kube-api-double.ts";

export interface WorkerDoubles {
  db: TestDb;
  kube: KubeApiDouble;
  helm: HelmDouble;
}

/** Call at the top of a test file; the fields are set once beforeAll has run. */
export function useWorkerDoubles(kubeOptions: KubeApiDoubleOptions = {}): WorkerDoubles {
  const doubles = {} as WorkerDoubles;
  beforeAll(async () => {
    [doubles.db, doubles.kube] = await Promise.all([createTestDb(), startKubeApiDouble(kubeOptions)]);
    doubles.helm = createHelmDouble();
  });
  afterAll(async () => {
    await Promise.all([doubles.db.drop(), doubles.kube.close()]);
    doubles.helm.cleanup();
  });
  return doubles;
}
