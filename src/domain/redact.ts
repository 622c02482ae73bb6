/**
 * The one redactor: removes secrets from any text that leaves Octostage's hands (helm output,
 * a staging's reason, a PR reply, a log line). Two kinds of secrets:
 * - values it is told about (values at secret-looking keys, values the project config marks
 *   secret), found in one pass (Aho-Corasick) however many there are;
 * - credentials recognisable by their shape wherever they appear: URLs with a user and
 *   password, Authorization headers, `password=…`-style assignments, PEM private keys, GitHub,
 *   Slack, AWS and Google tokens, JWTs.
 * Linear time: every pattern starts with a literal and its repetitions are bounded, so a
 * megabyte of hostile text (long runs of `a://` without `@`, say) costs milliseconds, never
 * the seconds a backtracking pattern would.
 */

export const REDACTED = "[REDACTED]";

/** Shorter known values are not redacted: "1" or "true" under a secret key would erase half the text. */
const minSecretLength = 4;

/** Keys whose assigned value is a secret, as a word of their own or after `_`, `-` (DB_PASSWORD). */
const secretKey = "(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|api[_-]?key|private[_-]?key|secret[_-]?access[_-]?key)";

/** Credentials recognisable by their shape. Each begins with a literal; every repetition is bounded. */
const shapes: readonly (readonly [RegExp, string])[] = [
  // PEM private keys, whole (or to the end of the text when cut).
  [/-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:[\s\S]{0,16384}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|[A-Za-z0-9+/=\s\\]{0,16384})/g, REDACTED],
  // https://user:password@host, https://token@host (the scheme is kept).
  [/:\/\/[^\s/?#@"'<>]{1,512}@/g, `://${REDACTED}@`],
  // Authorization: Bearer abc, authorization=Basic abc
  [/\b(authorization["']?\s{0,5}[:=]\s{0,5}["']?(?:bearer|basic|token)\s{1,5})[^\s"',;]{1,4096}/gi, `$1${REDACTED}`],
  // a bare "Bearer abc" (e.g. in a logged request)
  [/\b(bearer\s{1,5})[A-Za-z0-9\-._~+/]{1,4096}=*/gi, `$1${REDACTED}`],
  // password=…, "apiKey": "…", DB_PASSWORD: … (the key is kept; a quoted value goes whole).
  [new RegExp(`(${secretKey}["']?\\s{0,5}[:=]\\s{0,5}")[^"\\n]{1,1024}"`, "gi"), `$1${REDACTED}"`],
  [new RegExp(`(${secretKey}["']?\\s{0,5}[:=]\\s{0,5}')[^'\\n]{1,1024}'`, "gi"), `$1${REDACTED}'`],
  [new RegExp(`(${secretKey}["']?\\s{0,5}[:=]\\s{0,5})(?!["'])[^\\s"',;&]{1,1024}`, "gi"), `$1${REDACTED}`],
  // GitHub tokens (classic and fine-grained), Slack tokens and webhooks, AWS access key ids, Google API keys, JWTs.
  [/\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})/g, REDACTED],
  [/\bxox[abposre]-[A-Za-z0-9-]{8,255}|\bxapp-\d-[A-Za-z0-9-]{8,255}|hooks\.slack\.com\/services\/[A-Za-z0-9/]{8,255}/g, REDACTED],
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{35}/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,4096}/g, REDACTED],
];

function redactShapes(text: string): string {
  let out = text;
  for (const [pattern, replacement] of shapes) out = out.replace(pattern, replacement);
  return out;
}

interface Node {
  next: Map<string, number>;
  fail: number;
  /** Length of the longest secret ending here (following fail links), 0 for none. */
  out: number;
}

/** Aho-Corasick over the secrets: one pass finds every occurrence of every secret. */
function automaton(secrets: readonly string[]): Node[] {
  const nodes: Node[] = [{ next: new Map(), fail: 0, out: 0 }];
  for (const secret of secrets) {
    let at = 0;
    for (const ch of secret) {
      let to = nodes[at]!.next.get(ch);
      if (to === undefined) {
        to = nodes.push({ next: new Map(), fail: 0, out: 0 }) - 1;
        nodes[at]!.next.set(ch, to);
      }
      at = to;
    }
    nodes[at]!.out = Math.max(nodes[at]!.out, secret.length);
  }
  const queue: number[] = [];
  for (const to of nodes[0]!.next.values()) queue.push(to);
  for (let i = 0; i < queue.length; i++) {
    const from = queue[i]!;
    for (const [ch, to] of nodes[from]!.next) {
      let f = nodes[from]!.fail;
      while (f !== 0 && !nodes[f]!.next.has(ch)) f = nodes[f]!.fail;
      const target = nodes[f]!.next.get(ch);
      nodes[to]!.fail = target !== undefined && target !== to ? target : 0;
      nodes[to]!.out = Math.max(nodes[to]!.out, nodes[nodes[to]!.fail]!.out);
      queue.push(to);
    }
  }
  return nodes;
}

function redactKnown(text: string, nodes: Node[]): string {
  if (nodes.length === 1) return text;
  // Mark covered ranges (in code units: secrets are matched by code point, ranges by their UTF-16 length).
  const ranges: [number, number][] = [];
  let state = 0;
  let index = 0;
  for (const ch of text) {
    index += ch.length;
    while (state !== 0 && !nodes[state]!.next.has(ch)) state = nodes[state]!.fail;
    state = nodes[state]!.next.get(ch) ?? 0;
    const len = nodes[state]!.out;
    if (len > 0) ranges.push([index - len, index]);
  }
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let pos = 0;
  let end = -1;
  for (const [from, to] of ranges) {
    if (from > end) {
      if (end >= 0) parts.push(REDACTED);
      parts.push(text.slice(pos, from));
      end = to;
    } else end = Math.max(end, to);
    pos = end;
  }
  parts.push(REDACTED, text.slice(pos));
  return parts.join("");
}

/** Secrets worth looking for: deduplicated, long enough, longest first. */
function usableSecrets(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s.length >= minSecretLength))].sort((a, b) => b.length - a.length);
}

export type Redactor = (text: string) => string;

/** A redactor for these secrets (build it once, use it on every text of a run). */
export function createRedactor(secrets: readonly string[]): Redactor {
  const nodes = automaton(usableSecrets(secrets));
  return (text) => redactShapes(redactKnown(text, nodes));
}

/** Replaces every listed secret and every credential-shaped substring with [REDACTED]. */
export function redactText(text: string, secrets: readonly string[]): string {
  return createRedactor(secrets)(text);
}

function longestOverlap(text: string, secrets: readonly string[], atEnd: boolean): number {
  let longest = 0;
  for (const secret of secrets) {
    for (let k = Math.min(secret.length - 1, text.length); k > longest; k--) {
      const piece = atEnd ? secret.slice(0, k) : secret.slice(secret.length - k);
      if (atEnd ? text.endsWith(piece) : text.startsWith(piece)) {
        longest = k;
        break;
      }
    }
  }
  return longest;
}

/**
 * Redacts the two halves of truncated output. A secret cut in two by the truncation would
 * escape plain redaction, so a head ending in the start of a secret (or a tail starting
 * with the end of one) loses that piece too.
 */
export function redactAroundCut(head: string, tail: string, secrets: readonly string[]): [string, string] {
  const usable = usableSecrets(secrets);
  const redact = createRedactor(usable);
  let h = redact(head);
  let t = redact(tail);
  const headCut = longestOverlap(h, usable, true);
  if (headCut > 0) h = h.slice(0, h.length - headCut) + REDACTED;
  const tailCut = longestOverlap(t, usable, false);
  if (tailCut > 0) t = REDACTED + t.slice(tailCut);
  return [h, t];
}
