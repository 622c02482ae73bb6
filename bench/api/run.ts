// `npm run bench:api -- [--stagings 1000] [--requests 500] [--octo-runs 20]`: the HTTP API and
// the octo CLI with N stagings in PostgreSQL. The server runs as its own process
// (`node src/main/octostage.ts`, OCTOSTAGE_ROLE=server) on a test schema of the local
// PostgreSQL, with the GitHub double; requests are sent one after the other (closed loop) after
// a warm-up. Prints a table and writes bench/api/results-<date>.json.
import { freePort } from "../../test/support/private-services.ts";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { createTokenStore } from "../../src/adapters/db/token-store.ts";
import { createToken, operatorCaller } from "../../src/app/tokens.ts";
import { systemClock } from "../../src/ports/clock.ts";
import { createTestDb } from "../../test/support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../../test/support/github-double.ts";
import { startOctostageProcess } from "../../test/support/octostage-process.ts";
import { e2eRepository } from "../../test/support/system.ts";
import { summarize } from "../intake/stats.ts";
import { wholeNumberOption } from "../options.ts";
import { describeSource } from "../source.ts";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => wholeNumberOption(args, name, fallback);
const stagings = option("stagings", 1000);
const requests = option("requests", 500);
const octoRuns = option("octo-runs", 20);


async function timeRequests(url: string, token: string, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    if (i >= 20) ms.push(performance.now() - started); // 20 warm-up requests
  }
  return ms;
}

function runOcto(env: Record<string, string>): Promise<number> {
  return new Promise((done, fail) => {
    const started = performance.now();
    execFile(process.execPath, [join(root, "src/cli/octo.ts"), "list", "--json"], { env, maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) return fail(new Error(`octo list failed: ${err.message}`));
      const count = (JSON.parse(stdout) as unknown[]).length;
      if (count !== stagings) return fail(new Error(`octo list printed ${count} stagings, not ${stagings}`));
      done(performance.now() - started);
    });
  });
}

const db = await createTestDb();
const github = await startGitHubDouble();
const dir = mkdtempSync(join(os.tmpdir(), "octostage-bench-api-"));
const configPath = join(dir, "octostage.yaml");
writeFileSync(configPath, stringify({ repositories: [e2eRepository] }));
try {
  // N named stagings, as the API creates them (one row each; no worker runs).
  const rows = Array.from({ length: stagings }, (_, i) => {
    const name = `bench-${String(i).padStart(5, "0")}`;
    return {
      name,
      origin: "named",
      repoOwner: "octo-org",
      repoName: "web",
      prNumber: null,
      installationId: 4242n,
      namespace: `octostage-${name}`,
      desiredState: "active",
      desiredSpec: { sha: "a".repeat(40), ref: "main", imageTag: "a".repeat(40), chart: e2eRepository.chart, values: e2eRepository.values, host: `${name}.staging.example.com`, url: `https://${name}.staging.example.com`, deployTimeoutSeconds: 600 },
      status: "running",
      url: `https://${name}.staging.example.com`,
      headSha: "a".repeat(40),
      headRef: "main",
      deployedSha: "a".repeat(40),
      observedGeneration: 1,
    };
  });
  await db.db.staging.createMany({ data: rows });
  const made = await createToken({ tokens: createTokenStore(db.db), clock: systemClock }, operatorCaller, { name: "bench", role: "read" });
  if (!made.ok) throw new Error(made.message);
  const token = made.value.token;

  const port = await freePort();
  const server = await startOctostageProcess("server", {
    APP_ID: "1",
    PRIVATE_KEY: generateTestPrivateKey(),
    WEBHOOK_SECRET: "bench",
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    DATABASE_URL: db.url,
    REDIS_URL: "redis://127.0.0.1:6379",
    OCTOSTAGE_QUEUE_PREFIX: `bench-api-${process.pid}`,
    OCTOSTAGE_CONFIG: configPath,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
  });
  try {
    const base = server.url!;
    const rowsOut: { what: string; n: number; p50: number; p99: number; max: number; goal: string; met: boolean }[] = [];
    const record = (what: string, ms: number[], goalMs: number, on: "p99" | "p50") => {
      const s = summarize(ms);
      rowsOut.push({ what, n: ms.length, p50: s.p50, p99: s.p99, max: s.max, goal: `${on} < ${goalMs} ms`, met: s[on] < goalMs });
    };
    record(`GET /api/v1/stagings (first page: 100 of ${stagings})`, await timeRequests(`${base}/api/v1/stagings`, token, requests), 50, "p99");
    record(`GET /api/v1/stagings?limit=500 (500 of ${stagings})`, await timeRequests(`${base}/api/v1/stagings?limit=500`, token, Math.ceil(requests / 5)), 50, "p99");
    record(`GET /api/v1/stagings/{name}`, await timeRequests(`${base}/api/v1/stagings/bench-00500`, token, requests), 50, "p99");
    const octoEnv = { PATH: process.env.PATH ?? "", HOME: dir, XDG_CONFIG_HOME: dir, OCTOSTAGE_URL: base, OCTOSTAGE_TOKEN: token, NO_COLOR: "1" };
    await runOcto(octoEnv); // warm the file cache
    const octo: number[] = [];
    for (let i = 0; i < octoRuns; i++) octo.push(await runOcto(octoEnv));
    record(`octo list --json (all ${stagings}: ${Math.ceil(stagings / 500)} pages), wall time`, octo, 300, "p99");

    const startedAt = new Date();
    const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
    console.log(`API and octo, ${stagings} stagings, ${startedAt.toISOString()}, ${describeSource()}, ${machine.cpus} cores, ${machine.node}`);
    console.log("| what | n | p50 ms | p99 ms | max ms | goal | met |\n|---|---:|---:|---:|---:|---|---|");
    for (const r of rowsOut) console.log(`| ${r.what} | ${r.n} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.goal} | ${r.met ? "yes" : "**no**"} |`);
    const out = join(root, "bench/api", `results-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(out, `${JSON.stringify({ benchmark: "api", date: startedAt.toISOString(), source: describeSource(), machine, options: { stagings, requests, octoRuns }, rows: rowsOut }, null, 2)}\n`);
    console.log(`results: ${out}`);
    if (rowsOut.some((r) => !r.met)) process.exitCode = 1;
  } finally {
    await server.stop();
  }
} finally {
  await github.close();
  await db.drop();
}
