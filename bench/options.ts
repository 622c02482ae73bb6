// Command-line options of the benchmarks: `--name N`, a whole number, or the fallback.
export function wholeNumberOption(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: a whole number`);
  return n;
}
