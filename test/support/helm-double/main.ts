/**
 * HELM DOUBLE: a stand-in for the helm 3 CLI (v3.16) in tests (there is no helm binary on test
 * machines). Run through the `helm` wrapper next to this file.
 *
 * WHAT IT DOES (honestly, and no more):
 * - Records every invocation in $HELM_DOUBLE_LOG: a start line { argv, values (each --values file
 *   parsed when the call starts, as YAML 1.1 like helm), valuesFiles ({ path, mode }),
 *   env: { KUBECONFIG }, startedAt, pid, overlap?, overlapWith? } and an end line { event: "end",
 *   pid, endedAt, exitCode, signal? } (none when SIGKILLed). See journal.ts.
 * - Overlap markers (test instrumentation, not helm): upgrade, rollback and uninstall hold
 *   <dir>/locks/<namespace>.<release>/<pid> while they run; one that starts while another live
 *   double process holds the same release is logged with overlap: true.
 * - Parses flags like helm (--flag value, --flag=value, -n/-f/-i/-o); unknown flags, a --timeout that
 *   is not a Go duration, a bad -o/--max/--revision, or a wrong argument count fail with helm's
 *   messages. --set, --dry-run, --force, --no-hooks and friends are refused.
 * - `pull CHART --untar --untardir DIR [--repo R] [--version V]` writes the one chart it knows
 *   (chart.ts: Chart.yaml with the asked version, values.yaml, values.schema.json); no .tgz, no
 *   repository is contacted, any chart reference is that chart.
 * - Talks over plain HTTP to the API server of the kubeconfig (--kubeconfig, $KUBECONFIG,
 *   ~/.kube/config, or helm's http://localhost:8080 fallback), checking /version first.
 * - Keeps release records as helm 3's Secrets driver does (storage.ts): Secrets
 *   sh.helm.release.v1.REL.vN (labels owner, name, status, version; data.release =
 *   base64(gzip(release JSON)) with info.status/description/first_deployed/last_deployed/deleted,
 *   chart metadata, config and manifest). Statuses: pending-install, pending-upgrade,
 *   pending-rollback, deployed, superseded, failed, uninstalling, uninstalled.
 * - `upgrade --install REL CHART`: with no history, or an uninstalled last revision, installs:
 *   writes revision 1 (or last+1, superseding the uninstalled one) as pending-install FIRST, then
 *   creates what the web chart renders (chart.ts: Service and Deployment REL-web, StatefulSet REL-db
 *   with values.persistence.enabled), then marks it deployed ("Install complete"). Otherwise
 *   upgrades: fails with "UPGRADE FAILED: another operation (install/upgrade/rollback) is in
 *   progress" and changes nothing when the last revision is pending-*; else writes revision N+1 as
 *   pending-upgrade (pruning to --history-max first, never the deployed one), applies it (objects
 *   no longer rendered are deleted), then marks the replaced revision superseded and the new one
 *   deployed ("Upgrade complete"). A failed apply marks the new revision failed (`Upgrade "REL"
 *   failed: …` / `Release "REL" failed: …`). A last revision that failed with nothing deployed is
 *   upgraded, as helm does. A non-integer replicaCount fails like a chart schema would.
 * - Signals, as cmd/helm/upgrade.go and install.go: once the action runs, SIGTERM/SIGINT print
 *   "Release REL has been cancelled.", the pending revision is marked failed ("… failed: context
 *   canceled") and helm exits 1 with "Error: UPGRADE FAILED: context canceled" (install branch of
 *   upgrade --install: "Error: context canceled", unprefixed as in helm). Before that point, and
 *   for every other command, a signal kills the process as Go's default does. SIGKILL leaves the
 *   release pending-*, exactly like a killed helm.
 * - `rollback REL [REVISION]` (0 or none: the previous revision; "release has no N version"):
 *   also on a pending release; writes last+1 as pending-rollback ("Rollback to N"), applies the
 *   target's manifest, marks every deployed revision superseded and the new one deployed. The
 *   stuck pending revision keeps its status, as in helm 3 (only a failed rollback supersedes it).
 * - `uninstall REL…`: also on a pending release; marks the last revision uninstalling, deletes the
 *   objects of its manifest, then deletes every release Secret, or with --keep-history keeps them
 *   with the last one uninstalled. "release: not found" if none (unless --ignore-not-found).
 * - `status REL [-o json|yaml] [--revision N] [--show-desc]`: the last revision whatever its
 *   state; -o json prints the release JSON as helm does. `history REL [-o …] [--max N]`: rows
 *   {revision, updated, status, chart, app_version, description}, oldest first. Both: "Error:
 *   release: not found". `version`: a v3.16.2 BuildInfo line.
 * - $HELM_DOUBLE_SCRIPT (JSON, read on every call; see script.ts) injects failures (before anything
 *   is touched), hangs and delays. A hang is slept where real helm spends its time: for upgrade
 *   and rollback after the pending record is written, for uninstall after the uninstalling one
 *   (so a helm killed during a hang leaves the release as a killed helm would), for other
 *   commands (and for scripted failures) at the start; a call that fails before its pending
 *   record (errPending, a schema error) uses the hang up without sleeping. A delay is slept at the
 *   start, after the overlap marker is taken.
 *
 * WHAT IT DOES NOT DO: fetch or render any chart (the chart reference and --repo/--version are only
 * recorded; every release is the web chart above), TLS or any auth except a kubeconfig bearer token,
 * three-way merge patches (objects are replaced), hooks, --wait/--atomic/--timeout (accepted,
 * ignored: a hang does not time out), adopting or refusing objects that exist outside the
 * release, helm's reuse of the previous values when no values are given, the kube context's
 * namespace, HELM_NAMESPACE/HELM_MAX_HISTORY, `helm install`/`list`/`get`, kube contexts other than
 * the current one. Times in records are UTC ISO strings (helm writes RFC 3339 in local time).
 */
import { readFileSync, statSync } from "node:fs";
import { parse } from "yaml";
import type { ParsedArgs } from "./args.ts";
import { flagValue, mutatingCommands, namespaceOf, parseArgs, UsageError } from "./args.ts";
import type { Values } from "./chart.ts";
import type { Runtime } from "./commands.ts";
import { history, pull, rollback, status, uninstall, upgrade, version } from "./commands.ts";
import { appendLog, finish, takeMarkers } from "./journal.ts";
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

function record(args: ParsedArgs | undefined, values: unknown[], overlapWith: number[]): void {
  const valuesFiles = valuesFilesOf(args).map((path) => ({ path, mode: fileMode(path) }));
  const overlap = overlapWith.length > 0 ? { overlap: true, overlapWith } : {};
  appendLog({ argv, values, valuesFiles, env: { KUBECONFIG: process.env.KUBECONFIG }, startedAt, pid: process.pid, ...overlap });
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

// Signals. Until an install/upgrade action arms helm's handler, SIGTERM and SIGINT kill the process
// (Go's default): the end line and the markers are written first, then the signal is re-raised.
// Once armed, a signal cancels the action (helm's context) and later ones are ignored.
let cancelAction: ((signal: NodeJS.Signals) => void) | undefined;
let caughtSignal: NodeJS.Signals | undefined;
function onSignal(signal: NodeJS.Signals): void {
  if (cancelAction) {
    caughtSignal ??= signal;
    cancelAction(signal);
    return;
  }
  finish(null, signal);
  process.removeAllListeners("SIGTERM");
  process.removeAllListeners("SIGINT");
  process.kill(process.pid, signal);
}
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
process.on("exit", (code) => finish(code, caughtSignal));

function catchSignals(release: string): AbortSignal {
  const controller = new AbortController();
  let cancelled = false;
  cancelAction = () => {
    if (cancelled) return;
    cancelled = true;
    process.stdout.write(`Release ${release} has been cancelled.\n`);
    controller.abort();
  };
  return controller.signal;
}

async function main(): Promise<number> {
  let parsed: ParsedArgs | undefined;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    record(undefined, [], []);
    throw err;
  }
  const args = parsed;
  const overlapWith = mutatingCommands.includes(args.command) && args.positional.length > 0
    ? takeMarkers(namespaceOf(args), args.command === "uninstall" ? args.positional : args.positional.slice(0, 1))
    : [];
  record(args, valuesFilesOf(args).map(readValuesFile), overlapWith);
  const values = args.command === "upgrade" ? loadValues(valuesFilesOf(args)) : {};

  const behaviour = consumeScript(process.env.HELM_DOUBLE_SCRIPT, args.command, args.positional[0]);
  if (behaviour.delayMs > 0) await sleep(behaviour.delayMs);
  const hangsInAction = !behaviour.fail && mutatingCommands.includes(args.command);
  if (behaviour.hangMs > 0 && !hangsInAction) await sleep(behaviour.hangMs);
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
  if (args.command === "pull") {
    pull(args);
    return 0;
  }
  const kube = createKubeClient(loadKubeTarget(flagValue(args, "kubeconfig"), process.env.KUBECONFIG));
  const rt: Runtime = { kube, io, hangMs: hangsInAction ? behaviour.hangMs : 0, catchSignals };
  const commands = { pull: () => pull(args), upgrade: () => upgrade(args, values, rt), rollback: () => rollback(args, rt), uninstall: () => uninstall(args, rt), status: () => status(args, rt), history: () => history(args, rt) };
  await commands[args.command]();
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
