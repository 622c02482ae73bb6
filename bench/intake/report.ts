// The Markdown summary printed after a run (copy it into bench/README.md).
import type { IntakeResults } from "./run.ts";
import { ms } from "./stats.ts";
import type { Summary } from "./stats.ts";

const pct = (v: number): string => (Number.isFinite(v) ? `${Math.round(v)} %` : "–");
const quantiles = (s: Summary): string => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)} / ${ms(s.max)}`;

export function renderMarkdown(r: IntakeResults): string {
  const m = r.machine;
  const o = r.options;
  const d = r.deliveries;
  const lines: string[] = [];
  lines.push(`### Intake: ${o.rate} webhooks/s for ${o.seconds} s (${r.date.slice(0, 10)})`, "");
  lines.push(
    `Code: ${r.source}.`,
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres}; Redis ${m.redis}.`,
    `Load: open loop, ${o.prs} pull requests round-robin, ${r.load.warmup} warm-up webhooks (${o.warmup} s) not counted; worker ${o.worker}` +
      `${o.helmNice ? `; helm at nice ${o.helmNice} (autogroup too)` : ""}${o.workerConcurrency ? `; OCTOSTAGE_WORKER_CONCURRENCY=${o.workerConcurrency}` : ""}${o.probe ? "; server instrumented (--probe)" : ""}${o.cpuProf ? "; server CPU-profiled (--cpu-prof)" : ""}.`,
    "",
  );
  lines.push("| Measure | Value |", "|---|---|");
  const row = (k: string, v: string): number => lines.push(`| ${k} | ${v} |`);
  row("Webhooks measured (achieved rate)", `${r.load.measured} (${r.load.achievedRate.toFixed(1)}/s)`);
  row("Time to answer p50 / p95 / p99 / max (ms)", quantiles(r.answerMs));
  row(
    `Target: p99 < ${r.target.p99Ms} ms at ${r.target.rate}/s`,
    r.target.met === null ? `n/a (${r.target.note})` : r.target.met ? "**met**" : "**not met**",
  );
  row("Service time p50 / p99 (ms), from the actual send", `${ms(r.serviceMs.p50)} / ${ms(r.serviceMs.p99)}`);
  row("Generator lag p99 / max (ms)", `${ms(r.load.generatorLagMs.p99)} / ${ms(r.load.generatorLagMs.max)}`);
  const non2xx = d.non2xx.map((n) => `${n.count}× ${n.status || n.error}`).join(", ") || "none";
  row("Deliveries sent / 2xx / recorded / lost", `${d.sent} / ${d.ok2xx} / ${Math.min(d.recordedDelivery, d.recordedAction)} / **${d.lost}**`);
  row("Non-2xx answers", non2xx);
  if (d.superseded) row("Superseded (recorded, older than a later webhook of the PR that was applied)", String(d.superseded));
  if ("skipped" in r.helm) {
    row("Webhook → helm start", r.helm.skipped);
  } else {
    const h = r.helm;
    row("Helm runs / webhooks (coalesced)", `${h.runs} / ${h.webhooks} (${h.webhooksWithRun} SHAs deployed)`);
    row("PRs whose last SHA was deployed", `${h.prsWithFinalShaDeployed} / ${h.prs}`);
    row("Webhook → helm start p50 / p95 / p99 / max (ms)", `${quantiles(h.webhookToHelmStartMs)} (${h.runsForMeasuredWebhooks} runs)`);
    row("All generations applied after the last webhook", h.drained ? `${(h.drainMs! / 1000).toFixed(1)} s` : "**not within the drain timeout**");
  }
  const procs = r.cpu.processes.map((p) => `${p.role} ${pct(p.pct)} (+ helm runs ${pct(p.childrenPct)})`).join(", ");
  row(
    "CPU while sending (% of one core)",
    `machine ${pct(r.cpu.machineBusyPct * m.nproc)} of ${m.nproc * 100} %: ${procs}; PostgreSQL ${pct(r.cpu.postgresPct)}; ` +
      `Redis ${pct(r.cpu.redisPct)}; load generator + doubles ${pct(r.cpu.benchPct)}; other ${pct(r.cpu.otherPct)}` +
      (r.cpu.otherTop.length ? ` (${r.cpu.otherTop.map((o) => `${o.comm} ${pct(o.pct)}`).join(", ")})` : ""),
  );
  row("Octostage CPU per webhook (all its processes)", `${r.cpuPerWebhookMs.toFixed(2)} ms`);
  if (r.floor) {
    const f = r.floor;
    row("Floor (same webhooks right after: HMAC, JSON, 1 transaction of 3 writes, 1 Redis push): answer p50 / p95 / p99 / max (ms)", quantiles(f.answerMs));
    row("Floor CPU per webhook; deliveries sent / 2xx / lost", `${f.cpuPerWebhookMs.toFixed(2)} ms; ${f.sent} / ${f.ok2xx} / ${f.lost}`);
    row("**Octostage ÷ floor**: p50 / p99 / CPU per webhook", `**${f.ratio.p50.toFixed(1)}× / ${f.ratio.p99.toFixed(1)}× / ${f.ratio.cpuPerWebhook.toFixed(1)}×**`);
  }
  row("Machine busy before the run (other work)", pct(r.idleBusyPct));
  row("Graceful stop after the run (SIGTERM → exit)", r.stops.map((s) => `${s.role} ${(s.ms / 1000).toFixed(1)} s (${s.how})`).join(", "));
  row("Server log warnings / errors", `${r.serverLog.warnings} / ${r.serverLog.errors}`);
  if (r.probe) {
    const p = r.probe;
    lines.push("", "Inside the server (--probe), per webhook, p50 / p95 / p99 / max (ms):", "", "| Part | ms |", "|---|---|");
    row("Server time (request event → response finish)", quantiles(p.serverMs));
    row("Waiting for a pooled PostgreSQL connection", quantiles(p.poolWaitMs));
    row(`PostgreSQL queries (${p.dbQueriesPerRequest.toFixed(1)} per webhook)`, quantiles(p.dbMs));
    row("BullMQ enqueue (Queue.add)", quantiles(p.enqueueMs));
    row("Everything else in the server (CPU, event-loop waits)", quantiles(p.otherMs));
    row("Outside the request event (accept, headers, busy loop, generator)", quantiles(p.outsideMs));
    row("Event-loop delay: p99 of per-second p99 / max", `${ms(p.loopDelayMs.p99OfSecondP99)} / ${ms(p.loopDelayMs.max)}`);
    row("GC pauses in the window: count / total / max (ms)", `${p.gc.count} / ${ms(p.gc.totalMs)} / ${ms(p.gc.maxMs)}`);
  }
  if (r.cpuProfile) {
    for (const [role, prof] of Object.entries(r.cpuProfile)) {
      lines.push("", `CPU profile of the ${role} process in the window (${Math.round(prof.busyMs)} ms busy of ${Math.round(prof.totalMs)} ms), self time by area:`, "");
      lines.push("| Area | ms | share |", "|---|---|---|");
      for (const a of prof.byArea.slice(0, 12)) lines.push(`| ${a.name} | ${Math.round(a.ms)} | ${pct(a.share * 100)} |`);
      lines.push("", "Heaviest functions (self time):", "", "| Function | ms | share |", "|---|---|---|");
      for (const f of prof.byFunction.slice(0, 15)) lines.push(`| \`${f.name.replace(/\|/g, "\\|")}\` | ${Math.round(f.ms)} | ${pct(f.share * 100)} |`);
    }
  }
  if (r.worstSeconds.length) {
    const worst = r.worstSeconds.map((s) => `${s.second}: ${ms(s.p99)} / ${ms(s.max)} (machine ${pct(s.machineBusyPct)})`).join("; ");
    lines.push("", `Worst seconds by p99 (second: p99 / max ms, machine busy): ${worst}.`);
  }
  if (r.serverLog.samples.length) lines.push("", "Server log samples:", ...r.serverLog.samples.map((s) => `- ${s}`));
  return lines.join("\n");
}
