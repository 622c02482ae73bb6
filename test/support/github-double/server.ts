// The double's HTTP server: validates each request against GitHub's OpenAPI description, then applies
// authentication, rate limits, injected failures and app permissions in GitHub's order, then answers.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createOpenApiValidator } from "../openapi-validator.ts";
import { acceptedPermissions, effectivePermissions, grants, manifestPermissions, REQUIRED, type AppPermissions, type Installation, type IssuedToken } from "./access.ts";
import { error, nodeId, requestId, userId, userShape, type Reply } from "./common.ts";
import { createHandlers, type RepoPermission } from "./handlers.ts";
import {
  consume, etagOf, exhausted, lastModifiedOf, notModified, primaryLimitExceeded, PrimaryRateLimits, rateLimitHeaders,
  secondaryLimitExceeded, takeSecondary, type Bucket, type RateLimitSetting, type SecondaryRateLimitOptions, type SecondaryRule,
} from "./limits.ts";
import { createOAuthWebFlow } from "./oauth.ts";
import { Repositories, type OpenPullRequestOptions, type PullRequestChanges } from "./repositories.ts";
import { readBody } from "../http-body.ts";


interface RecordedGitHubRequest {
  method: string;
  /** Without the /api/v3 prefix and the query string. */
  path: string;
  operationId?: string;
  query: Record<string, string>;
  body: any;
  status: number;
}

export interface GitHubDoubleOptions {
  /** Primary rate limit of each installation (and of the app's JWT and a user's token) per hour; default 5000. */
  rateLimit?: number;
  /** The app's permissions as registered (default: app.yml's default_permissions). */
  manifestPermissions?: AppPermissions;
  /** The app's OAuth client secret for POST /login/oauth/access_token (default "octostage-client-secret"). */
  clientSecret?: string;
}

interface DeploymentState {
  id: number;
  sha: string;
  /** State of the newest status, null when the deployment has none. */
  latestState: string | null;
}

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
  /** Stores a pull request; fields not given come from a full GitHub shape. */
  setPullRequest(owner: string, repo: string, pr: any): void;
  failNext(method: string, pathPattern: RegExp, status: number, count?: number): void;
  /** The next `count` matching requests answer 403 "You have exceeded a secondary rate limit…". */
  secondaryRateLimitNext(count: number, options?: SecondaryRateLimitOptions): void;
  setRateLimit(installationId: number, setting: RateLimitSetting): void;
  /** Requests counted against the installation's primary rate limit in the current window. */
  rateLimitUsed(installationId: number): number;
  /** Fixes the double's clock (null: real time again). Timestamps and rate-limit windows follow it. */
  setNow(date: Date | string | number | null): void;
  openPullRequest(owner: string, repo: string, options: OpenPullRequestOptions): any;
  /** A push to the PR's head branch: head.sha and updated_at change. */
  pushPullRequest(owner: string, repo: string, number: number, sha: string): any;
  /** Draft flag, labels or title change (updated_at too). */
  updatePullRequest(owner: string, repo: string, number: number, changes: PullRequestChanges): any;
  closePullRequest(owner: string, repo: string, number: number, options?: { merged?: boolean }): any;
  reopenPullRequest(owner: string, repo: string, number: number): any;
  /** Points a branch at a commit; open PRs whose head is that branch of that repository move with it. */
  setBranch(owner: string, repo: string, branch: string, sha: string): void;
  /** Installs the app on a repository (GET /repos/{owner}/{repo}/installation answers 404 until then). */
  installOn(owner: string, repo: string, installationId: number): void;
  setTag(owner: string, repo: string, tag: string, sha: string): void;
  /** Removes the app from the installation: no new tokens (404), issued ones answer 401. */
  uninstall(installationId: number): void;
  /** Changes the installation's permissions (given keys only; "none" removes one). Default: app.yml's. */
  setAppPermissions(installationId: number, permissions: AppPermissions): void;
  /** Every deployment of the environment, oldest first, with the state of its newest status. */
  deploymentStatesOf(environment: string, repository?: string): DeploymentState[];
  /**
   * What GitHub does when a person confirms the app-manifest form: a one-time code (valid one
   * hour, converted once) that POST /app-manifests/{code}/conversions turns into the new app's
   * credentials (id, pem, webhook_secret, client_id, client_secret). `manifest` is what the form sent.
   */
  manifestCode(manifest?: Record<string, unknown>): string;
  /** Apps created from manifests, in order (with their credentials). */
  createdApps: any[];
  /** The app's OAuth client id ("Iv1.octostage") and client secret, for the web application flow. */
  clientId: string;
  clientSecret: string;
  /**
   * Who is signed in at GitHub when the browser reaches GET /login/oauth/authorize (default "octocat"):
   * the double skips the consent page and redirects back with a code for that login.
   * null: the person denies the app (redirect with error=access_denied).
   */
  signInAs(login: string | null): void;
  /** Revokes the user access and refresh tokens issued to `login`: the next request with one answers 401 "Bad credentials". */
  revokeUserTokens(login: string): void;
  close(): Promise<void>;
}

/** Who a request's credentials stand for. */
type Caller =
  | { kind: "anonymous" }
  | { kind: "jwt" }
  | { kind: "revoked" }
  /** A user access token issued by the double (its login), or any other token (octocat). */
  | { kind: "user"; login: string }
  | { kind: "installation"; installationId: number; token: IssuedToken };

/** A PEM private key (PKCS#1, as GitHub hands them out) for `new Probot({ appId, privateKey })`; the double accepts any JWT. */
export function generateTestPrivateKey(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
}


export async function startGitHubDouble(options: GitHubDoubleOptions = {}): Promise<GitHubDouble> {
  const defaultLimit = options.rateLimit ?? 5000;
  const validator = createOpenApiValidator();
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `http://${host}`;
  const apiUrl = `${url}/api/v3`;
  let fixedNow: Date | undefined;
  const now = (): Date => (fixedNow ? new Date(fixedNow) : new Date());
  const manifest = options.manifestPermissions ?? manifestPermissions();
  const installations = new Map<number, Installation>();
  const installation = (id: number): Installation => {
    let found = installations.get(id);
    if (!found) {
      found = { id, permissions: { ...manifest }, customized: false, uninstalled: false };
      installations.set(id, found);
    }
    return found;
  };
  const tokens = new Map<string, IssuedToken>();
  const repoInstallations = new Map<string, number>();
  const failures: { method: string; pattern: RegExp; status: number; left: number }[] = [];
  const secondary: SecondaryRule[] = [];
  const limits = new PrimaryRateLimits(() => now().getTime());
  const installationBucket = (id: number): [string, number, string] => [`installation:${id}`, defaultLimit, `API rate limit exceeded for installation ID ${id}.`];
  const repositories = new Repositories(url, apiUrl, now);
  const permissions = new Map<string, RepoPermission>();
  const bot = userShape(url, apiUrl, "octostage[bot]", 41898282, "Bot");
  const human = userShape(url, apiUrl, "octocat", 583231, "User");
  const app = {
    id: 1, slug: "octostage", node_id: nodeId("A", 1), client_id: "Iv1.octostage", owner: human, name: "Octostage",
    description: "Per-PR staging", external_url: url, html_url: `${url}/apps/octostage`,
    created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z",
    permissions: manifest, events: ["pull_request", "issue_comment"],
  };
  let lastId = 1_000_000;
  const clientSecret = options.clientSecret ?? "octostage-client-secret";
  const oauth = createOAuthWebFlow({ clientId: app.client_id, clientSecret, now });
  const users = new Map<string, Record<string, unknown>>([["octocat", human]]);
  const userActor = (login: string): Record<string, unknown> => {
    let found = users.get(login);
    if (!found) {
      found = userShape(url, apiUrl, login, userId(login), "User");
      users.set(login, found);
    }
    return found;
  };

  const double: GitHubDouble = {
    url, host, apiUrl,
    requests: [], violations: [], checkRuns: [], comments: [], deployments: [], deploymentStatuses: [], reactions: [], createdApps: [],
    clientId: app.client_id, clientSecret,
    signInAs: (login) => void (oauth.signedIn = login),
    revokeUserTokens: (login) => oauth.revoke(login),
    manifestCode: (manifest = {}) => {
      const code = randomBytes(10).toString("hex");
      manifestCodes.set(code, { manifest, issuedAt: Date.now() });
      return code;
    },
    setPermission: (owner, repo, login, permission) => void permissions.set(`${owner}/${repo}/${login}`.toLowerCase(), permission),
    setPullRequest: (owner, repo, pr: { number: number }) => void repositories.setPull(owner, repo, pr),
    failNext: (method, pattern, status, count = 1) => void failures.push({ method: method.toUpperCase(), pattern, status, left: count }),
    secondaryRateLimitNext: (count, rule = {}) => void secondary.push({ ...rule, left: count }),
    setRateLimit: (id, setting) => limits.set(...installationBucket(id), setting),
    rateLimitUsed: (id) => limits.used(installationBucket(id)[0]),
    setNow: (date) => void (fixedNow = date === null ? undefined : new Date(date)),
    openPullRequest: (owner, repo, o) => repositories.openPull(owner, repo, o),
    pushPullRequest: (owner, repo, number, sha) => repositories.pushPull(owner, repo, number, sha),
    updatePullRequest: (owner, repo, number, changes) => repositories.updatePull(owner, repo, number, changes),
    closePullRequest: (owner, repo, number, o = {}) => repositories.closePull(owner, repo, number, o.merged ?? false),
    reopenPullRequest: (owner, repo, number) => repositories.reopenPull(owner, repo, number),
    setBranch: (owner, repo, branch, sha) => repositories.setBranch(owner, repo, branch, sha),
    installOn: (owner, repo, installationId) => void repoInstallations.set(`${owner}/${repo}`.toLowerCase(), installationId),
    setTag: (owner, repo, tag, sha) => repositories.setTag(owner, repo, tag, sha),
    uninstall: (id) => void (installation(id).uninstalled = true),
    setAppPermissions: (id, changes) => {
      const target = installation(id);
      target.permissions = { ...target.permissions, ...changes };
      target.customized = true;
    },
    deploymentStatesOf: (environment, repository) => double.deployments
      .filter((d) => d.environment === environment && (!repository || d.repository_url === `${apiUrl}/repos/${repository}`))
      .sort((a, b) => a.id - b.id)
      .map((d) => {
        const statuses = double.deploymentStatuses.filter((st) => st.deployment_url === d.url).sort((a, b) => b.id - a.id);
        return { id: d.id, sha: d.sha, latestState: statuses[0]?.state ?? null };
      }),
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };

  const manifestCodes = new Map<string, { manifest: Record<string, unknown>; issuedAt: number }>();
  const handlers = createHandlers({
    url, apiUrl, now, app, bot, permissions, repositories, installation, repoInstallations, tokens, nextId: () => ++lastId, manifestCodes, createdApps: double.createdApps,
    checkRuns: double.checkRuns, comments: double.comments, deployments: double.deployments,
    deploymentStatuses: double.deploymentStatuses, reactions: double.reactions,
  });

  const identify = (authorization: string | undefined): Caller => {
    const [scheme = "", credential = ""] = (authorization ?? "").split(" ");
    if (!credential) return { kind: "anonymous" };
    if (/^bearer$/i.test(scheme) && credential.split(".").length === 3) return { kind: "jwt" };
    const user = oauth.userOf(credential);
    if (user === "invalid") return { kind: "revoked" };
    if (user) return { kind: "user", login: user.login };
    const token = tokens.get(credential);
    if (!token) return { kind: "user", login: "octocat" };
    if (installation(token.installationId).uninstalled) return { kind: "revoked" };
    return { kind: "installation", installationId: token.installationId, token };
  };

  const bucketOf = (caller: Caller): Bucket => {
    switch (caller.kind) {
      case "installation": return limits.bucket(...installationBucket(caller.installationId));
      case "jwt": return limits.bucket("app:1", defaultLimit, "API rate limit exceeded for app ID 1.");
      case "user": return limits.bucket(`user:${caller.login}`, defaultLimit, `API rate limit exceeded for user ID ${userId(caller.login)}.`);
      default: return limits.bucket("ip:127.0.0.1", 60, "API rate limit exceeded for 127.0.0.1. (But here's the good news: "
        + "Authenticated requests get a higher rate limit. Check out the documentation for more details.)");
    }
  };

  const dispatch = (req: http.IncomingMessage, raw: string, record: RecordedGitHubRequest, underApi: boolean, caller: Caller, bucket: Bucket, id: string): Reply => {
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
    const docs = check.operation?.docsUrl;
    if (!check.operation || check.status !== 0) {
      const message = check.status === 422 ? `Invalid request.\n\n${check.errors.join("\n")}` : check.errors.join("; ");
      return { ...error(check.status, message, docs), violation: `${what}: ${check.errors.join("; ")}` };
    }
    const opId = check.operation.operationId;
    if (opId === "apps/create-from-manifest") {
      // No authentication: the one-time code is the credential.
    } else if (opId.startsWith("apps/") && !opId.endsWith("-for-authenticated-user")) {
      if (caller.kind !== "jwt") return { ...error(401, "A JSON web token could not be decoded", docs), violation: `${what}: needs the app's JWT` };
    } else if (caller.kind === "anonymous") {
      return { ...error(401, "Requires authentication", docs), violation: `${what}: no Authorization header` };
    } else if (caller.kind === "jwt") {
      return { ...error(403, "A JWT cannot call installation endpoints", docs), violation: `${what}: used the app JWT, not an installation token` };
    } else if (caller.kind === "revoked") {
      return error(401, "Bad credentials", docs);
    }
    if (exhausted(bucket)) return primaryLimitExceeded(bucket);
    const rule = takeSecondary(secondary, record.method, record.path);
    if (rule) return secondaryLimitExceeded(rule, id);
    const failure = failures.find((f) => f.left > 0 && f.method === record.method && f.pattern.test(record.path));
    if (failure) {
      failure.left -= 1;
      return { ...error(failure.status, undefined, docs), headers: failure.status === 429 ? { "retry-after": "1" } : {} };
    }
    const required = REQUIRED[opId];
    const accepted: Record<string, string> = caller.kind === "installation" && required ? { "x-accepted-github-permissions": acceptedPermissions(required) } : {};
    if (caller.kind === "installation" && required) {
      const target = installation(caller.installationId);
      if (!grants(effectivePermissions(target.permissions, caller.token.permissions), required)) {
        const refused = { ...error(403, "Resource not accessible by integration", docs), headers: accepted };
        // With app.yml's own permissions, the app would be refused in production too.
        return target.customized ? refused : { ...refused, violation: `${what}: needs ${acceptedPermissions(required)}, which app.yml does not grant` };
      }
    }
    const handler = handlers[opId];
    if (!handler) return { ...error(501, `The GitHub double does not implement ${opId}`, docs), violation: `${what}: not implemented by the double` };
    const { owner, repo } = check.operation.pathParams;
    const reply = handler({
      p: check.operation.pathParams, query: record.query, body: record.body ?? {}, path: record.path,
      actor: caller.kind === "installation" ? bot : caller.kind === "user" ? userActor(caller.login) : human, docs: docs ?? "https://docs.github.com/rest",
      api: `${apiUrl}/repos/${owner}/${repo}`, web: `${url}/${owner}/${repo}`, full: `${owner}/${repo}`,
    });
    return {
      ...reply,
      headers: { ...accepted, ...reply.headers },
      ...(reply.violation ? { violation: `${what}: ${reply.violation}` } : {}),
    };
  };

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    void readBody(req).then((raw) => {
      const parsed = new URL(req.url ?? "/", url);
      const underApi = parsed.pathname.startsWith("/api/v3/");
      const path = underApi ? parsed.pathname.slice("/api/v3".length) : parsed.pathname;
      const method = (req.method ?? "GET").toUpperCase();
      const record: RecordedGitHubRequest = { method, path, query: Object.fromEntries(parsed.searchParams), body: undefined, status: 0 };
      const id = requestId();
      const web = underApi ? undefined : oauth.handle(method, path, parsed.searchParams, raw, req.headers);
      if (web) {
        // The web host: no API rate limit, no JSON pipeline.
        record.status = web.status;
        if (web.params) record.body = web.params;
        double.requests.push(record);
        if (web.violation) double.violations.push(web.violation);
        res.writeHead(web.status, { ...web.headers, "x-github-request-id": id });
        res.end(web.text);
        return;
      }
      const caller = identify(req.headers.authorization);
      const bucket = bucketOf(caller);
      const reply = dispatch(req, raw, record, underApi, caller, bucket, id);
      const json = reply.body === undefined ? "" : JSON.stringify(reply.body);
      const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8", "x-github-request-id": id };
      let status = reply.status;
      if (method === "GET" && status === 200) {
        const lastModified = lastModifiedOf(reply.body);
        Object.assign(headers, { etag: etagOf(json), "cache-control": "private, max-age=60, s-maxage=60", vary: "Accept, Authorization, Cookie, X-GitHub-OTP" });
        if (lastModified) headers["last-modified"] = lastModified;
        // A 304 is free: it does not count against the primary rate limit.
        if (notModified(req.headers, headers.etag!, lastModified)) status = 304;
      }
      if (status !== 304) consume(bucket);
      record.status = status;
      double.requests.push(record);
      if (reply.violation) double.violations.push(reply.violation);
      res.writeHead(status, { ...headers, ...rateLimitHeaders(bucket), ...reply.headers });
      res.end(status === 304 ? "" : json);
    }, () => res.destroy());
  });
  return double;
}
