// The edge of the edge: what the webhook endpoint answers before anything is recorded. Real
// HTTP server, GitHub's signing scheme (@octokit/webhooks-methods), a receiver that records
// what reached it (or fails as the handlers can).
import http from "node:http";
import { sign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { startHttpServer } from "../../src/entrypoints/http-server.ts";
import { webhookEndpoint } from "../../src/entrypoints/webhook-endpoint.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { StoreUnavailableError } from "../../src/ports/store.ts";
import { waitFor } from "../support/wait.ts";
import { pullRequestPayload } from "../support/webhooks.ts";

const secret = "edge-secret";
const path = "/api/github/webhooks";
const received: { id: string; name: string; payload: unknown }[] = [];
let fail: (() => Error) | undefined;
let server: Awaited<ReturnType<typeof startHttpServer>>;

beforeAll(async () => {
  const receiver = {
    async receive(event: { id: string; name: string; payload: unknown }) {
      received.push(event);
      if (fail) throw new AggregateError([fail()], "handlers failed");
    },
  };
  server = await startHttpServer({
    port: 0,
    host: "127.0.0.1",
    logger: silentLogger,
    readiness: {},
    handlers: [webhookEndpoint({ path, secret, receiver, logger: silentLogger, maxBytes: 64 * 1024, maxInFlightBytes: 100 * 1024 })],
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  received.length = 0;
  fail = undefined;
});

const payload = JSON.stringify(pullRequestPayload("opened", { owner: "octo-org", repo: "web", number: 1, sha: "a".repeat(40), installationId: 1 }));

async function post(body: string, headers: Record<string, string | undefined>): Promise<{ status: number; body: string }> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined)),
    body,
  });
  return { status: res.status, body: await res.text() };
}

async function signedHeaders(body: string, extra: Record<string, string | undefined> = {}) {
  return {
    "content-type": "application/json",
    "x-github-event": "pull_request",
    "x-github-delivery": "delivery-1",
    "x-hub-signature-256": await sign(secret, body),
    ...extra,
  };
}

describe("the webhook endpoint", () => {
  it("accepts a signed delivery and hands it to the handlers", async () => {
    const res = await post(payload, await signedHeaders(payload));
    expect(res.status).toBe(200);
    expect(received).toMatchObject([{ id: "delivery-1", name: "pull_request", payload: { action: "opened" } }]);
  });

  it("refuses a missing or wrong signature with 401, and nothing reaches the handlers", async () => {
    expect((await post(payload, await signedHeaders(payload, { "x-hub-signature-256": undefined }))).status).toBe(401);
    expect((await post(payload, await signedHeaders(payload, { "x-hub-signature-256": await sign("another-secret", payload) }))).status).toBe(401);
    expect((await post(payload, await signedHeaders(payload, { "x-hub-signature-256": "sha256=00" }))).status).toBe(401);
    // Signed for a different body: the body was changed on the way.
    expect((await post(payload.replace("opened", "closed"), await signedHeaders(payload))).status).toBe(401);
    expect(received).toEqual([]);
  });

  it("answers 405 to anything but POST, and 400 without GitHub's event and delivery headers", async () => {
    expect((await fetch(`${server.url}${path}`)).status).toBe(405);
    expect((await fetch(`${server.url}${path}`, { method: "PUT", body: payload })).status).toBe(405);
    expect((await post(payload, await signedHeaders(payload, { "x-github-event": undefined }))).status).toBe(400);
    expect((await post(payload, await signedHeaders(payload, { "x-github-delivery": undefined }))).status).toBe(400);
    expect(received).toEqual([]);
  });

  it("refuses a body over the limit with 413: announced by Content-Length (without reading it) or sent chunked", async () => {
    // 1 GB announced, nothing sent: answered at once, not held open.
    const announced = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-length": String(1024 ** 3), "x-github-event": "pull_request", "x-github-delivery": "d-big", "x-hub-signature-256": "sha256=00" },
      });
      req.on("response", (res) => resolve(res.statusCode ?? 0));
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(announced).toBe(413);
    const big = JSON.stringify({ pad: "x".repeat(80 * 1024) });
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.url}${path}`, { method: "POST", headers: { "transfer-encoding": "chunked", "x-github-event": "ping", "x-github-delivery": "d-chunked", "x-hub-signature-256": "sha256=00" } });
      req.on("response", (res) => resolve(res.statusCode ?? 0));
      req.on("error", (err: NodeJS.ErrnoException) => (err.code === "EPIPE" || err.code === "ECONNRESET" ? undefined : reject(err)));
      for (let i = 0; i < big.length; i += 8192) req.write(big.slice(i, i + 8192));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(received).toEqual([]);
  });

  it("accepts the form-encoded payloads GitHub sends when the webhook's content type is application/x-www-form-urlencoded", async () => {
    const form = new URLSearchParams({ payload }).toString();
    const res = await post(form, await signedHeaders(form, { "content-type": "application/x-www-form-urlencoded" }));
    expect(res.status).toBe(200);
    expect(received).toMatchObject([{ payload: { action: "opened" } }]);
  });

  it("answers 400 for a signed payload that is not JSON or lacks what the event documents (never 500)", async () => {
    expect((await post("{not json", await signedHeaders("{not json"))).status).toBe(400);
    fail = () => z.object({ pull_request: z.object({ number: z.number() }) }).safeParse({}).error!;
    const res = await post(payload, await signedHeaders(payload));
    expect(res.status).toBe(400);
    expect(res.body).toContain("does not have the shape GitHub documents");
  });

  it("answers 503 while the database is unavailable (GitHub then shows a failed delivery to redeliver), 500 for a bug", async () => {
    fail = () => new StoreUnavailableError("PostgreSQL is unavailable: connect ECONNREFUSED");
    const unavailable = await post(payload, await signedHeaders(payload));
    expect(unavailable.status).toBe(503);
    expect(unavailable.body).toContain("redeliver");
    fail = () => new TypeError("cannot read properties of undefined");
    expect((await post(payload, await signedHeaders(payload))).status).toBe(500);
  });

  it("caps the bytes being received across requests: past it, 503 with Retry-After before reading; freed when done", async () => {
    // A slow sender holds 60 KiB of the 100 KiB in flight.
    const slow = http.request(`${server.url}${path}`, { method: "POST", headers: { "content-length": String(60 * 1024), "x-github-event": "ping", "x-github-delivery": "d-slow", "x-hub-signature-256": "sha256=00" } });
    const slowDone = new Promise<number>((resolve) => slow.on("response", (res) => resolve(res.statusCode ?? 0)));
    slow.on("error", () => undefined);
    slow.write("x".repeat(1024));
    const big = "y".repeat(50 * 1024);
    let refused: Response | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await fetch(`${server.url}${path}`, { method: "POST", headers: await signedHeaders(big), body: big });
      if (res.status === 503) refused = res;
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get("retry-after")).toBe("5");
    slow.end("x".repeat(59 * 1024));
    expect(await slowDone).toBe(401);
    // Freed: the same request is taken now.
    const ok = JSON.stringify({ action: "ping", pad: "z".repeat(50 * 1024) });
    expect((await post(ok, await signedHeaders(ok))).status).toBe(200);
  });
});

describe("overload", () => {
  it("past WEBHOOK_MAX_IN_FLIGHT webhooks being handled, a new one gets 503 with Retry-After at once; accepted again once they finish", async () => {
    // A receiver that holds every webhook until the test lets go (a barrier, no timing).
    const held: (() => void)[] = [];
    const arrived: string[] = [];
    const receiver = {
      receive: (event: { id: string }) =>
        new Promise<void>((resolve) => {
          arrived.push(event.id);
          held.push(resolve);
        }),
    };
    const small = await startHttpServer({ port: 0, host: "127.0.0.1", logger: silentLogger, readiness: {}, handlers: [webhookEndpoint({ path, secret, receiver, logger: silentLogger, maxInFlight: 2 })] });
    try {
      const send = async (id: string) => {
        const res = await fetch(`${small.url}${path}`, { method: "POST", headers: { ...(await signedHeaders(payload)), "x-github-delivery": id }, body: payload });
        return { status: res.status, retryAfter: res.headers.get("retry-after") };
      };
      const first = send("d-1");
      const second = send("d-2");
      await waitFor("both held by the receiver", () => arrived.length === 2);
      expect(await send("d-3")).toEqual({ status: 503, retryAfter: "10" });
      expect(arrived).toEqual(["d-1", "d-2"]);
      for (const release of held.splice(0)) release();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      const again = send("d-4");
      await waitFor("the next one reaches the receiver", () => arrived.length === 3);
      held.splice(0).forEach((release) => release());
      expect((await again).status).toBe(200);
    } finally {
      await small.close();
    }
  });
});
