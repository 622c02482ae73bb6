// Registration (GitHub's app-manifest flow) can only be completed by the operator who started
// it, in their browser, once. Tried as an attacker would: a callback without state, with a
// state but without the browser's cookie (a link sent to the operator), a reused state, a
// second registration, a .env readable by others, forged Host and X-Forwarded-* headers.
// Real HTTP server, the GitHub double's manifest conversion.
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpServer } from "../../src/entrypoints/http-server.ts";
import { setupPages } from "../../src/entrypoints/setup-pages.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { startGitHubDouble } from "../support/github-double.ts";
import type { GitHubDouble } from "../support/github-double.ts";

let github: GitHubDouble;
const servers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  github = await startGitHubDouble();
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await github.close();
});

async function setupServer(options: { envPath?: string; publicUrl?: string; trustedProxies?: string[] } = {}) {
  const envPath = options.envPath ?? join(mkdtempSync(join(tmpdir(), "octostage-setup-")), ".env");
  // The pages are made once the port is known (their loopback URLs name it).
  const holder: { pages?: ReturnType<typeof setupPages> } = {};
  const server = await startHttpServer({ port: 0, host: "127.0.0.1", logger: silentLogger, readiness: {}, handlers: [(req, res, next) => holder.pages!(req, res, next)] });
  holder.pages = setupPages({
    appYmlPath: resolve("app.yml"),
    envPath,
    webhookPath: "/api/github/webhooks",
    gheHost: github.host,
    gheProtocol: "http",
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    port: Number(new URL(server.url).port),
    trustedProxies: options.trustedProxies ?? [],
    logger: silentLogger,
  });
  servers.push(server);
  return { url: server.url, envPath };
}

/** What the operator's browser does: opens the setup page, keeps its cookie and the form's state. */
async function startRegistration(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/`, { headers });
  const html = await res.text();
  const setCookie = res.headers.get("set-cookie") ?? "";
  const state = /state=([\w-]+)"/.exec(html)?.[1] ?? "";
  const manifest = JSON.parse((/name="manifest" value="([^"]*)"/.exec(html)?.[1] ?? "{}").replace(/&#34;/g, '"').replace(/&#38;/g, "&")) as { redirect_url?: string; hook_attributes?: { url?: string } };
  return { html, setCookie, cookie: setCookie.split(";")[0] ?? "", state, manifest };
}

const callback = (url: string, query: string, cookie?: string) => fetch(`${url}/setup/callback?${query}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });

describe("registering Octostage as a GitHub App", () => {
  it("the operator's own browser completes it once: credentials written to a new .env with mode 0600", async () => {
    const { url, envPath } = await setupServer();
    const reg = await startRegistration(url);
    expect(reg.setCookie).toMatch(/^octostage_setup_state=[\w-]{32}; HttpOnly; SameSite=Lax; Path=\/setup; Max-Age=3600$/);
    expect(reg.state).toHaveLength(32);
    const code = github.manifestCode();
    const res = await callback(url, `code=${code}&state=${reg.state}`, reg.cookie);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Octostage is registered");
    expect(statSync(envPath).mode & 0o777).toBe(0o600);
    const env = readFileSync(envPath, "utf8");
    const app = github.createdApps.at(-1);
    expect(env).toContain(`APP_ID=${app.id}`);
    expect(env).toContain(`WEBHOOK_SECRET=${app.webhook_secret}`);
    expect(env).toContain(`GITHUB_CLIENT_ID=${app.client_id}`);
    expect(env).toMatch(/PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\n/);
  });

  it("refuses a callback without a state, without the browser's cookie, or with a state used already; nothing is converted or written", async () => {
    const { url, envPath } = await setupServer();
    const reg = await startRegistration(url);
    const conversions = () => github.requests.filter((r) => r.operationId === "apps/create-from-manifest").length;
    const before = conversions();
    // A code alone (anyone who reaches the port, or a link that makes the operator's browser send one).
    expect((await callback(url, `code=${github.manifestCode()}`, reg.cookie)).status).toBe(403);
    // A state but not this browser (the attacker started their own registration and sends the link).
    expect((await callback(url, `code=${github.manifestCode()}&state=${reg.state}`)).status).toBe(403);
    // The browser's cookie with another state.
    expect((await callback(url, `code=${github.manifestCode()}&state=${"x".repeat(32)}`, reg.cookie)).status).toBe(403);
    expect(conversions()).toBe(before);
    expect(() => statSync(envPath)).toThrow();
    // The state was consumed by the refused attempt that carried it: it cannot be replayed either.
    expect((await callback(url, `code=${github.manifestCode()}&state=${reg.state}`, reg.cookie)).status).toBe(403);
  });

  it("a second registration is refused once credentials exist, and the first credentials stay", async () => {
    const { url, envPath } = await setupServer();
    const first = await startRegistration(url);
    expect((await callback(url, `code=${github.manifestCode()}&state=${first.state}`, first.cookie)).status).toBe(200);
    const saved = readFileSync(envPath, "utf8");
    const again = await startRegistration(url);
    expect(again.html).toContain("Octostage is registered");
    const res = await callback(url, `code=${github.manifestCode()}&state=${first.state}`, first.cookie);
    expect(res.status).toBe(409);
    expect(readFileSync(envPath, "utf8")).toBe(saved);
  });

  it("never writes a private key into a .env that others can read; appends once to a private one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "octostage-setup-"));
    const loose = join(dir, ".env");
    writeFileSync(loose, "LOG_LEVEL=debug\n");
    chmodSync(loose, 0o644);
    const { url } = await setupServer({ envPath: loose });
    const reg = await startRegistration(url);
    const res = await callback(url, `code=${github.manifestCode()}&state=${reg.state}`, reg.cookie);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain("chmod 600");
    expect(readFileSync(loose, "utf8")).toBe("LOG_LEVEL=debug\n");

    const privateEnv = join(mkdtempSync(join(tmpdir(), "octostage-setup-")), ".env");
    writeFileSync(privateEnv, "LOG_LEVEL=debug\n", { mode: 0o600 });
    const second = await setupServer({ envPath: privateEnv });
    const ok = await startRegistration(second.url);
    expect((await callback(second.url, `code=${github.manifestCode()}&state=${ok.state}`, ok.cookie)).status).toBe(200);
    expect(readFileSync(privateEnv, "utf8")).toMatch(/^LOG_LEVEL=debug\n\nAPP_ID=\d+\n/);
    expect(statSync(privateEnv).mode & 0o777).toBe(0o600);
  });

  it("points GitHub at PUBLIC_URL or the loopback address, never at a Host or X-Forwarded-Host it was sent", async () => {
    const forged = { host: "evil.example.net", "x-forwarded-host": "evil.example.net", "x-forwarded-proto": "https" };
    const local = await setupServer();
    const port = new URL(local.url).port;
    const plain = await startRegistration(local.url, forged);
    expect(plain.manifest.redirect_url).toBe(`http://localhost:${port}/setup/callback`);
    expect(plain.manifest.hook_attributes?.url).toBe(`http://localhost:${port}/api/github/webhooks`);
    expect(plain.html).not.toContain("evil.example.net");
    expect(plain.html).toContain("PUBLIC_URL is not set");

    const pub = await setupServer({ publicUrl: "https://octostage.example.com" });
    expect((await startRegistration(pub.url, forged)).manifest.redirect_url).toBe("https://octostage.example.com/setup/callback");

    // Behind a proxy the operator trusts (here, loopback), its X-Forwarded-Host is believed.
    const proxied = await setupServer({ trustedProxies: ["127.0.0.0/8"] });
    const viaProxy = await startRegistration(proxied.url, { "x-forwarded-host": "octostage.internal:8443", "x-forwarded-proto": "https" });
    expect(viaProxy.manifest.redirect_url).toBe("https://octostage.internal:8443/setup/callback");
    expect(viaProxy.setCookie).toMatch(/; Secure$/);
  });
});
