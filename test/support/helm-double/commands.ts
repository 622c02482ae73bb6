/** upgrade --install, uninstall and version, acting on the API server through plain REST calls. */
import type { ParsedArgs } from "./args.ts";
import { flagSet, flagValue, parseGoDuration, UsageError } from "./args.ts";
import type { KubeObject, Values } from "./chart.ts";
import { chartObjectRefs, objectPath, releaseSecret, renderChart, schemaErrors } from "./chart.ts";
import type { KubeClient } from "./kube.ts";
import { apiMessage, HelmFailure } from "./kube.ts";

export interface Output {
  out(line: string): void;
}

/** helm's first call: discovery of the server version ("Kubernetes cluster unreachable" if it fails). */
async function checkReachable(kube: KubeClient): Promise<void> {
  try {
    await kube.request("GET", "/version");
  } catch (err) {
    throw err instanceof HelmFailure ? new HelmFailure(`Kubernetes cluster unreachable: ${err.message}`) : err;
  }
}

async function releaseSecrets(kube: KubeClient, namespace: string, release: string): Promise<KubeObject[]> {
  const selector = encodeURIComponent(`owner=helm,name=${release}`);
  const res = await kube.request("GET", `${objectPath("Secret", namespace)}?labelSelector=${selector}`);
  if (res.status === 404) return [];
  if (res.status !== 200) throw new HelmFailure(`query: failed to query with labels: ${apiMessage(res)}`);
  return (res.body.items as KubeObject[]).sort((a, b) => Number(a.metadata.labels.version) - Number(b.metadata.labels.version));
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

async function ensureNamespace(kube: KubeClient, namespace: string, create: boolean): Promise<boolean> {
  const res = await kube.request("GET", `/api/v1/namespaces/${encodeURIComponent(namespace)}`);
  if (res.status === 200) return true;
  if (!create) return false;
  const created = await kube.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  if (created.status >= 300 && created.status !== 409) throw new HelmFailure(`failed to create namespace: ${apiMessage(created)}`);
  return true;
}

function lastDeployed(): string {
  // Go's time.ANSIC layout, as helm prints it
  return new Date().toString().replace(/^(\w{3}) (\w{3}) (\d{2}) (\d{4}) ([\d:]{8}).*$/, "$1 $2 $3 $5 $4");
}

export async function upgrade(args: ParsedArgs, values: Values, kube: KubeClient, io: Output): Promise<void> {
  if (args.positional.length !== 2) throw new UsageError(`"helm upgrade" requires 2 arguments`);
  const [release, chart] = args.positional as [string, string];
  if (chart.startsWith("oci://") && flagValue(args, "repo") !== undefined) {
    throw new HelmFailure(`invalid chart reference: --repo cannot be used with an oci:// chart (${chart})`);
  }
  parseGoDuration("timeout", flagValue(args, "timeout") ?? "5m0s");
  const historyMax = Number(flagValue(args, "history-max") ?? "10");
  const namespace = flagValue(args, "namespace") ?? "default";
  await checkReachable(kube);

  const history = await releaseSecrets(kube, namespace, release);
  const installing = history.length === 0;
  if (installing && !flagSet(args, "install")) throw new HelmFailure(`UPGRADE FAILED: "${release}" has no deployed releases`);
  if (installing) io.out(`Release "${release}" does not exist. Installing it now.`);
  const failed = installing ? "INSTALLATION FAILED" : "UPGRADE FAILED";

  const problems = schemaErrors(values);
  if (problems.length > 0) {
    throw new HelmFailure(`${failed}: values don't meet the specifications of the schema(s) in the following chart(s):\nweb:\n${problems.join("\n")}`);
  }
  if (!(await ensureNamespace(kube, namespace, flagSet(args, "create-namespace")))) {
    throw new HelmFailure(`${failed}: create: failed to create: namespaces "${namespace}" not found`);
  }
  const manifests = renderChart(release, namespace, values);
  try {
    for (const obj of manifests) await apply(kube, obj);
    const rendered = new Set(manifests.map((m) => `${m.kind}/${m.metadata.name}`));
    for (const ref of chartObjectRefs(release)) {
      if (!rendered.has(`${ref.kind}/${ref.name}`)) await remove(kube, ref.kind, namespace, ref.name);
    }
  } catch (err) {
    throw err instanceof HelmFailure ? new HelmFailure(`${failed}: ${err.message}`) : err;
  }

  const revision = Number(history.at(-1)?.metadata.labels.version ?? 0) + 1;
  for (const old of history.filter((s) => s.metadata.labels.status === "deployed")) {
    // LIST items carry no kind/apiVersion
    const labels = { ...old.metadata.labels, status: "superseded" };
    await apply(kube, { ...old, apiVersion: "v1", kind: "Secret", metadata: { ...old.metadata, labels } });
  }
  await apply(kube, releaseSecret(release, namespace, revision, values, manifests));
  const excess = history.length + 1 - historyMax;
  if (historyMax > 0) for (const old of history.slice(0, Math.max(0, excess))) await remove(kube, "Secret", namespace, old.metadata.name);

  if (!installing) io.out(`Release "${release}" has been upgraded. Happy Helming!`);
  for (const line of [`NAME: ${release}`, `LAST DEPLOYED: ${lastDeployed()}`, `NAMESPACE: ${namespace}`, "STATUS: deployed", `REVISION: ${revision}`, "TEST SUITE: None"]) {
    io.out(line);
  }
}

export async function uninstall(args: ParsedArgs, kube: KubeClient, io: Output): Promise<void> {
  if (args.positional.length < 1) throw new UsageError(`"helm uninstall" requires at least 1 argument`);
  if (flagValue(args, "timeout") !== undefined) parseGoDuration("timeout", flagValue(args, "timeout")!);
  const namespace = flagValue(args, "namespace") ?? "default";
  await checkReachable(kube);
  for (const release of args.positional) {
    const history = await releaseSecrets(kube, namespace, release);
    if (history.length === 0) {
      if (flagSet(args, "ignore-not-found")) continue;
      throw new HelmFailure(`uninstall: Release not loaded: ${release}: release: not found`);
    }
    for (const ref of chartObjectRefs(release)) await remove(kube, ref.kind, namespace, ref.name);
    for (const secret of history) await remove(kube, "Secret", namespace, secret.metadata.name);
    io.out(`release "${release}" uninstalled`);
  }
}

export function version(args: ParsedArgs, io: Output): void {
  if (flagSet(args, "short")) io.out("v3.16.2+g13654a5");
  else io.out('version.BuildInfo{Version:"v3.16.2", GitCommit:"13654a52f7c70a143b1dd51416d633e1071faffb", GitTreeState:"clean", GoVersion:"go1.22.7"}');
}
