import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { runProcess } from "../../src/adapters/helm/exec.ts";
import { createHelmDouble, helmFailures, releaseHistory } from "../support/helm-double.ts";
import { startKubeApiDouble } from "../support/kube-api-double.ts";
import type { KubeApiDouble } from "../support/kube-api-double.ts";
import { waitFor } from "../support/wait.ts";

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
    // upgrade --install returns the install's error as it is: only `helm install` adds "INSTALLATION FAILED:".
    expect(result).toMatchObject({ exitCode: 1, stderr: 'Error: create: failed to create: namespaces "octo-pr-3" not found\n' });
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

// ---- release records, the release lock, signals and overlaps ---------------------------------

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  pid: number;
  done: Promise<Finished>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** Runs the double directly (not through the adapter), so a test can signal it. */
function start(...argv: string[]): Running {
  const child = spawn(double.bin, argv, { env: { PATH: process.env.PATH ?? "", ...double.env, KUBECONFIG: kube.kubeconfigPath }, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Finished>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, pid: child.pid!, done };
}

const run = (...argv: string[]): Promise<Finished> => start(...argv).done;

function startUpgrade(release: string, ns: string, doc: object, ...extra: string[]): Running {
  return start("upgrade", "--install", release, "web", "-n", ns, "--create-namespace", "-f", values(doc), "--timeout", "60s", "--history-max", "10", ...extra);
}

const errPending = "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n";
const history = (ns: string, release: string) => releaseHistory(kube, ns, release);
const imageOf = (ns: string, release: string): string => kube.get("Deployment", ns, `${release}-web`)?.spec.template.spec.containers[0].image;
/** Names and resourceVersions of the namespace's Secrets: equal before and after means nothing was written. */
const secretVersions = (ns: string) => kube.list("Secret", ns).map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`);

/** Waits until revision `revision` of the release is recorded with `status` (helm writes it before touching anything). */
function revisionRecorded(ns: string, release: string, revision: number, status: string): Promise<unknown> {
  return waitFor(`${release} v${revision} ${status}`, () => kube.get("Secret", ns, `sh.helm.release.v1.${release}.v${revision}`)?.metadata.labels.status === status, 15_000, 10);
}

describe("helm double: release records and the release lock", () => {
  it("records each revision as helm does: deployed, then superseded, with helm's descriptions; status and history print them", async () => {
    const [ns, rel] = ["octo-pr-20", "pr-20-web"];
    expect((await run("upgrade", "--install", rel, "web", "-n", ns, "--create-namespace", "-f", values({ image: { tag: "sha-1" } }))).code).toBe(0);
    expect(history(ns, rel)).toEqual([{ revision: 1, status: "deployed", description: "Install complete" }]);
    expect((await run("upgrade", "--install", rel, "web", "-n", ns, "-f", values({ image: { tag: "sha-2" } }))).code).toBe(0);
    expect(history(ns, rel)).toEqual([
      { revision: 1, status: "superseded", description: "Install complete" },
      { revision: 2, status: "deployed", description: "Upgrade complete" },
    ]);
    expect(kube.get("Secret", ns, `sh.helm.release.v1.${rel}.v2`)).toMatchObject({
      type: "helm.sh/release.v1",
      metadata: { labels: { owner: "helm", name: rel, status: "deployed", version: "2" } },
    });

    const status = await run("status", rel, "-n", ns, "-o", "json");
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout);
    expect(shown).toMatchObject({
      name: rel,
      info: { deleted: "", description: "Upgrade complete", status: "deployed" },
      chart: { metadata: { name: "web", version: "0.1.0", appVersion: "1.0.0" } },
      config: { image: { tag: "sha-2" } },
      version: 2,
      namespace: ns,
    });
    expect(Date.parse(shown.info.first_deployed)).toBeLessThanOrEqual(Date.parse(shown.info.last_deployed));
    expect(shown.manifest).toContain("# Source: web/templates/deployment.yaml");
    const table = await run("status", rel, "--namespace", ns, "--show-desc");
    expect(table.stdout).toMatch(/^NAME: pr-20-web\nLAST DEPLOYED: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nNAMESPACE: octo-pr-20\nSTATUS: deployed\nREVISION: 2\nDESCRIPTION: Upgrade complete\nTEST SUITE: None\n$/);
    expect(parse((await run("status", rel, "-n", ns, "-o", "yaml", "--revision", "1")).stdout)).toMatchObject({ version: 1, info: { status: "superseded" } });

    const rows = JSON.parse((await run("history", rel, "-n", ns, "-o", "json")).stdout);
    expect(rows).toEqual([
      { revision: 1, updated: expect.any(String), status: "superseded", chart: "web-0.1.0", app_version: "1.0.0", description: "Install complete" },
      { revision: 2, updated: expect.any(String), status: "deployed", chart: "web-0.1.0", app_version: "1.0.0", description: "Upgrade complete" },
    ]);
    expect(JSON.parse((await run("history", rel, "-n", ns, "-o", "json", "--max", "1")).stdout)).toEqual([rows[1]]);
    expect((await run("history", rel, "-n", ns)).stdout.split("\n")[0]).toMatch(/^REVISION\tUPDATED +\tSTATUS +\tCHART +\tAPP VERSION\tDESCRIPTION$/);

    for (const command of ["status", "history"]) {
      expect(await run(command, "nope", "-n", ns, "-o", "json")).toMatchObject({ code: 1, stdout: "", stderr: "Error: release: not found\n" });
    }
    expect((await run("history", rel, "-n", ns, "-o", "xml")).stderr).toBe('Error: invalid argument "xml" for "-o, --output" flag: invalid format type\n');
  });

  it("a failed apply marks the new revision failed and leaves the deployed one deployed", async () => {
    const [ns, rel] = ["octo-pr-21", "pr-21-web"];
    expect((await startUpgrade(rel, ns, {}).done).code).toBe(0);
    kube.failNext("PUT", /\/deployments\/pr-21-web-web$/, 500);
    const failed = await startUpgrade(rel, ns, { replicaCount: 2 }).done;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^Error: UPGRADE FAILED: failed to create resource: injected failure/);
    expect(history(ns, rel)).toEqual([
      { revision: 1, status: "deployed", description: "Install complete" },
      { revision: 2, status: "failed", description: expect.stringMatching(/^Upgrade "pr-21-web" failed: failed to create resource: injected failure/) },
    ]);
    expect((await startUpgrade(rel, ns, { replicaCount: 3 }).done).code).toBe(0);
    expect(history(ns, rel).map((r) => r.status)).toEqual(["superseded", "failed", "deployed"]);
  });

  it("a helm SIGKILLed mid-upgrade leaves the release pending-upgrade: upgrades then fail with errPending and change nothing, until a rollback", async () => {
    const [ns, rel] = ["octo-pr-22", "pr-22-web"];
    expect((await startUpgrade(rel, ns, { image: { tag: "sha-1" } }).done).code).toBe(0);
    double.hang(20_000, "upgrade");
    const killed = startUpgrade(rel, ns, { image: { tag: "sha-2" } });
    await revisionRecorded(ns, rel, 2, "pending-upgrade");
    killed.child.kill("SIGKILL");
    expect((await killed.done).signal).toBe("SIGKILL");
    expect(history(ns, rel)).toEqual([
      { revision: 1, status: "deployed", description: "Install complete" },
      { revision: 2, status: "pending-upgrade", description: "Preparing upgrade" },
    ]);
    expect(imageOf(ns, rel)).toBe("example/web:sha-1"); // killed before it applied anything
    const killedCall = double.calls().find((c) => c.pid === killed.pid)!;
    expect(killedCall.endedAt).toBeUndefined(); // SIGKILL: no end record

    const before = secretVersions(ns);
    const blocked = await startUpgrade(rel, ns, { image: { tag: "sha-3" } }).done;
    expect(blocked).toMatchObject({ code: 1, stdout: "", stderr: errPending });
    expect(blocked.stderr).toBe(`${helmFailures.pending.stderr}\n`);
    expect(secretVersions(ns)).toEqual(before);
    expect(imageOf(ns, rel)).toBe("example/web:sha-1");
    expect(double.overlaps()).toEqual([]); // the killed helm's marker does not count: it is dead

    const rolledBack = await run("rollback", rel, "1", "-n", ns, "--wait", "--timeout", "60s");
    expect(rolledBack).toMatchObject({ code: 0, stdout: "Rollback was a success! Happy Helming!\n", stderr: "" });
    // helm 3 supersedes the deployed revisions; the stuck one keeps its status but no longer blocks.
    expect(history(ns, rel)).toEqual([
      { revision: 1, status: "superseded", description: "Install complete" },
      { revision: 2, status: "pending-upgrade", description: "Preparing upgrade" },
      { revision: 3, status: "deployed", description: "Rollback to 1" },
    ]);
    expect(imageOf(ns, rel)).toBe("example/web:sha-1");

    expect((await startUpgrade(rel, ns, { image: { tag: "sha-4" } }).done).code).toBe(0);
    expect(history(ns, rel).map((r) => r.status)).toEqual(["superseded", "pending-upgrade", "superseded", "deployed"]);
    expect(imageOf(ns, rel)).toBe("example/web:sha-4");
  });

  it("a helm SIGKILLed mid-install leaves the release pending-install; uninstall removes it and a new install works", async () => {
    const [ns, rel] = ["octo-pr-23", "pr-23-web"];
    double.hang(20_000, "upgrade");
    const killed = startUpgrade(rel, ns, {});
    await revisionRecorded(ns, rel, 1, "pending-install");
    killed.child.kill("SIGKILL");
    await killed.done;
    expect(history(ns, rel)).toEqual([{ revision: 1, status: "pending-install", description: "Initial install underway" }]);
    expect(await startUpgrade(rel, ns, {}).done).toMatchObject({ code: 1, stderr: errPending });

    const status = JSON.parse((await run("status", rel, "-n", ns, "-o", "json")).stdout);
    expect(status.info).toMatchObject({ status: "pending-install", description: "Initial install underway" });

    expect(await run("uninstall", rel, "-n", ns)).toMatchObject({ code: 0, stdout: `release "${rel}" uninstalled\n` });
    expect(history(ns, rel)).toEqual([]);
    expect(kube.list("Deployment", ns)).toEqual([]);
    const again = await startUpgrade(rel, ns, {}).done;
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Release "pr-23-web" does not exist\. Installing it now\./);
    expect(history(ns, rel)).toEqual([{ revision: 1, status: "deployed", description: "Install complete" }]);
  });

  it("SIGTERM cancels an upgrade as helm does: the revision fails with context canceled, exit 1, and the next upgrade proceeds", async () => {
    const [ns, rel] = ["octo-pr-24", "pr-24-web"];
    expect((await startUpgrade(rel, ns, {}).done).code).toBe(0);
    double.hang(20_000, "upgrade");
    const cancelled = startUpgrade(rel, ns, { replicaCount: 2 });
    await revisionRecorded(ns, rel, 2, "pending-upgrade");
    cancelled.child.kill("SIGTERM");
    expect(await cancelled.done).toEqual({
      code: 1,
      signal: null,
      stdout: "Release pr-24-web has been cancelled.\n",
      stderr: "Error: UPGRADE FAILED: context canceled\n",
    });
    expect(history(ns, rel)).toEqual([
      { revision: 1, status: "deployed", description: "Install complete" },
      { revision: 2, status: "failed", description: 'Upgrade "pr-24-web" failed: context canceled' },
    ]);
    expect(double.calls().find((c) => c.pid === cancelled.pid)).toMatchObject({ exitCode: 1, signal: "SIGTERM", endedAt: expect.any(String) });
    expect(kube.get("Deployment", ns, `${rel}-web`).spec.replicas).toBe(1);

    expect((await startUpgrade(rel, ns, { replicaCount: 3 }).done).code).toBe(0);
    expect(history(ns, rel).map((r) => r.status)).toEqual(["superseded", "failed", "deployed"]);
    expect(kube.get("Deployment", ns, `${rel}-web`).spec.replicas).toBe(3);
  });

  it("SIGTERM cancels a first install: failed, 'Error: context canceled'; upgrade --install then upgrades the failed release", async () => {
    const [ns, rel] = ["octo-pr-25", "pr-25-web"];
    double.hang(20_000, "upgrade");
    const cancelled = startUpgrade(rel, ns, {});
    await revisionRecorded(ns, rel, 1, "pending-install");
    cancelled.child.kill("SIGTERM");
    expect(await cancelled.done).toMatchObject({
      code: 1,
      stdout: 'Release "pr-25-web" does not exist. Installing it now.\nRelease pr-25-web has been cancelled.\n',
      stderr: "Error: context canceled\n",
    });
    expect(history(ns, rel)).toEqual([{ revision: 1, status: "failed", description: 'Release "pr-25-web" failed: context canceled' }]);
    const retried = await startUpgrade(rel, ns, {}).done;
    expect(retried.stdout).toMatch(/^Release "pr-25-web" has been upgraded\. Happy Helming!\n/);
    expect(history(ns, rel).map((r) => [r.revision, r.status])).toEqual([[1, "superseded"], [2, "deployed"]]);
  });

  it("a signal kills helm outright before its handler is armed, and during a rollback (which does not catch it): pending-rollback stays", async () => {
    double.delay(20_000);
    const early = startUpgrade("pr-26-web", "octo-pr-26", {});
    await waitFor("the call is recorded", () => double.calls().some((c) => c.pid === early.pid));
    early.child.kill("SIGTERM");
    expect(await early.done).toMatchObject({ code: null, signal: "SIGTERM", stdout: "" });
    expect(double.calls().find((c) => c.pid === early.pid)).toMatchObject({ exitCode: null, signal: "SIGTERM", endedAt: expect.any(String) });
    expect(history("octo-pr-26", "pr-26-web")).toEqual([]);
    double.reset();

    const [ns, rel] = ["octo-pr-30", "pr-30-web"];
    expect((await startUpgrade(rel, ns, {}).done).code).toBe(0);
    double.hang(20_000, "rollback");
    const rollingBack = start("rollback", rel, "1", "-n", ns);
    await revisionRecorded(ns, rel, 2, "pending-rollback");
    rollingBack.child.kill("SIGTERM");
    expect(await rollingBack.done).toMatchObject({ code: null, signal: "SIGTERM" });
    expect(history(ns, rel)).toEqual([
      { revision: 1, status: "deployed", description: "Install complete" },
      { revision: 2, status: "pending-rollback", description: "Rollback to 1" },
    ]);
    expect(await startUpgrade(rel, ns, {}).done).toMatchObject({ code: 1, stderr: errPending });
    expect(double.overlaps()).toEqual([]);
  });

  it("rolls back to the previous revision by default, refuses a revision that does not exist, and reinstalls after uninstall --keep-history", async () => {
    const [ns, rel] = ["octo-pr-27", "pr-27-web"];
    for (const tag of ["sha-1", "sha-2"]) expect((await startUpgrade(rel, ns, { image: { tag } }).done).code).toBe(0);
    expect((await run("rollback", rel, "-n", ns)).code).toBe(0);
    expect(history(ns, rel).at(-1)).toEqual({ revision: 3, status: "deployed", description: "Rollback to 1" });
    expect(imageOf(ns, rel)).toBe("example/web:sha-1");
    expect(await run("rollback", rel, "9", "-n", ns)).toMatchObject({ code: 1, stderr: "Error: release has no 9 version\n" });
    expect(await run("rollback", "nope", "-n", ns)).toMatchObject({ code: 1, stderr: "Error: release: not found\n" });

    expect((await run("uninstall", rel, "-n", ns, "--keep-history")).code).toBe(0);
    expect(history(ns, rel).map((r) => r.status)).toEqual(["superseded", "superseded", "uninstalled"]);
    expect(kube.list("Deployment", ns)).toEqual([]);
    expect(await run("uninstall", rel, "-n", ns, "--keep-history")).toMatchObject({ code: 1, stderr: `Error: the release named "${rel}" is already deleted\n` });
    const reinstall = await startUpgrade(rel, ns, { image: { tag: "sha-5" } }).done;
    expect(reinstall.stdout).toMatch(/^Release "pr-27-web" does not exist\. Installing it now\.\n.*REVISION: 4\n/s);
    expect(history(ns, rel).slice(2)).toEqual([
      { revision: 3, status: "superseded", description: "superseded by new release" },
      { revision: 4, status: "deployed", description: "Install complete" },
    ]);
  });

  it("flags two helm operations on one release at once, and not operations on different releases", async () => {
    const [ns, rel] = ["octo-pr-28", "pr-28-web"];
    expect((await startUpgrade(rel, ns, {}).done).code).toBe(0);
    double.hang(20_000, "upgrade");
    const first = startUpgrade(rel, ns, { replicaCount: 2 });
    await revisionRecorded(ns, rel, 2, "pending-upgrade");

    const second = await startUpgrade(rel, ns, { replicaCount: 3 }).done; // same release: errPending, and an overlap
    expect(second.stderr).toBe(errPending);
    const other = await startUpgrade("pr-29-web", "octo-pr-29", {}).done; // another release meanwhile: fine
    expect(other.code).toBe(0);
    const rollbackDuring = start("rollback", rel, "-n", ns);
    expect((await rollbackDuring.done).code).toBe(0);

    first.child.kill("SIGTERM");
    await first.done;
    expect((await startUpgrade(rel, ns, {}).done).code).toBe(0); // after it ended: no overlap

    const overlaps = double.overlaps();
    expect(overlaps.map((c) => [c.argv[0], c.argv[0] === "upgrade" ? c.argv[2] : c.argv[1], c.overlapWith])).toEqual([
      ["upgrade", rel, [first.pid]],
      ["rollback", rel, [first.pid]],
    ]);
    expect(overlaps.every((c) => c.exitCode !== undefined && c.endedAt !== undefined)).toBe(true);
    expect(double.calls().filter((c) => c.argv[0] === "upgrade")).toHaveLength(5);
  });
});
