/**
 * The web dashboard, on Octostage's own server (no second server): server-rendered pages with
 * progressive enhancement (docs/contributors/architecture.md says why). Fastify with its
 * plugins: sign-in through GitHub's OAuth web flow with the GitHub App's own client
 * (@fastify/oauth2: state cookie and PKCE), sessions in a signed, HTTP-only, SameSite cookie
 * whose data lives in Redis under the id's hash (@fastify/session), CSRF tokens on every change
 * (@fastify/csrf-protection), forms (@fastify/formbody), live updates (@fastify/sse). Every
 * page calls src/app/web/dashboard.ts, which calls the one core with the person's GitHub role.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gzip, gzipSync } from "node:zlib";
import fastifyCookie from "@fastify/cookie";
import fastifyCsrf from "@fastify/csrf-protection";
import fastifyFormbody from "@fastify/formbody";
import fastifyOauth2 from "@fastify/oauth2";
import type { OAuth2Namespace } from "@fastify/oauth2";
import fastifySession from "@fastify/session";
import type { SessionStore as FastifySessionStore } from "@fastify/session";
import { fastifySSE } from "@fastify/sse";
import Fastify from "fastify";
import type { FastifyReply, FastifyRequest } from "fastify";
import type * as core from "../../app/stagings/service.ts";
import * as web from "../../app/web/dashboard.ts";
import type { StagingRow, WebDeps, WebPerson } from "../../app/web/dashboard.ts";
import { formatValue, typeBareValue } from "../../domain/command-tokens.ts";
import type { OverrideChange } from "../../domain/intent/inputs.ts";
import { latestEdits } from "../../domain/overrides.ts";
import { stagingStatuses } from "../../domain/state-machine.ts";
import type { StagingStatus } from "../../domain/state-machine.ts";
import type { Logger } from "../../ports/logger.ts";
import type { SessionStore } from "../../ports/sessions.ts";
import { mountedFastify } from "../http-server.ts";
import type { Html } from "./html.ts";
import { errorPage, formPage, listPage, loginPage, logPage, reposPage, stagingLive, stagingPageHtml, stagingRowHtml } from "./pages.ts";
import type { FormValues, ListParams, PageContext } from "./pages.ts";

export interface DashboardOptions {
  deps: WebDeps;
  logger: Logger;
  sessions: SessionStore;
  /** The GitHub App's OAuth client (GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET). */
  clientId: string;
  clientSecret: string;
  /** Signs the session cookie: at least 32 characters. */
  sessionSecret: string;
  /** GitHub's web address: https://github.com, or a GitHub Enterprise Server's. */
  githubUrl: string;
  /** Where people reach Octostage (the OAuth callback is under it); default: the request's own address. */
  publicUrl?: string;
  /** Who a user access token belongs to (GET /user). */
  signedInUser(token: string): Promise<WebPerson>;
  /** A banner on every page: `npm run demo`. */
  demo?: boolean;
  /** Jira's site, for links to linked issues. */
  jiraUrl?: string;
  /** How often live pages look for changes (default 2 s). */
  livePollMs?: number;
  /** Hours a session lasts without use (default 12). */
  sessionHours?: number;
}

declare module "fastify" {
  interface Session {
    person?: WebPerson;
  }
  interface FastifyInstance {
    githubOAuth2: OAuth2Namespace;
  }
}

/** The paths the dashboard serves; the server hands it only these. */
export function isDashboardPath(path: string): boolean {
  return path === "/" || /^\/(login|logout|stagings|repos|actions|assets|ui|auth\/github)(\/|$)/.test(path);
}

const assetDir = new URL("./assets/", import.meta.url);
const gzipAsync = promisify(gzip);

function asset(name: string, type: string) {
  const body = readFileSync(new URL(name, assetDir));
  return { type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"` };
}

const securityHeaders = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

const httpStatus: Record<core.CoreErrorCode, number> = { not_found: 404, forbidden: 403, invalid: 422, conflict: 409, unavailable: 503 };

/** Where a core error message belongs on the form. */
function fieldOf(message: string, overrides: { key: string }[]): string {
  const i = overrides.findIndex((o) => o.key && (message.includes(`"${o.key}"`) || message.includes(`${o.key} `) || message.startsWith(o.key)));
  if (i >= 0) return `override-${i}`;
  if (/already exists|staging name|name must|namespace|^name/i.test(message)) return "name";
  if (/image tag|^tag/i.test(message)) return "tag";
  if (/\bref\b|branch, tag or commit|git ref/i.test(message)) return "ref";
  return "form";
}

const one = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? "") : typeof v === "string" ? v : "");
const all = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : []);

function formValues(body: Record<string, unknown>): FormValues {
  const keys = all(body.key);
  const values = all(body.value);
  return {
    name: one(body.name).trim(),
    repo: one(body.repo).trim(),
    ref: one(body.ref).trim(),
    tag: one(body.tag).trim(),
    follow: one(body.follow) === "1",
    overrides: keys.map((key, i) => ({ key: key.trim(), value: values[i] ?? "" })).filter((o) => o.key !== ""),
  };
}

const changesOf = (v: FormValues): OverrideChange[] => v.overrides.map((o) => ({ scope: "app" as const, key: o.key, op: "set" as const, value: formValue(o.value) }));

/** A form's value typed as in PR comments: `3` a number, `true` a boolean, `"3"` (quoted) the string 3. */
export function formValue(text: string): unknown {
  if (/^".*"$/s.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return typeBareValue(text);
}

export async function createDashboard(opts: DashboardOptions): Promise<{ handle(req: IncomingMessage, res: ServerResponse): void; close(): Promise<void> }> {
  const { deps } = opts;
  const assets: Record<string, ReturnType<typeof asset>> = { "app.js": asset("app.js", "text/javascript; charset=utf-8"), "app.css": asset("app.css", "text/css; charset=utf-8") };
  // Cookies are Secure whenever Octostage is reached over https (PUBLIC_URL says so).
  const secure = opts.publicUrl?.startsWith("https://") ?? false;
  const publicUrl = opts.publicUrl?.replace(/\/+$/, "");
  const jiraUrl = opts.jiraUrl?.replace(/\/+$/, "");
  const sessionMs = (opts.sessionHours ?? 12) * 3_600_000;
  const mount = mountedFastify();
  const app = Fastify({
    serverFactory: mount.serverFactory,
    logger: false,
    bodyLimit: 256 * 1024,
  });

  const store: FastifySessionStore = {
    set: (id, session, cb) => void opts.sessions.set(id, session as unknown as Record<string, unknown>, sessionMs / 1000).then(() => cb(), cb),
    get: (id, cb) => void opts.sessions.get(id).then((s) => cb(null, s as never), (err: unknown) => cb(err as Error)),
    destroy: (id, cb) => void opts.sessions.destroy(id).then(() => cb(), cb),
  };
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: opts.sessionSecret,
    cookieName: "octostage_session",
    store,
    saveUninitialized: false,
    rolling: true,
    cookie: { secure, httpOnly: true, sameSite: "lax", path: "/", maxAge: sessionMs },
  });
  await app.register(fastifyCsrf, { sessionPlugin: "@fastify/session" });
  await app.register(fastifyFormbody, { bodyLimit: 256 * 1024 });
  await app.register(fastifySSE, { heartbeatInterval: 15_000 });
  await app.register(fastifyOauth2, {
    name: "githubOAuth2",
    credentials: {
      client: { id: opts.clientId, secret: opts.clientSecret },
      auth: { authorizeHost: opts.githubUrl, authorizePath: "/login/oauth/authorize", tokenHost: opts.githubUrl, tokenPath: "/login/oauth/access_token" },
      options: { authorizationMethod: "body" },
    },
    startRedirectPath: "/login/github",
    callbackUri: (req) => `${publicUrl ?? `${req.protocol}://${req.host}`}/auth/github/callback`,
    pkce: "S256",
    cookie: { secure, httpOnly: true, sameSite: "lax", path: "/" },
  });

  const csrfProtection = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => app.csrfProtection(req, reply, done);
  const context = (req: FastifyRequest, reply: FastifyReply, notice?: string): PageContext => ({
    person: req.session.person ?? null,
    csrf: req.session.person ? reply.generateCsrf() : "",
    now: deps.clock.now(),
    demo: opts.demo === true,
    githubUrl: opts.githubUrl,
    ...(jiraUrl ? { jiraUrl } : {}),
    ...(notice ? { notice } : {}),
  });
  // Pages are gzipped when the browser takes it: the stagings page with 1,000 rows is 635 KB of HTML, 41 KB gzipped.
  const page = async (reply: FastifyReply, body: Html, status = 200) => {
    reply.code(status).header("content-type", "text/html; charset=utf-8").header("cache-control", "no-store").header("vary", "accept-encoding");
    if (body.value.length < 1024 || !/\bgzip\b/.test(reply.request.headers["accept-encoding"] ?? "")) return reply.send(body.value);
    return reply.header("content-encoding", "gzip").send(await gzipAsync(body.value));
  };
  const person = (req: FastifyRequest): WebPerson => {
    if (!req.session.person) throw new Error("unauthenticated request reached a page");
    return req.session.person;
  };
  const failPage = (req: FastifyRequest, reply: FastifyReply, r: { code: core.CoreErrorCode; message: string }) => page(reply, errorPage(context(req, reply), httpStatus[r.code], r.message), httpStatus[r.code]);

  app.addHook("onSend", async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(securityHeaders)) reply.header(k, v);
    return payload;
  });

  // Every page but sign-in and the assets needs a session.
  app.addHook("onRequest", async (req, reply) => {
    const path = req.url.split("?")[0]!;
    if (path === "/login" || path === "/login/github" || path === "/auth/github/callback" || path.startsWith("/assets/")) return;
    if (req.session.person) return;
    if (req.method === "GET" && !path.startsWith("/ui/") && !path.endsWith("/live")) return reply.redirect("/login", 303);
    return reply.code(401).header("content-type", "application/json").send({ error: "sign in first: /login" });
  });

  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const code = (err as { code?: string }).code;
    if (code === "FST_CSRF_INVALID_TOKEN" || code === "FST_CSRF_MISSING_SECRET") {
      return page(reply, errorPage(context(req, reply), 403, "This form expired or did not come from Octostage (CSRF check failed): reload the page and try again."), 403);
    }
    if (status >= 400 && status < 500) return page(reply, errorPage(context(req, reply), status, (err as Error).message), status);
    // A live page closed before its first event: the browser left, nothing went wrong.
    if (reply.raw.destroyed || /SSE connection is closed/.test((err as Error).message)) return;
    opts.logger.error({ err: { name: (err as Error).name, message: (err as Error).message }, method: req.method, url: req.url }, "dashboard request failed");
    return page(reply, errorPage(context(req, reply), 500, "Octostage could not show this page (the error is in its log). Try again in a moment."), 500);
  });
  app.setNotFoundHandler((req, reply) => page(reply, errorPage(context(req, reply), 404, `There is no page at ${req.url.split("?")[0]}.`), 404));

  app.get("/assets/:name", async (req, reply) => {
    const a = assets[(req.params as { name: string }).name];
    if (!a) return reply.code(404).send("not found");
    reply.header("content-type", a.type).header("etag", a.etag).header("cache-control", "no-cache");
    if (req.headers["if-none-match"] === a.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(req.headers["accept-encoding"] ?? "")) return reply.header("content-encoding", "gzip").header("vary", "accept-encoding").send(a.gzip);
    return reply.send(a.body);
  });

  app.get("/", async (req, reply) => reply.redirect(req.session.person ? "/stagings" : "/login", 303));
  app.get("/login", async (req, reply) => (req.session.person ? reply.redirect("/stagings", 303) : page(reply, loginPage(context(req, reply)))));

  app.get("/auth/github/callback", async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (q.error) return page(reply, loginPage(context(req, reply), q.error === "access_denied" ? "You did not allow Octostage to know who you are on GitHub, so you are not signed in." : `GitHub refused the sign-in: ${q.error_description ?? q.error}`), 403);
    let token: string | undefined;
    try {
      const answer = await app.githubOAuth2.getAccessTokenFromAuthorizationCodeFlow(req, reply);
      const t = answer.token as { access_token?: string; error?: string; error_description?: string };
      if (!t.access_token) return page(reply, loginPage(context(req, reply), `GitHub refused the sign-in: ${t.error_description ?? t.error ?? "no token"}. Try again.`), 401);
      token = t.access_token;
    } catch (err) {
      const message = (err as Error).message;
      opts.logger.warn({ err: message }, "dashboard sign-in failed");
      return page(reply, loginPage(context(req, reply), /state/i.test(message) ? "This sign-in link expired or was opened in another browser: sign in again." : "GitHub did not complete the sign-in: try again."), 401);
    }
    let who: WebPerson;
    try {
      who = await opts.signedInUser(token);
    } catch (err) {
      opts.logger.warn({ err: (err as Error).message }, "could not ask GitHub who signed in");
      return page(reply, loginPage(context(req, reply), "GitHub did not say who you are: try again in a moment."), 503);
    }
    // A new session id at sign-in: a session id planted before it signs in nobody.
    await req.session.regenerate();
    req.session.person = who;
    deps.roles.forget(who.login);
    opts.logger.info({ login: who.login }, "signed in to the dashboard");
    return reply.redirect("/stagings", 303);
  });

  app.post("/logout", { preHandler: csrfProtection }, async (req, reply) => {
    const login = req.session.person?.login;
    if (login) deps.roles.forget(login);
    await req.session.destroy();
    reply.clearCookie("octostage_session", { path: "/" });
    return reply.redirect("/login", 303);
  });

  const listParams = (q: Record<string, string | undefined>): ListParams => ({
    ...(q.repo ? { repo: q.repo.slice(0, 140) } : {}),
    ...(q.status && (stagingStatuses as readonly string[]).includes(q.status) ? { status: q.status as StagingStatus } : {}),
    ...(q.q ? { q: q.q.slice(0, 63) } : {}),
    ...(q.archived === "1" ? { archived: true } : {}),
  });

  app.get("/stagings", async (req, reply) => {
    const params = listParams(req.query as Record<string, string | undefined>);
    const list = await web.listForPerson(deps, person(req), params);
    if (!list.ok) return failPage(req, reply, list);
    return page(reply, listPage(context(req, reply), list.value, params));
  });

  const poll = (reply: FastifyReply, every: () => Promise<void>) => {
    let stopped = false;
    reply.sse.onClose(() => {
      stopped = true;
    });
    const loop = async () => {
      while (!stopped && reply.sse.isConnected) {
        await new Promise((r) => setTimeout(r, opts.livePollMs ?? 2_000));
        if (stopped) return;
        await every().catch((err: unknown) => opts.logger.warn({ err: (err as Error).message }, "a live dashboard update failed; trying again"));
      }
    };
    void loop();
  };

  // The stagings table, live: a changed or new row is sent whole ("row"), a gone one by name ("remove").
  app.get("/stagings/live", { sse: { kind: "only" } }, async (req, reply) => {
    const params = listParams(req.query as Record<string, string | undefined>);
    const who = person(req);
    // The mark first: a change made while the list is read moves it, and the next poll reads again.
    let mark = await web.listMark(deps, who);
    const first = await web.listForPerson(deps, who, params);
    if (!first.ok) return reply.code(httpStatus[first.code]).send({ error: first.message });
    reply.sse.keepAlive();
    const fingerprint = (r: StagingRow) => `${r.staging.statusVersion}:${r.staging.url ?? ""}:${r.life.cost?.perDay ?? ""}`;
    // What changed between the page's rendering (`at`) and this connection is sent at once.
    const at = Number((req.query as Record<string, string | undefined>).at);
    const since = Number.isFinite(at) ? at - 1_000 : Number.POSITIVE_INFINITY;
    let shown = new Map(first.value.rows.map((r) => [r.staging.name, r.staging.statusChangedAt.getTime() >= since ? "" : fingerprint(r)]));
    // A tab closed while the list was read: nothing to send, nothing to log.
    if (!reply.sse.isConnected) return;
    await reply.sse.send({ event: "ready", data: { count: shown.size } });
    // Re-read the list only when the mark moved (a status or generation changed, a staging came
    // or went), and every 30 s anyway for what the mark does not cover (cost, a new URL).
    let readAt = Date.now();
    poll(reply, async () => {
      const nextMark = await web.listMark(deps, who);
      if (nextMark === mark && Date.now() - readAt < 30_000) return;
      mark = nextMark;
      readAt = Date.now();
      const now = await web.listForPerson(deps, who, params);
      if (!now.ok) return;
      const next = new Map<string, string>();
      const ctx = { now: deps.clock.now(), githubUrl: opts.githubUrl };
      // Oldest change first, so the newest ends up on top of the table.
      for (const r of [...now.value.rows].reverse()) {
        const fp = fingerprint(r);
        next.set(r.staging.name, fp);
        if (shown.get(r.staging.name) !== fp) await reply.sse.send({ event: "row", data: { name: r.staging.name, html: stagingRowHtml(r, ctx).value } });
      }
      for (const name of shown.keys()) if (!next.has(name)) await reply.sse.send({ event: "remove", data: { name } });
      shown = next;
    });
  });

  app.get("/stagings/new", async (req, reply) => {
    const repos = await web.creatableRepos(deps, person(req));
    if (repos.length === 0) return page(reply, errorPage(context(req, reply), 403, "Creating a staging needs write access on GitHub to one of the repositories Octostage serves; you have none."), 403);
    const repo = one((req.query as Record<string, unknown>).repo) || repos[0]!.repo;
    const keys = await web.keysOf(deps, person(req), repo);
    return page(reply, formPage(context(req, reply), { kind: "create", repos }, { name: "", repo, ref: "", tag: "", follow: false, overrides: [] }, {}, keys.ok ? keys.value.keys : undefined));
  });

  app.post("/stagings", { preHandler: csrfProtection }, async (req, reply) => {
    const values = formValues(req.body as Record<string, unknown>);
    const who = person(req);
    const out = await web.createFromForm(deps, who, { name: values.name, repo: values.repo, ...(values.ref ? { ref: values.ref } : {}), ...(values.tag ? { tag: values.tag } : {}), follow: values.follow, changes: changesOf(values) });
    if (out.ok) return reply.redirect(`/stagings/${encodeURIComponent(out.value.name)}?notice=created`, 303);
    const repos = await web.creatableRepos(deps, who);
    const keys = values.repo ? await web.keysOf(deps, who, values.repo) : undefined;
    return page(reply, formPage(context(req, reply), { kind: "create", repos }, values, { [fieldOf(out.message, values.overrides)]: out.message }, keys?.ok ? keys.value.keys : undefined), httpStatus[out.code]);
  });

  const notices: Record<string, string> = {
    created: "Created: the staging is being deployed.",
    updated: "Saved: the staging is being updated.",
    unchanged: "Nothing changed.",
    redeploy: "Redeploying.",
    archive: "Archiving: the workloads scale to zero, volumes are kept.",
    restore: "Restoring.",
    keep: "Keep changed.",
    delete: "Deleting: helm uninstall, then the namespace and its volumes go.",
  };

  app.get("/stagings/:name", async (req, reply) => {
    const { name } = req.params as { name: string };
    const data = await web.stagingPage(deps, person(req), name);
    if (!data.ok) return failPage(req, reply, data);
    const notice = notices[one((req.query as Record<string, unknown>).notice)];
    return page(reply, stagingPageHtml(context(req, reply, notice), data.value));
  });

  // A staging's page, live: the status, timeline, actions and configuration re-sent when they change.
  app.get("/stagings/:name/live", { sse: { kind: "only" } }, async (req, reply) => {
    const { name } = req.params as { name: string };
    const who = person(req);
    const first = await web.stagingPage(deps, who, name);
    if (!first.ok) return reply.code(httpStatus[first.code]).send({ error: first.message });
    reply.sse.keepAlive();
    const csrf = reply.generateCsrf();
    const fingerprint = (p: typeof first.value) => `${p.row.staging.statusVersion}:${p.actions.length}:${p.actions.at(-1)?.state ?? ""}:${p.row.staging.generation}:${p.row.life.kept ? 1 : 0}:${JSON.stringify(p.row.staging.workloads)}`;
    const fresh = (): PageContext => ({ person: who, csrf, now: deps.clock.now(), demo: opts.demo === true, githubUrl: opts.githubUrl, ...(jiraUrl ? { jiraUrl } : {}) });
    // The page may have been rendered before a change this connection already sees: the live part at once.
    let last = fingerprint(first.value);
    if (!reply.sse.isConnected) return;
    await reply.sse.send({ event: "live", data: { html: stagingLive(fresh(), first.value).value, status: first.value.row.staging.status } });
    poll(reply, async () => {
      const now = await web.stagingPage(deps, who, name);
      if (!now.ok) {
        if (now.code === "not_found") {
          await reply.sse.send({ event: "gone", data: { name } });
          reply.sse.close();
        }
        return;
      }
      const fp = fingerprint(now.value);
      if (fp === last) return;
      last = fp;
      await reply.sse.send({ event: "live", data: { html: stagingLive(fresh(), now.value).value, status: now.value.row.staging.status } });
    });
  });

  for (const action of ["redeploy", "archive", "restore", "delete", "keep"] as const) {
    app.post(`/stagings/:name/${action}`, { preHandler: csrfProtection }, async (req, reply) => {
      const { name } = req.params as { name: string };
      const keep = one((req.body as Record<string, unknown> | undefined)?.keep) || "7d";
      const out = await web.act(deps, person(req), name, action, keep);
      if (!out.ok) return failPage(req, reply, out);
      return reply.redirect(action === "delete" ? "/stagings" : `/stagings/${encodeURIComponent(name)}?notice=${action}`, 303);
    });
  }

  app.get("/stagings/:name/edit", async (req, reply) => {
    const { name } = req.params as { name: string };
    const who = person(req);
    const data = await web.stagingPage(deps, who, name);
    if (!data.ok) return failPage(req, reply, data);
    const s = data.value.row.staging;
    const repo = `${s.repoOwner}/${s.repoName}`;
    const overrides = (data.value.details.overrides ?? []).length ? latestEdits(data.value.details.overrides ?? []) : [];
    const keys = await web.keysOf(deps, who, repo);
    const values: FormValues = { name: s.name, repo, ref: s.origin === "pull_request" ? "" : s.headRef, tag: s.imageTag ?? "", follow: s.follow, overrides: overrides.filter((o) => o.scope === "app" && o.op === "set").map((o) => ({ key: o.key, value: formatValue(o.value) })) };
    return page(reply, formPage(context(req, reply), { kind: "edit", name: s.name }, values, {}, keys.ok ? keys.value.keys : undefined));
  });

  app.post("/stagings/:name/edit", { preHandler: csrfProtection }, async (req, reply) => {
    const { name } = req.params as { name: string };
    const who = person(req);
    const values = formValues(req.body as Record<string, unknown>);
    const data = await web.stagingPage(deps, who, name);
    if (!data.ok) return failPage(req, reply, data);
    const before = latestEdits(data.value.details.overrides ?? []).filter((o) => o.scope === "app" && o.op === "set");
    const kept = new Set(values.overrides.map((o) => o.key));
    const changes: OverrideChange[] = [...changesOf(values), ...before.filter((o) => !kept.has(o.key)).map((o) => ({ scope: "app" as const, key: o.key, op: "unset" as const }))];
    const s = data.value.row.staging;
    const out = await web.updateFromForm(deps, who, name, {
      ...(s.origin !== "pull_request" && values.ref && values.ref !== s.headRef ? { ref: values.ref } : {}),
      ...(s.origin !== "pull_request" && values.tag !== (s.imageTag ?? "") ? { tag: values.tag } : {}),
      ...(s.origin !== "pull_request" && values.follow !== s.follow ? { follow: values.follow } : {}),
      changes,
    });
    if (out.ok) return reply.redirect(`/stagings/${encodeURIComponent(name)}?notice=${out.value.changed ? "updated" : "unchanged"}`, 303);
    const keys = await web.keysOf(deps, who, values.repo);
    return page(reply, formPage(context(req, reply), { kind: "edit", name }, values, { [fieldOf(out.message, values.overrides)]: out.message }, keys.ok ? keys.value.keys : undefined), httpStatus[out.code]);
  });

  app.get("/repos", async (req, reply) => {
    const data = await web.overview(deps, person(req));
    if (!data.ok) return failPage(req, reply, data);
    return page(reply, reposPage(context(req, reply), data.value));
  });

  app.get("/actions/:id/log", async (req, reply) => {
    const { id } = req.params as { id: string };
    const out = await web.actionLog(deps, person(req), id);
    if (!out.ok) return failPage(req, reply, out);
    return page(reply, logPage(context(req, reply), out.value));
  });

  // The form's helpers: the chart's keys, and one override checked as it is typed.
  app.get("/ui/keys", async (req, reply) => {
    const out = await web.keysOf(deps, person(req), one((req.query as Record<string, unknown>).repo));
    if (!out.ok) return reply.code(httpStatus[out.code]).send({ error: out.message });
    return reply.header("cache-control", "private, max-age=60").send({ schema: out.value.schema, keys: out.value.keys.slice(0, 2000) });
  });

  app.post("/ui/check", { preHandler: csrfProtection }, async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const key = one(b.key).trim();
    if (!key) return reply.send({ problem: null });
    const out = await web.checkOverride(deps, person(req), one(b.repo), { scope: "app", key, op: "set", value: formValue(one(b.value)) }, one(b.staging) || undefined);
    if (!out.ok) return reply.code(httpStatus[out.code]).send({ error: out.message });
    return reply.send(out.value);
  });

  await app.ready();
  return { handle: mount.handler(), close: () => app.close() };
}
