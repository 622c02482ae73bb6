// The image runs the JavaScript build (tsconfig.build.json, the Dockerfile), not the sources: a
// module that only works through Node's TypeScript stripper (a `.ts` path computed at runtime, a
// specifier tsc does not rewrite, a data file next to the sources) would pass every other test and
// fail in production. Here the build runs as the image runs it, with the stripper turned off, as a
// server and a worker process against real PostgreSQL and Redis and the doubles, and deploys a PR.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFaultSystem } from "../fault/fault-system.ts";
import type { FaultSystem } from "../fault/fault-system.ts";
import { buildJs } from "../support/js-build.ts";

let sys: FaultSystem | undefined;
let dir: string | undefined;

beforeAll(async () => {
  const program = await buildJs();
  dir = program.dir;
  sys = await startFaultSystem({ workers: 1, program });
}, 180_000);

afterAll(async () => {
  await sys?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it("the JavaScript build serves a webhook and deploys the PR, with no TypeScript loaded", async () => {
  const s = sys!;
  await s.open(1);
  const { problems } = await s.waitConverged(60_000);
  expect(problems, s.logTails(60)).toEqual([]);
  expect(s.upgrades(1).length).toBeGreaterThan(0);
  expect(s.releaseStatus(1)).toBe("deployed");
  // Both processes ran the build: no stack trace or log line names a source file.
  for (const p of s.processes) expect(p.logs()).not.toMatch(/src\/[\w/-]+\.ts\b/);
}, 120_000);
