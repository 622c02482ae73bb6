/**
 * The production build as the Dockerfile makes it: `tsc -p tsconfig.build.json` compiles src
 * (the generated Prisma client included) to JavaScript with `.ts` import specifiers rewritten to
 * `.js`. The image compiles beside the sources; here the output goes to a directory of its own,
 * laid out as the repository (src with its non-TypeScript files, prisma, app.yml, the example
 * config, package.json, node_modules linked), so a test can run it as the image would.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Program } from "./octostage-process.ts";

const repoRoot = resolve(import.meta.dirname, "../..");

/** Builds into a new directory under the system's temporary directory and returns how to run it. */
export async function buildJs(): Promise<Program & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "octostage-js-"));
  const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
  await promisify(execFile)(process.execPath, [tsc, "-p", join(repoRoot, "tsconfig.build.json"), "--outDir", join(dir, "src"), "--rootDir", join(repoRoot, "src")], { cwd: repoRoot });
  // What tsc does not copy: the dashboard's assets and any other data file under src.
  cpSync(join(repoRoot, "src"), join(dir, "src"), { recursive: true, filter: (path) => extname(path) !== ".ts" });
  for (const file of ["package.json", "app.yml", "octostage.example.yaml"]) cpSync(join(repoRoot, file), join(dir, file));
  cpSync(join(repoRoot, "prisma"), join(dir, "prisma"), { recursive: true });
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
  // Without the TypeScript stripper, a .ts module left in the graph fails to load instead of running.
  return { dir, root: dir, entry: "src/main/octostage.js", nodeFlags: ["--no-experimental-strip-types", "--max-semi-space-size=4"] };
}
