// The Node flags `npm start` runs Octostage with (package.json's "serve" script), so the
// benchmarks measure the process exactly as operators run it.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export function serverNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "../package.json"), "utf8")) as { scripts: Record<string, string> };
  const argv = (pkg.scripts.serve ?? "").split(/\s+/).filter(Boolean);
  if (argv[0] !== "node" || argv.at(-1) !== "src/main/octostage.ts") throw new Error(`package.json "serve" is not "node [flags] src/main/octostage.ts": ${pkg.scripts.serve}`);
  return argv.slice(1, -1);
}
