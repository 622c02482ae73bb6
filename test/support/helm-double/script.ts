/**
 * Behaviour control: a JSON file named by HELM_DOUBLE_SCRIPT, read on every invocation.
 *   { "fail": [{ "match": "upgrade", "times": 1, "exitCode": 1, "stderr": "Error: ..." }],
 *     "hang": [{ "match": "upgrade", "ms": 60000, "times": 1 }], "delayMs": 0 }
 * `match` is a command name ("upgrade", "uninstall", "version") or "*"; `release` narrows it.
 * `times` counts down across invocations (written back to the file under a lock); a rule
 * without `times` applies to every call. `hang` may also be a single object.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";

export interface FailRule {
  match: string;
  release?: string;
  times?: number;
  exitCode?: number;
  stderr?: string;
  stdout?: string;
}

export interface HangRule {
  match: string;
  release?: string;
  ms: number;
  times?: number;
}

export interface HelmDoubleScript {
  fail?: FailRule[];
  hang?: HangRule | HangRule[];
  delayMs?: number;
}

export interface ScriptedBehaviour {
  delayMs: number;
  hangMs: number;
  fail?: FailRule;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `fn` holding `${file}.lock` (the double and the test helper both change the script). */
export function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  for (let waited = 0; ; waited += 5) {
    try {
      closeSync(openSync(lock, "wx"));
      break;
    } catch {
      const age = Date.now() - (statSafe(lock) ?? Date.now());
      if (age > 5000) rmSync(lock, { force: true }); // left behind by a killed invocation
      else sleepSync(5);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function statSafe(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Replaces the script atomically, so a concurrent reader sees the old or the new file. */
export function writeScript(file: string, script: HelmDoubleScript): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(script, null, 2));
  renameSync(tmp, file);
}

function matches(rule: { match: string; release?: string }, command: string, release: string | undefined): boolean {
  return (rule.match === "*" || rule.match === command) && (rule.release === undefined || rule.release === release);
}

/** Picks the first matching rule of a list and counts it down; returns the rule and the new list. */
function take<T extends { match: string; release?: string; times?: number }>(
  rules: T[],
  command: string,
  release: string | undefined,
): [T | undefined, T[]] {
  const index = rules.findIndex((r) => matches(r, command, release) && (r.times === undefined || r.times > 0));
  if (index < 0) return [undefined, rules];
  const rule = rules[index]!;
  if (rule.times === undefined) return [rule, rules];
  const left = rule.times - 1;
  const next = left > 0 ? rules.map((r, i) => (i === index ? { ...r, times: left } : r)) : rules.filter((_, i) => i !== index);
  return [rule, next];
}

/** Reads the script, consumes the rules that apply to this call and writes the counters back. */
export function consumeScript(file: string | undefined, command: string, release: string | undefined): ScriptedBehaviour {
  if (!file) return { delayMs: 0, hangMs: 0 };
  return withLock(file, () => {
    let script: HelmDoubleScript;
    try {
      script = JSON.parse(readFileSync(file, "utf8")) as HelmDoubleScript;
    } catch {
      return { delayMs: 0, hangMs: 0 }; // no script file (yet): plain behaviour
    }
    const hangs = script.hang === undefined ? [] : Array.isArray(script.hang) ? script.hang : [script.hang];
    const [hang, hangsLeft] = take(hangs, command, release);
    const fails = script.fail ?? [];
    const [fail, failsLeft] = take(fails, command, release);
    if (hangsLeft !== hangs || failsLeft !== fails) writeScript(file, { ...script, hang: hangsLeft, fail: failsLeft });
    return { delayMs: script.delayMs ?? 0, hangMs: hang?.ms ?? 0, ...(fail ? { fail } : {}) };
  });
}
