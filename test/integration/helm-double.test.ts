import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runProcess } from "../../src/adapters/helm/exec.ts";
import { createHelmDouble } from "../support/helm-double.ts";
import { startKubeApiDouble } from "../support/kube-api-double.ts";
import type { KubeApiDouble } from "../support/kube-api-double.ts";

let kube: KubeApiDouble;
const double = createHelmDouble();

beforeAll(async () => {
  kube = await startKubeApiDouble();
});
afterAll(async () => {
  await kube.close();
  double.cleanup();
});
beforeEach(() => double.reset());

let counter = 0;
function values(doc: object): string {
  counter += 1;
  const file = path.join(double.dir, `values-${counter}.yaml`);
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

function helm(...argv: string[]): ReturnType<typeof runProcess> {
  return runProcess({ file: double.bin, argv, env: { ...double.env, KUBECONFIG: kube.kubeconfigPath }, timeoutMs: 20_000, redact: [] });
}

function upgrade(release: string, ns: string, doc: object, ...extra: string[]): ReturnType<typeof runProcess> {
  return helm("upgrade", "--install", release, "web", "--namespace", ns, "--create-namespace", "--values", values(doc), "--timeout", "60s", ...extra);
}

function releaseRecord(secret: { data: { release: string } }): { version: number; config: unknown } {
  const gzipped = Buffer.from(Buffer.from(secret.data.release, "base64").toString("utf8"), "base64");
  return JSON.parse(gunzipSync(gzipped).toString("utf8"));
}

describe("helm double", () => {
  it("installs the web chart into a new namespace, upgrades it, and uninstalls it", async () => {
    const install = await upgrade("pr-1-web", "octo-pr-1", { image: { repository: "ghcr.io/acme/web", tag: "sha-1" } });
    expect(install.stderr).toBe("");
    expect(install.exitCode).toBe(0);
    expect(install.stdout).toMatch(/^Release "pr-1-web" does not exist\. Installing it now\.\nNAME: pr-1-web\n.*NAMESPACE: octo-pr-1\nSTATUS: deployed\nREVISION: 1\n/s);
    expect(kube.get("Namespace", undefined, "octo-pr-1")).toBeDefined();
    const deployment = kube.get("Deployment", "octo-pr-1", "pr-1-web-web");
    expect(deployment.metadata.labels).toMatchObject({ "app.kubernetes.io/instance": "pr-1-web", "app.kubernetes.io/managed-by": "Helm" });
    expect(deployment.metadata.annotations).toEqual({ "meta.helm.sh/release-name": "pr-1-web", "meta.helm.sh/release-namespace": "octo-pr-1" });
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.template.spec.containers[0].image).toBe("ghcr.io/acme/web:sha-1");
    expect(kube.get("Service", "octo-pr-1", "pr-1-web-web").spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(kube.get("StatefulSet", "octo-pr-1", "pr-1-web-db")).toBeUndefined();

    const doc = { replicaCount: 3, persistence: { enabled: true, size: "5Gi" } };
    const up = await upgrade("pr-1-web", "octo-pr-1", doc);
    expect(up.stdout).toMatch(/^Release "pr-1-web" has been upgraded\. Happy Helming!\n.*REVISION: 2\n/s);
    expect(kube.get("Deployment", "octo-pr-1", "pr-1-web-web").spec.replicas).toBe(3);
    expect(kube.get("Deployment", "octo-pr-1", "pr-1-web-web").spec.template.spec.containers[0].image).toBe("example/web:latest");
    const db = kube.get("StatefulSet", "octo-pr-1", "pr-1-web-db");
    expect(db.metadata.labels["app.kubernetes.io/instance"]).toBe("pr-1-web");
    expect(db.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("5Gi");

    const secrets = kube.list("Secret", "octo-pr-1");
    expect(secrets.map((s) => [s.metadata.name, s.metadata.labels.status])).toEqual([
      ["sh.helm.release.v1.pr-1-web.v1", "superseded"],
      ["sh.helm.release.v1.pr-1-web.v2", "deployed"],
    ]);
    expect(releaseRecord(secrets[1])).toMatchObject({ version: 2, config: doc });

    await upgrade("pr-1-web", "octo-pr-1", {});
    expect(kube.get("StatefulSet", "octo-pr-1", "pr-1-web-db")).toBeUndefined();

    const removed = await helm("uninstall", "pr-1-web", "--namespace", "octo-pr-1", "--timeout", "60s");
    expect(removed).toMatchObject({ exitCode: 0, stdout: 'release "pr-1-web" uninstalled\n' });
    expect(kube.list("Deployment", "octo-pr-1")).toEqual([]);
    expect(kube.list("Service", "octo-pr-1")).toEqual([]);
    expect(kube.list("Secret", "octo-pr-1")).toEqual([]);

    const again = await helm("uninstall", "pr-1-web", "--namespace", "octo-pr-1");
    expect(again).toMatchObject({ exitCode: 1, stderr: "Error: uninstall: Release not loaded: pr-1-web: release: not found\n" });
    expect((await helm("uninstall", "pr-1-web", "-n", "octo-pr-1", "--ignore-not-found")).exitCode).toBe(0);
  });

  it("prunes release history beyond --history-max", async () => {
    for (let i = 0; i < 4; i++) await upgrade("pr-2-web", "octo-pr-2", {}, "--history-max", "2");
    expect(kube.list("Secret", "octo-pr-2").map((s) => s.metadata.name)).toEqual(["sh.helm.release.v1.pr-2-web.v3", "sh.helm.release.v1.pr-2-web.v4"]);
  });

  it("fails like helm without --create-namespace when the namespace is missing", async () => {
    const result = await helm("upgrade", "--install", "pr-3-web", "web", "-n", "octo-pr-3", "-f", values({}));
    expect(result).toMatchObject({ exitCode: 1, stderr: 'Error: INSTALLATION FAILED: create: failed to create: namespaces "octo-pr-3" not found\n' });
  });

  it("prints helm's message when the cluster is unreachable", async () => {
    const gone = await startKubeApiDouble();
    const kubeconfig = path.join(double.dir, "gone-kubeconfig");
    writeFileSync(kubeconfig, readFileSync(gone.kubeconfigPath));
    await gone.close();
    const port = new URL(gone.url).port;
    const result = await helm("upgrade", "--install", "r", "web", "-n", "x", "--kubeconfig", kubeconfig);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`Error: Kubernetes cluster unreachable: Get "${gone.url}/version": dial tcp 127.0.0.1:${port}: connect: connection refused\n`);
  });

  it("records argv, values parsed as helm parses them (YAML 1.1), the values file mode and KUBECONFIG", async () => {
    const file = values({ a: { b: "on" }, quoted: "on" }).replace(/$/, "");
    writeFileSync(file, 'a:\n  b: on\nquoted: "on"\n', { mode: 0o600 });
    await helm("upgrade", "--install", "pr-4-web", "oci://ghcr.io/acme/web", "-n", "octo-pr-4", "--create-namespace", "-f", file);
    const [call] = double.calls();
    expect(call).toMatchObject({
      argv: ["upgrade", "--install", "pr-4-web", "oci://ghcr.io/acme/web", "-n", "octo-pr-4", "--create-namespace", "-f", file],
      values: [{ a: { b: true }, quoted: "on" }], // plain `on` is a boolean to helm
      valuesFiles: [{ path: file, mode: "0600" }],
      env: { KUBECONFIG: kube.kubeconfigPath },
    });
    expect(call!.pid).toBeGreaterThan(0);
    expect(Date.parse(call!.startedAt)).not.toBeNaN();
  });

  it("rejects flags and arguments helm would reject", async () => {
    expect((await helm("upgrade", "--install", "r", "web", "--bogus")).stderr).toBe("Error: unknown flag: --bogus\n");
    expect((await helm("upgrade", "--install", "r", "web", "--set", "a=b")).stderr).toContain("does not implement --set");
    expect((await helm("upgrade", "--install", "r", "web", "--timeout", "300")).stderr).toBe(
      'Error: invalid argument "300" for "--timeout" flag: time: missing unit in duration "300"\n',
    );
    expect((await helm("upgrade", "--install", "r")).stderr).toBe('Error: "helm upgrade" requires 2 arguments\n');
    expect((await helm("version")).stdout).toMatch(/^version\.BuildInfo\{Version:"v3\./);
    expect(double.calls()).toHaveLength(5);
  });

  it("fails scripted calls, with counters that persist across invocations", async () => {
    double.failNext("upgrade", "transient", 2);
    double.failNext("uninstall", { exitCode: 2, stderr: "Error: boom" });
    const first = await upgrade("pr-5-web", "octo-pr-5", {});
    expect(first).toMatchObject({ exitCode: 1, stderr: "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n" });
    expect(JSON.parse(readFileSync(double.scriptPath, "utf8")).fail[0].times).toBe(1);
    expect((await upgrade("pr-5-web", "octo-pr-5", {})).exitCode).toBe(1);
    expect((await upgrade("pr-5-web", "octo-pr-5", {})).exitCode).toBe(0);
    expect(await helm("uninstall", "pr-5-web", "-n", "octo-pr-5")).toMatchObject({ exitCode: 2, stderr: "Error: boom\n" });
    expect((await helm("uninstall", "pr-5-web", "-n", "octo-pr-5")).exitCode).toBe(0);
    expect(double.calls().map((c) => c.argv[0])).toEqual(["upgrade", "upgrade", "upgrade", "uninstall", "uninstall"]);
  });

  it("hangs and delays scripted calls", async () => {
    double.hang(1500, "version");
    const slow = await helm("version");
    expect(slow.durationMs).toBeGreaterThanOrEqual(1500);
    expect(slow.exitCode).toBe(0);
    const fast = await helm("version"); // the hang was used up
    expect(fast.durationMs).toBeLessThan(1500);
    double.delay(300);
    expect((await helm("version")).durationMs).toBeGreaterThanOrEqual(300);
  });
});
