import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Logger } from "../ports/logger.ts";

export type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => unknown;

export interface HttpServerOptions {
  port: number;
  host: string;
  logger: Logger;
  /** Readiness: every check must pass (database, Redis...). Names appear in the /readyz answer. */
  readiness: Record<string, () => Promise<void>>;
  /** Tried in order for any other path (Probot's webhook middleware, the setup pages). */
  handlers: Middleware[];
}

/** A JSON answer; whatever the client still sends is not read, so the connection closes after it. */
export function jsonReplier(req: IncomingMessage, res: ServerResponse): (status: number, body: Record<string, unknown>) => void {
  return (status, body) => {
    if (!req.complete) res.setHeader("connection", "close");
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
}

/** A request header's (first) value. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readiness(checks: HttpServerOptions["readiness"]): Promise<{ ok: boolean; checks: Record<string, string> }> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after 2s")), 2000).unref())]);
        return [name, "ok"] as const;
      } catch (err) {
        return [name, (err as Error).message || "failed"] as const;
      }
    }),
  );
  return { ok: results.every(([, r]) => r === "ok"), checks: Object.fromEntries(results) };
}

/** The one HTTP server: /healthz (process alive), /readyz (dependencies answer), then the handlers. */
export async function startHttpServer(opts: HttpServerOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") return json(res, 200, { ok: true });
    if (req.method === "GET" && path === "/readyz") {
      void readiness(opts.readiness).then((r) => json(res, r.ok ? 200 : 503, r));
      return;
    }
    const run = (i: number): void => {
      const handler = opts.handlers[i];
      if (!handler) return json(res, 404, { error: `no route for ${req.method} ${path}` });
      Promise.resolve(handler(req, res, () => run(i + 1))).catch((err: unknown) => {
        opts.logger.error({ err, path }, "request handler failed");
        if (!res.headersSent) json(res, 500, { error: "internal error" });
      });
    };
    run(0);
  });
  server.keepAliveTimeout = 65_000;
  // A client that trickles its headers or body is cut off: GitHub sends a webhook in well under a second.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host, resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  const url = `http://${opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host}:${port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * For a Fastify instance mounted in the one server: its `serverFactory` keeps Fastify's request
 * handler (the outer server listens; Fastify only routes), `handler()` hands it over once ready.
 */
export function mountedFastify(): { serverFactory: (h: Handler) => Server; handler(): Handler } {
  let handler: Handler | undefined;
  return {
    serverFactory: (h) => {
      handler = h;
      return createServer();
    },
    handler: () => {
      if (!handler) throw new Error("Fastify did not hand over its request handler");
      const h = handler;
      return (req, res) => h(req, res);
    },
  };
}
