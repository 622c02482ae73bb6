/**
 * The HTTP API `/api/v1` (JSON) over the application core (src/app/stagings/service.ts), on the
 * same server as the webhooks. Fastify with its plugins: zod schemas validate requests and
 * responses and generate the OpenAPI 3.1 document (fastify-type-provider-zod + @fastify/swagger),
 * failed authentication is rate-limited (@fastify/rate-limit), status changes stream as
 * Server-Sent Events (@fastify/sse). Bearer tokens (src/app/tokens.ts) carry a role.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import rateLimit from "@fastify/rate-limit";
import { fastifySSE } from "@fastify/sse";
import swagger from "@fastify/swagger";
import Fastify from "fastify";
import type { FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import * as core from "../../app/stagings/service.ts";
import type { CoreDeps, CoreErrorCode } from "../../app/stagings/service.ts";
import { authenticate, createToken, listTokens, revokeToken } from "../../app/tokens.ts";
import type { TokenDeps } from "../../app/tokens.ts";
import type { OverrideChange } from "../../domain/intent/inputs.ts";
import { summarizeLifecycle } from "../../domain/lifecycle-summary.ts";
import type { Caller } from "../../domain/roles.ts";
import type { Logger } from "../../ports/logger.ts";
import type { StagingRecord } from "../../ports/store.ts";
import type { TokenRecord } from "../../ports/tokens.ts";
import { mountedFastify } from "../http-server.ts";
import * as s from "./schemas.ts";
import { actionView, stagingDetailsView, stagingView as viewOfStaging, tokenView } from "./views.ts";

export interface ApiOptions {
  deps: CoreDeps;
  tokens: TokenDeps;
  logger: Logger;
  /** Reverse proxies whose X-Forwarded-For is believed (the client's address for rate limiting). */
  trustedProxies?: string[];
  /** Failed authentications per client address and minute before 429 (default 10). */
  authFailuresPerMinute?: number;
  /** How often an event stream looks for a new status (default 1 s). */
  eventPollMs?: number;
}

declare module "fastify" {
  interface FastifyRequest {
    caller?: Caller;
    token?: TokenRecord;
  }
}

const httpStatus: Record<CoreErrorCode, number> = { not_found: 404, forbidden: 403, invalid: 422, conflict: 409, unavailable: 503 };

function errorBody(code: (typeof s.errorCodes)[number], message: string) {
  return { error: { code, message } };
}

/** A core result as an HTTP answer. */
function answer<T, R>(reply: FastifyReply, result: core.CoreResult<T>, view: (value: T) => R, status = 200) {
  if (!result.ok) return reply.code(httpStatus[result.code]).send(errorBody(result.code, result.message));
  return reply.code(status).send(view(result.value));
}

const errorResponses = { 400: s.errorSchema, 401: s.errorSchema, 403: s.errorSchema, 404: s.errorSchema, 409: s.errorSchema, 422: s.errorSchema, 429: s.errorSchema, 503: s.errorSchema };

function changesOf(body: { set?: Record<string, unknown>; deployment?: Record<string, unknown>; unset?: string[]; unsetDeployment?: string[] }): OverrideChange[] {
  return [
    ...Object.entries(body.set ?? {}).map(([key, value]) => ({ scope: "app" as const, key, op: "set" as const, value })),
    ...Object.entries(body.deployment ?? {}).map(([key, value]) => ({ scope: "deployment" as const, key, op: "set" as const, value })),
    ...(body.unset ?? []).map((key) => ({ scope: "app" as const, key, op: "unset" as const })),
    ...(body.unsetDeployment ?? []).map((key) => ({ scope: "deployment" as const, key, op: "unset" as const })),
  ];
}

/** Builds the API; `handle` serves a request whose path starts with /api/v1. */
export async function createApi(opts: ApiOptions): Promise<{ handle(req: IncomingMessage, res: ServerResponse): void; openapi(): unknown; close(): Promise<void> }> {
  const mount = mountedFastify();
  const app = Fastify({
    serverFactory: mount.serverFactory,
    logger: false,
    trustProxy: opts.trustedProxies?.length ? opts.trustedProxies : false,
    bodyLimit: 1024 * 1024,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "Octostage API", version: "1", description: "Stagings by name and by pull request: list, create, update, steer, audit. Bearer tokens with a role (read, operate, admin)." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API token (octo_...): `octostage token create` on the server, or POST /api/v1/tokens." } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(rateLimit, { global: false, max: opts.authFailuresPerMinute ?? 10, timeWindow: 60_000 });
  await app.register(fastifySSE, { heartbeatInterval: 15_000 });
  const countAuthFailure = app.createRateLimit();
  /** Client addresses over their limit of failed authentications, until when. */
  const blocked = new Map<string, number>();

  app.setErrorHandler((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => `${v.instancePath || "(body)"} ${v.message}`.trim()).join("; ");
      return reply.code(400).send(errorBody("invalid_request", `the request does not match the API (${err.validationContext}): ${issues}`));
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(status === 429 ? "rate_limited" : "invalid_request", (err as Error).message));
    }
    opts.logger.error({ err: { name: (err as Error).name, message: (err as Error).message }, method: req.method, url: req.url }, "API request failed");
    return reply.code(500).send(errorBody("internal", "internal error (logged on the server)"));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody("not_found", `no API route for ${req.method} ${req.url.split("?")[0]}`)));

  // Authentication: every route but the OpenAPI document needs a bearer token.
  app.addHook("onRequest", async (req, reply) => {
    if (req.url.split("?")[0] === "/api/v1/openapi.json") return;
    const until = blocked.get(req.ip);
    if (until !== undefined && until > Date.now()) {
      const seconds = Math.ceil((until - Date.now()) / 1000);
      return reply.code(429).header("retry-after", String(seconds)).send(errorBody("rate_limited", `too many failed authentications from ${req.ip}: try again in ${seconds} s`));
    }
    const header = req.headers.authorization ?? "";
    const [scheme, credential] = header.split(" ");
    const result = scheme?.toLowerCase() === "bearer" && credential ? await authenticate(opts.tokens, credential) : { ok: false as const, message: "an API token is required: Authorization: Bearer <token>" };
    if (result.ok) {
      req.caller = result.caller;
      req.token = result.token;
      return;
    }
    const limit = await countAuthFailure(req);
    if (!limit.isAllowed && limit.isExceeded) {
      blocked.set(req.ip, Date.now() + limit.ttl);
      const seconds = Math.max(1, Math.ceil(limit.ttl / 1000));
      return reply.code(429).header("retry-after", String(seconds)).send(errorBody("rate_limited", `too many failed authentications from ${req.ip}: try again in ${seconds} s`));
    }
    return reply.code(401).header("www-authenticate", 'Bearer realm="octostage"').send(errorBody("unauthorized", result.message));
  });

  const caller = (req: FastifyRequest): Caller => {
    if (!req.caller) throw new Error("unauthenticated request reached a handler");
    return req.caller;
  };

  /**
   * Idempotency-Key on POSTs: the first answer is saved for the token and key; a retry with the
   * same key and request gets it again (Idempotent-Replayed: true), with another request 422.
   */
  async function idempotent(req: FastifyRequest, reply: FastifyReply, run: () => Promise<{ status: number; body: unknown }>) {
    const key = req.headers["idempotency-key"];
    const token = req.token;
    if (typeof key !== "string" || !token) {
      const out = await run();
      return reply.code(out.status).send(out.body);
    }
    if (key.length === 0 || key.length > 255) return reply.code(400).send(errorBody("invalid_request", "Idempotency-Key: 1 to 255 characters"));
    const requestHash = createHash("sha256").update(`${req.method} ${req.url}\n${JSON.stringify(req.body ?? null)}`).digest("hex");
    const replay = async (saved: { requestHash: string; status: number; body: unknown }) => {
      if (saved.requestHash !== requestHash) return reply.code(422).send(errorBody("idempotency_key_reused", "this Idempotency-Key was used for another request"));
      return reply.code(saved.status).header("idempotent-replayed", "true").send(saved.body);
    };
    const saved = await opts.tokens.tokens.getIdempotent(token.id, key);
    if (saved) return replay(saved);
    const out = await run();
    if (out.status < 500 && !(await opts.tokens.tokens.saveIdempotent(token.id, key, { requestHash, ...out }))) {
      // A concurrent request with the same key answered first: everyone gets its answer.
      const first = await opts.tokens.tokens.getIdempotent(token.id, key);
      if (first) return replay(first);
    }
    return reply.code(out.status).send(out.body);
  }

  const asAnswer = <T>(result: core.CoreResult<T>, view: (v: T) => unknown, status: number) =>
    result.ok ? { status, body: view(result.value) } : { status: httpStatus[result.code], body: errorBody(result.code, result.message) };

  const secretKeysOf = (repo: string) => opts.deps.project.forRepo(repo)?.secretKeys ?? [];
  const lifeOf = (s: StagingRecord) => summarizeLifecycle(opts.deps.project.forRepo(`${s.repoOwner}/${s.repoName}`)?.lifecycle, opts.deps.project.cost, s, opts.deps.clock.now());
  const stagingView = (s: StagingRecord) => viewOfStaging(s, lifeOf(s));

  app.get("/api/v1/openapi.json", { schema: { hide: true } }, () => app.swagger());

  app.get(
    "/api/v1/stagings",
    { schema: { summary: "List stagings", querystring: s.listQuery, response: { 200: s.listSchema, ...errorResponses } } },
    async (req, reply) => {
      const q = req.query;
      const result = await core.listStagings(opts.deps, caller(req), { ...(q.repo ? { repo: q.repo } : {}), ...(q.status ? { status: q.status } : {}), all: q.all === "true", ...(q.cursor ? { after: q.cursor } : {}), limit: q.limit });
      return answer(reply, result, (v) => ({ items: v.items.map(stagingView), next: v.next }));
    },
  );

  app.post(
    "/api/v1/stagings",
    { schema: { summary: "Create a staging by name", body: s.createBody, response: { 201: s.stagingSchema, ...errorResponses } } },
    async (req, reply) =>
      idempotent(req, reply, async () => {
        const b = req.body;
        const result = await core.createStaging(opts.deps, caller(req), {
          name: b.name,
          repo: b.repo,
          ...(b.ref !== undefined ? { ref: b.ref } : {}),
          ...(b.tag !== undefined ? { tag: b.tag } : {}),
          ...(b.follow !== undefined ? { follow: b.follow } : {}),
          ...(b.jira !== undefined ? { jira: b.jira } : {}),
          changes: changesOf(b),
        });
        return asAnswer(result, stagingView, 201);
      }),
  );

  app.get(
    "/api/v1/stagings/:name",
    { schema: { summary: "A staging, with its effective configuration", params: s.nameParams, response: { 200: s.stagingDetailsSchema, ...errorResponses } } },
    async (req, reply) => {
      const result = await core.getStaging(opts.deps, caller(req), req.params.name);
      return answer(reply, result, (d) => stagingDetailsView(d, secretKeysOf(`${d.staging.repoOwner}/${d.staging.repoName}`), lifeOf(d.staging)));
    },
  );

  app.patch(
    "/api/v1/stagings/:name",
    { schema: { summary: "Update a staging: ref, image tag, follow, overrides (merged)", params: s.nameParams, body: s.updateBody, response: { 200: s.updatedSchema, 201: s.updatedSchema, ...errorResponses } } },
    async (req, reply) =>
      idempotent(req, reply, async () => {
        const b = req.body;
        const result = await core.updateStaging(
          opts.deps,
          caller(req),
          req.params.name,
          { ...(b.ref !== undefined ? { ref: b.ref } : {}), ...(b.tag !== undefined ? { tag: b.tag } : {}), ...(b.follow !== undefined ? { follow: b.follow } : {}), ...(b.jira !== undefined ? { jira: b.jira } : {}), changes: changesOf(b) },
          b.create ? { create: b.create } : {},
        );
        return asAnswer(result, (v) => ({ staging: stagingView(v.staging), created: v.created, changed: v.changed }), result.ok && result.value.created ? 201 : 200);
      }),
  );

  for (const [verb, run] of [
    ["archive", core.archiveByName],
    ["restore", core.restoreByName],
    ["redeploy", core.redeployByName],
  ] as const) {
    app.post(
      `/api/v1/stagings/:name/${verb}`,
      { schema: { summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} a staging`, params: s.nameParams, response: { 202: s.steeredSchema, ...errorResponses } } },
      async (req, reply) =>
        idempotent(req, reply, async () => asAnswer(await run(opts.deps, caller(req), req.params.name), (v) => ({ staging: stagingView(v.staging), result: v.result.ok ? v.result.done : "refused" }), 202)),
    );
  }

  app.post(
    "/api/v1/stagings/:name/keep",
    {
      schema: {
        summary: "Keep a staging from idle archive and retention cleanup (for some days, through a date, until `off`), or end the keep",
        params: s.nameParams,
        body: s.keepBody,
        response: { 200: s.steeredSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      idempotent(req, reply, async () => asAnswer(await core.keepByName(opts.deps, caller(req), req.params.name, req.body.keep), (v) => ({ staging: stagingView(v.staging), result: v.result.ok ? v.result.done : "refused" }), 200)),
  );

  app.delete(
    "/api/v1/stagings/:name",
    { schema: { summary: "Delete a staging: helm uninstall, namespace and volumes removed", params: s.nameParams, response: { 202: s.steeredSchema, ...errorResponses } } },
    async (req, reply) => {
      const result = await core.deleteByName(opts.deps, caller(req), req.params.name);
      return answer(reply, result, (v) => ({ staging: stagingView(v.staging), result: v.result.ok ? v.result.done : "refused" }), 202);
    },
  );

  app.post(
    "/api/v1/stagings/:name/forget",
    { schema: { summary: "Forget a staging: remove its record and history, without touching the cluster", params: s.nameParams, response: { 200: s.stagingSchema, ...errorResponses } } },
    async (req, reply) => idempotent(req, reply, async () => asAnswer(await core.forgetStaging(opts.deps, caller(req), req.params.name), stagingView, 200)),
  );

  app.get(
    "/api/v1/stagings/:name/actions",
    { schema: { summary: "The staging's audit log, oldest first", params: s.nameParams, response: { 200: z.object({ items: z.array(s.actionSchema) }), ...errorResponses } } },
    async (req, reply) => answer(reply, await core.listActions(opts.deps, caller(req), req.params.name), (items) => ({ items: items.map(actionView) })),
  );

  app.get(
    "/api/v1/actions/:id/log",
    { schema: { summary: "The output of one run (helm's, secrets redacted, the last 16,000 characters)", params: z.object({ id: z.string().max(64) }), response: { 200: s.actionLogSchema, ...errorResponses } } },
    async (req, reply) =>
      answer(reply, await core.getAction(opts.deps, caller(req), req.params.id), ({ action, staging }) => {
        const log = action.output ?? "";
        return { id: action.id, staging: staging?.name ?? null, kind: action.kind, state: action.state, log, note: log ? null : "this action ran no helm command, or its output was empty" };
      }),
  );

  app.get(
    "/api/v1/stagings/:name/events",
    {
      sse: { kind: "only" },
      schema: {
        summary: "Server-Sent Events of the staging's status: an event `status` (a Staging) at once and at every change; `gone` when it is forgotten",
        params: s.nameParams,
      },
    },
    async (req, reply) => {
      const first = await core.getStaging(opts.deps, caller(req), req.params.name);
      if (!first.ok) return reply.code(httpStatus[first.code]).send(errorBody(first.code, first.message));
      reply.sse.keepAlive();
      let last = Number(reply.sse.lastEventId ?? Number.NaN);
      let stopped = false;
      reply.sse.onClose(() => {
        stopped = true;
      });
      const emit = async (staging: typeof first.value.staging) => {
        if (staging.statusVersion === last) return;
        last = staging.statusVersion;
        await reply.sse.send({ id: String(staging.statusVersion), event: "status", data: stagingView(staging) });
      };
      await emit(first.value.staging);
      const id = first.value.staging.id;
      const poll = async (): Promise<void> => {
        while (!stopped && reply.sse.isConnected) {
          await new Promise((r) => setTimeout(r, opts.eventPollMs ?? 1_000));
          const now = await opts.deps.store.get(id).catch(() => undefined);
          if (now === undefined) continue; // the database blinked: try again
          if (now === null) {
            await reply.sse.send({ event: "gone", data: { name: req.params.name } });
            reply.sse.close();
            return;
          }
          await emit(now);
        }
      };
      void poll().catch((err: unknown) => opts.logger.warn({ err: (err as Error).message }, "event stream ended"));
    },
  );

  app.get(
    "/api/v1/projects/:project/keys",
    { schema: { summary: "The chart's configurable keys, with defaults and types (helm show values, and values.schema.json when the chart has one)", params: z.object({ project: z.string().max(64) }), response: { 200: s.keysSchema, ...errorResponses } } },
    async (req, reply) => answer(reply, await core.chartKeys(opts.deps, caller(req), req.params.project), (v) => v),
  );

  app.get(
    "/api/v1/projects/:project/cost",
    { schema: { summary: "A repository's stagings' cost, estimated: per day, to date, and what archiving saved", params: z.object({ project: z.string().max(140) }), response: { 200: s.projectCostSchema, ...errorResponses } } },
    async (req, reply) => answer(reply, await core.projectCost(opts.deps, caller(req), req.params.project), (v) => ({ ...v, cost: v.cost ? { estimate: true as const, ...v.cost } : null })),
  );

  app.get("/api/v1/tokens", { schema: { summary: "List API tokens (admin)", response: { 200: z.object({ items: z.array(s.tokenSchema) }), ...errorResponses } } }, async (req, reply) => {
    const result = await listTokens(opts.tokens, caller(req));
    if (!result.ok) return reply.code(result.code === "forbidden" ? 403 : 422).send(errorBody(result.code === "forbidden" ? "forbidden" : "invalid", result.message));
    return reply.send({ items: result.value.map(tokenView) });
  });

  app.post("/api/v1/tokens", { schema: { summary: "Create an API token (admin); the token is in this answer only", body: s.createTokenBody, response: { 201: s.createdTokenSchema, ...errorResponses } } }, async (req, reply) =>
    idempotent(req, reply, async () => {
      const result = await createToken(opts.tokens, caller(req), { name: req.body.name, role: req.body.role, ...(req.body.expiresInDays !== undefined ? { expiresInDays: req.body.expiresInDays } : {}) });
      if (!result.ok) return { status: { forbidden: 403, invalid: 422, conflict: 409, not_found: 404 }[result.code], body: errorBody(result.code, result.message) };
      return { status: 201, body: { token: result.value.token, record: tokenView(result.value.record) } };
    }),
  );

  app.delete("/api/v1/tokens/:name", { schema: { summary: "Revoke an API token (admin)", params: z.object({ name: z.string().max(64) }), response: { 200: s.tokenSchema, ...errorResponses } } }, async (req, reply) => {
    const result = await revokeToken(opts.tokens, caller(req), req.params.name);
    if (!result.ok) return reply.code({ forbidden: 403, invalid: 422, conflict: 409, not_found: 404 }[result.code]).send(errorBody(result.code, result.message));
    return reply.send(tokenView(result.value));
  });

  await app.ready();
  return {
    handle: mount.handler(),
    openapi: () => app.swagger(),
    close: () => app.close(),
  };
}
