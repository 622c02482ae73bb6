// The dashboard's HTTP surface without a browser: the OAuth start (state cookie, PKCE, the
// callback under PUBLIC_URL, Secure cookies with https), pages refused without a session,
// security headers, and the assets' compression and revalidation. Sessions in real Redis.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisSessionStore } from "../../src/adapters/web/redis-sessions.ts";
import type { WebDeps } from "../../src/app/web/dashboard.ts";
import { createDashboard } from "../../src/entrypoints/web/dashboard.ts";
import { silentLogger } from "../../src/ports/logger.ts";

let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const sessions = createRedisSessionStore({ redisUrl: "redis://127.0.0.1:6379", prefix: `dash-${process.pid}` });
  // Only what these paths touch: no page here reads a staging.
  const deps = { clock: { now: () => new Date() }, roles: { forget: () => undefined } } as unknown as WebDeps;
  const dashboard = await createDashboard({
    deps,
    logger: silentLogger,
    sessions,
    clientId: "Iv1.test",
    clientSecret: "secret",
    sessionSecret: "s".repeat(40),
    githubUrl: "https://github.example.com",
    publicUrl: "https://octostage.example.com/",
    signedInUser: () => Promise.reject(new Error("not used")),
  });
  const server = createServer((req, res) => dashboard.handle(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dashboard.close();
    await sessions.close();
  };
});
afterAll(() => close?.());

describe("dashboard over HTTP", () => {
  it("starts GitHub's OAuth flow with state and PKCE, the callback under PUBLIC_URL, and Secure HTTP-only cookies", async () => {
    const res = await fetch(`${base}/login/github`, { redirect: "manual" });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe("https://github.example.com/login/oauth/authorize");
    expect(to.searchParams.get("client_id")).toBe("Iv1.test");
    expect(to.searchParams.get("redirect_uri")).toBe("https://octostage.example.com/auth/github/callback");
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("state")?.length).toBeGreaterThanOrEqual(16);
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) {
      expect(c).toMatch(/;\s*Secure/i);
      expect(c).toMatch(/;\s*HttpOnly/i);
      expect(c).toMatch(/;\s*SameSite=Lax/i);
    }
  });

  it("a callback without the state cookie signs nobody in", async () => {
    const res = await fetch(`${base}/auth/github/callback?code=abc&state=forged`, { redirect: "manual" });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("sign in again");
    expect(res.headers.getSetCookie().some((c) => c.startsWith("octostage_session="))).toBe(false);
  });

  it("pages ask to sign in; live streams, form checks and changes answer 401", async () => {
    for (const path of ["/", "/stagings", "/stagings/x", "/repos", "/stagings/new"]) {
      const res = await fetch(`${base}${path}`, { redirect: "manual" });
      expect(res.status, path).toBe(303);
      expect(res.headers.get("location"), path).toBe("/login");
    }
    expect((await fetch(`${base}/stagings/live`, { headers: { accept: "text/event-stream" } })).status).toBe(401);
    expect((await fetch(`${base}/ui/keys?repo=o/r`)).status).toBe(401);
    for (const path of ["/stagings", "/stagings/x/archive", "/logout", "/ui/check"]) {
      expect((await fetch(`${base}${path}`, { method: "POST", redirect: "manual" })).status, path).toBe(401);
    }
  });

  it("sends a strict Content-Security-Policy and no-store pages", async () => {
    const res = await fetch(`${base}/login`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("content-security-policy")).not.toContain("unsafe-inline");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toContain("Sign in with GitHub");
  });

  it("serves its script compressed, and revalidates it by ETag", async () => {
    const res = await fetch(`${base}/assets/app.js`, { headers: { "accept-encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(await res.text()).toContain("EventSource");
    const again = await fetch(`${base}/assets/app.js`, { headers: { "if-none-match": res.headers.get("etag")! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${base}/assets/nope.js`)).status).toBe(404);
  });
});
