/**
 * The helm commands the double implements, following helm 3.16's actions (pkg/action/install.go,
 * upgrade.go, rollback.go, uninstall.go, status.go, history.go) step by step where the release
 * records are concerned, over plain REST calls to the API server.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import type { OutputFormat, ParsedArgs } from "./args.ts";
import { flagSet, flagValue, intFlag, namespaceOf, outputFormat, parseGoDuration, UsageError } from "./args.ts";
import type { KubeObject, Values } from "./chart.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chartAppVersion, chartDefaults, chartName, chartSchema, chartVersion, lookupsOf, objectPath, renderChart, schemaErrors } from "./chart.ts";
import type { KubeClient } from "./kube.ts";
import { apiMessage, HelmFailure } from "./kube.ts";
import type { ReleaseRecord, ReleaseStorage } from "./storage.ts";
import { errPending, errReleaseNotFound, isPending, manifestOf, newRecord, objectsOf, releaseStorage, setStatus } from "./storage.ts";

export interface Output {
  out(line: string): void;
}

export interface Runtime {
  kube: KubeClient;
  io: Output;
  /** The scripted hang: slept once the pending record is written, where real helm spends its time (hooks, --wait). */
  hangMs: number;
  /**
   * Installs helm's SIGTERM/SIGINT handler, as cmd/helm/install.go and upgrade.go do just before
   * running the action: a signal then prints "Release REL has been cancelled." and aborts the
   * returned signal (helm's context). Without it a signal kills the process.
   */
  catchSignals(release: string): AbortSignal;
}

/** The error a cancelled context gives (context.Canceled). */
const contextCanceled = "context canceled";

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HelmFailure(contextCanceled);
}

/** Sleeps `ms`, ending early with "context canceled" when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfCancelled(signal);
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw new HelmFailure(contextCanceled);
    throw err;
  }
}

/** helm's first call: discovery of the server version ("Kubernetes cluster unreachable" if it fails). */
async function checkReachable(kube: KubeClient): Promise<void> {
  try {
    await kube.request("GET", "/version");
  } catch (err) {
    throw err instanceof HelmFailure ? new HelmFailure(`Kubernetes cluster unreachable: ${err.message}`) : err;
  }
}

/** Creates or replaces one object (real helm patches; the double replaces, keeping the resourceVersion). */
async function apply(kube: KubeClient, obj: KubeObject): Promise<void> {
  const { kind, metadata } = obj;
  const current = await kube.request("GET", objectPath(kind, metadata.namespace, metadata.name));
  const res =
    current.status === 404
      ? await kube.request("POST", objectPath(kind, metadata.namespace), obj)
      : await kube.request("PUT", objectPath(kind, metadata.namespace, metadata.name), {
          ...obj,
          metadata: { ...metadata, resourceVersion: current.body.metadata.resourceVersion },
        });
  if (res.status >= 300) throw new HelmFailure(`failed to create resource: ${apiMessage(res)}`);
}

async function remove(kube: KubeClient, kind: string, namespace: string, name: string): Promise<void> {
  const res = await kube.request("DELETE", objectPath(kind, namespace, name));
  if (res.status >= 300 && res.status !== 404) throw new HelmFailure(`failed to delete ${kind} ${name}: ${apiMessage(res)}`);
}

const refOf = (o: KubeObject): string => `${o.kind}/${o.metadata?.name}`;

/**
 * kube.Client.Update(current, target): creates or updates what the target manifest renders and
 * deletes what only the current one rendered. Checks for cancellation between requests.
 */
async function updateResources(kube: KubeClient, namespace: string, current: KubeObject[], target: KubeObject[], signal?: AbortSignal): Promise<void> {
  for (const obj of target) {
    throwIfCancelled(signal);
    await apply(kube, obj);
  }
  const kept = new Set(target.map(refOf));
  for (const obj of current.filter((o) => !kept.has(refOf(o)))) {
    throwIfCancelled(signal);
    await remove(kube, obj.kind as string, namespace, obj.metadata.name as string);
  }
}

/** Go's time.ANSIC layout ("Mon Jan _2 15:04:05 2006"), in local time, as helm prints times. */
function ansic(iso: string): string {
  const d = new Date(iso);
  const [weekday, month] = [d.toLocaleString("en-US", { weekday: "short" }), d.toLocaleString("en-US", { month: "short" })];
  const time = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
  return `${weekday} ${month} ${String(d.getDate()).padStart(2, " ")} ${time} ${d.getFullYear()}`;
}

/** helm's statusPrinter: the table block, or the whole release as JSON or YAML. */
function printRelease(io: Output, record: ReleaseRecord, format: OutputFormat, showDescription = false): void {
  if (format === "json") return io.out(JSON.stringify(record));
  if (format === "yaml") return io.out(stringify(record, { sortMapEntries: true }).trimEnd());
  io.out(`NAME: ${record.name}`);
  io.out(`LAST DEPLOYED: ${ansic(record.info.last_deployed)}`);
  io.out(`NAMESPACE: ${record.namespace}`);
  io.out(`STATUS: ${record.info.status}`);
  io.out(`REVISION: ${record.version}`);
  if (showDescription) io.out(`DESCRIPTION: ${record.info.description ?? ""}`);
  io.out("TEST SUITE: None");
  if (record.info.notes) io.out(`NOTES:\n${record.info.notes}`);
}

/**
 * The chart's `lookup` calls, made as helm makes them: with its kubeconfig's identity, at render
 * time. A missing object is an empty result; any other error fails the render with helm's text
 * (engine/lookup_func.go wraps it, the template engine adds "error calling lookup").
 */
async function lookups(kube: KubeClient, values: Values): Promise<Record<string, string> | undefined> {
  const want = lookupsOf(values);
  if (!want) return undefined;
  const res = await kube.request("GET", objectPath("Secret", want.namespace, want.name));
  if (res.status === 404) return {};
  if (res.status >= 300) {
    throw new HelmFailure(
      `template: ${chartName}/templates/configmap.yaml:7:12: executing "${chartName}/templates/configmap.yaml" at <lookup "v1" "Secret" "${want.namespace}" "${want.name}">: error calling lookup: ${apiMessage(res)}`,
    );
  }
  const data = ((res.body as { data?: Record<string, string> }).data ?? {});
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

/** `upgrade --install`'s install branch: action.Install.RunWithContext (Replace when the last revision is uninstalled). */
async function install(args: ParsedArgs, release: string, values: Values, rt: Runtime, replace: boolean): Promise<ReleaseRecord> {
  const namespace = namespaceOf(args);
  const storage = releaseStorage(rt.kube, namespace);
  const signal = rt.catchSignals(release);
  await checkReachable(rt.kube);
  // availableName: the name must still be free (another helm may have installed it meanwhile).
  const before = await storage.history(release);
  const last = before.at(-1);
  if (last && !(replace && (last.info.status === "uninstalled" || last.info.status === "failed"))) {
    throw new HelmFailure("cannot re-use a name that is still in use");
  }
  const problems = schemaErrors(values);
  if (problems.length > 0) {
    throw new HelmFailure(`values don't meet the specifications of the schema(s) in the following chart(s):\n${chartName}:\n${problems.join("\n")}`);
  }
  const manifests = renderChart(release, namespace, values, await lookups(rt.kube, values));
  const record = newRecord(release, namespace, 1, "pending-install", "Initial install underway", values, manifestOf(manifests));
  if (flagSet(args, "create-namespace")) {
    const created = await rt.kube.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    if (created.status >= 300 && created.status !== 409) throw new HelmFailure(apiMessage(created));
  }
  if (replace && last) {
    // replaceRelease: the next revision number; the last one is superseded unless it failed.
    record.version = last.version + 1;
    if (last.info.status !== "failed") {
      setStatus(last, "superseded", "superseded by new release");
      await storage.update(last);
    }
  }
  // The pending-install record is written before anything is created: helm's release lock.
  await storage.create(record);
  try {
    await pause(rt.hangMs, signal);
    await updateResources(rt.kube, namespace, [], manifests, signal);
    throwIfCancelled(signal);
  } catch (err) {
    if (!(err instanceof HelmFailure)) throw err;
    // failRelease
    setStatus(record, "failed", `Release "${release}" failed: ${err.message}`);
    await storage.update(record).catch(() => undefined);
    throw err;
  }
  setStatus(record, "deployed", "Install complete");
  await storage.update(record).catch(() => undefined); // helm only logs a failure to record the release here
  return record;
}

/** prepareUpgrade + performUpgrade: errPending while the last revision is pending, else a pending-upgrade revision first. */
async function upgradeRelease(args: ParsedArgs, release: string, values: Values, rt: Runtime, storage: ReleaseStorage): Promise<ReleaseRecord> {
  const namespace = namespaceOf(args);
  const signal = rt.catchSignals(release);
  await checkReachable(rt.kube);
  const history = await storage.history(release);
  const last = history.at(-1);
  if (!last) throw new HelmFailure(`"${release}" has no deployed releases`);
  // "Concurrent `helm upgrade`s will either fail here with `errPending` or when creating the
  // release with "already exists". This should act as a pessimistic lock."
  if (isPending(last.info.status)) throw new HelmFailure(errPending);
  let current: ReleaseRecord | undefined = last.info.status === "deployed" ? last : history.filter((r) => r.info.status === "deployed").at(-1);
  if (!current && (last.info.status === "failed" || last.info.status === "superseded")) current = last;
  if (!current) throw new HelmFailure(`"${release}" has no deployed releases`);

  const problems = schemaErrors(values);
  if (problems.length > 0) {
    throw new HelmFailure(`values don't meet the specifications of the schema(s) in the following chart(s):\n${chartName}:\n${problems.join("\n")}`);
  }
  const manifests = renderChart(release, namespace, values, await lookups(rt.kube, values));
  const record = newRecord(release, namespace, last.version + 1, "pending-upgrade", "Preparing upgrade", values, manifestOf(manifests), current.info.first_deployed);
  await storage.create(record, intFlag(args, "history-max", 10));
  try {
    await pause(rt.hangMs, signal);
    await updateResources(rt.kube, namespace, objectsOf(current.manifest), manifests, signal);
    throwIfCancelled(signal);
  } catch (err) {
    if (!(err instanceof HelmFailure)) throw err;
    // failRelease: the new revision fails; the one it would have replaced keeps its status.
    setStatus(record, "failed", `Upgrade "${release}" failed: ${err.message}`);
    await storage.update(record).catch(() => undefined);
    throw err;
  }
  setStatus(current, "superseded");
  await storage.update(current).catch(() => undefined);
  setStatus(record, "deployed", "Upgrade complete");
  await storage.update(record);
  return record;
}

export async function upgrade(args: ParsedArgs, values: Values, rt: Runtime): Promise<void> {
  if (args.positional.length !== 2) throw new UsageError(`"helm upgrade" requires 2 arguments`);
  const [release, chart] = args.positional as [string, string];
  if (chart.startsWith("oci://") && flagValue(args, "repo") !== undefined) {
    throw new HelmFailure(`invalid chart reference: --repo cannot be used with an oci:// chart (${chart})`);
  }
  parseGoDuration("timeout", flagValue(args, "timeout") ?? "5m0s");
  const format = outputFormat(args);
  const storage = releaseStorage(rt.kube, namespaceOf(args));
  await checkReachable(rt.kube);

  if (flagSet(args, "install")) {
    // cmd/helm/upgrade.go: a release with no history, or whose last revision is uninstalled, is installed.
    const last = (await storage.history(release)).at(-1);
    if (!last || last.info.status === "uninstalled") {
      if (format === "table") rt.io.out(`Release "${release}" does not exist. Installing it now.`);
      // runInstall's errors are returned as they are (no "INSTALLATION FAILED:", which only `helm install` adds).
      const record = await install(args, release, values, rt, last !== undefined);
      printRelease(rt.io, record, format);
      return;
    }
  }
  let record: ReleaseRecord;
  try {
    record = await upgradeRelease(args, release, values, rt, storage);
  } catch (err) {
    throw err instanceof HelmFailure ? new HelmFailure(`UPGRADE FAILED: ${err.message}`) : err;
  }
  if (format === "table") rt.io.out(`Release "${release}" has been upgraded. Happy Helming!`);
  printRelease(rt.io, record, format);
}

/** action.Rollback.Run: works on a pending release too (the usual way to unstick one). SIGTERM is not caught. */
export async function rollback(args: ParsedArgs, rt: Runtime): Promise<void> {
  if (args.positional.length < 1) throw new UsageError(`"helm rollback" requires at least 1 argument`);
  const [release, revisionText] = args.positional as [string, string | undefined];
  let revision = 0;
  if (revisionText !== undefined) {
    if (!/^[+-]?\d+$/.test(revisionText)) throw new HelmFailure(`could not convert revision to a number: strconv.Atoi: parsing "${revisionText}": invalid syntax`);
    revision = Number(revisionText);
  }
  if (flagValue(args, "timeout") !== undefined) parseGoDuration("timeout", flagValue(args, "timeout")!);
  const namespace = namespaceOf(args);
  const storage = releaseStorage(rt.kube, namespace);
  await checkReachable(rt.kube);
  if (revision < 0) throw new HelmFailure("invalid release revision");

  const history = await storage.history(release);
  const current = history.at(-1);
  if (!current) throw new HelmFailure(errReleaseNotFound);
  const targetVersion = revision === 0 ? current.version - 1 : revision;
  const previous = history.find((r) => r.version === targetVersion);
  if (!previous) throw new HelmFailure(`release has no ${targetVersion} version`);

  const target = newRecord(release, namespace, current.version + 1, "pending-rollback", `Rollback to ${targetVersion}`, previous.config ?? {}, previous.manifest ?? "", current.info.first_deployed);
  target.chart = previous.chart;
  if (previous.info.notes) target.info.notes = previous.info.notes;
  await storage.create(target, intFlag(args, "history-max", 10));

  await pause(rt.hangMs, undefined);
  try {
    await updateResources(rt.kube, namespace, objectsOf(current.manifest), objectsOf(previous.manifest));
  } catch (err) {
    if (!(err instanceof HelmFailure)) throw err;
    setStatus(current, "superseded");
    setStatus(target, "failed", `Rollback "${release}" failed: ${err.message}`);
    await storage.update(current).catch(() => undefined);
    await storage.update(target).catch(() => undefined);
    throw err;
  }
  // "Supersede all previous deployments": only the deployed ones; a stuck pending revision keeps its status.
  for (const r of (await storage.history(release)).filter((h) => h.info.status === "deployed")) {
    setStatus(r, "superseded");
    await storage.update(r).catch(() => undefined);
  }
  setStatus(target, "deployed");
  await storage.update(target);
  rt.io.out("Rollback was a success! Happy Helming!");
}

/** action.Uninstall.Run for each release: the last revision goes uninstalling, then objects and records go. */
export async function uninstall(args: ParsedArgs, rt: Runtime): Promise<void> {
  if (args.positional.length < 1) throw new UsageError(`"helm uninstall" requires at least 1 argument`);
  if (flagValue(args, "timeout") !== undefined) parseGoDuration("timeout", flagValue(args, "timeout")!);
  const namespace = namespaceOf(args);
  const keepHistory = flagSet(args, "keep-history");
  const storage = releaseStorage(rt.kube, namespace);
  await checkReachable(rt.kube);
  for (const release of args.positional) {
    const history = await storage.history(release);
    const last = history.at(-1);
    if (!last) {
      if (flagSet(args, "ignore-not-found")) continue;
      throw new HelmFailure(`uninstall: Release not loaded: ${release}: ${errReleaseNotFound}`);
    }
    if (last.info.status === "uninstalled") {
      if (keepHistory) throw new HelmFailure(`the release named "${release}" is already deleted`);
      for (const r of history) await storage.delete(release, r.version);
      rt.io.out(`release "${release}" uninstalled`);
      continue;
    }
    setStatus(last, "uninstalling", "Deletion in progress (or silently failed)");
    last.info.deleted = new Date().toISOString();
    await storage.update(last).catch(() => undefined);
    await pause(rt.hangMs, undefined);
    const manifests = objectsOf(last.manifest);
    for (const obj of [...manifests].reverse()) await remove(rt.kube, obj.kind as string, namespace, obj.metadata.name as string);
    setStatus(last, "uninstalled", "Uninstallation complete");
    if (!keepHistory) {
      for (const r of history) await storage.delete(release, r.version);
    } else {
      await storage.update(last).catch(() => undefined);
      for (const r of (await storage.history(release)).filter((h) => h.info.status === "deployed")) {
        setStatus(r, "superseded");
        await storage.update(r).catch(() => undefined);
      }
    }
    rt.io.out(`release "${release}" uninstalled`);
  }
}

/** `helm status REL`: the last revision (or --revision), whatever its state. */
export async function status(args: ParsedArgs, rt: Runtime): Promise<void> {
  if (args.positional.length !== 1) throw new UsageError(`"helm status" requires 1 argument`);
  const [release] = args.positional as [string];
  const format = outputFormat(args);
  const revision = intFlag(args, "revision", 0);
  await checkReachable(rt.kube);
  const history = await releaseStorage(rt.kube, namespaceOf(args)).history(release);
  const record = revision > 0 ? history.find((r) => r.version === revision) : history.at(-1);
  if (!record) throw new HelmFailure(errReleaseNotFound);
  printRelease(rt.io, record, format, flagSet(args, "show-desc"));
}

/** `helm history REL`: oldest first, the last --max revisions (default 256). */
export async function history(args: ParsedArgs, rt: Runtime): Promise<void> {
  if (args.positional.length !== 1) throw new UsageError(`"helm history" requires 1 argument`);
  const [release] = args.positional as [string];
  const format = outputFormat(args);
  const max = intFlag(args, "max", 256);
  await checkReachable(rt.kube);
  const all = await releaseStorage(rt.kube, namespaceOf(args)).history(release);
  if (all.length === 0) throw new HelmFailure(errReleaseNotFound);
  const rows = all.slice(Math.max(0, all.length - Math.max(0, max))).map((r) => ({
    revision: r.version,
    updated: r.info.last_deployed,
    status: r.info.status,
    chart: `${r.chart.metadata.name}-${r.chart.metadata.version}`,
    app_version: r.chart.metadata.appVersion,
    description: r.info.description ?? "",
  }));
  if (format === "json") return rt.io.out(JSON.stringify(rows));
  if (format === "yaml") return rt.io.out(stringify(rows, { sortMapEntries: true }).trimEnd());
  const table = [
    ["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"],
    ...rows.map((r) => [String(r.revision), ansic(r.updated), r.status, r.chart, r.app_version, r.description]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) rt.io.out(row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join("\t"));
}

export function version(args: ParsedArgs, io: Output): void {
  if (flagSet(args, "short")) io.out("v3.16.2+g13654a5");
  else io.out('version.BuildInfo{Version:"v3.16.2", GitCommit:"13654a52f7c70a143b1dd51416d633e1071faffb", GitTreeState:"clean", GoVersion:"go1.22.7"}');
}

/**
 * `helm pull CHART [--repo R] [--version V] --untar --untardir DIR`: writes the chart's directory
 * (Chart.yaml, values.yaml, values.schema.json) as helm untars it. Without --untar helm would
 * write a .tgz, which the double does not produce.
 */
export function pull(args: ParsedArgs): void {
  if (args.positional.length !== 1) throw new UsageError(`"helm pull" requires 1 argument`);
  if (!flagSet(args, "untar")) throw new HelmFailure("the helm double only pulls with --untar");
  const dir = flagValue(args, "untardir") ?? flagValue(args, "destination") ?? ".";
  const chartDir = join(dir, chartName);
  mkdirSync(join(chartDir, "templates"), { recursive: true });
  const version = flagValue(args, "version") ?? chartVersion;
  writeFileSync(join(chartDir, "Chart.yaml"), stringify({ apiVersion: "v2", name: chartName, version, appVersion: chartAppVersion }));
  writeFileSync(join(chartDir, "values.yaml"), stringify(chartDefaults));
  writeFileSync(join(chartDir, "values.schema.json"), JSON.stringify(chartSchema, null, 2));
}
