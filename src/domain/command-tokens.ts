/**
 * The arguments of an `/octo` command: whitespace-separated words, flags (`--deployment`) and
 * `key=value` pairs. A value is bare (`replicas=2`), in double quotes with backslash escapes
 * (`msg="a \"b\"\n"`: \" \\ \n \t \r; any other backslash stays as written) or in single quotes
 * taken literally (`path='C:\dir'`). A quote only opens at the start of a value.
 */
import { clipInput } from "./command-limits.ts";

export type ArgToken =
  | { kind: "flag"; text: string }
  | { kind: "word"; text: string }
  | { kind: "pair"; text: string; key: string; value: string; quoted: boolean };

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/.test(ch);
}

const escapes: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r" };

function readQuoted(input: string, open: number): { value: string; end: number } | undefined {
  const quote = input[open];
  let value = "";
  let i = open + 1;
  while (i < input.length) {
    const ch = input[i] as string;
    if (ch === quote) return { value, end: i + 1 };
    if (quote === '"' && ch === "\\") {
      const next = input[i + 1];
      if (next === undefined) return undefined;
      value += escapes[next] ?? `\\${next}`;
      i += 2;
      continue;
    }
    value += ch;
    i++;
  }
  return undefined;
}

/** Splits the arguments after the command name; an error names the token that broke the grammar. */
export function scanArguments(input: string): { tokens: ArgToken[] } | { error: string } {
  const tokens: ArgToken[] = [];
  let i = 0;
  const skipWord = (): void => {
    while (i < input.length && !isSpace(input[i])) i++;
  };
  for (;;) {
    while (isSpace(input[i])) i++;
    if (i >= input.length) return { tokens };
    const start = i;
    if (input.startsWith("--", i)) {
      skipWord();
      tokens.push({ kind: "flag", text: input.slice(start, i) });
      continue;
    }
    while (i < input.length && !isSpace(input[i]) && input[i] !== "=") i++;
    const key = input.slice(start, i);
    if (input[i] !== "=") {
      tokens.push({ kind: "word", text: key });
      continue;
    }
    i++;
    const quote = input[i];
    if (quote === '"' || quote === "'") {
      const read = readQuoted(input, i);
      if (!read) return { error: `Unterminated ${quote} quote in the value of "${clipInput(key)}": close it with ${quote}` };
      i = read.end;
      if (i < input.length && !isSpace(input[i])) {
        skipWord();
        return { error: `Unexpected text after the closing quote in "${clipInput(input.slice(start, i))}": put a space between pairs` };
      }
      tokens.push({ kind: "pair", text: input.slice(start, i), key, value: read.value, quoted: true });
      continue;
    }
    const valueStart = i;
    skipWord();
    tokens.push({ kind: "pair", text: input.slice(start, i), key, value: input.slice(valueStart, i), quoted: false });
  }
}

const numberLike = /^-?\d+(\.\d+)?(e[+-]\d+)?$/;

/**
 * Types an unquoted value like a YAML scalar: `true`/`false` → boolean, `null` → null, numbers →
 * number, anything else stays a string. A number only when it prints back exactly as typed,
 * so `1.10`, `1.0`, `007` and integers past 2^53 stay strings: versions and ids are never mangled.
 */
export function typeBareValue(text: string): unknown {
  if (text === "true") return true;
  if (text === "false") return false;
  if (text === "null") return null;
  if (numberLike.test(text) && String(Number(text)) === text) return Number(text);
  return text;
}

function quote(text: string): string {
  return `"${text.replace(/[\\"\n\r\t]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c] ?? c)}"`;
}

/** Writes a value so that the scanner and typeBareValue give it back unchanged (-0 prints as 0). */
export function formatValue(value: unknown): string {
  if (typeof value === "string") {
    const bare = value.length > 0 && !/[\s\p{Cc}]/u.test(value) && !/^["']/.test(value) && typeBareValue(value) === value;
    return bare ? value : quote(value);
  }
  if (typeof value === "number") return Object.is(value, -0) ? "0" : String(value);
  if (typeof value === "boolean" || value === null) return String(value);
  return quote(JSON.stringify(value) ?? "");
}
