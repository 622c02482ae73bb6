// Status benchmarks: `npm run bench:status -- [--scenario propagation|scale] [options]`.
// Method and results: bench/README.md.
import { rmSync, writeFileSync } from "node:fs";
import { serverNodeFlags } from "../serve-command.ts";
import { parseOptions } from "./args.ts";
import { runForeignEvents } from "./foreign-events.ts";
import type { ForeignEventResult } from "./foreign-events.ts";
import { runInformerMemory } from "./informer-memory.ts";
import type { InformerMemoryResult } from "./informer-memory.ts";
import { machine, revision } from "./proc.ts";
import { runPropagation } from "./propagation.ts";
import type { PropagationResult } from "./propagation.ts";
import { runScale } from "./scale.ts";
import type { ScaleResult } from "./scale.ts";
import { ms } from "./stats.ts";
import { buildJs } from "../../test/support/js-build.ts";
import type { Summary } from "./stats.ts";

const opts = parseOptions(process.argv.slice(2));
const row = (cells: (string | number)[]): string => `| ${cells.join(" | ")} |`;
const mib = (n: number): string => n.toFixed(0);
const memoryLine = (m: Record<string, number> | undefined): string =>
  m ? Object.entries(m).map(([k, v]) => `${k} ${v}`).join(", ") : "not written";
const cells = (s: Summary): string[] => [ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)];

function printPropagation(r: PropagationResult): void {
  const lines = [
    `### Propagation: ${r.stagings} stagings, ${r.samples} changes (${r.timeouts} timed out, ${r.detours} via another status)`,
    "",
    row(["Path", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"]),
    row(["---", "---:", "---:", "---:", "---:", "---:"]),
    row(["(a) change → status in Postgres", r.toPostgres.count, ...cells(r.toPostgres)]),
    row(["(a′) change → StatusTransition.createdAt", r.toTransitionRow.count, ...cells(r.toTransitionRow)]),
    row(["(b) change → check-run PATCH at GitHub", r.toGitHub.count, ...cells(r.toGitHub)]),
    ...r.byDirection.flatMap((d) => [
      row([`(a) ${d.direction}`, d.toPostgres.count, ...cells(d.toPostgres)]),
      row([`(b) ${d.direction}`, d.toGitHub.count, ...cells(d.toGitHub)]),
    ]),
    ...(r.burst
      ? [
          row([`(a) burst: ${r.burst.size} flipped at once`, r.burst.toPostgres.count, ...cells(r.burst.toPostgres)]),
          row([`(b) burst: ${r.burst.size} flipped at once${r.burst.timeouts ? ` (${r.burst.timeouts} timed out)` : ""}`, r.burst.toGitHub.count, ...cells(r.burst.toGitHub)]),
        ]
      : []),
    "",
    `Setup ${r.setupSeconds.toFixed(0)} s. Server while measuring: ${r.serverCpuPct.toFixed(1)} % of one core (machine ${r.machineBusyPct.toFixed(0)} % busy), RSS ${mib(r.rss.startRss)} MiB at the start, max ${mib(r.rss.maxRss)}, end ${mib(r.rss.endRss)}, VmHWM ${mib(r.rss.peak)}; after a forced GC, process.memoryUsage() MiB: ${memoryLine(r.memory)}.`,
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

function printScale(results: ScaleResult[]): void {
  const lines = [
    "### Scale: steady state (nothing changing)",
    "",
    row(["Stagings", "window s", "Kubernetes req/min", "GitHub req/min", "Postgres scans/min", "Postgres rows written/min", "server CPU %", "machine busy %", "RSS MiB (start / max / end / VmHWM)", "start-up ms"]),
    row(["---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ...results.map((r) =>
      row([`${r.stagings}${r.foreignPods ? ` (+${r.foreignPods} foreign pods${r.foreignChanges ? `, ${r.foreignChangesPerSec.toFixed(0)} changes/s` : ""})` : ""}${r.role === "worker" ? ", worker" : ""}`, r.seconds.toFixed(0), r.kubePerMin.toFixed(1), r.githubPerMin.toFixed(1), r.dbScansPerMin.toFixed(0), r.dbWritesPerMin.toFixed(0), r.serverCpuPct.toFixed(1), r.machineBusyPct.toFixed(0), `${mib(r.rss.startRss)} / ${mib(r.rss.maxRss)} / ${mib(r.rss.endRss)} / ${mib(r.rss.peak)}`, Math.round(r.startupMs)]),
    ),
    "",
    "Kubernetes requests in the window:",
    "",
    ...results.map((r) => `- ${r.stagings}: ${Object.entries(r.kubeBreakdown).map(([k, v]) => `${k} ×${v}`).join(", ") || "none"}`),
    "",
    "Server process.memoryUsage() after the window and a forced full GC (MiB):",
    "",
    ...results.map((r) => `- ${r.stagings}: ${memoryLine(r.memory)}`),
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

const out: { date: string; machine: string; revision: string; options: typeof opts; propagation?: PropagationResult; scale?: ScaleResult[]; foreignEvents?: ForeignEventResult; informerMemory?: InformerMemoryResult[] } = {
  date: new Date().toISOString(),
  machine: machine(),
  revision: revision(),
  options: opts,
};
const env = Object.entries(opts.serverEnv).map(([k, v]) => `${k}=${v}`);
// The JavaScript build, once for every run (the image's way: no TypeScript stripper in the process).
const program = opts.build === "js" ? await buildJs() : undefined;
const flags = `; runs ${program ? "the JavaScript build" : "the sources"}; server node flags: ${[...(program?.nodeFlags ?? serverNodeFlags()), ...opts.nodeFlags].join(" ") || "none"}${env.length ? `; server env: ${env.join(" ")}` : ""}`;
process.stdout.write(`## Status benchmarks, ${out.date}\n\n${out.machine}${flags}\n\n${out.revision}\n\n`);
if (opts.scenario === "foreign-events") {
  const r = (out.foreignEvents = runForeignEvents());
  process.stdout.write(
    [
      `### One event of another team's pod (${r.events} MODIFIED events of ${r.bytesPerEvent} bytes, in process)`,
      "",
      row(["Path", "µs per event"]),
      row(["---", "---:"]),
      row(["before issue 14: JSON.parse + trimPod (then cached and reported)", r.parseAndTrimUs.toFixed(2)]),
      row(["now: namespace and resourceVersion read from the bytes, dropped", r.scanUs.toFixed(2)]),
      "",
    ].join("\n"),
  );
}
if (opts.scenario === "informer-memory") {
  out.informerMemory = [];
  for (const n of opts.sizes) out.informerMemory.push(await runInformerMemory(n, opts.foreignPods, 5, opts.serverEnv));
  process.stdout.write(
    [
      "### The kube adapter alone: RSS of a process that only watches (5 fresh processes each)",
      "",
      row(["Stagings", "foreign pods", "RSS MiB after loading", "RSS MiB growth from watching (median; runs)", "V8 heap used MiB", "ready ms"]),
      row(["---:", "---:", "---:", "---:", "---:", "---:"]),
      ...out.informerMemory.map((r) => row([r.stagings, r.foreignPods, mib(r.loadedRss), `${mib(r.medianGrowth)} (${r.growth.map(mib).join(", ")})`, mib(r.heapUsed), Math.round(r.readyMs)])),
      "",
    ].join("\n"),
  );
}
if (opts.scenario === "all" || opts.scenario === "propagation") {
  out.propagation = await runPropagation(opts, program);
  printPropagation(out.propagation);
}
if (opts.scenario === "all" || opts.scenario === "scale") {
  out.scale = [];
  for (const n of opts.sizes) out.scale.push(await runScale(opts, n, program));
  printScale(out.scale);
}
if (opts.out) writeFileSync(opts.out, `${JSON.stringify(out, null, 2)}\n`);
if (program) rmSync(program.dir, { recursive: true, force: true });
