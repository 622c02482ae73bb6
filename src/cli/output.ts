/** How `octo` prints: aligned tables and colour on a terminal, plain text when piped or with NO_COLOR. */

export interface Output {
  tty: boolean;
  color: boolean;
  out(line: string): void;
  err(line: string): void;
}

export function terminalOutput(env: NodeJS.ProcessEnv = process.env): Output {
  const tty = Boolean(process.stdout.isTTY);
  return {
    tty,
    color: tty && !env.NO_COLOR && env.TERM !== "dumb",
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
  };
}

const codes = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, bold: 1 } as const;

export function paint(o: Output, color: keyof typeof codes, text: string): string {
  return o.color ? `\u001b[${codes[color]}m${text}\u001b[0m` : text;
}

const statusColors: Record<string, keyof typeof codes> = {
  running: "green",
  deploying: "yellow",
  restoring: "yellow",
  pending: "yellow",
  degraded: "yellow",
  archiving: "blue",
  archived: "blue",
  cleaning: "gray",
  deleted: "gray",
  failed: "red",
  cleanup_failed: "red",
};

export function status(o: Output, s: string): string {
  return paint(o, statusColors[s] ?? "bold", s);
}

/** Visible width: without colour codes. */
function width(text: string): number {
  // eslint-disable-next-line no-control-regex
  return [...text.replace(/\u001b\[[0-9;]*m/g, "")].length;
}

export function table(o: Output, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - width(c))))
      .join("  ")
      .trimEnd();
  o.out(line(header.map((h) => paint(o, "bold", h))));
  for (const r of rows) o.out(line(r));
}

/** The closest of `candidates` to `word` (a "did you mean"), or undefined when none is close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(word, c);
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
