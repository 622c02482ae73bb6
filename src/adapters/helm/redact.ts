/** Removes secrets from text that leaves the process boundary (captured output, argv, error messages). */

export const REDACTED = "[REDACTED]";

/** Credentials that are obvious from their shape, whether or not the caller listed them. */
const credentialPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  // https://user:password@host, https://token@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, `$1${REDACTED}@`],
  // Authorization: Bearer abc, authorization=Basic abc
  [/\b(authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token)\s+)[^\s"',;]+/gi, `$1${REDACTED}`],
  // a bare "Bearer abc" (e.g. in a logged request)
  [/\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, `$1${REDACTED}`],
];

function usableSecrets(secrets: readonly string[]): string[] {
  // Longest first, so a secret containing another is replaced whole.
  return [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
}

/** Replaces every listed secret and every credential-shaped substring with [REDACTED]. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of usableSecrets(secrets)) out = out.split(secret).join(REDACTED);
  for (const [pattern, replacement] of credentialPatterns) out = out.replace(pattern, replacement);
  return out;
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
  let h = redactText(head, usable);
  let t = redactText(tail, usable);
  const headCut = longestOverlap(h, usable, true);
  if (headCut > 0) h = h.slice(0, h.length - headCut) + REDACTED;
  const tailCut = longestOverlap(t, usable, false);
  if (tailCut > 0) t = REDACTED + t.slice(tailCut);
  return [h, t];
}
