// A release left pending-install or pending-upgrade exactly as a killed helm leaves it: the helm
// double is started directly, and SIGKILLed once it has written its pending revision (as when
// a worker's pod is OOM-killed together with its helm).
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { releaseHistory } from "./helm-double.ts";
import type { HelmDouble } from "./helm-double.ts";
import type { KubeApiDouble } from "./kube-api-double.ts";
import { waitFor } from "./wait.ts";

export async function leaveReleasePending(helm: HelmDouble, kube: KubeApiDouble, release: string, namespace: string, values: object = {}): Promise<void> {
  const before = releaseHistory(kube, namespace, release).length;
  const file = path.join(mkdtempSync(path.join(tmpdir(), "stuck-release-")), "values.yaml");
  writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
  helm.hang(60_000, "upgrade", 1);
  const child = spawn(helm.bin, ["upgrade", "--install", release, "web", "-n", namespace, "--create-namespace", "-f", file, "--timeout", "60s"], {
    env: { PATH: process.env.PATH ?? "", ...helm.env, KUBECONFIG: kube.kubeconfigPath },
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("close", resolve));
  await waitFor("pending revision written", () => {
    const last = releaseHistory(kube, namespace, release).at(-1);
    return releaseHistory(kube, namespace, release).length > before && last?.status.startsWith("pending-");
  });
  child.kill("SIGKILL");
  await exited;
}
