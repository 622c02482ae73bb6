// Which code a benchmark measured, recorded with its results.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** $BENCH_SOURCE (bench/snapshot.sh sets it), else the git commit and how many files in src/ and prisma/ differ from it. */
export function describeSource(): string {
  if (process.env.BENCH_SOURCE) return process.env.BENCH_SOURCE;
  try {
    const git = (...args: string[]): string => execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = git("status", "--porcelain", "--", "src", "prisma").split("\n").filter(Boolean).length;
    return `commit ${git("rev-parse", "--short", "HEAD")}${dirty ? ` + ${dirty} uncommitted files in src/ and prisma/` : ""}`;
  } catch {
    return "unknown (not a git checkout)";
  }
}
