/**
 * The `/octo` command grammar, for PR comments (and any other text channel). A comment holds
 * one command per line; every line starting with `/octo` is a command, other lines are
 * ignored (see command-lines.ts for code blocks, quotes and HTML comments).
 *
 *   /octo override [--deployment] key=value [key=value ...]
 *   /octo unset [--deployment] key [key ...]
 *   /octo deploy [sha]
 *   /octo keep [7d | until YYYY-MM-DD | off]
 *   /octo help | status | config | redeploy | archive | restore | delete
 *
 * Values: see command-tokens.ts (quotes, escapes, YAML-like typing). Keys: dotted values paths
 * (`a.b[0].c`), validated by overrides-validation.ts, the same rules the use case applies.
 * Limits (command-limits.ts): key ≤ 128 characters, value ≤ 1024 characters, ≤ 20 pairs or
 * keys per command, ≤ 10 commands per comment.
 */
import { commandLines } from "./command-lines.ts";
import { clipInput, commandLimits } from "./command-limits.ts";
import { closestWord } from "./command-suggest.ts";
import { formatValue, scanArguments, typeBareValue } from "./command-tokens.ts";
import type { ArgToken } from "./command-tokens.ts";
import { deploymentOverrideKeys, secretKeyRefusal, validateOverride, validateOverrideKey } from "./overrides-validation.ts";

export { commandLimits } from "./command-limits.ts";

export type CommandName = "help" | "status" | "config" | "override" | "unset" | "redeploy" | "deploy" | "archive" | "restore" | "delete" | "keep";
import type { OverrideScope } from "./overrides-validation.ts";
export type OctoCommand =
  | { name: "help" | "status" | "config" | "redeploy" | "archive" | "restore" | "delete" }
  /** `sha`: approve exactly this commit (a full SHA or at least its first 7 characters). */
  | { name: "deploy"; sha?: string }
  /** `arg` as typed (syntax checked here); the use case reads it against the clock (lifecycle.ts parseKeep). */
  | { name: "keep"; arg: string }
  | { name: "override"; scope: OverrideScope; set: { key: string; value: unknown }[] }
  | { name: "unset"; scope: OverrideScope; keys: string[] };
export type ParsedLine = { line: number; text: string } & (
  | { ok: true; command: OctoCommand }
  | { ok: false; error: string; usage?: string; suggestion?: CommandName }
);

export interface ParseOptions {
  /**
   * Take values for keys that look like secrets (isSecretKey). Off by default: in a PR comment
   * everyone who can read the PR sees them. A private channel may turn it on.
   */
  allowSecretValues?: boolean;
}

export type ParseResult = { ok: true; command: OctoCommand } | { ok: false; error: string; usage?: string; suggestion?: CommandName };

export const commandUsage: Readonly<Record<CommandName, string>> = Object.freeze({
  help: "/octo help",
  status: "/octo status",
  config: "/octo config",
  override: "/octo override [--deployment] key=value [key=value ...]",
  unset: "/octo unset [--deployment] key [key ...]",
  redeploy: "/octo redeploy",
  deploy: "/octo deploy [sha]",
  archive: "/octo archive",
  restore: "/octo restore",
  delete: "/octo delete",
  keep: "/octo keep [7d | until YYYY-MM-DD | off]",
});

const descriptions: Record<CommandName, string> = {
  help: "show this list",
  status: "show the staging's state, URL and health",
  config: "show the effective configuration: each value and whether it is a default, edited or unset",
  override: "set app values (Helm values), or with `--deployment` how the staging is deployed",
  unset: "remove overrides; for app values this also removes a default, with `--deployment` it goes back to the default",
  redeploy: "deploy the staging again with its current configuration",
  deploy: "deploy this PR now, also when policy holds it back (draft, missing label); for a fork, approve the commit you reviewed (the head when you comment, or the `sha` you name)",
  archive: "scale the staging to zero, keeping its data",
  restore: "bring an archived staging back",
  delete: "delete the staging and its data for good",
  keep: "keep the staging from idle archive and retention cleanup: for some days (`7d`), through a date, until `keep off` (no argument), or end the keep (`off`)",
};

const commandNames = Object.keys(commandUsage) as CommandName[];

function isCommandName(word: string): word is CommandName {
  return (commandNames as string[]).includes(word);
}

/** The command closest to `word` by edit distance (at most 2): "overide" → "override", "stauts" → "status". */
export function suggestCommand(word: string): CommandName | undefined {
  return closestWord(word, commandNames, 2);
}

/** Markdown: every command with what it does, then how values and deployment keys work. */
export function helpText(): string {
  const deployment = deploymentOverrideKeys.map((d) => `  - \`${d.key}\`: ${d.description}`);
  return [
    "**Octostage commands** (in a PR comment, one per line):",
    "",
    ...commandNames.map((name) => `- \`${commandUsage[name]}\`: ${descriptions[name]}`),
    "",
    'Values: `true`, `false`, `null` and numbers are typed; anything else is text. Quote to keep text: `tag="2"`, `msg=\'a b\'` (inside double quotes: `\\"`, `\\\\`, `\\n`).',
    "Keys are values paths such as `image.tag` or `env[0].value`. Values for keys that look like secrets (password, token, apiKey...) are refused here: everyone can read a PR.",
    `Limits: keys up to ${commandLimits.maxKeyLength} characters, values up to ${commandLimits.maxValueLength}, ${commandLimits.maxPairsPerCommand} pairs per command, ${commandLimits.maxCommandsPerComment} commands per comment.`,
    "",
    "Deployment overrides (`--deployment`):",
    ...deployment,
  ].join("\n");
}

function fail(error: string, name?: CommandName): ParseResult {
  return name ? { ok: false, error, usage: commandUsage[name] } : { ok: false, error };
}

/** Reads the flags: only --deployment exists, on override and unset. */
function scopeOf(name: "override" | "unset", tokens: readonly ArgToken[]): OverrideScope | { error: string } {
  let scope: OverrideScope = "app";
  for (const t of tokens) {
    if (t.kind !== "flag") continue;
    if (t.text !== "--deployment") {
      return { error: `Unknown flag "${clipInput(t.text)}" for /octo ${name}: the only flag is --deployment` };
    }
    scope = "deployment";
  }
  return scope;
}

function tooMany(name: "override" | "unset", count: number): string | undefined {
  if (count === 0) return `/octo ${name} needs at least one ${name === "override" ? "key=value pair" : "key"}`;
  if (count <= commandLimits.maxPairsPerCommand) return undefined;
  const what = name === "override" ? "key=value pairs" : "keys";
  return `Too many ${what}: at most ${commandLimits.maxPairsPerCommand} per command (got ${count}); split them over several commands`;
}

/**
 * key=value pairs of an override, each typed and checked against the override rules (the same
 * ones the use case applies): shared by PR comments and the named-staging surfaces (Slack).
 * `what` names the command in errors.
 */
export function readOverridePairs(scope: OverrideScope, pairs: readonly ArgToken[], options: ParseOptions, what = "override"): { set: { key: string; value: unknown }[] } | { error: string } {
  const set: { key: string; value: unknown }[] = [];
  for (const t of pairs) {
    if (t.kind !== "pair") return { error: `Missing "=" in "${clipInput(t.text)}": write key=value` };
    if (t.key === "") return { error: `Missing key before "=" in "${clipInput(t.text)}": write key=value` };
    if (!t.quoted && t.value === "") {
      return { error: `No value after "${clipInput(t.key)}=": write ${clipInput(t.key)}="" for empty text, or ${what === "override" ? "/octo unset" : "--unset"} ${clipInput(t.key)} to remove it` };
    }
    const value = t.quoted ? t.value : typeBareValue(t.value);
    const error = validateOverride(scope, t.key, value) ?? (options.allowSecretValues ? undefined : secretKeyRefusal(t.key));
    if (error) return { error };
    if (set.some((s) => s.key === t.key)) return { error: `Key "${clipInput(t.key)}" is given twice` };
    set.push({ key: t.key, value });
  }
  return { set };
}

/** Keys to unset, each checked against the key rules. */
export function readUnsetKeys(scope: OverrideScope, words: readonly ArgToken[], what = "/octo unset"): { keys: string[] } | { error: string } {
  const keys: string[] = [];
  for (const t of words) {
    if (t.kind === "pair") return { error: `${what} takes keys, not key=value ("${clipInput(t.text)}")` };
    const error = validateOverrideKey(scope, t.text);
    if (error) return { error };
    if (keys.includes(t.text)) return { error: `Key "${clipInput(t.text)}" is given twice` };
    keys.push(t.text);
  }
  return { keys };
}

function parseOverride(tokens: readonly ArgToken[], options: ParseOptions): ParseResult {
  const scope = scopeOf("override", tokens);
  if (typeof scope !== "string") return fail(scope.error, "override");
  const args = tokens.filter((t) => t.kind !== "flag");
  const countError = tooMany("override", args.length);
  if (countError) return fail(countError, "override");
  const read = readOverridePairs(scope, args, options);
  if ("error" in read) return fail(read.error, "override");
  return { ok: true, command: { name: "override", scope, set: read.set } };
}

function parseUnset(tokens: readonly ArgToken[]): ParseResult {
  const scope = scopeOf("unset", tokens);
  if (typeof scope !== "string") return fail(scope.error, "unset");
  const args = tokens.filter((t) => t.kind !== "flag");
  const countError = tooMany("unset", args.length);
  if (countError) return fail(countError, "unset");
  const read = readUnsetKeys(scope, args);
  if ("error" in read) return fail(read.error, "unset");
  return { ok: true, command: { name: "unset", scope, keys: read.keys } };
}

/** What `/octo keep` takes (its meaning, against the clock, is lifecycle.ts parseKeep's). */
export const keepSyntax = /^(|off|\d{1,4}d|until \d{4}-\d{2}-\d{2})$/i;

export function keepSyntaxError(arg: string, command = "/octo keep"): string {
  return `${command} takes nothing (until \`/octo keep off\`), a number of days such as \`7d\`, \`until YYYY-MM-DD\` or \`off\`; not "${clipInput(arg)}"`;
}

/** One command line, `/octo` included. */
export function parseCommand(text: string, options: ParseOptions = {}): ParseResult {
  const match = /^\s*\/octo(?=\s|$)(?:\s+(\S+))?([\s\S]*)$/i.exec(text);
  if (!match) return fail('A command starts with "/octo"');
  const word = match[1];
  const rest = match[2] ?? "";
  if (word === undefined) return fail("Missing command after /octo. Try `/octo help`.");
  const name = word.toLowerCase();
  if (!isCommandName(name)) {
    const suggestion = suggestCommand(name);
    const shown = clipInput(word);
    if (!suggestion) return fail(`Unknown command "${shown}". Try \`/octo help\` for the list of commands.`);
    return { ok: false, error: `Unknown command "${shown}". Did you mean \`/octo ${suggestion}\`?`, suggestion };
  }
  if (name === "deploy") {
    const extra = rest.trim();
    if (!extra) return { ok: true, command: { name } };
    if (!/^[0-9a-f]{7,40}$/i.test(extra)) return fail(`/octo deploy takes at most a commit SHA (7 to 40 hex characters), not "${clipInput(extra)}"`, name);
    return { ok: true, command: { name, sha: extra.toLowerCase() } };
  }
  if (name === "keep") {
    const arg = rest.trim().replace(/\s+/g, " ");
    if (!keepSyntax.test(arg)) return fail(keepSyntaxError(arg), name);
    return { ok: true, command: { name, arg } };
  }
  if (name !== "override" && name !== "unset") {
    const extra = rest.trim();
    return extra ? fail(`/octo ${name} takes no arguments (got "${clipInput(extra)}")`, name) : { ok: true, command: { name } };
  }
  const scanned = scanArguments(rest);
  if ("error" in scanned) return fail(scanned.error, name);
  return name === "override" ? parseOverride(scanned.tokens, options) : parseUnset(scanned.tokens);
}

/** Every `/octo` line of a comment, parsed; never throws. Lines after the 10th command are reported, not parsed. */
export function parseComment(body: string, options: ParseOptions = {}): ParsedLine[] {
  return commandLines(body).map(({ line, text }, index) => {
    if (index >= commandLimits.maxCommandsPerComment) {
      return {
        line,
        text,
        ok: false,
        error: `Too many commands in one comment: at most ${commandLimits.maxCommandsPerComment} run; this one did not. Put it in another comment.`,
      };
    }
    return { line, text, ...parseCommand(text, options) };
  });
}

/** The command as one line that parses back to it (numbers: -0 prints as 0). */
export function formatCommand(command: OctoCommand): string {
  const flag = "scope" in command && command.scope === "deployment" ? " --deployment" : "";
  switch (command.name) {
    case "override":
      return `/octo override${flag} ${command.set.map((s) => `${s.key}=${formatValue(s.value)}`).join(" ")}`;
    case "unset":
      return `/octo unset${flag} ${command.keys.join(" ")}`;
    case "deploy":
      return command.sha ? `/octo deploy ${command.sha}` : "/octo deploy";
    case "keep":
      return command.arg ? `/octo keep ${command.arg}` : "/octo keep";
    default:
      return `/octo ${command.name}`;
  }
}
