/** "Did you mean": the closest known word by edit distance. */

/** Optimal string alignment distance: Levenshtein plus swaps of two adjacent characters. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const prev = rows[i - 1] as number[];
      let best = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** The candidate closest to `word` (case-insensitive) within `maxDistance`; the first one on a tie. */
export function closestWord<T extends string>(word: string, candidates: readonly T[], maxDistance = 2): T | undefined {
  const w = word.toLowerCase();
  if (w.length === 0) return undefined;
  let best: T | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    if (Math.abs(c.length - w.length) >= bestDistance) continue;
    const d = editDistance(w, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
