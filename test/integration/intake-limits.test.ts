// Denial of service at the intake, tried against the real server process: 40 concurrent 24 MB
// bodies (unsigned, signed with a bogus signature, and sent chunked without a length) leave the
// server's resident memory under 350 MB, and a body announced as 1 GB is refused at once.
// The server's peak RSS is read from /proc (VmHWM), not estimated.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { generateTestPrivateKey } from "../support/github-double.ts";
import { waitFor } from "../support/wait.ts";

let db: TestDb;
let server: ReturnType<typeof spawn>;
let base = "";
const MB = 1024 * 1024;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

beforeAll(async () => {
  db = await createTestDb();
  const port = await freePort();
  server = spawn(process.execPath, ["src/main/octostage.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      DATABASE_URL: db.url,
      OCTOSTAGE_ROLE: "server",
      OCTOSTAGE_QUEUE_PREFIX: "intake-limits",
      APP_ID: "1",
      PRIVATE_KEY: generateTestPrivateKey(),
      WEBHOOK_SECRET: "limits-secret",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  base = `http://127.0.0.1:${port}`;
  await waitFor("server ready", () => fetch(`${base}/readyz`).then((r) => r.ok, () => false), 60_000, 100);
});
afterAll(async () => {
  server?.kill("SIGKILL");
  await db?.drop();
});

/** Sends a 24 MB body the way an attacker would; resolves with the status (0 when the server cut the connection). */
function send(kind: "unsigned" | "bogus" | "chunked"): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": `dos-${Math.random()}` };
    if (kind !== "unsigned") headers["x-hub-signature-256"] = `sha256=${"0".repeat(64)}`;
    if (kind !== "chunked") headers["content-length"] = String(24 * MB);
    const req = http.request(`${base}/api/github/webhooks`, { method: "POST", headers });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    const chunk = Buffer.alloc(MB, "a");
    let sent = 0;
    const pump = (): void => {
      while (sent < 24 && !req.destroyed) {
        sent++;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

describe("intake under a flood of large bodies", () => {
  it("40 concurrent 24 MB bodies of each kind are refused without the server buffering them: RSS stays under 350 MB", async () => {
    const before = memory(server.pid!);
    for (const kind of ["unsigned", "bogus", "chunked"] as const) {
      const statuses = await Promise.all(Array.from({ length: 40 }, () => send(kind)));
      // 0: the server answered and closed the connection while the client was still sending.
      const expected = kind === "unsigned" ? [401, 0] : kind === "bogus" ? [413, 0] : [413, 503, 0];
      for (const status of statuses) expect(expected).toContain(status);
    }
    const after = memory(server.pid!);
    expect(after.peak).toBeLessThan(350 * MB);
    // Still answering, and nothing was recorded.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await db.db.webhookDelivery.count()).toBe(0);
    expect(before.rss).toBeGreaterThan(0);
  });

  it("a body announced as 1 GB is refused at once, not held open", async () => {
    const started = Date.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/api/github/webhooks`, {
        method: "POST",
        headers: { "content-length": String(1024 * MB), "x-github-event": "pull_request", "x-github-delivery": "d-1g", "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
      });
      req.on("response", (res) => resolve(res.statusCode ?? 0));
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
