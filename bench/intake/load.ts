// Open-loop load: webhook i is due at t0 + i/rate whatever happened to the earlier ones, and
// its latency is measured from that due time (so time spent queued counts; no coordinated
// omission). Every request is built and signed before the clock starts.
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import { sign } from "@octokit/webhooks-methods";
import { pullRequestPayload } from "../../test/support/webhooks.ts";
import { installationId, webhookSecret } from "./system.ts";

export interface PlannedWebhook {
  index: number;
  id: string;
  pr: number;
  sha: string;
  body: string;
  signature: string;
  warmup: boolean;
}

export interface SentWebhook {
  index: number;
  id: string;
  pr: number;
  sha: string;
  warmup: boolean;
  /** performance.now() when it was due, when its bytes started going out, and when the answer was complete. */
  dueAt: number;
  sentAt: number;
  doneAt: number;
  status: number;
  error?: string;
}

export interface PlanOptions {
  rate: number;
  seconds: number;
  warmup: number;
  prs: number;
  owner: string;
  repo: string;
}

/** A fresh 40-hex head SHA for each webhook (deterministic per run and index). */
function headSha(run: string, index: number): string {
  return createHash("sha1").update(`${run}:${index}`).digest("hex");
}

export async function planWebhooks(o: PlanOptions): Promise<PlannedWebhook[]> {
  const warmupCount = Math.round(o.rate * o.warmup);
  const total = warmupCount + Math.round(o.rate * o.seconds);
  const run = randomUUID();
  const out: PlannedWebhook[] = [];
  for (let index = 0; index < total; index++) {
    const pr = (index % o.prs) + 1;
    const sha = headSha(run, index);
    const payload = pullRequestPayload("synchronize", { owner: o.owner, repo: o.repo, number: pr, sha, installationId });
    const body = JSON.stringify(payload);
    out.push({ index, id: randomUUID(), pr, sha, body, signature: await sign(webhookSecret, body), warmup: index < warmupCount });
  }
  return out;
}

/** Sends one webhook over the keep-alive agent; never rejects. */
function send(url: URL, agent: http.Agent, w: PlannedWebhook, dueAt: number): Promise<SentWebhook> {
  return new Promise((resolve) => {
    const base = { index: w.index, id: w.id, pr: w.pr, sha: w.sha, warmup: w.warmup, dueAt };
    const sentAt = performance.now();
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        timeout: 30_000,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(w.body),
          "user-agent": "GitHub-Hookshot/bench",
          "x-github-event": "pull_request",
          "x-github-delivery": w.id,
          "x-github-hook-id": "1",
          "x-hub-signature-256": w.signature,
        },
      },
      (res) => {
        res.resume();
        res.once("end", () => resolve({ ...base, sentAt, doneAt: performance.now(), status: res.statusCode ?? 0 }));
        res.once("error", (err) => resolve({ ...base, sentAt, doneAt: performance.now(), status: 0, error: err.message }));
      },
    );
    req.once("timeout", () => req.destroy(new Error("timed out after 30 s")));
    req.once("error", (err) => resolve({ ...base, sentAt, doneAt: performance.now(), status: 0, error: err.message }));
    req.end(w.body);
  });
}

/** Sends the plan at `rate` per second on the clock; resolves when every answer is in. */
export async function runOpenLoop(webhookUrl: string, plan: PlannedWebhook[], rate: number): Promise<{ sent: SentWebhook[]; t0: number }> {
  const url = new URL(webhookUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, keepAliveMsecs: 10_000 });
  const interval = 1000 / rate;
  const t0 = performance.now() + 20;
  const pending: Promise<SentWebhook>[] = [];
  await new Promise<void>((done) => {
    let next = 0;
    const tick = (): void => {
      const now = performance.now();
      while (next < plan.length && t0 + next * interval <= now) {
        pending.push(send(url, agent, plan[next]!, t0 + next * interval));
        next++;
      }
      if (next >= plan.length) return done();
      setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    tick();
  });
  const sent = await Promise.all(pending);
  agent.destroy();
  return { sent, t0 };
}
