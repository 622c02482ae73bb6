// Nearest-rank percentiles over all samples.

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]! : Number.NaN);
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}

/** Milliseconds for a table cell. */
export function ms(value: number): string {
  return Number.isFinite(value) ? (value < 100 ? value.toFixed(1) : Math.round(value).toString()) : "–";
}
