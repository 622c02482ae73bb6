import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { hasDashboard, hasGitHubApp, parseEnv } from "../../src/config/env.ts";
import { ConfigError } from "../../src/config/errors.ts";

const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n";
const dir = mkdtempSync(join(tmpdir(), "octostage-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(source: Record<string, string | undefined>): string[] {
  try {
    parseEnv(source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected parseEnv to throw");
}

describe("parseEnv defaults", () => {
  test("an empty environment gets working defaults", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      PORT: 3000,
      TRUSTED_PROXIES: [],
      HELM_BIN: "helm",
      REDIS_URL: "redis://127.0.0.1:6379",
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/octostage",
      WEBHOOK_PATH: "/api/github/webhooks",
      GHE_PROTOCOL: "https",
      OCTOSTAGE_CONFIG: "octostage.yaml",
      OCTOSTAGE_ROLE: "all",
      OCTOSTAGE_QUEUE_PREFIX: "octostage",
      OCTOSTAGE_WORKER_CONCURRENCY: 4,
      OCTOSTAGE_REPORT_CONCURRENCY: 50,
      OCTOSTAGE_RECONCILE_SECONDS: 5,
      LOG_LEVEL: "info",
    });
    expect(env.privateKey).toBeUndefined();
  });

  test("empty and undefined variables count as unset", () => {
    const env = parseEnv({ PORT: "", HELM_BIN: "", REDIS_URL: undefined, APP_ID: "" });
    expect(env.PORT).toBe(3000);
    expect(env.HELM_BIN).toBe("helm");
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(env.APP_ID).toBeUndefined();
  });

  test("set values are used, numbers coerced", () => {
    const env = parseEnv({
      PORT: "8080",
      HELM_BIN: "/usr/local/bin/helm",
      REDIS_URL: "rediss://redis.internal:6380/1",
      DATABASE_URL: "postgres://u:p@db/octo",
      OCTOSTAGE_WORKER_CONCURRENCY: "16",
      OCTOSTAGE_ROLE: "worker",
    });
    expect(env).toMatchObject({ PORT: 8080, HELM_BIN: "/usr/local/bin/helm", OCTOSTAGE_WORKER_CONCURRENCY: 16, OCTOSTAGE_ROLE: "worker" });
    expect(env.REDIS_URL).toBe("rediss://redis.internal:6380/1");
    expect(env.DATABASE_URL).toBe("postgres://u:p@db/octo");
  });
});

describe("parseEnv errors name the variable", () => {
  test.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "80.5"],
    ["APP_ID", "my-app"],
    ["REDIS_URL", "http://localhost:6379"],
    ["DATABASE_URL", "mysql://localhost/db"],
    ["WEBHOOK_PATH", "hooks"],
    ["GHE_PROTOCOL", "ftp"],
    ["OCTOSTAGE_ROLE", "everything"],
    ["OCTOSTAGE_QUEUE_PREFIX", "has space"],
    ["OCTOSTAGE_WORKER_CONCURRENCY", "0"],
    ["OCTOSTAGE_RECONCILE_SECONDS", "86400"],
    ["LOG_LEVEL", "loud"],
  ])("%s=%s", (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`${name}: `)).toBe(true);
  });

  test("every bad variable is reported at once", () => {
    const problems = problemsOf({ PORT: "abc", REDIS_URL: "nope", LOG_LEVEL: "loud" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["LOG_LEVEL", "PORT", "REDIS_URL"]);
  });

  test("the thrown message lists the problems", () => {
    expect(() => parseEnv({ PORT: "abc" })).toThrow(/Invalid environment:\n {2}- PORT: /);
  });
});

describe("GitHub App private key", () => {
  test("PRIVATE_KEY with literal \\n sequences is unescaped into a PEM", () => {
    const env = parseEnv({ PRIVATE_KEY: pem.replace(/\n/g, "\\n") });
    expect(env.privateKey).toBe(pem);
  });

  test("PRIVATE_KEY with real newlines is kept as it is", () => {
    expect(parseEnv({ PRIVATE_KEY: pem }).privateKey).toBe(pem);
  });

  test("PRIVATE_KEY_PATH is read from the file", () => {
    const file = join(dir, "key.pem");
    writeFileSync(file, pem);
    expect(parseEnv({ PRIVATE_KEY_PATH: file }).privateKey).toBe(pem);
  });

  test("PRIVATE_KEY wins over PRIVATE_KEY_PATH", () => {
    expect(parseEnv({ PRIVATE_KEY: pem, PRIVATE_KEY_PATH: join(dir, "missing.pem") }).privateKey).toBe(pem);
  });

  test("an unreadable PRIVATE_KEY_PATH is named, with the path", () => {
    const missing = join(dir, "missing.pem");
    expect(problemsOf({ PRIVATE_KEY_PATH: missing })).toEqual([`PRIVATE_KEY_PATH: cannot read ${missing}`]);
  });

  test("a key that is not PEM is rejected, from either source", () => {
    expect(problemsOf({ PRIVATE_KEY: "not-a-key" })[0]).toMatch(/^PRIVATE_KEY: .*PEM/);
    const file = join(dir, "public.pem");
    writeFileSync(file, "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n");
    expect(problemsOf({ PRIVATE_KEY_PATH: file })[0]).toMatch(/PEM/);
  });
});

describe("hasGitHubApp", () => {
  const complete = { APP_ID: "12345", PRIVATE_KEY: pem, WEBHOOK_SECRET: "s3cret" };

  test("is true only when app id, private key and webhook secret are all set", () => {
    expect(hasGitHubApp(parseEnv(complete))).toBe(true);
    expect(hasGitHubApp(parseEnv({ ...complete, PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: undefined }))).toBe(false);
    expect(hasGitHubApp(parseEnv({ ...complete, APP_ID: undefined }))).toBe(false);
    expect(hasGitHubApp(parseEnv({ ...complete, WEBHOOK_SECRET: "" }))).toBe(false);
    expect(hasGitHubApp(parseEnv({}))).toBe(false);
  });

  test("accepts a key given by path", () => {
    const file = join(dir, "app.pem");
    writeFileSync(file, pem);
    expect(hasGitHubApp(parseEnv({ APP_ID: "1", PRIVATE_KEY_PATH: file, WEBHOOK_SECRET: "s" }))).toBe(true);
  });
});

describe("the dashboard's settings", () => {
  test("the OAuth client needs its id and its secret together", () => {
    expect(problemsOf({ GITHUB_CLIENT_ID: "Iv1.x" }).join("\n")).toContain("GITHUB_CLIENT_SECRET: the dashboard's sign-in needs both");
    expect(problemsOf({ GITHUB_CLIENT_SECRET: "s" }).join("\n")).toContain("GITHUB_CLIENT_ID: the dashboard's sign-in needs both");
    expect(hasDashboard(parseEnv({ GITHUB_CLIENT_ID: "Iv1.x", GITHUB_CLIENT_SECRET: "s" }))).toBe(true);
    expect(hasDashboard(parseEnv({}))).toBe(false);
  });

  test("a session secret is long enough, and the demo flag is a boolean", () => {
    expect(problemsOf({ SESSION_SECRET: "short" }).join("\n")).toContain("SESSION_SECRET: must be at least 32 characters");
    expect(parseEnv({ OCTOSTAGE_DEMO: "true" }).OCTOSTAGE_DEMO).toBe(true);
    expect(parseEnv({}).OCTOSTAGE_DEMO).toBe(false);
  });
});
