import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExecError, runProcess } from "../../src/adapters/helm/exec.ts";
import type { ProcessRequest } from "../../src/adapters/helm/exec.ts";

const dir = mkdtempSync(path.join(tmpdir(), "helm-exec-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a Node script (CommonJS, via -e) with extra argv. */
function node(script: string, args: string[] = [], extra: Partial<ProcessRequest> = {}): ReturnType<typeof runProcess> {
  return runProcess({ file: process.execPath, argv: ["-e", script, ...args], env: {}, timeoutMs: 10_000, redact: [], ...extra });
}

describe("runProcess", () => {
  it("passes argv literally, never through a shell", async () => {
    const marker = path.join(dir, "pwned");
    const evil = [`$(touch ${marker}); rm -rf ${dir}`, `\`touch ${marker}\``, `a | tee ${marker} && echo $HOME`, "*", "~", "'\"", ""];
    const result = await node("process.stdout.write(JSON.stringify(process.argv.slice(1)))", evil);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(evil);
    expect(existsSync(marker)).toBe(false);
  });

  it("reports exit code, stdout and stderr", async () => {
    const result = await node("console.log('out'); console.error('err'); process.exit(3)");
    expect(result).toMatchObject({ exitCode: 3, timedOut: false, stdout: "out\n", stderr: "err\n" });
    expect(result.signal).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("passes a minimal environment: PATH, HOME, KUBECONFIG, HELM_* and what the caller adds", async () => {
    const parentEnv = {
      PATH: "/usr/bin:/bin",
      HOME: "/home/octo",
      KUBECONFIG: "/etc/kube/config",
      HELM_CACHE_HOME: "/cache/helm",
      GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----",
      DATABASE_URL: "postgres://octo:pw@db/octo",
      npm_config_token: "npm-secret",
    };
    const result = await node("process.stdout.write(JSON.stringify(process.env))", [], { parentEnv, env: { AWS_PROFILE: "staging" } });
    expect(JSON.parse(result.stdout)).toEqual({
      PATH: "/usr/bin:/bin",
      HOME: "/home/octo",
      KUBECONFIG: "/etc/kube/config",
      HELM_CACHE_HOME: "/cache/helm",
      AWS_PROFILE: "staging",
    });
  });

  it("does not leak the parent's other variables by default", async () => {
    process.env.OCTO_EXEC_TEST_SECRET = "leak";
    try {
      const result = await node("process.stdout.write(JSON.stringify(process.env))");
      const env = JSON.parse(result.stdout);
      expect(env.OCTO_EXEC_TEST_SECRET).toBeUndefined();
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.OCTO_EXEC_TEST_SECRET;
    }
  });

  it("stops a process at the timeout with SIGTERM", async () => {
    const result = await node("setInterval(() => {}, 1000)", [], { timeoutMs: 300 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGTERM" });
  });

  it("kills a process that ignores SIGTERM, and its children, after the grace period", async () => {
    const script = [
      "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));",
      "require('node:child_process').spawn('sleep', ['30'], { stdio: 'inherit' });", // holds stdout open
      "setInterval(() => {}, 1000); console.log('started');",
    ].join("\n");
    const started = Date.now();
    const result = await node(script, [], { timeoutMs: 2_000, killGraceMs: 300 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL" });
    expect(result.stdout).toContain("ignoring SIGTERM");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("redacts listed secrets and credential-shaped text in stdout and stderr", async () => {
    const script = [
      "console.log('token=s3cr3t-Token-value and again s3cr3t-Token-value');",
      "console.log('pulling https://robot:hunter2@charts.example.com/index.yaml');",
      "console.log('git clone https://ghp_abc123@github.com/acme/web.git');",
      "console.error('Authorization: Bearer eyJhbGciOi.payload.sig');",
      "console.error('sent header bearer abc.def-ghi');",
    ].join("\n");
    const result = await node(script, [], { redact: ["s3cr3t-Token-value", ""] });
    expect(result.stdout).toBe(
      [
        "token=[REDACTED] and again [REDACTED]",
        "pulling https://[REDACTED]@charts.example.com/index.yaml",
        "git clone https://[REDACTED]@github.com/acme/web.git",
        "",
      ].join("\n"),
    );
    expect(result.stderr).toBe("Authorization: Bearer [REDACTED]\nsent header bearer [REDACTED]\n");
  });

  it("caps output, keeping head and tail, and redacts a secret cut by the truncation", async () => {
    const secret = "S3cr3tValue-XYZ-987";
    const script = `process.stdout.write('H'.repeat(495) + '${secret}' + 'm'.repeat(200000) + '${secret}' + 'T'.repeat(100))`;
    const result = await node(script, [], { redact: [secret], maxOutputBytes: 1000 });
    expect(result.stdout.length).toBeLessThan(1100);
    expect(result.stdout.startsWith("H".repeat(495) + "[REDACTED]")).toBe(true);
    expect(result.stdout.endsWith("[REDACTED]" + "T".repeat(100))).toBe(true);
    expect(result.stdout).toMatch(/\[\d+ bytes of output omitted\]/);
    expect(result.stdout).not.toContain("S3cr");
  });

  it("turns a missing binary into ExecError binary_not_found", async () => {
    for (const file of [path.join(dir, "no-such-helm"), "octostage-no-such-binary"]) {
      const error = await runProcess({ file, argv: [], env: {}, timeoutMs: 1000, redact: [] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExecError);
      expect(error).toMatchObject({ code: "binary_not_found", file });
    }
  });

  it("tells a non-executable file and a bad working directory apart from a missing binary", async () => {
    const file = path.join(dir, "not-executable");
    writeFileSync(file, "#!/bin/sh\n");
    chmodSync(file, 0o644);
    await expect(runProcess({ file, argv: [], env: {}, timeoutMs: 1000, redact: [] })).rejects.toMatchObject({ code: "not_executable" });
    const badCwd = { file: process.execPath, argv: ["-e", ""], env: {}, timeoutMs: 1000, redact: [], cwd: path.join(dir, "gone") };
    await expect(runProcess(badCwd)).rejects.toMatchObject({ code: "spawn_failed" });
  });

  it("stops the process group when the lease deadline passes without being moved (a stalled or fenced-out worker)", async () => {
    const deadline = Date.now() + 300;
    const result = await node("setInterval(() => {}, 1000)", [], { timeoutMs: 10_000, lease: { deadline: () => deadline, everyMs: 50 } });
    expect(result).toMatchObject({ timedOut: false, stoppedBy: "lease", exitCode: null, signal: "SIGTERM" });
  });

  it("keeps running while the lease deadline keeps moving forward", async () => {
    // The process outlives the first deadline three times over; the 1 s margin absorbs a loaded
    // machine's event-loop stalls (a 250 ms margin failed when test files ran side by side).
    const result = await node("setTimeout(() => console.log('done'), 3000)", [], {
      timeoutMs: 10_000,
      lease: { deadline: () => Date.now() + 1000, everyMs: 50 },
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: "done\n" });
    expect(result.stoppedBy).toBeUndefined();
  });

  it("stops the process when the caller aborts", async () => {
    const abort = new AbortController();
    const running = node("console.log('started'); setInterval(() => {}, 1000)", [], { timeoutMs: 10_000, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    await expect(running).resolves.toMatchObject({ stoppedBy: "abort", signal: "SIGTERM", timedOut: false });
  });

  /**
   * Runs `child` (a Node script that writes its pid to `pidFile`) through runProcess in a
   * "worker" process, kills that worker with SIGKILL, and waits until the child is gone.
   */
  async function killWorkerUnder(name: string, child: (pidFile: string) => string): Promise<string> {
    const pidFile = path.join(dir, `${name}.pid`);
    const worker = [
      `import { runProcess } from ${JSON.stringify(path.resolve("src/adapters/helm/exec.ts"))};`,
      `await runProcess({ file: process.execPath, argv: ["-e", ${JSON.stringify(child(pidFile))}], env: {}, timeoutMs: 60_000, redact: [] });`,
    ].join("\n");
    const file = path.join(dir, `${name}-worker.ts`);
    writeFileSync(file, worker);
    const { spawn } = await import("node:child_process");
    const proc = spawn(process.execPath, ["--no-warnings", file], { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    proc.kill("SIGKILL");
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
    return pidFile;
  }

  it("never outlives its worker: when the worker is killed with SIGKILL, the process group is stopped", async () => {
    const pidFile = await killWorkerUnder(
      "orphan",
      (pidFile) =>
        `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(`${pidFile}.term`)}, 'x'); process.exit(1); }); setInterval(() => {}, 1000)`,
    );
    // It was asked to stop (SIGTERM) first, so helm could mark its release failed rather than pending.
    expect(existsSync(`${pidFile}.term`)).toBe(true);
  });

  it("a command stopped because its worker died can still write its last words (helm marks the release failed, not pending)", async () => {
    // Like helm: on SIGTERM it prints that the release is cancelled, then records the revision as
    // failed; a write to a broken stdout ends it first (Go's SIGPIPE; here EPIPE → exit 141).
    const pidFile = await killWorkerUnder("last-words", (pidFile) =>
      [
        `const fs = require('fs'); fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));`,
        `process.stdout.on('error', () => process.exit(141));`,
        `process.on('SIGTERM', () => process.stdout.write('Release "web-pr-1" has been cancelled.\\n'.repeat(2000), (err) => { if (err) process.exit(141); fs.writeFileSync(${JSON.stringify(`${pidFile}.failed`)}, 'x'); process.exit(1); }));`,
        `setInterval(() => process.stdout.write('still upgrading\\n'), 20)`,
      ].join(" "),
    );
    expect(existsSync(`${pidFile}.failed`)).toBe(true);
  });
});
