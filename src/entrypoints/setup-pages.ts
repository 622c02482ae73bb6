import { readFile, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Octokit } from "@octokit/rest";
import { parse as parseYaml } from "yaml";
import type { Logger } from "../ports/logger.ts";
import type { Middleware } from "./http-server.ts";

/**
 * Without GitHub App credentials Octostage does not crash: it serves a page that registers the
 * app from app.yml through GitHub's manifest flow (as Probot's setup does) and writes the
 * credentials to .env (mode 0600). Restart afterwards.
 */
export interface SetupOptions {
  appYmlPath: string;
  envPath: string;
  webhookPath: string;
  /** github.com, or the GitHub Enterprise host. */
  gheHost?: string;
  gheProtocol: string;
  /** The URL GitHub will send webhooks to (PUBLIC_URL). */
  publicUrl?: string;
  logger: Logger;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Where GitHub reaches this server: PUBLIC_URL when set (a tunnel, an ingress), else the request's host. */
function baseUrl(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, "");
  const proto = first(req.headers["x-forwarded-proto"]) ?? "http";
  return `${proto}://${first(req.headers["x-forwarded-host"]) ?? req.headers.host ?? "localhost:3000"}`;
}

async function manifest(opts: SetupOptions, base: string): Promise<string> {
  const app = parseYaml(await readFile(opts.appYmlPath, "utf8")) as Record<string, unknown>;
  return JSON.stringify({
    ...app,
    hook_attributes: { url: `${base}${opts.webhookPath}` },
    redirect_url: `${base}/setup/callback`,
    setup_url: `${base}/`,
  });
}

function page(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" }).end(
    `<!doctype html><meta charset="utf-8"><title>Octostage setup</title><body style="font-family:system-ui;max-width:46rem;margin:3rem auto">${body}</body>`,
  );
}

export function setupPages(opts: SetupOptions): Middleware {
  const web = opts.gheHost ? `${opts.gheProtocol}://${opts.gheHost}` : "https://github.com";
  const api = opts.gheHost ? `${web}/api/v3` : "https://api.github.com";
  return async (req, res, next) => {
    const url = new URL(req.url ?? "/", "http://local");
    if (req.method === "GET" && url.pathname === "/") {
      const m = await manifest(opts, baseUrl(req, opts.publicUrl));
      return page(
        res,
        200,
        `<h1>Octostage is not registered as a GitHub App yet</h1>
<p>Octostage needs <code>APP_ID</code>, <code>PRIVATE_KEY</code> (or <code>PRIVATE_KEY_PATH</code>) and <code>WEBHOOK_SECRET</code>.
Register a new GitHub App from Octostage's manifest (<code>app.yml</code>) with one click; GitHub sends you back here and Octostage saves the credentials to <code>.env</code>.</p>
<form action="${web}/settings/apps/new" method="post"><input type="hidden" name="manifest" value="${escapeHtml(m)}"><button type="submit">Register Octostage on GitHub</button></form>
<p>For an organisation, use <code>${web}/organizations/ORG/settings/apps/new</code>. Prefer to do it by hand? See <code>docs/operators/install.md</code>.</p>`,
      );
    }
    if (req.method === "GET" && url.pathname === "/setup/callback") {
      const code = url.searchParams.get("code");
      if (!code || !/^[\w-]+$/.test(code)) return page(res, 400, "<h1>Missing or invalid <code>code</code></h1>");
      const { data } = await new Octokit({ baseUrl: api }).request("POST /app-manifests/{code}/conversions", { code });
      const lines = [
        `APP_ID=${data.id}`,
        `PRIVATE_KEY="${(data.pem ?? "").replace(/\n/g, "\\n")}"`,
        `WEBHOOK_SECRET=${data.webhook_secret ?? ""}`,
      ];
      await writeFile(opts.envPath, `${lines.join("\n")}\n`, { mode: 0o600, flag: "a" });
      opts.logger.info({ appId: data.id, envPath: opts.envPath }, "GitHub App registered; credentials saved");
      return page(
        res,
        200,
        `<h1>Octostage is registered</h1><p>Credentials saved to <code>${escapeHtml(opts.envPath)}</code>. Restart Octostage, then <a href="${escapeHtml(data.html_url)}/installations/new">install the app</a> on your repositories.</p>`,
      );
    }
    next();
  };
}
