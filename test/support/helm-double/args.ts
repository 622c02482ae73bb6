/** Command-line parsing the way helm's cobra/pflag does it, for the flags the double knows. */

const commands = ["upgrade", "rollback", "uninstall", "status", "history", "version", "pull"] as const;
export type Command = (typeof commands)[number];
/** Commands that change a release (and so take the double's per-release overlap marker). */
export const mutatingCommands: readonly Command[] = ["upgrade", "rollback", "uninstall"];

export interface ParsedArgs {
  command: Command;
  positional: string[];
  /** Flag values by long name; repeatable flags keep every value. */
  flags: Map<string, string[]>;
}

export class UsageError extends Error {}

interface FlagSpec {
  name: string;
  short?: string;
  takesValue: boolean;
}

const flag = (name: string, takesValue: boolean, short?: string): FlagSpec => ({ name, takesValue, ...(short ? { short } : {}) });

const globalFlags = [flag("kubeconfig", true), flag("namespace", true, "n"), flag("kube-context", true), flag("debug", false)];
const output = flag("output", true, "o");
const commandFlags: Record<Command, FlagSpec[]> = {
  upgrade: [
    flag("install", false, "i"), flag("create-namespace", false), flag("values", true, "f"), flag("timeout", true),
    flag("history-max", true), flag("version", true), flag("repo", true), flag("wait", false), flag("atomic", false), output,
  ],
  rollback: [flag("timeout", true), flag("wait", false), flag("history-max", true)],
  uninstall: [flag("timeout", true), flag("wait", false), flag("ignore-not-found", false), flag("keep-history", false)],
  status: [output, flag("revision", true), flag("show-desc", false)],
  history: [output, flag("max", true)],
  version: [flag("short", false)],
  pull: [flag("repo", true), flag("version", true), flag("untar", false), flag("untardir", true), flag("destination", true, "d")],
};
/** Real helm flags the double does not implement: refused rather than silently ignored. */
const notImplemented = new Set([
  "set", "set-string", "set-file", "set-json", "reuse-values", "reset-values", "reset-then-reuse-values", "post-renderer", "dry-run",
  "force", "recreate-pods", "cleanup-on-fail", "no-hooks", "wait-for-jobs", "description", "show-resources", "cascade",
]);

function lookup(specs: FlagSpec[], name: string, isShort: boolean): FlagSpec | undefined {
  return specs.find((s) => (isShort ? s.short === name : s.name === name));
}

export function parseArgs(argv: string[]): ParsedArgs {
  const [command, ...rest] = argv;
  if (!(commands as readonly string[]).includes(command ?? "")) {
    throw new UsageError(`unknown command "${command ?? ""}" for "helm" (the helm double implements ${commands.join(", ")})`);
  }
  const specs = [...globalFlags, ...commandFlags[command as Command]];
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--") {
      positional.push(...rest.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const isShort = !arg.startsWith("--");
    const body = arg.slice(isShort ? 1 : 2);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (notImplemented.has(name)) throw new UsageError(`the helm double does not implement --${name}`);
    const spec = lookup(specs, name, isShort);
    if (!spec) throw new UsageError(isShort ? `unknown shorthand flag: '${name}' in ${arg}` : `unknown flag: ${arg.split("=")[0]}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (!spec.takesValue) value = "true";
    else if (i + 1 < rest.length) value = rest[++i]!;
    else throw new UsageError(`flag needs an argument: ${arg}`);
    flags.set(spec.name, [...(flags.get(spec.name) ?? []), value]);
  }
  return { command: command as Command, positional, flags };
}

export function flagValue(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.at(-1);
}

export function flagSet(args: ParsedArgs, name: string): boolean {
  const value = flagValue(args, name);
  return value !== undefined && value !== "false";
}

/** Go's time.ParseDuration, as helm applies it to --timeout. Returns milliseconds. */
export function parseGoDuration(flagName: string, text: string): number {
  if (text === "0") return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)?/gy)];
  const consumed = parts.map((p) => p[0]).join("");
  if (consumed !== text || parts.length === 0) throw new UsageError(`invalid argument "${text}" for "--${flagName}" flag: time: invalid duration "${text}"`);
  if (parts.some((p) => p[2] === undefined)) {
    throw new UsageError(`invalid argument "${text}" for "--${flagName}" flag: time: missing unit in duration "${text}"`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
}

/** pflag's int flags (strconv.ParseInt). */
export function intFlag(args: ParsedArgs, name: string, fallback: number): number {
  const text = flagValue(args, name);
  if (text === undefined) return fallback;
  if (!/^[+-]?\d+$/.test(text)) throw new UsageError(`invalid argument "${text}" for "--${name}" flag: strconv.ParseInt: parsing "${text}": invalid syntax`);
  return Number(text);
}

export type OutputFormat = "table" | "json" | "yaml";

/** -o/--output as helm's output.ParseFormat reads it. */
export function outputFormat(args: ParsedArgs): OutputFormat {
  const text = flagValue(args, "output") ?? "table";
  if (text === "table" || text === "json" || text === "yaml") return text;
  throw new UsageError(`invalid argument "${text}" for "-o, --output" flag: invalid format type`);
}

/** --namespace, else helm's default (the double ignores the kubeconfig context's namespace). */
export function namespaceOf(args: ParsedArgs): string {
  return flagValue(args, "namespace") ?? "default";
}
