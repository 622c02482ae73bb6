// `npm run bench:dashboard -- [--stagings 1000] [--pushes 8] [--requests 50] [--loads 10]
// [--live-changes 5] [--streams 5] [--stream-seconds 20] [--cpu-prof]`: the web dashboard's
// stagings page with N pull-request stagings in PostgreSQL (two repositories, mixed statuses,
// each PR with 1..--pushes deploy actions). The server runs as its own process (`node
// src/main/octostage.ts`, OCTOSTAGE_ROLE=server, as the chart runs it) on a test schema of the
// local PostgreSQL and Redis, with the GitHub double (installations, permissions, the OAuth web
// flow) in this process; sign-in goes through the real OAuth flow. Measures (1) GET /stagings
// one request after the other: time, server CPU, HTML size raw and gzipped, and where the time
// goes, from the same use case and view called in this process; (2) cold loads in Debian's
// Chromium (playwright-core): Navigation Timing, paints, N rows in the DOM; (3) the JavaScript
// and CSS a first load transfers; (4) a status change in PostgreSQL → the row updated in the
// open page; (5) the server's CPU with idle live streams open. `--live-changes 0` and
// `--streams 0` skip (4) and (5); `--cpu-prof` profiles the server over (1). Prints tables and
// writes bench/dashboard/results-<date>.json. Budgets (the issue): the page rendered with 1,000
// stagings in under 1 s, under 100 KB of JavaScript gzipped on first load.
import { freePort } from "../../test/support/private-services.ts";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { listForPerson } from "../../src/app/web/dashboard.ts";
import type { RepoRoles, WebDeps } from "../../src/app/web/dashboard.ts";
import { parseProjectConfig } from "../../src/config/project.ts";
import { listPage } from "../../src/entrypoints/web/pages.ts";
import { createLogger } from "../../src/main/logger.ts";
import { systemClock } from "../../src/ports/clock.ts";
import { createTestDb } from "../../test/support/db.ts";
import { generateTestPrivateKey, startGitHubDouble } from "../../test/support/github-double.ts";
import { startOctostageProcess } from "../../test/support/octostage-process.ts";
import { summarizeProfile } from "../intake/cpu-profile.ts";
import type { ProfileSummary } from "../intake/cpu-profile.ts";
import { describeMachine } from "../intake/machine.ts";
import { ms, summarize } from "../intake/stats.ts";
import type { Summary } from "../intake/stats.ts";
import { wholeNumberOption } from "../options.ts";
import { serverNodeFlags } from "../serve-command.ts";
import { describeSource } from "../source.ts";
import { cpuMs, machineBusy } from "../status/proc.ts";
import { launchChromium, liveLatencies, loadStagings } from "./browser.ts";
import type { Load } from "./browser.ts";
import { closeAgent, openLiveStreams, signIn, timedGet } from "./http.ts";
import { benchCost, benchRepositories, installationId, owner, seedStagings } from "./seed.ts";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => wholeNumberOption(args, name, fallback);
/** Like `option`, but 0 turns the part off. */
const count = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] === "0" ? 0 : option(name, fallback);
};
const stagings = option("stagings", 1000);
const requests = option("requests", 50);
const loads = option("loads", 10);
const liveChanges = count("live-changes", 5);
const streams = count("streams", 5);
const streamSeconds = option("stream-seconds", 20);
const pushes = option("pushes", 8);
const cpuProf = args.includes("--cpu-prof");
const budgetMs = 1000;
const jsBudgetBytes = 100 * 1024;
const livePollMs = 2000; // the dashboard's default (DashboardOptions.livePollMs)

const log = (msg: string): void => void process.stderr.write(`[bench:dashboard] ${msg}\n`);
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;


const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** The server's sessions and queue keys in Redis, removed at the end. */
const prefix = `bench-dashboard-${process.pid}`;

async function removeRedisKeys(): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

const rowsIn = (page: string): number => page.match(/<tr id="row-/g)?.length ?? 0;

const machine = await describeMachine();
// What else runs on the machine: its CPU over 3 s before anything starts, and over the whole run.
let busy = machineBusy();
await sleep(3000);
const busyBeforePct = busy();
busy = machineBusy();
const db = await createTestDb();
const github = await startGitHubDouble();
const dir = mkdtempSync(join(os.tmpdir(), "octostage-bench-dashboard-"));
const configPath = join(dir, "octostage.yaml");
const projectRaw = { cost: benchCost, repositories: benchRepositories };
writeFileSync(configPath, stringify(projectRaw));
const project = parseProjectConfig(projectRaw);
try {
  log(`seeding ${stagings} stagings in schema ${db.schema}`);
  const seeded = await seedStagings(db, project, stagings, pushes);
  log(`seeded ${stagings} stagings, ${seeded.actions} actions, ${seeded.transitions} transitions in ${(seeded.ms / 1000).toFixed(1)} s`);

  for (const r of benchRepositories) {
    const [, name] = r.repo.split("/") as [string, string];
    github.installOn(owner, name, installationId);
    github.setPermission(owner, name, "bench", "write");
  }
  github.signInAs("bench");

  const port = await freePort();
  const profDir = cpuProf ? mkdtempSync(join(os.tmpdir(), "octostage-bench-dashboard-prof-")) : undefined;
  const spawnedAt = Date.now();
  const server = await startOctostageProcess(
    "server",
    {
      APP_ID: "1",
      PRIVATE_KEY: generateTestPrivateKey(),
      WEBHOOK_SECRET: "bench",
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      OCTOSTAGE_QUEUE_PREFIX: prefix,
      OCTOSTAGE_CONFIG: configPath,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    { nodeFlags: [...serverNodeFlags("server"), ...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [])] },
  );
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    const base = server.url!;
    const session = await signIn(base);
    log(`signed in through the OAuth flow; server pid ${server.pid}`);
    const headers = { cookie: `octostage_session=${session}`, "accept-encoding": "gzip, deflate, br, zstd", accept: "text/html" };

    // (1) Server: sequential GET /stagings after 5 warm-up requests.
    for (let i = 0; i < 5; i++) await timedGet(`${base}/stagings`, headers);
    const cpuBefore = cpuMs(server.pid);
    const windowFrom = Date.now();
    const gets = [];
    for (let i = 0; i < requests; i++) {
      const g = await timedGet(`${base}/stagings`, headers);
      if (g.status !== 200) throw new Error(`GET /stagings answered ${g.status}`);
      gets.push(g);
    }
    const windowTo = Date.now();
    const serverCpuPerRequestMs = (cpuMs(server.pid) - cpuBefore) / requests;
    const page = gets[0]!.body;
    if (rowsIn(page.toString()) !== stagings) throw new Error(`GET /stagings shows ${rowsIn(page.toString())} rows, not ${stagings}`);
    const server1 = {
      total: summarize(gets.map((g) => g.totalMs)),
      headers: summarize(gets.map((g) => g.headersMs)),
      cpuPerRequestMs: serverCpuPerRequestMs,
      htmlBytes: page.length,
      htmlGzipBytes: gzipSync(page).length,
      wireBytes: gets[0]!.wireBytes,
      contentEncoding: gets[0]!.contentEncoding ?? "none",
    };
    log(`GET /stagings: p50 ${ms(server1.total.p50)} ms, ${kb(server1.htmlBytes)} HTML (${server1.contentEncoding} on the wire)`);

    // Where the time goes: the same use case (store: the list in pages of 500 per repository
    // and the creators query) and the same view, called in this process on the same schema.
    // The server's roles ask the GitHub double (cached a minute); these answer at once.
    const roles: RepoRoles = {
      roleOn: async () => "operate",
      readable: async () => ({ repos: project.repositories.map((settings) => ({ settings, role: "operate" as const })), unchecked: [] }),
      forget: () => undefined,
    };
    const deps = { store: db.store, project, clock: systemClock, logger: createLogger("silent"), roles } as unknown as WebDeps;
    const person = { login: "bench", name: "bench" };
    const listMs: number[] = [];
    const creatorsMs: number[] = [];
    const renderMs: number[] = [];
    const gzipMs: number[] = [];
    for (let i = 0; i < 25; i++) {
      let t = performance.now();
      const list = await listForPerson(deps, person, {});
      const listTook = performance.now() - t;
      if (!list.ok) throw new Error(list.message);
      t = performance.now();
      await db.store.creators(list.value.rows.map((r) => r.staging.id));
      const creatorsTook = performance.now() - t;
      t = performance.now();
      const html = listPage({ person, csrf: "x".repeat(52), now: new Date(), demo: false, githubUrl: `http://${github.host}` }, list.value, {}).value;
      const renderTook = performance.now() - t;
      t = performance.now();
      gzipSync(html);
      const gzipTook = performance.now() - t;
      if (i >= 5) {
        listMs.push(listTook);
        creatorsMs.push(creatorsTook);
        renderMs.push(renderTook);
        gzipMs.push(gzipTook);
      }
    }
    const breakdown = { listForPerson: summarize(listMs), creatorsQuery: summarize(creatorsMs), render: summarize(renderMs), gzip: summarize(gzipMs) };

    // (2) + (3) Cold loads in Chromium.
    browser = await launchChromium();
    const chromiumVersion = browser.version();
    log(`Chromium ${chromiumVersion}: ${loads} cold loads`);
    await loadStagings(browser, base, session, stagings); // warm-up
    const loaded: Load[] = [];
    for (let i = 0; i < loads; i++) loaded.push(await loadStagings(browser, base, session, stagings));
    const first = loaded[0]!;
    const isJs = (r: Load["resources"][number]) => /\.m?js(\?|$)/.test(r.url);
    const isCss = (r: Load["resources"][number]) => /\.css(\?|$)/.test(r.url);
    const sum = (rs: Load["resources"], f: (r: Load["resources"][number]) => number) => rs.reduce((a, r) => a + f(r), 0);
    const js = first.resources.filter(isJs);
    const css = first.resources.filter(isCss);
    const doc = first.resources.find((r) => r.type === "document")!;
    const transfer = {
      document: { transferSize: doc.transferSize, encodedBodySize: doc.encodedBodySize, decodedBodySize: doc.decodedBodySize },
      js: { files: js.map((r) => new URL(r.url).pathname), transferSize: sum(js, (r) => r.transferSize), encodedBodySize: sum(js, (r) => r.encodedBodySize), decodedBodySize: sum(js, (r) => r.decodedBodySize) },
      css: { files: css.map((r) => new URL(r.url).pathname), transferSize: sum(css, (r) => r.transferSize), encodedBodySize: sum(css, (r) => r.encodedBodySize), decodedBodySize: sum(css, (r) => r.decodedBodySize) },
      other: first.resources.filter((r) => r !== doc && !isJs(r) && !isCss(r)).map((r) => r.url),
    };
    const pick = (f: (l: Load) => number): Summary => summarize(loaded.map(f));
    const browserT = {
      responseStart: pick((l) => l.responseStart),
      responseEnd: pick((l) => l.responseEnd),
      domInteractive: pick((l) => l.domInteractive),
      domContentLoaded: pick((l) => l.domContentLoaded),
      firstContentfulPaint: pick((l) => l.firstContentfulPaint),
      largestContentfulPaint: pick((l) => l.largestContentfulPaint),
      loadEventEnd: pick((l) => l.loadEventEnd),
      gotoToLoad: pick((l) => l.gotoToLoadMs),
      gotoToRows: pick((l) => l.gotoToRowsMs),
      rowsAtDomContentLoaded: Math.min(...loaded.map((l) => l.rowsAtDomContentLoaded)),
    };

    // (4) Live: a status change in PostgreSQL → the row in the open page.
    let live: Summary | undefined;
    let liveSamples: number[] = [];
    if (liveChanges > 0) {
      log(`live: ${liveChanges} status changes in PostgreSQL, the page open`);
      const targets = Array.from({ length: Math.min(liveChanges, stagings) }, (_, k) => seeded.names[Math.floor(((k + 0.5) * stagings) / Math.min(liveChanges, stagings))]!);
      liveSamples = await liveLatencies(browser, base, session, targets, async (name, k) => {
        await db.db.$executeRaw`UPDATE "Staging" SET status = 'degraded', reason = ${`bench live change ${k}`}, "statusVersion" = "statusVersion" + 1, "statusChangedAt" = now() WHERE name = ${name}`;
      });
      live = summarize(liveSamples);
    }
    await browser.close();
    browser = undefined;

    // (5) The server's CPU with idle live streams open (each lists every staging every poll).
    let streamCpu: { idlePct: number; openPct: number; perStreamPct: number; events: number } | undefined;
    if (streams > 0) {
      log(`live streams: the server's CPU for ${streamSeconds} s idle, then ${streamSeconds} s with ${streams} streams open`);
      await sleep(1000);
      let c = cpuMs(server.pid);
      await sleep(streamSeconds * 1000);
      const idlePct = ((cpuMs(server.pid) - c) / (streamSeconds * 1000)) * 100;
      const open = await openLiveStreams(base, session, streams);
      await sleep(livePollMs);
      c = cpuMs(server.pid);
      await sleep(streamSeconds * 1000);
      const openPct = ((cpuMs(server.pid) - c) / (streamSeconds * 1000)) * 100;
      const events = open.events();
      await open.close();
      streamCpu = { idlePct, openPct, perStreamPct: (openPct - idlePct) / streams, events };
    }

    // Output.
    const startedAt = new Date();
    const busyDuringPct = busy();
    const budgetMet = server1.total.p95 < budgetMs && browserT.loadEventEnd.p50 < budgetMs && browserT.gotoToRows.p50 < budgetMs;
    const jsMet = transfer.js.transferSize < jsBudgetBytes;
    const out: string[] = [];
    out.push(`Dashboard /stagings, ${stagings} stagings (${Object.entries(seeded.byStatus).map(([s, n]) => `${n} ${s}`).join(", ")}; 2 repositories; ${seeded.actions} actions), ${startedAt.toISOString()}, ${describeSource()}`);
    out.push(`${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}; Chromium and PostgreSQL share the cores; all cores busy ${busyBeforePct.toFixed(0)} % before the run (other work), ${busyDuringPct.toFixed(0)} % during it`);
    out.push("");
    out.push(`(1) GET /stagings, server as its own process, ${requests} sequential requests after 5 warm-up (ms):`);
    out.push("| what | p50 | p95 | p99 | max |\n|---|---:|---:|---:|---:|");
    out.push(`| to the last byte | ${ms(server1.total.p50)} | ${ms(server1.total.p95)} | ${ms(server1.total.p99)} | ${ms(server1.total.max)} |`);
    out.push(`| to the response headers | ${ms(server1.headers.p50)} | ${ms(server1.headers.p95)} | ${ms(server1.headers.p99)} | ${ms(server1.headers.max)} |`);
    out.push(`Server CPU per request: ${server1.cpuPerRequestMs.toFixed(1)} ms. HTML: ${kb(server1.htmlBytes)} raw, ${kb(server1.htmlGzipBytes)} gzipped; sent ${server1.contentEncoding === "none" ? "uncompressed" : server1.contentEncoding} (${kb(server1.wireBytes)} on the wire) to a client accepting gzip.`);
    out.push("");
    out.push("Where it goes (the same use case and view in the bench process, same schema; 20 runs, ms):");
    out.push("| part | p50 | p95 | max |\n|---|---:|---:|---:|");
    out.push(`| listForPerson (list pages + creators + lifecycle/cost per row) | ${ms(breakdown.listForPerson.p50)} | ${ms(breakdown.listForPerson.p95)} | ${ms(breakdown.listForPerson.max)} |`);
    out.push(`| of which the creators query alone (timed apart) | ${ms(breakdown.creatorsQuery.p50)} | ${ms(breakdown.creatorsQuery.p95)} | ${ms(breakdown.creatorsQuery.max)} |`);
    out.push(`| listPage (the HTML) | ${ms(breakdown.render.p50)} | ${ms(breakdown.render.p95)} | ${ms(breakdown.render.max)} |`);
    out.push(`| gzip of that HTML (zlib default level) | ${ms(breakdown.gzip.p50)} | ${ms(breakdown.gzip.p95)} | ${ms(breakdown.gzip.max)} |`);
    out.push("");
    out.push(`(2) Chromium ${chromiumVersion}, cold loads (fresh context each, session cookie set), median of ${loads} after one warm-up (ms from navigation start):`);
    out.push("| responseStart | responseEnd | domInteractive | DOMContentLoaded end | FCP | LCP | load end | goto → load | goto → rows in DOM |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    out.push(`| ${ms(browserT.responseStart.p50)} | ${ms(browserT.responseEnd.p50)} | ${ms(browserT.domInteractive.p50)} | ${ms(browserT.domContentLoaded.p50)} | ${ms(browserT.firstContentfulPaint.p50)} | ${ms(browserT.largestContentfulPaint.p50)} | ${ms(browserT.loadEventEnd.p50)} | ${ms(browserT.gotoToLoad.p50)} | ${ms(browserT.gotoToRows.p50)} |`);
    out.push(`(max of the ${loads}: load end ${ms(browserT.loadEventEnd.max)}, goto → rows ${ms(browserT.gotoToRows.max)}; rows already in the DOM at DOMContentLoaded: ${browserT.rowsAtDomContentLoaded})`);
    out.push("");
    out.push("(3) First load, as transferred (Resource Timing):");
    out.push("| what | files | transferred | body as sent | body decoded |\n|---|---|---:|---:|---:|");
    out.push(`| document | /stagings | ${kb(transfer.document.transferSize)} | ${kb(transfer.document.encodedBodySize)} | ${kb(transfer.document.decodedBodySize)} |`);
    out.push(`| JavaScript | ${transfer.js.files.join(", ")} | ${kb(transfer.js.transferSize)} | ${kb(transfer.js.encodedBodySize)} | ${kb(transfer.js.decodedBodySize)} |`);
    out.push(`| CSS | ${transfer.css.files.join(", ")} | ${kb(transfer.css.transferSize)} | ${kb(transfer.css.encodedBodySize)} | ${kb(transfer.css.decodedBodySize)} |`);
    if (transfer.other.length) out.push(`Other requests: ${transfer.other.join(", ")}`);
    if (live) {
      out.push("");
      out.push(`(4) Live: status change committed in PostgreSQL → the row replaced in the open page (server polls every ${livePollMs} ms), ${live.count} changes (ms):`);
      out.push(`| p50 | p95 | max |\n|---:|---:|---:|\n| ${ms(live.p50)} | ${ms(live.p95)} | ${ms(live.max)} |`);
      out.push(`samples: ${liveSamples.map((x) => Math.round(x)).join(", ")}`);
    }
    if (streamCpu) {
      out.push("");
      out.push(`(5) Server CPU (share of one core), ${streamSeconds} s each: idle ${streamCpu.idlePct.toFixed(1)} %, with ${streams} idle /stagings/live streams open ${streamCpu.openPct.toFixed(1)} % (${streamCpu.perStreamPct.toFixed(1)} % per stream; ${streamCpu.events} row events sent, nothing changed).`);
    }
    out.push("");
    out.push(`Budget: /stagings with ${stagings} stagings under ${budgetMs} ms (server p95, browser load end and rows in the DOM, medians): ${budgetMet ? "met" : "**not met**"}; JavaScript on first load under ${kb(jsBudgetBytes)} gzipped: ${kb(transfer.js.transferSize)} transferred, ${jsMet ? "met" : "**not met**"}.`);
    console.log(out.join("\n"));

    let profile: ProfileSummary | undefined;
    const warnings = server.logs().split("\n").filter((l) => /"level":(40|50|60)/.test(l));
    await server.stop();
    if (profDir) {
      const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
      if (file) {
        profile = summarizeProfile(join(profDir, file), { fromMs: windowFrom, toMs: windowTo, profileStartEpochMs: spawnedAt });
        console.log(`\nServer CPU profile over the ${requests} timed requests (${Math.round(profile.busyMs)} ms busy; ${join(profDir, file)}):`);
        console.log("| area | ms | share |\n|---|---:|---:|");
        for (const r of profile.byArea.slice(0, 12)) console.log(`| ${r.name} | ${Math.round(r.ms)} | ${(r.share * 100).toFixed(1)} % |`);
        console.log("| function (self time) | ms | share |\n|---|---:|---:|");
        for (const r of profile.byFunction.slice(0, 15)) console.log(`| ${r.name} | ${Math.round(r.ms)} | ${(r.share * 100).toFixed(1)} % |`);
      }
    }
    if (warnings.length) console.log(`\nThe server logged ${warnings.length} warnings or errors; the first: ${warnings[0]!.slice(0, 400)}`);

    const file = join(root, "bench/dashboard", `results-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          benchmark: "dashboard",
          date: startedAt.toISOString(),
          source: describeSource(),
          machine: { ...machine, chromium: chromiumVersion, busyBeforePct, busyDuringPct },
          options: { stagings, pushes, requests, loads, liveChanges, streams, streamSeconds, cpuProf },
          seeded: { byStatus: seeded.byStatus, actions: seeded.actions, transitions: seeded.transitions, seconds: seeded.ms / 1000 },
          server: server1,
          breakdown,
          browser: browserT,
          loads: loaded,
          transfer,
          live: live ? { summary: live, samples: liveSamples, pollMs: livePollMs } : null,
          streams: streamCpu ?? null,
          profile: profile ?? null,
          budget: { ms: budgetMs, met: budgetMet, jsBytes: jsBudgetBytes, jsMet },
          serverWarnings: warnings.length,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`results: ${file}`);
    if (!budgetMet || !jsMet) process.exitCode = 1;
  } finally {
    await browser?.close();
    closeAgent();
    await server.stop();
  }
} finally {
  await github.close();
  await db.drop();
  await removeRedisKeys();
}
