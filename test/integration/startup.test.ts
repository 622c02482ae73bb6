// `npm start`'s entry point as a real process: without GitHub App credentials it does not
// crash but serves the registration page; bad configuration stops it with exit code 2 and a
// message naming the field and the rule.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb } from "../support/db.ts";
import type { TestDb } from "../support/db.ts";
import { waitFor } from "../support/wait.ts";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.drop();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["src/main/octostage.ts"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", DATABASE_URL: db.url, OCTOSTAGE_QUEUE_PREFIX: "startup-test", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe("starting Octostage", () => {
  it("without GitHub App credentials serves the registration page, /healthz, and a /readyz that says why", async () => {
    const port = await freePort();
    const p = start({ PORT: String(port), HOST: "127.0.0.1", PUBLIC_URL: "https://octostage.example.com" });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor("server up", () => fetch(`${base}/healthz`).then((r) => r.ok, () => false), 30_000, 100);
      const page = await (await fetch(`${base}/`)).text();
      expect(page).toContain("not registered as a GitHub App");
      expect(page).toMatch(/action="https:\/\/github.com\/settings\/apps\/new\?state=[\w-]{32}"/);
      expect(page).toContain("https://octostage.example.com/api/github/webhooks");
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ok: false, checks: { database: "ok", redis: "ok", githubApp: expect.stringContaining("not registered") } });
      expect(p.output()).toContain("no GitHub App credentials");
      p.child.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill("SIGKILL");
    }
  });

  it("waiting to be registered, listens on 127.0.0.1 only unless HOST says otherwise", async () => {
    const port = await freePort();
    const p = start({ PORT: String(port) });
    try {
      await waitFor("server up", () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30_000, 100);
      // Another loopback address reaches a server listening on 0.0.0.0, not one on 127.0.0.1.
      await expect(fetch(`http://127.0.0.2:${port}/healthz`)).rejects.toThrow();
    } finally {
      p.child.kill("SIGKILL");
    }
  });

  it("stops with exit code 2 and names the field when the project config is invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "octostage-cfg-"));
    const path = join(dir, "octostage.yaml");
    writeFileSync(path, "repositories:\n  - repo: acme/web\n    chart: { repository: 'ftp://charts', name: web }\n    hostTemplate: '{name}.example.com'\n");
    const p = start({ OCTOSTAGE_CONFIG: path });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain("repositories[0].chart.repository: must be an https:// chart repository URL or an oci:// reference");
  });

  it("stops with exit code 2 and names the variable when the environment is invalid", async () => {
    const p = start({ PORT: "eighty", REDIS_URL: "localhost:6379" });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/PORT: /);
    expect(p.output()).toContain("REDIS_URL: must be a redis:// or rediss:// URL");
  });
});
