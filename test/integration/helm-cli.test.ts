import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runProcess } from "../../src/adapters/helm/exec.ts";
import { createHelmCli, parseHistory } from "../../src/adapters/helm/helm-cli.ts";
import type { HelmCliOptions } from "../../src/adapters/helm/helm-cli.ts";
import { HelmError } from "../../src/ports/helm.ts";
import type { HelmErrorCode, HelmReleaseRequest } from "../../src/ports/helm.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { createHelmDouble } from "../support/helm-double.ts";
import type { HelmFailurePreset } from "../support/helm-double.ts";
import { startKubeApiDouble } from "../support/kube-api-double.ts";
import type { KubeApiDouble } from "../support/kube-api-double.ts";

let kube: KubeApiDouble;
const double = createHelmDouble();
const workDir = mkdtempSync(path.join(tmpdir(), "helm-cli-test-"));

beforeAll(async () => {
  kube = await startKubeApiDouble();
});
afterAll(async () => {
  await kube.close();
  double.cleanup();
  rmSync(workDir, { recursive: true, force: true });
});
beforeEach(() => double.reset());

function helmCli(overrides: Partial<HelmCliOptions> = {}): ReturnType<typeof createHelmCli> {
  return createHelmCli({ helmBin: double.bin, env: double.env, kubeconfig: kube.kubeconfigPath, workDir, logger: silentLogger, ...overrides });
}

let counter = 0;
/** A release request for a fresh namespace, which exists (Octostage creates it before helm runs). */
function request(overrides: Partial<HelmReleaseRequest> = {}): HelmReleaseRequest {
  counter += 1;
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: overrides.namespace ?? `octo-pr-${counter}` } });
  return {
    release: `pr-${counter}-web`,
    namespace: `octo-pr-${counter}`,
    chart: { repository: "https://charts.example.com/stable", name: "web", version: "1.2.3" },
    values: { replicaCount: 2, image: { repository: "ghcr.io/acme/web", tag: "sha-abc123" } },
    timeoutSeconds: 300,
    ...overrides,
  };
}

describe("helm adapter: argv", () => {
  it("runs upgrade --install with --repo for a chart repository URL", async () => {
    const req = request();
    const result = await helmCli().upgradeInstall(req);
    const [call] = double.calls();
    const valuesFile = call!.argv[call!.argv.indexOf("--values") + 1]!;
    expect(call!.argv).toEqual([
      "upgrade", "--install", req.release, "web",
      "--namespace", req.namespace,
      "--values", valuesFile,
      "--timeout", "300s", "--history-max", "10",
      "--version", "1.2.3", "--repo", "https://charts.example.com/stable",
      "--kubeconfig", kube.kubeconfigPath,
    ]);
    expect(result.argv).toEqual(call!.argv);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Release "${req.release}" does not exist. Installing it now.`);
    expect(call!.argv.some((a) => a.startsWith("--set") || a === "--wait")).toBe(false);
  });

  it("passes an oci:// reference as the chart, without --repo, and omits --version when none is pinned", async () => {
    const req = request({ chart: { repository: "oci://ghcr.io/acme/charts/web", name: "ignored" }, timeoutSeconds: 90 });
    await helmCli({ kubeconfig: undefined, env: { ...double.env, KUBECONFIG: kube.kubeconfigPath } }).upgradeInstall(req);
    const [call] = double.calls();
    expect(call!.argv).toEqual([
      "upgrade", "--install", req.release, "oci://ghcr.io/acme/charts/web",
      "--namespace", req.namespace,
      "--values", call!.argv[call!.argv.indexOf("--values") + 1],
      "--timeout", "90s", "--history-max", "10",
    ]);
    expect(call!.env.KUBECONFIG).toBe(kube.kubeconfigPath);
  });

  it("runs uninstall with namespace and timeout; a release that does not exist is success", async () => {
    const req = request();
    const helm = helmCli();
    await helm.upgradeInstall(req);
    expect(kube.get("Deployment", req.namespace, `${req.release}-web`)).toBeDefined();
    const result = await helm.uninstall(req.release, req.namespace, 120);
    expect(double.calls()[1]!.argv).toEqual(["uninstall", req.release, "--namespace", req.namespace, "--timeout", "120s", "--kubeconfig", kube.kubeconfigPath]);
    expect(result.stdout).toContain(`release "${req.release}" uninstalled`);
    expect(kube.get("Deployment", req.namespace, `${req.release}-web`)).toBeUndefined();

    const again = await helm.uninstall(req.release, req.namespace, 120);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("release: not found");
  });

  it("refuses names helm would parse as flags, without running helm", async () => {
    const helm = helmCli();
    await expect(helm.upgradeInstall(request({ release: "--post-renderer=/tmp/x" }))).rejects.toBeInstanceOf(RangeError);
    await expect(helm.uninstall("web", "-n", 60)).rejects.toBeInstanceOf(RangeError);
    const chart = { repository: "https://charts.example.com", name: "--kubeconfig=/tmp/evil" };
    await expect(helm.upgradeInstall(request({ chart }))).rejects.toMatchObject({ code: "chart_not_found" });
    expect(double.calls()).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
  });
});

describe("helm adapter: values file", () => {
  it("writes the values as YAML that helm reads back exactly, shell metacharacters and YAML 1.1 traps included", async () => {
    const values = {
      command: "$(touch /tmp/pwned); rm -rf / `id` | cat > /etc/passwd && echo ${HOME}",
      quotes: `it's "quoted"\nand multi-line\t# not a comment`,
      yes: "yes", on: "on", octal: "0755", under: "1_000", oct: "0o17", tilde: "~", empty: "", date: "2026-11-22",
      number: 3, float: 1.5, flag: true, nothing: null, list: ["a", 1, { b: "c" }],
      env: { DATABASE_URL: "postgres://u:p@db/x?sslmode=require", GREETING: "hello; world" },
    };
    const req = request({ values });
    await helmCli().upgradeInstall(req);
    expect(double.calls()[0]!.values).toEqual([values]);
    const container = kube.get("Deployment", req.namespace, `${req.release}-web`).spec.template.spec.containers[0];
    expect(container.env).toEqual([
      { name: "DATABASE_URL", value: "postgres://u:p@db/x?sslmode=require" },
      { name: "GREETING", value: "hello; world" },
    ]);
  });

  it("is 0600 in a private 0700 directory under workDir while helm runs, and deleted afterwards", async () => {
    const seen: { file: number; dir: number }[] = [];
    const helm = helmCli({
      run: async (proc) => {
        const file = proc.argv[proc.argv.indexOf("--values") + 1]!;
        seen.push({ file: statSync(file).mode & 0o777, dir: statSync(path.dirname(file)).mode & 0o777 });
        expect(path.dirname(path.dirname(file))).toBe(workDir);
        return runProcess(proc);
      },
    });
    await helm.upgradeInstall(request());
    expect(seen).toEqual([{ file: 0o600, dir: 0o700 }]);
    expect(double.calls()[0]!.valuesFiles[0]!.mode).toBe("0600");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("is deleted when helm fails too", async () => {
    double.failNext("upgrade", "transient");
    await expect(helmCli().upgradeInstall(request())).rejects.toBeInstanceOf(HelmError);
    expect(readdirSync(workDir)).toEqual([]);
  });
});

describe("helm adapter: failures", () => {
  const cases: [HelmFailurePreset, HelmErrorCode, string][] = [
    ["chartNotFound", "chart_not_found", 'chart "web" version "9.9.9" not found'],
    ["ociChartNotFound", "chart_not_found", "ghcr.io/acme/charts/web:9.9.9: not found"],
    ["repoIndexNotFound", "chart_not_found", "404 Not Found"],
    ["invalidValues", "invalid_values", "replicaCount: Invalid type. Expected: integer, given: string"],
    ["templateError", "invalid_values", "nil pointer evaluating interface {}.tag"],
    ["requiredValue", "invalid_values", "db.password is required"],
    ["parseError", "invalid_values", 'unexpected "}" in operand'],
    ["forbiddenKind", "forbidden", 'cannot create resource "certificates" in API group "cert-manager.io"'],
    ["podSecurityHook", "forbidden", 'violates PodSecurity "baseline:latest"'],
    ["clusterUnreachable", "cluster_unreachable", "connect: connection refused"],
    ["noKubeconfig", "cluster_unreachable", "no configuration has been provided"],
    ["timedOut", "timeout", "timed out waiting for the condition"],
    ["pending", "release_pending", "another operation (install/upgrade/rollback) is in progress"],
  ];

  it.each(cases)("maps helm's %s output to %s", async (preset, code, line) => {
    double.failNext("upgrade", preset);
    const error = (await helmCli().upgradeInstall(request()).catch((e: unknown) => e)) as HelmError;
    expect(error).toBeInstanceOf(HelmError);
    expect(error.code).toBe(code);
    expect(error.message).toContain(line);
    expect(error.permanent).toBe(["chart_not_found", "invalid_values", "forbidden"].includes(code));
    expect(error.result?.exitCode).toBe(1);
  });

  it("tells how to reach the cluster when it is unreachable", async () => {
    double.failNext("upgrade", "clusterUnreachable");
    await expect(helmCli().upgradeInstall(request())).rejects.toThrow(/KUBECONFIG.*ServiceAccount/);
  });

  it("classifies what the double itself reports: a schema violation and a closed API server", async () => {
    const bad = helmCli().upgradeInstall(request({ values: { replicaCount: "two" } }));
    await expect(bad).rejects.toMatchObject({ code: "invalid_values", message: expect.stringContaining("given: string") });

    const closed = await startKubeApiDouble();
    const kubeconfig = path.join(double.dir, "closed-kubeconfig");
    writeFileSync(kubeconfig, readFileSync(closed.kubeconfigPath));
    await closed.close();
    const error = (await helmCli({ kubeconfig }).upgradeInstall(request()).catch((e: unknown) => e)) as HelmError;
    expect(error.code).toBe("cluster_unreachable");
    expect(error.message).toContain(`Kubernetes cluster unreachable: Get "${closed.url}/version"`);
    expect(error.message).toContain("connect: connection refused");
  });

  it("redacts secrets from the error message, the result and the argv", async () => {
    double.failNext("upgrade", { exitCode: 1, stderr: "Error: UPGRADE FAILED: secret \"db\" has password hunter2-supersecret in it" });
    const error = (await helmCli().upgradeInstall(request({ secrets: ["hunter2-supersecret"] })).catch((e: unknown) => e)) as HelmError;
    expect(error.message).toContain("password [REDACTED] in it");
    expect(error.message).not.toContain("hunter2");
    expect(error.result?.stderr).not.toContain("hunter2");
  });

  it("reports a missing helm binary as helm_not_found with install instructions", async () => {
    const error = (await helmCli({ helmBin: "/opt/nowhere/helm" }).upgradeInstall(request()).catch((e: unknown) => e)) as HelmError;
    expect(error).toBeInstanceOf(HelmError);
    expect(error.code).toBe("helm_not_found");
    expect(error.permanent).toBe(true);
    expect(error.message).toContain("/opt/nowhere/helm");
    expect(error.message).toContain("https://helm.sh/docs/intro/install/");
    expect(error.message).toContain("HELM_BIN");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("stops a hanging helm at the timeout and reports timeout", async () => {
    double.hang(60_000);
    const started = Date.now();
    const helm = helmCli({ timeoutMarginMs: 0, killGraceMs: 200 });
    await expect(helm.upgradeInstall(request({ timeoutSeconds: 1 }))).rejects.toMatchObject({ code: "timeout" });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(readdirSync(workDir)).toEqual([]);
  });
});

describe("history and rollback (recovering a stuck release)", () => {
  it("parses helm history -o json, oldest first, and returns no revisions for a release that does not exist", () => {
    const out = JSON.stringify([
      { revision: 2, updated: "2026-12-01T10:00:00Z", status: "pending-upgrade", chart: "web-1.2.3", app_version: "1", description: "Preparing upgrade" },
      { revision: 1, updated: "2026-12-01T09:00:00Z", status: "deployed", chart: "web-1.2.3", app_version: "1", description: "Install complete" },
      { revision: 3, updated: "2026-12-01T11:00:00Z", status: "something-new", chart: "web-1.2.3", app_version: "1", description: "" },
    ]);
    expect(parseHistory(out, "web-pr-1")).toEqual([
      { revision: 1, status: "deployed", description: "Install complete" },
      { revision: 2, status: "pending-upgrade", description: "Preparing upgrade" },
      { revision: 3, status: "unknown", description: "" },
    ]);
    expect(() => parseHistory("not json", "web-pr-1")).toThrow(/not JSON/);
    expect(() => parseHistory('[{"revision":"x"}]', "web-pr-1")).toThrow(/unexpected output/);
  });
});
