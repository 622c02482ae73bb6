import { randomBytes, timingSafeEqual } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BlockList, isIP } from "node:net";
import { Octokit } from "@octokit/rest";
import { parse as parseYaml } from "yaml";
import type { Logger } from "../ports/logger.ts";
import type { Middleware } from "./http-server.ts";

/**
 * Without GitHub App credentials Octostage does not crash: it serves a page that registers the
 * app from app.yml through GitHub's manifest flow (as Probot's setup does) and writes the
 * credentials to .env. Only the operator who started a registration, in their own browser, can
 * complete it:
 * - the registration carries a random single-use `state`, also set as an HTTP-only cookie; the
 *   callback needs both to match (a link sent to the operator, or a request from anyone who can
 *   reach the port, has no such cookie);
 * - the callback refuses once credentials exist, and writes them once: a new .env is created
 *   exclusively with mode 0600; an existing one must not be readable by others and must not
 *   hold an APP_ID already;
 * - the URLs in the manifest (where GitHub sends the one-time code and the webhooks) come from
 *   PUBLIC_URL, else the loopback address; never from Host or X-Forwarded-* unless the request
 *   comes from a trusted proxy.
 */
export interface SetupOptions {
  appYmlPath: string;
  envPath: string;
  webhookPath: string;
  /** github.com, or the GitHub Enterprise host. */
  gheHost?: string;
  gheProtocol: string;
  /** Where GitHub reaches this server (PUBLIC_URL). */
  publicUrl?: string;
  /** The port the server listens on: without PUBLIC_URL, URLs point at http://localhost:PORT. */
  port: number;
  /** Addresses (and CIDR ranges) of reverse proxies whose X-Forwarded-Host/-Proto are believed. */
  trustedProxies?: readonly string[];
  logger: Logger;
  /** A registration must be completed within this time. Default 1 hour (GitHub's code lives as long). */
  stateTtlMs?: number;
}

const cookieName = "octostage_setup_state";

class SetupRefused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", bits] = entry.split("/");
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function remoteAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function page(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "x-frame-options": "DENY",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action https: http:",
      "referrer-policy": "no-referrer",
      ...headers,
    })
    .end(`<!doctype html><meta charset="utf-8"><title>Octostage setup</title><body style="font-family:system-ui;max-width:46rem;margin:3rem auto">${body}</body>`);
}

/** An APP_ID line in .env: the app is registered (restart to use it). */
async function registeredInFile(envPath: string): Promise<boolean> {
  const text = await readFile(envPath, "utf8").catch(() => "");
  return /^\s*APP_ID\s*=\s*\S/m.test(text);
}

/** Writes the credentials once: a new file exclusively at 0600, or appended to a private .env without an APP_ID. */
async function writeCredentials(envPath: string, lines: string[]): Promise<void> {
  const text = `${lines.join("\n")}\n`;
  try {
    const file = await open(envPath, "wx", 0o600);
    try {
      await file.writeFile(text);
    } finally {
      await file.close();
    }
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const info = await stat(envPath);
  if ((info.mode & 0o077) !== 0) {
    throw new SetupRefused(
      409,
      `${envPath} is readable by other users (mode ${(info.mode & 0o777).toString(8)}): Octostage does not write a private key into it. Run \`chmod 600 ${envPath}\` and register again.`,
    );
  }
  if (await registeredInFile(envPath)) throw new SetupRefused(409, `${envPath} already holds an APP_ID: Octostage is registered. Restart it.`);
  const file = await open(envPath, "a");
  try {
    await file.writeFile(`\n${text}`);
  } finally {
    await file.close();
  }
}

export function setupPages(opts: SetupOptions): Middleware {
  const web = opts.gheHost ? `${opts.gheProtocol}://${opts.gheHost}` : "https://github.com";
  const api = opts.gheHost ? `${web}/api/v3` : "https://api.github.com";
  const proxies = trustedProxyList(opts.trustedProxies ?? []);
  const ttl = opts.stateTtlMs ?? 3_600_000;
  const states = new Map<string, number>();
  let registered = false;

  /** Where GitHub and the operator's browser reach this server. */
  function baseUrl(req: IncomingMessage): string {
    if (opts.publicUrl) return opts.publicUrl.replace(/\/+$/, "");
    const forwardedHost = first(req.headers["x-forwarded-host"]);
    if (forwardedHost && proxies.check(remoteAddress(req), isIP(remoteAddress(req)) === 6 ? "ipv6" : "ipv4")) {
      const proto = first(req.headers["x-forwarded-proto"]) === "https" ? "https" : "http";
      if (/^[a-z0-9.-]+(:\d+)?$/i.test(forwardedHost)) return `${proto}://${forwardedHost}`;
    }
    return `http://localhost:${opts.port}`;
  }

  function newState(): string {
    const now = Date.now();
    for (const [s, expires] of states) if (expires < now) states.delete(s);
    if (states.size >= 100) states.delete(states.keys().next().value!);
    const state = randomBytes(24).toString("base64url");
    states.set(state, now + ttl);
    return state;
  }

  /**
   * Whether the callback's state is one this server issued, still valid, and this browser's
   * (its cookie). A state is consumed whenever it is presented, accepted or not: single use.
   */
  function takeState(req: IncomingMessage, given: string | null): boolean {
    if (!given) return false;
    const expires = states.get(given);
    states.delete(given);
    const fromCookie = cookie(req, cookieName);
    return expires !== undefined && expires >= Date.now() && fromCookie !== undefined && sameSecret(given, fromCookie);
  }

  async function manifest(base: string): Promise<string> {
    const app = parseYaml(await readFile(opts.appYmlPath, "utf8")) as Record<string, unknown>;
    return JSON.stringify({ ...app, hook_attributes: { url: `${base}${opts.webhookPath}` }, redirect_url: `${base}/setup/callback`, setup_url: `${base}/` });
  }

  async function start(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (registered || (await registeredInFile(opts.envPath))) {
      return page(res, 200, `<h1>Octostage is registered</h1><p>Its credentials are in <code>${escapeHtml(opts.envPath)}</code>. Restart Octostage to use them.</p>`);
    }
    const base = baseUrl(req);
    const state = newState();
    const secure = base.startsWith("https://") ? "; Secure" : "";
    const m = await manifest(base);
    const local = !opts.publicUrl && base.startsWith("http://localhost");
    page(
      res,
      200,
      `<h1>Octostage is not registered as a GitHub App yet</h1>
<p>Octostage needs <code>APP_ID</code>, <code>PRIVATE_KEY</code> (or <code>PRIVATE_KEY_PATH</code>) and <code>WEBHOOK_SECRET</code>.
Register a new GitHub App from Octostage's manifest (<code>app.yml</code>) with one click; GitHub sends you back here and Octostage saves the credentials to <code>.env</code>.</p>
${local ? `<p><strong>PUBLIC_URL is not set:</strong> GitHub will send webhooks to <code>${escapeHtml(base)}</code>, which it cannot reach. Set <code>PUBLIC_URL</code> to an address GitHub reaches (a tunnel, an ingress) and reload this page first.</p>` : ""}
<form action="${escapeHtml(`${web}/settings/apps/new?state=${encodeURIComponent(state)}`)}" method="post"><input type="hidden" name="manifest" value="${escapeHtml(m)}"><button type="submit">Register Octostage on GitHub</button></form>
<p>For an organisation, use <code>${escapeHtml(web)}/organizations/ORG/settings/apps/new</code>. Prefer to do it by hand? See <code>docs/operators/install.md</code>.</p>`,
      { "set-cookie": `${cookieName}=${state}; HttpOnly; SameSite=Lax; Path=/setup; Max-Age=${Math.floor(ttl / 1000)}${secure}` },
    );
  }

  async function callback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const code = url.searchParams.get("code");
    if (registered || (await registeredInFile(opts.envPath))) {
      opts.logger.warn({ from: remoteAddress(req) }, "registration callback refused: Octostage is already registered");
      return page(res, 409, "<h1>Octostage is already registered</h1><p>Nothing was changed. Restart Octostage to use its credentials.</p>");
    }
    if (!takeState(req, url.searchParams.get("state"))) {
      opts.logger.warn({ from: remoteAddress(req), hasState: url.searchParams.has("state"), hasCookie: cookie(req, cookieName) !== undefined }, "registration callback refused: not started from this browser");
      return page(res, 403, "<h1>This registration was not started here</h1><p>Nothing was changed. Open this server's <a href=\"/\">setup page</a> in your browser and register from there.</p>");
    }
    if (!code || !/^[\w-]{1,100}$/.test(code)) return page(res, 400, "<h1>Missing or invalid <code>code</code></h1>");
    const { data } = await new Octokit({ baseUrl: api }).request("POST /app-manifests/{code}/conversions", { code });
    const lines = [
      `APP_ID=${data.id}`,
      `PRIVATE_KEY="${(data.pem ?? "").replace(/\n/g, "\\n")}"`,
      `WEBHOOK_SECRET=${data.webhook_secret ?? ""}`,
      ...(data.client_id ? [`GITHUB_CLIENT_ID=${data.client_id}`] : []),
      ...(data.client_secret ? [`GITHUB_CLIENT_SECRET=${data.client_secret}`] : []),
    ];
    try {
      await writeCredentials(opts.envPath, lines);
    } catch (err) {
      if (!(err instanceof SetupRefused)) throw err;
      opts.logger.warn({ appId: data.id }, "registration: credentials not written");
      return page(res, err.status, `<h1>Credentials not saved</h1><p>${escapeHtml(err.message)}</p><p>The app ${escapeHtml(data.html_url)} was created on GitHub: delete it there before registering again.</p>`);
    }
    registered = true;
    opts.logger.info({ appId: data.id, envPath: opts.envPath }, "GitHub App registered; credentials saved");
    page(
      res,
      200,
      `<h1>Octostage is registered</h1><p>Credentials saved to <code>${escapeHtml(opts.envPath)}</code> (mode 0600). Restart Octostage, then <a href="${escapeHtml(data.html_url)}/installations/new">install the app</a> on your repositories.</p>`,
      { "set-cookie": `${cookieName}=; HttpOnly; SameSite=Lax; Path=/setup; Max-Age=0` },
    );
  }

  return async (req, res, next) => {
    const url = new URL(req.url ?? "/", "http://local");
    if (req.method === "GET" && url.pathname === "/") return start(req, res);
    if (req.method === "GET" && url.pathname === "/setup/callback") return callback(req, res, url);
    next();
  };
}
