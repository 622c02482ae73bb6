/**
 * The `/octo` grammar of surfaces that name the staging (Slack's slash command): the same
 * tokenizer (command-tokens.ts), override and key rules (command-grammar.ts readOverridePairs /
 * readUnsetKeys, overrides-validation.ts), keep syntax and "did you mean" as PR comments; only
 * the staging is named instead of implied by the pull request.
 *
 *   help [COMMAND]
 *   list [owner/repo] [--all]
 *   status | config | archive | restore | redeploy | delete | history NAME
 *   keys PROJECT
 *   keep NAME [7d | until YYYY-MM-DD | off]
 *   create NAME --repo owner/repo (--ref REF | --tag TAG) [--set k=v]... [--deployment k=v]...
 *   update NAME [--ref REF | --tag TAG] [--set k=v]... [--unset k]... [--deployment k=v]... [--unset-deployment k]...
 *
 * Secret-looking keys are refused unless `allowSecretValues` (a channel is never private enough).
 */
import { clipInput, commandLimits } from "./command-limits.ts";
import { closestWord } from "./command-suggest.ts";
import { keepSyntax, keepSyntaxError, readOverridePairs, readUnsetKeys } from "./command-grammar.ts";
import type { ParseOptions } from "./command-grammar.ts";
import { scanArguments } from "./command-tokens.ts";
import type { ArgToken } from "./command-tokens.ts";
import type { OverrideChange } from "./intent/inputs.ts";

export type NamedCommandName = "help" | "list" | "status" | "create" | "update" | "config" | "keys" | "keep" | "archive" | "restore" | "redeploy" | "delete" | "history";

type OneName = "status" | "config" | "archive" | "restore" | "redeploy" | "delete" | "history";

export type NamedCommand =
  | { name: "help"; topic?: NamedCommandName }
  | { name: "list"; repo?: string; all: boolean }
  | { name: OneName; staging: string }
  | { name: "keys"; project: string }
  | { name: "keep"; staging: string; arg: string }
  | { name: "create"; staging: string; repo: string; ref?: string; tag?: string; changes: OverrideChange[] }
  | { name: "update"; staging: string; ref?: string; tag?: string; changes: OverrideChange[] };

export type NamedParseResult = { ok: true; command: NamedCommand } | { ok: false; error: string; usage?: string; suggestion?: NamedCommandName };

export const namedCommandUsage: Readonly<Record<NamedCommandName, string>> = Object.freeze({
  help: "/octo help [command]",
  list: "/octo list [owner/repo] [--all]",
  status: "/octo status NAME",
  create: "/octo create NAME --repo owner/repo (--ref REF | --tag TAG) [--set key=value]... [--deployment key=value]...",
  update: "/octo update NAME [--ref REF | --tag TAG] [--set key=value]... [--unset key]... [--deployment key=value]... [--unset-deployment key]...",
  config: "/octo config NAME",
  keys: "/octo keys PROJECT",
  keep: "/octo keep NAME [7d | until YYYY-MM-DD | off]",
  archive: "/octo archive NAME",
  restore: "/octo restore NAME",
  redeploy: "/octo redeploy NAME",
  delete: "/octo delete NAME",
  history: "/octo history NAME",
});

const namedCommandDescriptions: Readonly<Record<NamedCommandName, string>> = Object.freeze({
  help: "list the commands, or explain one",
  list: "the stagings you may see: status and reason, URL, origin, last change, cost per day (`--all`: deleted ones too)",
  status: "one staging's state, reason, URL, health and cost",
  create: "a staging of any branch, tag or commit (`--ref`) or image tag (`--tag`), with app overrides",
  update: "move a staging to another ref or tag, or change its overrides",
  config: "the effective configuration: each value and where it comes from (secrets masked)",
  keys: "the configurable keys of a project's chart, with types and defaults",
  keep: "keep a staging from idle archive and cleanup: some days (`7d`), through a date, until `off`",
  archive: "scale a staging to zero, keeping its data",
  restore: "bring an archived staging back",
  redeploy: "deploy a staging again with its current configuration",
  delete: "delete a staging and its data for good (admin)",
  history: "who did what to a staging, newest first",
});

const names = Object.keys(namedCommandUsage) as NamedCommandName[];

function isNamedCommand(word: string): word is NamedCommandName {
  return (names as string[]).includes(word);
}

function fail(error: string, name?: NamedCommandName): NamedParseResult {
  return name ? { ok: false, error, usage: namedCommandUsage[name] } : { ok: false, error };
}

/** Flags that take a value, per command; `--all` is the only switch. */
const valueFlags: Record<"create" | "update", readonly string[]> = {
  create: ["--repo", "--ref", "--tag", "--set", "--deployment"],
  update: ["--ref", "--tag", "--set", "--unset", "--deployment", "--unset-deployment"],
};

interface FlagValue {
  flag: string;
  value: ArgToken;
}

/** Splits `--flag value` and `--flag=value` into pairs; words left over are positional. */
function readFlags(tokens: readonly ArgToken[], allowed: readonly string[], name: NamedCommandName): { flags: FlagValue[]; words: string[] } | { error: string } {
  const flags: FlagValue[] = [];
  const words: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as ArgToken;
    if (t.kind !== "flag") {
      words.push(t.text);
      continue;
    }
    const eq = t.text.indexOf("=");
    const flag = eq === -1 ? t.text : t.text.slice(0, eq);
    if (!allowed.includes(flag)) {
      const close = closestWord(flag, allowed, 2);
      return { error: `Unknown flag "${clipInput(flag)}" for /octo ${name}${close ? `: did you mean ${close}?` : allowed.length ? `: it takes ${allowed.join(", ")}` : ": it takes no flags"}` };
    }
    if (eq !== -1) {
      const rest = scanArguments(t.text.slice(eq + 1));
      if ("error" in rest) return rest;
      const [value, extra] = rest.tokens;
      if (!value || extra) return { error: `${flag}= needs one value` };
      flags.push({ flag, value });
      continue;
    }
    const value = tokens[i + 1];
    if (!value || value.kind === "flag") return { error: `${flag} needs a value` };
    flags.push({ flag, value });
    i++;
  }
  return { flags, words };
}

function single(flags: readonly FlagValue[], flag: string): string | { error: string } | undefined {
  const found = flags.filter((f) => f.flag === flag);
  if (found.length > 1) return { error: `${flag} is given twice` };
  return found[0]?.value.text;
}

function parseChange(name: "create" | "update", rest: string, options: ParseOptions): NamedParseResult {
  const scanned = scanArguments(rest);
  if ("error" in scanned) return fail(scanned.error, name);
  const read = readFlags(scanned.tokens, valueFlags[name], name);
  if ("error" in read) return fail(read.error, name);
  const [staging, ...extra] = read.words;
  if (!staging) return fail(`/octo ${name} needs the staging's name first`, name);
  if (extra.length) return fail(`Unexpected "${clipInput(extra.join(" "))}": options start with --`, name);
  const ref = single(read.flags, "--ref");
  const tag = single(read.flags, "--tag");
  const repo = single(read.flags, "--repo");
  for (const v of [ref, tag, repo]) if (typeof v === "object") return fail(v.error, name);
  const of = (flag: string) => read.flags.filter((f) => f.flag === flag).map((f) => f.value);
  const count = of("--set").length + of("--deployment").length + of("--unset").length + of("--unset-deployment").length;
  if (count > commandLimits.maxPairsPerCommand) return fail(`Too many changes: at most ${commandLimits.maxPairsPerCommand} per command (got ${count}); split them over several commands`, name);
  const changes: OverrideChange[] = [];
  for (const [flag, scope] of [
    ["--set", "app"],
    ["--deployment", "deployment"],
  ] as const) {
    const pairs = readOverridePairs(scope, of(flag), options, flag);
    if ("error" in pairs) return fail(`${flag}: ${pairs.error}`, name);
    changes.push(...pairs.set.map((p) => ({ scope, key: p.key, op: "set" as const, value: p.value })));
  }
  for (const [flag, scope] of [
    ["--unset", "app"],
    ["--unset-deployment", "deployment"],
  ] as const) {
    const keys = readUnsetKeys(scope, of(flag), flag);
    if ("error" in keys) return fail(`${flag}: ${keys.error}`, name);
    for (const key of keys.keys) {
      if (changes.some((c) => c.scope === scope && c.key === key)) return fail(`Key "${clipInput(key)}" is both set and unset`, name);
      changes.push({ scope, key, op: "unset" });
    }
  }
  if (typeof ref === "string" && typeof tag === "string") return fail("Give --ref or --tag, not both", name);
  const head = { ...(typeof ref === "string" ? { ref } : {}), ...(typeof tag === "string" ? { tag } : {}) };
  if (name === "create") {
    if (typeof repo !== "string") return fail("/octo create needs --repo owner/repo", name);
    if (!head.ref && !head.tag) return fail("/octo create needs --ref (a branch, tag or commit) or --tag (an image tag)", name);
    return { ok: true, command: { name, staging, repo, ...head, changes } };
  }
  if (!head.ref && !head.tag && changes.length === 0) return fail("/octo update needs something to change: --ref, --tag, --set, --unset or --deployment", name);
  return { ok: true, command: { name, staging, ...head, changes } };
}

/** The text after `/octo` (Slack's `text` field); never throws. */
export function parseNamedCommand(text: string, options: ParseOptions = {}): NamedParseResult {
  const match = /^\s*(\S+)?([\s\S]*)$/.exec(text) as RegExpExecArray;
  const word = match[1];
  const rest = match[2] ?? "";
  if (word === undefined) return { ok: true, command: { name: "help" } };
  const name = word.toLowerCase();
  if (!isNamedCommand(name)) {
    const suggestion = closestWord(name, names, 2);
    const shown = clipInput(word);
    if (!suggestion) return fail(`Unknown command "${shown}". Try \`/octo help\` for the list of commands.`);
    return { ok: false, error: `Unknown command "${shown}". Did you mean \`/octo ${suggestion}\`?`, usage: namedCommandUsage[suggestion], suggestion };
  }
  if (name === "create" || name === "update") return parseChange(name, rest, options);
  const scanned = scanArguments(rest);
  if ("error" in scanned) return fail(scanned.error, name);
  const tokens = scanned.tokens;
  if (name === "list") {
    const all = tokens.some((t) => t.kind === "flag" && t.text === "--all");
    const unknown = tokens.find((t) => t.kind === "flag" && t.text !== "--all");
    if (unknown) return fail(`Unknown flag "${clipInput(unknown.text)}" for /octo list: the only flag is --all`, name);
    const words = tokens.filter((t) => t.kind !== "flag").map((t) => t.text);
    if (words.length > 1) return fail(`/octo list takes at most one repository (owner/repo), not "${clipInput(words.join(" "))}"`, name);
    const repo = words[0];
    if (repo !== undefined && !/^[\w.-]+\/[\w.-]+$/.test(repo)) return fail(`"${clipInput(repo)}" is not a repository: write owner/repo`, name);
    return { ok: true, command: { name, all, ...(repo !== undefined ? { repo } : {}) } };
  }
  const flag = tokens.find((t) => t.kind === "flag");
  if (flag) return fail(`/octo ${name} takes no flags (got "${clipInput(flag.text)}")`, name);
  const words = tokens.map((t) => t.text);
  if (name === "help") {
    if (words.length === 0) return { ok: true, command: { name } };
    const topic = (words[0] as string).toLowerCase();
    return isNamedCommand(topic) && words.length === 1 ? { ok: true, command: { name, topic } } : { ok: true, command: { name } };
  }
  const [first, ...extra] = words;
  if (name === "keep") {
    if (!first) return fail("/octo keep needs the staging's name first", name);
    const arg = extra.join(" ");
    if (!keepSyntax.test(arg)) return fail(keepSyntaxError(arg, "/octo keep NAME"), name);
    return { ok: true, command: { name, staging: first, arg } };
  }
  if (name === "keys") {
    if (!first) return fail("/octo keys needs a project (its name or owner/repo)", name);
    if (extra.length) return fail(`/octo keys takes one project, not "${clipInput(words.join(" "))}"`, name);
    return { ok: true, command: { name, project: first } };
  }
  if (!first) return fail(`/octo ${name} needs the staging's name`, name);
  if (extra.length) return fail(`/octo ${name} takes one staging name, not "${clipInput(words.join(" "))}"`, name);
  return { ok: true, command: { name, staging: first } };
}

/** mrkdwn: every command with what it does, or one command's usage. */
export function namedHelpText(topic?: NamedCommandName): string {
  if (topic) return `\`${namedCommandUsage[topic]}\`: ${namedCommandDescriptions[topic]}`;
  return [
    "*Octostage commands*",
    ...names.map((n) => `• \`${namedCommandUsage[n]}\`: ${namedCommandDescriptions[n]}`),
    "",
    'Values: `true`, `false`, `null` and numbers are typed; anything else is text. Quote to keep text: `tag="2"`. Values of keys that look like secrets (password, token, apiKey...) are refused in Slack: use `octo` or the API.',
    "`/octo create` with nothing after it opens a form.",
  ].join("\n");
}

/**
 * The overrides field of a form (Slack's create modal): `key=value` pairs separated by spaces or
 * new lines, read with the same tokenizer and rules as `--set` (values typed, quotes kept, keys
 * checked, secret-looking keys refused unless `allowSecretValues`).
 */
export function parseOverrideList(text: string, options: ParseOptions = {}): { changes: OverrideChange[] } | { error: string } {
  const scanned = scanArguments(text.replace(/\r?\n/g, " "));
  if ("error" in scanned) return scanned;
  const flag = scanned.tokens.find((t) => t.kind === "flag");
  if (flag) return { error: `Write key=value pairs, one per line (got "${clipInput(flag.text)}")` };
  if (scanned.tokens.length > commandLimits.maxPairsPerCommand) return { error: `Too many overrides: at most ${commandLimits.maxPairsPerCommand} (got ${scanned.tokens.length})` };
  const pairs = readOverridePairs("app", scanned.tokens, options, "--set");
  if ("error" in pairs) return pairs;
  return { changes: pairs.set.map((p) => ({ scope: "app" as const, key: p.key, op: "set" as const, value: p.value })) };
}
