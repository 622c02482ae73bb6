/**
 * HELM DOUBLE: a stand-in for the helm 3 CLI in tests (there is no helm binary on test machines).
 * Run through the `helm` wrapper next to this file.
 *
 * WHAT IT DOES (honestly, and no more):
 * - Records every invocation as one JSON line in $HELM_DOUBLE_LOG: { argv, values (each --values
 *   file parsed when the call starts, as YAML 1.1 like helm), valuesFiles ({ path, mode }),
 *   env: { KUBECONFIG }, startedAt, pid }.
 * - Parses flags like helm (--flag value, --flag=value, -n/-f/-i); unknown flags, a --timeout that is
 *   not a Go duration, or a wrong argument count fail with helm's messages. --set and friends are refused.
 * - `upgrade --install REL CHART`: reads the kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config, or
 *   helm's http://localhost:8080 fallback) and, over plain HTTP, checks /version, creates the namespace
 *   (--create-namespace), then creates or replaces what a small web chart renders (see chart.ts):
 *   Service and Deployment REL-web, and StatefulSet REL-db when values.persistence.enabled is true (it is
 *   deleted again when an upgrade no longer renders it). Release history is kept as real helm keeps it:
 *   Secrets sh.helm.release.v1.REL.vN (older ones marked superseded, pruned beyond --history-max).
 *   A non-integer replicaCount fails like a chart schema would.
 * - `uninstall REL`: deletes those objects and the release Secrets; "release: not found" if none
 *   (unless --ignore-not-found). `version`: a v3.16.2 BuildInfo line.
 * - $HELM_DOUBLE_SCRIPT (JSON, read on every call; see script.ts) injects failures, hangs and delays.
 *
 * WHAT IT DOES NOT DO: fetch or render any chart (the chart reference and --repo/--version are only
 * recorded; every release is the web chart above), TLS or any auth except a kubeconfig bearer token,
 * three-way merge patches (objects are replaced), hooks, --wait/--atomic (accepted, ignored), failed
 * release records, rollbacks, kube contexts other than the current one.
 */
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { parse } from "yaml";
import type { ParsedArgs } from "./args.ts";
import { flagValue, parseArgs, UsageError } from "./args.ts";
import type { Values } from "./chart.ts";
import { uninstall, upgrade, version } from "./commands.ts";
import { createKubeClient, HelmFailure, loadKubeTarget } from "./kube.ts";
import { consumeScript } from "./script.ts";

const argv = process.argv.slice(2);
const startedAt = new Date().toISOString();

function readValuesFile(file: string): unknown {
  try {
    return parse(readFileSync(file, "utf8"), { version: "1.1" }) as unknown;
  } catch {
    return null;
  }
}

function fileMode(file: string): string | null {
  try {
    return `0${(statSync(file).mode & 0o777).toString(8)}`;
  } catch {
    return null;
  }
}

function valuesFilesOf(args: ParsedArgs | undefined): string[] {
  return args?.flags.get("values") ?? [];
}

function record(args: ParsedArgs | undefined, values: unknown[]): void {
  const log = process.env.HELM_DOUBLE_LOG;
  if (!log) return;
  const valuesFiles = valuesFilesOf(args).map((path) => ({ path, mode: fileMode(path) }));
  const entry = { argv, values, valuesFiles, env: { KUBECONFIG: process.env.KUBECONFIG }, startedAt, pid: process.pid };
  appendFileSync(log, `${JSON.stringify(entry)}\n`);
}

function merge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev: unknown = out[key];
    const bothObjects = [prev, value].every((v) => typeof v === "object" && v !== null && !Array.isArray(v));
    out[key] = bothObjects ? merge(prev as Values, value as Values) : value;
  }
  return out;
}

function loadValues(files: string[]): Values {
  let values: Values = {};
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      throw new HelmFailure(`open ${file}: no such file or directory`);
    }
    let doc: unknown;
    try {
      doc = parse(text, { version: "1.1" });
    } catch (err) {
      throw new HelmFailure(`failed to parse ${file}: error converting YAML to JSON: yaml: ${(err as Error).message.split("\n")[0]}`);
    }
    if (doc !== null && (typeof doc !== "object" || Array.isArray(doc))) {
      throw new HelmFailure(`failed to parse ${file}: error unmarshaling JSON: json: cannot unmarshal into Go value of type map[string]interface {}`);
    }
    values = merge(values, doc ?? {});
  }
  return values;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  let args: ParsedArgs | undefined;
  try {
    args = parseArgs(argv);
  } catch (err) {
    record(undefined, []);
    throw err;
  }
  record(args, valuesFilesOf(args).map(readValuesFile));
  const values = args.command === "upgrade" ? loadValues(valuesFilesOf(args)) : {};

  const behaviour = consumeScript(process.env.HELM_DOUBLE_SCRIPT, args.command, args.positional[0]);
  if (behaviour.delayMs > 0) await sleep(behaviour.delayMs);
  if (behaviour.hangMs > 0) await sleep(behaviour.hangMs);
  if (behaviour.fail) {
    if (behaviour.fail.stdout) process.stdout.write(behaviour.fail.stdout.endsWith("\n") ? behaviour.fail.stdout : `${behaviour.fail.stdout}\n`);
    const stderr = behaviour.fail.stderr ?? "Error: injected failure";
    process.stderr.write(stderr.endsWith("\n") ? stderr : `${stderr}\n`);
    return behaviour.fail.exitCode ?? 1;
  }

  const io = { out: (line: string) => process.stdout.write(`${line}\n`) };
  if (args.command === "version") {
    version(args, io);
    return 0;
  }
  const kube = createKubeClient(loadKubeTarget(flagValue(args, "kubeconfig"), process.env.KUBECONFIG));
  if (args.command === "upgrade") await upgrade(args, values, kube, io);
  else await uninstall(args, kube, io);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof HelmFailure) {
      process.stderr.write(`Error: ${err.message}\n`);
    } else {
      process.stderr.write(`Error: helm double crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 1;
  },
);
