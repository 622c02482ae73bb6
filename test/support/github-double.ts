/**
 * GitHub REST API double: a node:http server on 127.0.0.1 at GitHub Enterprise paths (/api/v3/...),
 * so `GHE_HOST=<host> GHE_PROTOCOL=http` (or Octokit `baseUrl: apiUrl`) works unchanged.
 *
 * CHECKS every request against @octokit/openapi (api.github.com): path template and method exist,
 * path params present (integers where documented), query param types/enums, the JSON body against
 * the operation's schema (required fields, types, enums, maxLength, anyOf), plus "completed check
 * run needs a conclusion". Auth: app endpoints need a JWT-shaped Bearer, all others need a token and
 * refuse the JWT. Failures answer 400/401/403/404/422, known-but-unimplemented operations answer 501;
 * each is recorded in `violations`.
 * FAKES, statefully: installation tokens, check runs, issue comments (paginated, Link header),
 * comment reactions, deployments and deployment statuses (newest first, auto_inactive as documented),
 * collaborator permission (legacy `permission` + `role_name`), pulls.get from setPullRequest.
 * Tokens it issued act as the app's bot "octostage[bot]" (type Bot); any other token acts as the human
 * "octocat" (type User), so a test posts a human comment with a plain Octokit and any token.
 * DOES NOT FAKE: JWT signatures, per-repo installation scoping, app permissions, ETags/304, the
 * secondary rate limit, issues/PRs themselves (any issue number accepts comments), ref resolution
 * (a non-SHA deployment ref gets a made-up sha), required_contexts/auto_merge, case-insensitive names.
 */
 
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createOpenApiValidator } from "./openapi-validator.ts";

export interface RecordedGitHubRequest {
  method: string;
  /** Without the /api/v3 prefix and the query string. */
  path: string;
  operationId?: string;
  query: Record<string, string>;
  body: any;
  status: number;
}

export type RepoPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface GitHubDouble {
  url: string;
  host: string;
  apiUrl: string;
  requests: RecordedGitHubRequest[];
  violations: string[];
  checkRuns: any[];
  comments: any[];
  deployments: any[];
  deploymentStatuses: any[];
  reactions: any[];
  setPermission(owner: string, repo: string, login: string, permission: RepoPermission): void;
  setPullRequest(owner: string, repo: string, pr: any): void;
  failNext(method: string, pathPattern: RegExp, status: number, count?: number): void;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  violation?: string;
}

/** p: path params; api/web: the repository's API and web URLs; actor: the user the token stands for. */
interface Ctx {
  p: Record<string, string>;
  query: Record<string, string>;
  body: any;
  path: string;
  api: string;
  web: string;
  actor: any;
}

const DOCS = "https://docs.github.com/rest";
const MESSAGES: Record<number, string> = {
  401: "Bad credentials",
  403: "Resource not accessible by integration",
  404: "Not Found",
  422: "Validation Failed",
  429: "API rate limit exceeded for installation.",
};
const LEGACY_PERMISSION: Record<RepoPermission, string> = {
  admin: "admin", maintain: "write", write: "write", triage: "read", read: "read", none: "none",
};
const USER_LINKS = ["events", "followers", "following", "gists", "organizations", "received_events", "repos", "starred", "subscriptions"];

const timestamp = (date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");
const nodeId = (kind: string, id: number): string => Buffer.from(`0:${kind}${id}`).toString("base64url");
const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");
const latestFirst = (a: any, b: any): number => b.id - a.id;
const error = (status: number, message = MESSAGES[status] ?? "Server Error"): Reply => ({
  status,
  body: { message, documentation_url: DOCS, status: String(status) },
});
const invalid = (message: string): Reply => ({ ...error(422, `Invalid request.\n\n${message}`), violation: message });

function userShape(web: string, api: string, login: string, id: number, type: "Bot" | "User"): Record<string, unknown> {
  const url = `${api}/users/${encodeURIComponent(login)}`;
  const links = Object.fromEntries(USER_LINKS.map((name) => [`${name}_url`, `${url}/${name}`]));
  return { login, id, node_id: nodeId("U", id), avatar_url: `${web}/avatars/u/${id}`, gravatar_id: "", url, html_url: `${web}/${login}`, ...links, type, site_admin: false };
}

/** A PEM private key (PKCS#1, as GitHub hands them out) for `new Probot({ appId, privateKey })`; the double accepts any JWT. */
export function generateTestPrivateKey(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startGitHubDouble(): Promise<GitHubDouble> {
  const validator = createOpenApiValidator();
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `http://${host}`;
  const apiUrl = `${url}/api/v3`;
  const permissions = new Map<string, RepoPermission>();
  const pulls = new Map<string, any>();
  const failures: { method: string; pattern: RegExp; status: number; left: number }[] = [];
  const issuedTokens = new Set<string>();
  const reactionTarget = new WeakMap<object, string>();
  const bot = userShape(url, apiUrl, "octostage[bot]", 41898282, "Bot");
  const human = userShape(url, apiUrl, "octocat", 583231, "User");
  const app = {
    id: 1, slug: "octostage", node_id: nodeId("A", 1), client_id: "Iv1.octostage", owner: human, name: "Octostage",
    description: "Per-PR staging", external_url: url, html_url: `${url}/apps/octostage`,
    created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z",
    permissions: { checks: "write", deployments: "write", issues: "write", metadata: "read", pull_requests: "read" },
    events: ["pull_request", "issue_comment"],
  };
  let lastId = 1_000_000;
  const nextId = (): number => ++lastId;
  const viaApp = (c: Ctx): unknown => (c.actor === bot ? app : null);

  const double: GitHubDouble = {
    url, host, apiUrl,
    requests: [], violations: [], checkRuns: [], comments: [], deployments: [], deploymentStatuses: [], reactions: [],
    setPermission: (owner, repo, login, permission) => void permissions.set(`${owner}/${repo}/${login}`, permission),
    setPullRequest: (owner, repo, pr: { number: number }) => void pulls.set(`${owner}/${repo}#${pr.number}`, pr),
    failNext: (method, pattern, status, count = 1) => void failures.push({ method: method.toUpperCase(), pattern, status, left: count }),
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };

  const page = (c: Ctx, items: unknown[]): Reply => {
    const perPage = Math.min(100, Math.max(1, Number(c.query.per_page ?? 30)));
    const current = Math.max(1, Number(c.query.page ?? 1));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string): string => {
      const query = new URLSearchParams({ ...c.query, per_page: String(perPage), page: String(n) });
      return `<${apiUrl}${c.path}?${query.toString()}>; rel="${rel}"`;
    };
    const links = [
      ...(current < last ? [link(current + 1, "next"), link(last, "last")] : []),
      ...(current > 1 ? [link(1, "first"), link(current - 1, "prev")] : []),
    ];
    const body = items.slice((current - 1) * perPage, current * perPage);
    return { status: 200, body, headers: links.length > 0 ? { link: links.join(", ") } : {} };
  };
  const found = (item: unknown): Reply => (item ? { status: 200, body: item } : error(404));
  const checkRun = (c: Ctx): any => double.checkRuns.find((r) => r.url === `${c.api}/check-runs/${c.p.check_run_id}`);
  const comment = (c: Ctx): any => double.comments.find((r) => r.url === `${c.api}/issues/comments/${c.p.comment_id}`);
  const deployment = (c: Ctx): any => double.deployments.find((d) => d.url === `${c.api}/deployments/${c.p.deployment_id}`);
  const statusesOf = (deploymentUrl: string): any[] =>
    double.deploymentStatuses.filter((s) => s.deployment_url === deploymentUrl).sort(latestFirst);
  const output = (c: Ctx, id: number, o: any): unknown => ({
    title: o?.title ?? null, summary: o?.summary ?? null, text: o?.text ?? null,
    annotations_count: o?.annotations?.length ?? 0, annotations_url: `${c.api}/check-runs/${id}/annotations`,
  });
  const addStatus = (c: Ctx, dep: any, fields: Record<string, unknown>): any => {
    const id = nextId();
    const status = {
      id, node_id: nodeId("DES", id), url: `${dep.url}/statuses/${id}`, creator: c.actor, created_at: timestamp(),
      updated_at: timestamp(), deployment_url: dep.url, repository_url: c.api, performed_via_github_app: viaApp(c), ...fields,
    };
    double.deploymentStatuses.push(status);
    return status;
  };

  const handlers: Record<string, (c: Ctx) => Reply> = {
    "apps/create-installation-access-token": () => {
      const token = `ghs_${randomBytes(18).toString("hex")}`;
      issuedTokens.add(token);
      const expiresAt = timestamp(new Date(Date.now() + 3_600_000));
      return { status: 201, body: { token, expires_at: expiresAt, permissions: app.permissions, repository_selection: "all" } };
    },
    "checks/create": (c) => {
      const b = c.body;
      const status = b.conclusion ? "completed" : (b.status ?? "queued");
      if (status === "completed" && !b.conclusion) return invalid("conclusion is required when status is completed");
      const id = nextId();
      const run = {
        id, node_id: nodeId("CR", id), head_sha: b.head_sha, external_id: b.external_id ?? "", name: b.name,
        url: `${c.api}/check-runs/${id}`, html_url: `${c.web}/runs/${id}`, details_url: b.details_url ?? app.html_url,
        status, conclusion: b.conclusion ?? null, started_at: b.started_at ?? timestamp(),
        completed_at: status === "completed" ? (b.completed_at ?? timestamp()) : null, output: output(c, id, b.output),
        check_suite: { id: parseInt(sha1(b.head_sha).slice(0, 8), 16) }, app, pull_requests: [],
      };
      double.checkRuns.push(run);
      return { status: 201, body: run };
    },
    "checks/update": (c) => {
      const run = checkRun(c);
      if (!run) return error(404);
      const b = c.body;
      for (const key of ["name", "details_url", "external_id", "started_at"]) if (b[key] !== undefined) run[key] = b[key];
      if (b.output) run.output = output(c, run.id, b.output);
      if (b.conclusion) Object.assign(run, { status: "completed", conclusion: b.conclusion, completed_at: b.completed_at ?? timestamp() });
      else if (b.status) Object.assign(run, { status: b.status, conclusion: null, completed_at: null });
      return { status: 200, body: run };
    },
    "checks/get": (c) => found(checkRun(c)),
    "issues/list-comments": (c) => page(c, double.comments.filter((r) => r.issue_url === `${c.api}/issues/${c.p.issue_number}`)),
    "issues/get-comment": (c) => found(comment(c)),
    "issues/create-comment": (c) => {
      const id = nextId();
      const kind = pulls.has(`${c.p.owner}/${c.p.repo}#${c.p.issue_number}`) ? "pull" : "issues";
      const reactions = {
        url: `${c.api}/issues/comments/${id}/reactions`, total_count: 0,
        "+1": 0, "-1": 0, laugh: 0, confused: 0, heart: 0, hooray: 0, eyes: 0, rocket: 0,
      };
      const created = {
        id, node_id: nodeId("IC", id), url: `${c.api}/issues/comments/${id}`,
        html_url: `${c.web}/${kind}/${c.p.issue_number}#issuecomment-${id}`, issue_url: `${c.api}/issues/${c.p.issue_number}`,
        body: c.body.body, user: c.actor, author_association: c.actor === bot ? "NONE" : "OWNER",
        created_at: timestamp(), updated_at: timestamp(), performed_via_github_app: viaApp(c), reactions,
      };
      double.comments.push(created);
      return { status: 201, body: created };
    },
    "issues/update-comment": (c) => {
      const target = comment(c);
      if (!target) return error(404);
      if (target.user.login !== c.actor.login) return error(403, "You cannot edit another user's comment");
      Object.assign(target, { body: c.body.body, updated_at: timestamp() });
      return { status: 200, body: target };
    },
    "reactions/create-for-issue-comment": (c) => {
      const target = comment(c);
      if (!target) return error(404);
      const content = c.body.content;
      const same = double.reactions.find((r) => reactionTarget.get(r) === target.url && r.user.login === c.actor.login && r.content === content);
      if (same) return { status: 200, body: same };
      const id = nextId();
      const reaction = { id, node_id: nodeId("R", id), user: c.actor, content, created_at: timestamp() };
      reactionTarget.set(reaction, target.url);
      double.reactions.push(reaction);
      target.reactions[content] += 1;
      target.reactions.total_count += 1;
      return { status: 201, body: reaction };
    },
    "repos/create-deployment": (c) => {
      const b = c.body;
      const id = nextId();
      const environment = b.environment ?? "production";
      const dep = {
        id, node_id: nodeId("DE", id), url: `${c.api}/deployments/${id}`, ref: b.ref,
        sha: /^[0-9a-f]{40}$/.test(b.ref) ? b.ref : sha1(`${c.api}:${b.ref}`),
        task: b.task ?? "deploy", payload: b.payload ?? {}, original_environment: environment, environment,
        description: b.description ?? null, creator: c.actor, created_at: timestamp(), updated_at: timestamp(),
        statuses_url: `${c.api}/deployments/${id}/statuses`, repository_url: c.api,
        transient_environment: b.transient_environment ?? false,
        production_environment: b.production_environment ?? environment === "production",
        performed_via_github_app: viaApp(c),
      };
      double.deployments.push(dep);
      return { status: 201, body: dep };
    },
    "repos/list-deployments": (c) => {
      const filters = ["sha", "ref", "task", "environment"].filter((k) => c.query[k] !== undefined);
      const matches = double.deployments.filter((d) => d.repository_url === c.api && filters.every((k) => c.query[k] === d[k]));
      return page(c, matches.sort(latestFirst));
    },
    "repos/get-deployment": (c) => found(deployment(c)),
    "repos/list-deployment-statuses": (c) => {
      const dep = deployment(c);
      return dep ? page(c, statusesOf(dep.url)) : error(404);
    },
    "repos/create-deployment-status": (c) => {
      const dep = deployment(c);
      if (!dep) return error(404);
      const b = c.body;
      const logUrl = b.log_url ?? b.target_url ?? "";
      const environment = b.environment ?? statusesOf(dep.url)[0]?.environment ?? dep.environment;
      const fields = { state: b.state, description: b.description ?? "", environment, environment_url: b.environment_url ?? "" };
      const status = addStatus(c, dep, { ...fields, target_url: logUrl, log_url: logUrl });
      if (b.auto_inactive !== false && b.state === "success") {
        // As documented: prior non-transient, non-production deployments of the environment whose latest state is success.
        const prior = double.deployments.filter((d) => d.repository_url === c.api && d.id < dep.id && d.environment === environment
          && !d.transient_environment && !d.production_environment && statusesOf(d.url)[0]?.state === "success");
        const inactive = { state: "inactive", description: "", environment, environment_url: "", target_url: "", log_url: "" };
        for (const d of prior) addStatus(c, d, inactive);
      }
      return { status: 201, body: status };
    },
    "repos/get-collaborator-permission-level": (c) => {
      const login = c.p.username!;
      const role = permissions.get(`${c.p.owner}/${c.p.repo}/${login}`) ?? "read";
      const flags = {
        admin: role === "admin", maintain: role === "admin" || role === "maintain",
        push: ["admin", "maintain", "write"].includes(role), triage: role !== "read" && role !== "none", pull: role !== "none",
      };
      const user = { ...userShape(url, apiUrl, login, 7_000_000 + parseInt(sha1(login).slice(0, 6), 16), "User"), permissions: flags, role_name: role };
      return { status: 200, body: { permission: LEGACY_PERMISSION[role], role_name: role, user } };
    },
    "pulls/get": (c) => found(pulls.get(`${c.p.owner}/${c.p.repo}#${c.p.pull_number}`)),
  };

  const dispatch = (req: http.IncomingMessage, raw: string, record: RecordedGitHubRequest, underApi: boolean): Reply => {
    if (!underApi) return { ...error(404), violation: `${record.method} ${req.url}: not under /api/v3` };
    if (raw.length > 0) {
      try {
        record.body = JSON.parse(raw);
      } catch {
        return { ...error(400, "Problems parsing JSON"), violation: `${record.method} ${record.path}: body is not JSON` };
      }
    }
    const check = validator.checkRequest(record.method, record.path, record.query, record.body);
    record.operationId = check.operation?.operationId;
    const what = `${record.method} ${record.path}${record.operationId ? ` (${record.operationId})` : ""}`;
    if (!check.operation || check.status !== 0) {
      return { ...error(check.status, check.errors.join("; ")), violation: `${what}: ${check.errors.join("; ")}` };
    }
    const opId = check.operation.operationId;
    const [scheme = "", credential = ""] = (req.headers.authorization ?? "").split(" ");
    const jwt = /^bearer$/i.test(scheme) && credential.split(".").length === 3;
    if (opId.startsWith("apps/")) {
      if (!jwt) return { ...error(401, "A JSON web token could not be decoded"), violation: `${what}: needs the app's JWT` };
    } else if (!credential) {
      return { ...error(401, "Requires authentication"), violation: `${what}: no Authorization header` };
    } else if (jwt) {
      return { ...error(403, "A JWT cannot call installation endpoints"), violation: `${what}: used the app JWT, not an installation token` };
    }
    const failure = failures.find((f) => f.left > 0 && f.method === record.method && f.pattern.test(record.path));
    if (failure) {
      failure.left -= 1;
      return { ...error(failure.status), headers: failure.status === 429 ? { "retry-after": "1" } : {} };
    }
    const handler = handlers[opId];
    if (!handler) return { ...error(501, `The GitHub double does not implement ${opId}`), violation: `${what}: not implemented by the double` };
    const { owner, repo } = check.operation.pathParams;
    const actor = issuedTokens.has(credential) ? bot : human;
    const ctx = { p: check.operation.pathParams, query: record.query, body: record.body ?? {}, path: record.path, actor };
    return handler({ ...ctx, api: `${apiUrl}/repos/${owner}/${repo}`, web: `${url}/${owner}/${repo}` });
  };

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    void readBody(req).then((raw) => {
      const parsed = new URL(req.url ?? "/", url);
      const underApi = parsed.pathname.startsWith("/api/v3/");
      const path = underApi ? parsed.pathname.slice("/api/v3".length) : parsed.pathname;
      const method = (req.method ?? "GET").toUpperCase();
      const record: RecordedGitHubRequest = { method, path, query: Object.fromEntries(parsed.searchParams), body: undefined, status: 0 };
      const reply = dispatch(req, raw, record, underApi);
      record.status = reply.status;
      double.requests.push(record);
      if (reply.violation) double.violations.push(reply.violation);
      res.writeHead(reply.status, {
        "content-type": "application/json; charset=utf-8",
        "x-github-request-id": randomBytes(8).toString("hex").toUpperCase(),
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4999",
        "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
        "x-ratelimit-resource": "core",
        ...reply.headers,
      });
      res.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
    }, () => res.destroy());
  });
  return double;
}
