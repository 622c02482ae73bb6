// The Node flags Octostage runs with, so the benchmarks measure the process as operators run
// it: package.json's "serve" script (what `npm start` runs, and the chart's worker), except for
// a server-only process, which the chart runs without them (charts/octostage/templates/_helpers.tpl).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export function serverNodeFlags(role: "all" | "server" | "worker" = "all"): string[] {
  if (role === "server") return [];
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "../package.json"), "utf8")) as { scripts: Record<string, string> };
  const argv = (pkg.scripts.serve ?? "").split(/\s+/).filter(Boolean);
  if (argv[0] !== "node" || argv.at(-1) !== "src/main/octostage.ts") throw new Error(`package.json "serve" is not "node [flags] src/main/octostage.ts": ${pkg.scripts.serve}`);
  return argv.slice(1, -1);
}
