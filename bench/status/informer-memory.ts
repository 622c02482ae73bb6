// The kube adapter's memory on its own: a process that loads it and watches the cluster (and
// nothing else of Octostage), against the API double holding N staging namespaces with a
// Deployment and two pods each, and F pods of other teams as a real API server returns them.
// RSS after the caches are full minus RSS after loading, median of a few fresh processes: what
// watching costs, without the noise of the rest of the worker. The child is this file, run
// with BENCH_INFORMER_CHILD=1 (it loads only the adapter: everything else is imported lazily).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

export interface InformerMemoryResult {
  stagings: number;
  foreignPods: number;
  env: Record<string, string>;
  /** RSS MiB after loading the adapter, median. */
  loadedRss: number;
  /** RSS MiB growth from watching (caches full, settled), each run and the median. */
  growth: number[];
  medianGrowth: number;
  heapUsed: number;
  readyMs: number;
}

interface ChildReport {
  loadedRss: number;
  rss: number;
  heapUsed: number;
  readyMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? Number.NaN) / 1024;

/** Two full collections with pauses: V8 frees ArrayBuffers on a background sweeper. */
async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function child(): Promise<void> {
  const { createKubeCluster } = await import("../../src/adapters/kube/kube-cluster.ts");
  const { loadKubeConfig } = await import("../../src/adapters/kube/kube-config.ts");
  const kubeConfig = loadKubeConfig(process.env.BENCH_KUBECONFIG);
  await settle();
  const loadedRss = rssMiB();
  const t0 = performance.now();
  await createKubeCluster({ kubeConfig }).watchWorkloads(() => undefined).ready();
  const readyMs = performance.now() - t0;
  await settle();
  const report: ChildReport = { loadedRss, rss: rssMiB(), heapUsed: process.memoryUsage().heapUsed / 2 ** 20, readyMs };
  process.stdout.write(JSON.stringify(report));
  process.exit(0);
}

export async function runInformerMemory(stagings: number, foreignPods: number, runs: number, env: Record<string, string>): Promise<InformerMemoryResult> {
  const { startKubeApiDouble } = await import("../../test/support/kube-api-double.ts");
  const { realisticPod } = await import("../../test/support/realistic-pod.ts");
  const { webDeployment, webPod } = await import("./objects.ts");
  const kube = await startKubeApiDouble();
  try {
    kube.setController("manual");
    for (let t = 0; t < Math.min(50, foreignPods); t++) kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: `team-${t}` } });
    for (let i = 0; i < foreignPods; i++) kube.put(realisticPod(`team-${i % 50}`, `api-${i}-7f9c5d8b6-x2k4p`, { app: "api" }));
    for (let s = 1; s <= stagings; s++) {
      const ns = `octostage-web-pr-${s}`;
      kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "app.kubernetes.io/managed-by": "octostage" } } });
      kube.put(webDeployment(ns, `web-pr-${s}`));
      for (const suffix of ["x2k4p", "q8m3z"]) kube.put(webPod(ns, `web-pr-${s}`, `web-pr-${s}-web-7f9c5d8b6-${suffix}`, "healthy"));
    }
    const reports: ChildReport[] = [];
    for (let r = 0; r < runs; r++) {
      const { stdout } = await promisify(execFile)(process.execPath, ["--max-semi-space-size=4", "--expose-gc", "--no-warnings", import.meta.filename], {
        env: { PATH: process.env.PATH ?? "", BENCH_INFORMER_CHILD: "1", BENCH_KUBECONFIG: kube.kubeconfigPath, ...env },
      });
      reports.push(JSON.parse(stdout) as ChildReport);
    }
    const growth = reports.map((x) => x.rss - x.loadedRss);
    return {
      stagings,
      foreignPods,
      env,
      loadedRss: median(reports.map((x) => x.loadedRss)),
      growth,
      medianGrowth: median(growth),
      heapUsed: median(reports.map((x) => x.heapUsed)),
      readyMs: median(reports.map((x) => x.readyMs)),
    };
  } finally {
    await kube.close();
  }
}

if (process.env.BENCH_INFORMER_CHILD === "1") await child();
