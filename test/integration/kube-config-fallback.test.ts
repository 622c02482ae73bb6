// The worker does not load @kubernetes/client-node at run time (its 2,700 generated classes cost
// about 40 MB of RSS), except for a kubeconfig that needs it: an exec credential plugin here,
// which must still authenticate exactly as before. Checked in a fresh Node process, where a
// resolve hook sees every module the adapter asks for.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKubeCluster } from "../../src/adapters/kube/kube-cluster.ts";
import { loadKubeConfig } from "../../src/adapters/kube/kube-config.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api-double.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

let kube: KubeApiDouble | undefined;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kube-exec-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

/** A kubeconfig for the double whose user is an exec credential plugin printing `token` (a Node one-liner). */
async function execKubeconfig(double: KubeApiDouble, token: string): Promise<string> {
  const credential = { apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token } };
  const path = join(dir, `kubeconfig-${token}.yaml`);
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "double", cluster: { server: double.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "plugin", user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: process.execPath, args: ["-e", `process.stdout.write(${JSON.stringify(JSON.stringify(credential))})`], interactiveMode: "Never" } } }],
      contexts: [{ name: "double", context: { cluster: "double", user: "plugin" } }],
      "current-context": "double",
    }),
  );
  return path;
}

/** In a fresh process: loads the adapter, makes one namespace through it, says whether anything resolved @kubernetes/client-node. */
async function clientNodeLoaded(kubeconfig: string): Promise<{ loaded: boolean; exists: boolean }> {
  const script = `
    import { registerHooks } from "node:module";
    let loaded = false;
    registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith("@kubernetes/client-node")) loaded = true; return next(specifier, context); } });
    const { loadKubeConfig } = await import(${JSON.stringify(pathToFileURL(join(root, "src/adapters/kube/kube-config.ts")).href)});
    const { createKubeCluster } = await import(${JSON.stringify(pathToFileURL(join(root, "src/adapters/kube/kube-cluster.ts")).href)});
    const cluster = createKubeCluster({ kubeConfig: loadKubeConfig(process.env.KUBECONFIG_UNDER_TEST) });
    await cluster.ensureNamespace("pr-7", "staging-7");
    const watch = cluster.watchWorkloads(() => undefined);
    await watch.ready();
    await watch.stop();
    const state = await cluster.namespaceState("pr-7");
    console.log(JSON.stringify({ loaded, exists: state.exists }));
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: root, env: { ...process.env, KUBECONFIG_UNDER_TEST: kubeconfig } });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { loaded: boolean; exists: boolean };
}

describe("client-node at run time", () => {
  it("is never loaded for a token kubeconfig: requests, informers and all", async () => {
    kube = await startKubeApiDouble({ rbac: true });
    expect(await clientNodeLoaded(kube.kubeconfigPath)).toEqual({ loaded: false, exists: true });
  });

  it("authenticates an exec credential plugin through client-node's KubeConfig, loaded then", async () => {
    kube = await startKubeApiDouble({ rbac: true });
    kube.addToken("from-the-plugin", { user: "plugin-user", groups: ["system:masters"] });
    expect(await clientNodeLoaded(await execKubeconfig(kube, "from-the-plugin"))).toEqual({ loaded: true, exists: true });
  });

  it("sends the plugin's token: another token is refused, and the informers list and watch with it", async () => {
    kube = await startKubeApiDouble({ rbac: true });
    kube.addToken("from-the-plugin", { user: "plugin-user", groups: ["system:masters"] });
    const connection = loadKubeConfig(await execKubeconfig(kube, "from-the-plugin"));
    expect(connection.via).toBe("client-node");
    const cluster = createKubeCluster({ kubeConfig: connection });
    await cluster.ensureNamespace("pr-1", "staging-1");
    const watch = cluster.watchWorkloads(() => undefined);
    await watch.ready();
    await watch.stop();
    expect(await cluster.namespaceState("pr-1")).toMatchObject({ exists: true, managed: true, ownedBy: "staging-1" });

    const unknown = createKubeCluster({ kubeConfig: loadKubeConfig(await execKubeconfig(kube, "not-a-known-token")) });
    await expect(unknown.namespaceState("pr-1")).rejects.toMatchObject({ code: "forbidden", status: 401 });
  });
});
