/**
 * Jira Cloud double for the issue remote-link API: a node:http server on 127.0.0.1 (random port)
 * holding issues and their remote links in memory. Point the Jira client at `baseUrl`.
 *
 * CHECKS, in this order, every request (each is recorded in `requests`, with the status answered):
 * - an injected failure (`failNext`) answers first, whatever the request;
 * - basic auth: a missing, malformed or wrong `Authorization: Basic base64(email:apiToken)` is 401
 *   (real Jira would treat a missing header as an anonymous user, whom sites seldom let see issues);
 * - the path and method against the remote-link paths of Atlassian's OpenAPI description
 *   (test/fixtures/jira/remotelink-openapi.json): others are 404, or 405 for another method;
 * - a JSON body needs `Content-Type: application/json` (415) and must parse (400);
 * - required query parameters (DELETE without ?globalId is 400, as documented);
 * - the issue exists (by key or id), else 404 "Issue does not exist or you do not have permission to see it.";
 * - the body against the operation's schema with Ajv (RemoteIssueLinkRequest: object.url and
 *   object.title required, types) → 400 in Jira's ErrorCollection form, plus the 255-character
 *   limit the schema states only in the globalId description.
 * FAKES: createOrUpdateRemoteIssueLink (a known globalId is replaced in place keeping its id, 200;
 * otherwise created, 201; both answer {id, self}; fields left out are dropped, as Jira sets them to
 * null), getRemoteIssueLinks (all, or one by ?globalId), deleteRemoteIssueLinkByGlobalId (204).
 * DOES NOT FAKE: the /remotelink/{linkId} operations (501), permissions (any valid account may link
 * any issue), issue linking being switched off, Jira's own rate limits (inject them with failNext).
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import { readBody } from "./http-body.ts";

const specPath = new URL("../fixtures/jira/remotelink-openapi.json", import.meta.url);
const specId = "https://octostage.invalid/jira/remotelink-openapi.json";
const maxGlobalIdLength = 255;
const notFoundIssue = "Issue does not exist or you do not have permission to see it.";

interface RecordedJiraRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  body: any;
  status: number;
}

/** A stored link as Jira's getRemoteIssueLinks answers it (RemoteIssueLink). */
interface StoredRemoteLink {
  id: number;
  self: string;
  globalId?: string;
  application?: Record<string, unknown>;
  relationship?: string;
  object: Record<string, any>;
}

export interface JiraDouble {
  baseUrl: string;
  /** The issue's remote links (copies), oldest first. */
  links(issueKey: string): StoredRemoteLink[];
  requests: RecordedJiraRequest[];
  /** The next request answers this status (and headers), whatever it is, before any other check. */
  failNext(status: number, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Issue {
  id: string;
  key: string;
  links: StoredRemoteLink[];
}

type Operation = { operationId: string; parameters?: { name: string; in: string; required?: boolean }[]; requestBody?: any };

/** Jira's ErrorCollection. */
const errorCollection = (status: number, errorMessages: string[], errors: Record<string, string> = {}, headers?: Record<string, string>): Reply => ({
  status, body: { errorMessages, errors }, ...(headers ? { headers } : {}),
});

/** Bodies shaped as Jira's for injected failures. */
function injectedBody(status: number): unknown {
  if (status === 429) return { errorMessages: ["Rate limit exceeded."], errors: {} };
  if (status === 401) return { errorMessages: ["Client must be authenticated to access this resource."], errors: {} };
  if (status === 403) return { errorMessages: ["You do not have the permission to link issues."], errors: {} };
  if (status >= 500) return { errorMessages: ["Internal server error"], errors: {} };
  return { errorMessages: [`Injected failure ${status}.`], errors: {} };
}

/** Ajv's errors in the form Jira answers a bad RemoteIssueLinkRequest: {"errors": {"title": "'title' is required."}}. */
function schemaErrors(errors: ErrorObject[]): { errorMessages: string[]; errors: Record<string, string> } {
  const byField: Record<string, string> = {};
  const messages: string[] = [];
  for (const e of errors) {
    const missing = e.keyword === "required" ? (e.params as { missingProperty?: string }).missingProperty : undefined;
    if (missing) byField[missing] = `'${missing}' is required.`;
    else messages.push(`${e.instancePath || "/"} ${e.message ?? e.keyword}`);
  }
  return { errorMessages: [...new Set(messages)], errors: byField };
}


export async function startJiraDouble(options: { email: string; apiToken: string; issues: string[] }): Promise<JiraDouble> {
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as { paths: Record<string, Record<string, Operation>>; components: unknown };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: specId, components: spec.components });
  const validators = new Map<string, ValidateFunction>();
  const bodyValidator = (operation: Operation): ValidateFunction | undefined => {
    const schema = operation.requestBody?.content?.["application/json"]?.schema;
    if (!schema) return undefined;
    let validate = validators.get(operation.operationId);
    if (!validate) {
      // $refs point into the document: resolve them against it.
      validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${specId}#/components/`)));
      validators.set(operation.operationId, validate);
    }
    return validate;
  };
  const routes = Object.entries(spec.paths).map(([template, item]) => {
    const names: string[] = [];
    const source = template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    return { regex: new RegExp(`^${source}$`), names, item };
  });

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const expectedAuth = `Basic ${Buffer.from(`${options.email}:${options.apiToken}`, "utf8").toString("base64")}`;
  const issues = options.issues.map((key, i): Issue => ({ id: String(10_000 + i), key, links: [] }));
  const findIssue = (idOrKey: string): Issue | undefined => issues.find((issue) => issue.key === idOrKey || issue.id === idOrKey);
  const failures: { status: number; headers: Record<string, string> }[] = [];
  let lastLinkId = 10_000;

  const double: JiraDouble = {
    baseUrl,
    requests: [],
    links: (issueKey) => structuredClone(findIssue(issueKey)?.links ?? []),
    failNext: (status, headers = {}) => void failures.push({ status, headers }),
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };

  const operations: Record<string, (issue: Issue, query: Record<string, string>, body: any) => Reply> = {
    createOrUpdateRemoteIssueLink(issue, _query, body) {
      const { globalId, application, relationship, object } = body as Omit<StoredRemoteLink, "id" | "self">;
      const existing = globalId === undefined ? undefined : issue.links.findIndex((l) => l.globalId === globalId);
      const id = existing !== undefined && existing >= 0 ? issue.links[existing]!.id : ++lastLinkId;
      const self = `${baseUrl}/rest/api/3/issue/${issue.key}/remotelink/${id}`;
      // Jira replaces the whole link: fields left out of the request become null (here: absent).
      const link: StoredRemoteLink = {
        id, self, object,
        ...(globalId === undefined ? {} : { globalId }),
        ...(application === undefined ? {} : { application }),
        ...(relationship === undefined ? {} : { relationship }),
      };
      if (existing !== undefined && existing >= 0) {
        issue.links[existing] = link;
        return { status: 200, body: { id, self } };
      }
      issue.links.push(link);
      return { status: 201, body: { id, self } };
    },
    getRemoteIssueLinks(issue, query) {
      if (query.globalId === undefined) return { status: 200, body: issue.links };
      const link = issue.links.find((l) => l.globalId === query.globalId);
      return link ? { status: 200, body: link } : errorCollection(404, [`No remote link with global id ${query.globalId} on issue ${issue.key}.`]);
    },
    deleteRemoteIssueLinkByGlobalId(issue, query) {
      // Atlassian documents 404 "if the issue or remote issue link is not found" and 204 only for a
      // successful delete, so an unknown global id is 404 here (the client treats 404 as nothing to remove).
      const index = issue.links.findIndex((l) => l.globalId === query.globalId);
      if (index < 0) return errorCollection(404, [`No remote link with global id ${query.globalId} on issue ${issue.key}.`]);
      issue.links.splice(index, 1);
      return { status: 204 };
    },
  };

  const dispatch = (req: http.IncomingMessage, raw: string, record: RecordedJiraRequest): Reply => {
    const failure = failures.shift();
    if (failure) return { status: failure.status, body: injectedBody(failure.status), headers: failure.headers };
    if (req.headers.authorization !== expectedAuth) {
      return errorCollection(401, ["Client must be authenticated to access this resource."], {}, { "www-authenticate": 'Basic realm="protected-area"' });
    }
    const route = routes.map((r) => ({ r, match: r.regex.exec(record.path) })).find((c) => c.match !== null);
    if (!route?.match) return errorCollection(404, [`null for uri: ${baseUrl}${record.path}`]);
    const operation = route.r.item[record.method.toLowerCase()];
    if (!operation) return { status: 405, headers: { allow: Object.keys(route.r.item).map((m) => m.toUpperCase()).join(",") } };
    const params: Record<string, string> = {};
    route.r.names.forEach((name, i) => (params[name] = decodeURIComponent(route.match![i + 1]!)));
    if (raw.length > 0 || operation.requestBody?.required === true) {
      if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) return { status: 415, body: "Unsupported Media Type", headers: { "content-type": "text/plain" } };
      try {
        record.body = JSON.parse(raw);
      } catch (err) {
        return errorCollection(400, [`Unexpected character or end of input: ${(err as Error).message}`]);
      }
    }
    for (const param of operation.parameters ?? []) {
      if (param.in === "query" && param.required === true && !record.query[param.name]) {
        return errorCollection(400, [`The ${param.name} query parameter is required.`]);
      }
    }
    const issue = findIssue(params.issueIdOrKey ?? "");
    if (!issue) return errorCollection(404, [notFoundIssue]);
    const validate = bodyValidator(operation);
    if (validate && !validate(record.body)) {
      const { errorMessages, errors } = schemaErrors(validate.errors ?? []);
      return errorCollection(400, errorMessages, errors);
    }
    const globalId = (record.body as { globalId?: unknown } | undefined)?.globalId;
    if (typeof globalId === "string" && globalId.length > maxGlobalIdLength) {
      // The limit is stated in the field's description only; the wording is the double's own.
      return errorCollection(400, [], { globalId: `The global ID must not be longer than ${maxGlobalIdLength} characters.` });
    }
    const handler = operations[operation.operationId];
    if (!handler) return errorCollection(501, [`The Jira double does not implement ${operation.operationId}.`]);
    return handler(issue, record.query, record.body);
  };

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    void readBody(req).then((raw) => {
      const parsed = new URL(req.url ?? "/", baseUrl);
      const record: RecordedJiraRequest = {
        method: (req.method ?? "GET").toUpperCase(), path: parsed.pathname, query: Object.fromEntries(parsed.searchParams), body: undefined, status: 0,
      };
      const reply = dispatch(req, raw, record);
      record.status = reply.status;
      double.requests.push(record);
      const text = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      const type = reply.body === undefined ? {} : { "content-type": "application/json;charset=UTF-8" };
      res.writeHead(reply.status, { ...type, "x-arequestid": `${Date.now().toString(36)}`, ...reply.headers });
      res.end(text);
    }, () => res.destroy());
  });
  return double;
}
