// Runs the same planned webhooks against the floor server (floor-server.ts, its own process, the
// same PostgreSQL schema and Redis) right after Octostage, and measures it the same way: time to
// answer from the due time, CPU of the process, deliveries lost.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { runOpenLoop } from "./load.ts";
import type { PlannedWebhook } from "./load.ts";
import { measureCpu } from "./machine.ts";
import type { CpuWindow } from "./machine.ts";
import { summarize } from "./stats.ts";
import type { Summary } from "./stats.ts";
import { redisUrl, root, webhookSecret } from "./system.ts";

export interface FloorResults {
  answerMs: Summary;
  serviceMs: Summary;
  cpu: CpuWindow;
  /** CPU of the floor process per webhook sent (ms). */
  cpuPerWebhookMs: number;
  sent: number;
  ok2xx: number;
  lost: number;
}

/** A DATABASE_URL for plain `pg` on the bench's schema (Prisma's `?schema=` is not a pg option). */
function pgUrl(prismaUrl: string): string {
  const url = new URL(prismaUrl);
  const schema = url.searchParams.get("schema");
  url.searchParams.delete("schema");
  if (schema) url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

export async function runFloor(plan: PlannedWebhook[], rate: number, databaseUrl: string, log: (m: string) => void): Promise<FloorResults> {
  const key = `bench-floor-${process.pid}`;
  const child = spawn(process.execPath, ["--no-warnings", join(root, "bench", "intake", "floor-server.ts")], {
    env: { PATH: process.env.PATH ?? "", DATABASE_URL: pgUrl(databaseUrl), REDIS_URL: redisUrl, WEBHOOK_SECRET: webhookSecret, FLOOR_KEY: key },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`the floor server exited (${code}) before listening`)));
  });
  log(`floor server ready on port ${port}; sending the same ${plan.length} webhooks`);
  try {
    const endCpu = measureCpu([{ role: "floor", pid: child.pid! }]);
    const { sent } = await runOpenLoop(`http://127.0.0.1:${port}/api/github/webhooks`, plan, rate);
    const cpu = endCpu();
    const measured = sent.filter((w) => !w.warmup);
    const client = new pg.Client({ connectionString: pgUrl(databaseUrl) });
    await client.connect();
    const ids = sent.map((w) => w.id);
    const delivered = new Set((await client.query<{ id: string }>("SELECT id FROM floor_delivery WHERE id = ANY($1)", [ids])).rows.map((r) => r.id));
    const audited = new Set((await client.query<{ delivery_id: string }>("SELECT delivery_id FROM floor_action WHERE delivery_id = ANY($1)", [ids])).rows.map((r) => r.delivery_id));
    await client.end();
    const ok = sent.filter((w) => w.status >= 200 && w.status < 300);
    const floorProc = cpu.processes.find((p) => p.role === "floor");
    return {
      answerMs: summarize(measured.map((w) => w.doneAt - w.dueAt)),
      serviceMs: summarize(measured.map((w) => w.doneAt - w.sentAt)),
      cpu,
      cpuPerWebhookMs: ((floorProc?.pct ?? Number.NaN) / 100) * cpu.seconds * 1000 / Math.max(1, sent.length),
      sent: sent.length,
      ok2xx: ok.length,
      lost: sent.filter((w) => !(delivered.has(w.id) && audited.has(w.id))).length,
    };
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
    const redis = new Redis(redisUrl);
    await redis.del(`${key}:deploy`).finally(() => redis.quit());
  }
}
