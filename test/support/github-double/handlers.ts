// The operations the double implements, by operationId. Each gets the validated request and answers
// as GitHub does, keeping state in the double's arrays and its Repositories.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { characters, error, latestFirst, nodeId, sha1, timestamp, userId, userShape, validationFailed, type Reply } from "./common.ts";
import { granted, withinInstallation, type AppPermissions, type Installation, type IssuedToken } from "./access.ts";
import type { Repositories } from "./repositories.ts";

export type RepoPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** p: path params; api/web: the repository's API and web URLs; actor: the user the token stands for; docs: the operation's documentation. */
export interface Ctx {
  p: Record<string, string>;
  query: Record<string, string>;
  body: any;
  path: string;
  api: string;
  web: string;
  full: string;
  actor: any;
  docs: string;
}

export interface HandlerState {
  url: string;
  apiUrl: string;
  now: () => Date;
  app: any;
  bot: any;
  checkRuns: any[];
  comments: any[];
  deployments: any[];
  deploymentStatuses: any[];
  reactions: any[];
  permissions: Map<string, RepoPermission>;
  repositories: Repositories;
  installation(id: number): Installation;
  /** Which installation of the app covers a repository (full name, lowercase). */
  repoInstallations: Map<string, number>;
  tokens: Map<string, IssuedToken>;
  nextId(): number;
  manifestCodes: Map<string, { manifest: Record<string, unknown>; issuedAt: number }>;
  createdApps: any[];
}

/** GitHub's limits on text fields, in characters (code points) unless said otherwise. */
const LIMITS = { commentBody: 65_536, checkRunOutputBytes: 65_535, deploymentStatusDescription: 140 };

const LEGACY_PERMISSION: Record<RepoPermission, string> = {
  admin: "admin", maintain: "write", write: "write", triage: "read", read: "read", none: "none",
};

const invalid = (message: string): Reply => ({ ...error(422, `Invalid request.\n\n${message}`), violation: message });

export function createHandlers(s: HandlerState): Record<string, (c: Ctx) => Reply> {
  const viaApp = (c: Ctx): unknown => (c.actor === s.bot ? s.app : null);
  const now = (): string => timestamp(s.now());
  const found = (c: Ctx, item: unknown): Reply => (item ? { status: 200, body: item } : error(404, undefined, c.docs));
  const page = (c: Ctx, items: unknown[]): Reply => {
    const perPage = Math.min(100, Math.max(1, Number(c.query.per_page ?? 30)));
    const current = Math.max(1, Number(c.query.page ?? 1));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string): string => {
      const query = new URLSearchParams({ ...c.query, per_page: String(perPage), page: String(n) });
      return `<${s.apiUrl}${c.path}?${query.toString()}>; rel="${rel}"`;
    };
    const links = [
      ...(current < last ? [link(current + 1, "next"), link(last, "last")] : []),
      ...(current > 1 ? [link(1, "first"), link(current - 1, "prev")] : []),
    ];
    const body = items.slice((current - 1) * perPage, current * perPage);
    return { status: 200, body, headers: links.length > 0 ? { link: links.join(", ") } : {} };
  };
  const checkRun = (c: Ctx): any => s.checkRuns.find((r) => r.url === `${c.api}/check-runs/${c.p.check_run_id}`);
  const comment = (c: Ctx): any => s.comments.find((r) => r.url === `${c.api}/issues/comments/${c.p.comment_id}`);
  const deployment = (c: Ctx): any => s.deployments.find((d) => d.url === `${c.api}/deployments/${c.p.deployment_id}`);
  const statusesOf = (deploymentUrl: string): any[] =>
    s.deploymentStatuses.filter((st) => st.deployment_url === deploymentUrl).sort(latestFirst);
  const output = (c: Ctx, id: number, o: any): unknown => ({
    title: o?.title ?? null, summary: o?.summary ?? null, text: o?.text ?? null,
    annotations_count: o?.annotations?.length ?? 0, annotations_url: `${c.api}/check-runs/${id}/annotations`,
  });
  /** Beyond the schema's 65535 characters, GitHub refuses output over 65535 UTF-8 bytes. */
  const outputTooLarge = (c: Ctx): Reply | undefined => {
    for (const field of ["summary", "text"]) {
      const value: unknown = c.body.output?.[field];
      if (typeof value === "string" && Buffer.byteLength(value, "utf8") > LIMITS.checkRunOutputBytes) {
        return validationFailed("CheckRun", field, `${field} exceeds a maximum bytesize of ${LIMITS.checkRunOutputBytes}`, c.docs);
      }
    }
    return undefined;
  };
  const commentTooLong = (c: Ctx): Reply | undefined =>
    typeof c.body.body === "string" && characters(c.body.body) > LIMITS.commentBody
      ? validationFailed("IssueComment", "body", `body is too long (maximum is ${LIMITS.commentBody} characters)`, c.docs)
      : undefined;
  const addStatus = (c: Ctx, dep: any, fields: Record<string, unknown>): any => {
    const id = s.nextId();
    const status = {
      id, node_id: nodeId("DES", id), url: `${dep.url}/statuses/${id}`, creator: c.actor, created_at: now(),
      updated_at: now(), deployment_url: dep.url, repository_url: c.api, performed_via_github_app: viaApp(c), ...fields,
    };
    s.deploymentStatuses.push(status);
    return status;
  };

  return {
    "apps/create-from-manifest": (c) => {
      const entry = s.manifestCodes.get(c.p.code ?? "");
      // One conversion per code, within the hour GitHub gives.
      if (!entry || Date.now() - entry.issuedAt > 3_600_000) return error(404, undefined, c.docs);
      s.manifestCodes.delete(c.p.code ?? "");
      const id = 100 + s.createdApps.length + 1;
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
      const name = typeof entry.manifest.name === "string" ? entry.manifest.name : "Octostage";
      const created = {
        ...s.app,
        id,
        slug: `${name.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}-${id}`,
        node_id: nodeId("A", id),
        name,
        html_url: `${s.url}/apps/octostage-${id}`,
        client_id: `Iv1.${randomBytes(8).toString("hex")}`,
        client_secret: randomBytes(20).toString("hex"),
        webhook_secret: randomBytes(20).toString("hex"),
        pem: privateKey,
        created_at: now(),
        updated_at: now(),
      };
      s.createdApps.push({ ...created, manifest: entry.manifest });
      return { status: 201, body: created };
    },
    "apps/get-repo-installation": (c) => {
      const id = s.repoInstallations.get(`${c.p.owner}/${c.p.repo}`.toLowerCase());
      if (id === undefined || s.installation(id).uninstalled) return error(404, undefined, c.docs);
      const account = userShape(s.url, s.apiUrl, c.p.owner!, userId(c.p.owner!), "User");
      return {
        status: 200,
        body: {
          id, account, repository_selection: "selected", access_tokens_url: `${s.apiUrl}/app/installations/${id}/access_tokens`,
          repositories_url: `${s.apiUrl}/installation/repositories`, html_url: `${s.url}/organizations/${c.p.owner}/settings/installations/${id}`,
          app_id: s.app.id, app_slug: s.app.slug, target_id: account.id, target_type: "Organization",
          permissions: s.installation(id).permissions, events: ["pull_request", "issue_comment", "push"],
          created_at: now(), updated_at: now(), single_file_name: null,
        },
      };
    },
    "apps/create-installation-access-token": (c) => {
      const installation = s.installation(Number(c.p.installation_id));
      if (installation.uninstalled) return error(404, undefined, c.docs);
      const requested = c.body.permissions as AppPermissions | undefined;
      if (requested && !withinInstallation(installation.permissions, requested)) {
        return error(422, "The permissions requested are not granted to this installation.", c.docs);
      }
      const token = `ghs_${randomBytes(18).toString("hex")}`;
      s.tokens.set(token, { installationId: installation.id, ...(requested ? { permissions: requested } : {}) });
      // Real time, not the double's clock: clients cache tokens by it.
      const expiresAt = timestamp(new Date(Date.now() + 3_600_000));
      const permissions = granted(requested ?? installation.permissions);
      return { status: 201, body: { token, expires_at: expiresAt, permissions, repository_selection: "all" } };
    },
    "checks/create": (c) => {
      const b = c.body;
      const status = b.conclusion ? "completed" : (b.status ?? "queued");
      if (status === "completed" && !b.conclusion) return invalid("conclusion is required when status is completed");
      const tooLarge = outputTooLarge(c);
      if (tooLarge) return tooLarge;
      const id = s.nextId();
      const run = {
        id, node_id: nodeId("CR", id), head_sha: b.head_sha, external_id: b.external_id ?? "", name: b.name,
        url: `${c.api}/check-runs/${id}`, html_url: `${c.web}/runs/${id}`, details_url: b.details_url ?? s.app.html_url,
        status, conclusion: b.conclusion ?? null, started_at: b.started_at ?? now(),
        completed_at: status === "completed" ? (b.completed_at ?? now()) : null, output: output(c, id, b.output),
        check_suite: { id: parseInt(sha1(b.head_sha).slice(0, 8), 16) }, app: s.app, pull_requests: [],
      };
      s.checkRuns.push(run);
      return { status: 201, body: run };
    },
    "checks/update": (c) => {
      const run = checkRun(c);
      if (!run) return error(404, undefined, c.docs);
      const tooLarge = outputTooLarge(c);
      if (tooLarge) return tooLarge;
      const b = c.body;
      for (const key of ["name", "details_url", "external_id", "started_at"]) if (b[key] !== undefined) run[key] = b[key];
      if (b.output) run.output = output(c, run.id, b.output);
      if (b.conclusion) Object.assign(run, { status: "completed", conclusion: b.conclusion, completed_at: b.completed_at ?? now() });
      else if (b.status) Object.assign(run, { status: b.status, conclusion: null, completed_at: null });
      return { status: 200, body: run };
    },
    "checks/get": (c) => found(c, checkRun(c)),
    "issues/list-comments": (c) => page(c, s.comments.filter((r) => r.issue_url === `${c.api}/issues/${c.p.issue_number}`)),
    "issues/get-comment": (c) => found(c, comment(c)),
    "issues/create-comment": (c) => {
      const tooLong = commentTooLong(c);
      if (tooLong) return tooLong;
      const id = s.nextId();
      const [owner = "", repo = ""] = c.full.split("/");
      const kind = s.repositories.getPull(owner, repo, c.p.issue_number!) ? "pull" : "issues";
      const reactions = {
        url: `${c.api}/issues/comments/${id}/reactions`, total_count: 0,
        "+1": 0, "-1": 0, laugh: 0, confused: 0, heart: 0, hooray: 0, eyes: 0, rocket: 0,
      };
      const created = {
        id, node_id: nodeId("IC", id), url: `${c.api}/issues/comments/${id}`,
        html_url: `${c.web}/${kind}/${c.p.issue_number}#issuecomment-${id}`, issue_url: `${c.api}/issues/${c.p.issue_number}`,
        body: c.body.body, user: c.actor, author_association: c.actor === s.bot ? "NONE" : "OWNER",
        created_at: now(), updated_at: now(), performed_via_github_app: viaApp(c), reactions,
      };
      s.comments.push(created);
      return { status: 201, body: created };
    },
    "issues/update-comment": (c) => {
      const target = comment(c);
      if (!target) return error(404, undefined, c.docs);
      if (target.user.login !== c.actor.login) return error(403, "You cannot edit another user's comment", c.docs);
      const tooLong = commentTooLong(c);
      if (tooLong) return tooLong;
      Object.assign(target, { body: c.body.body, updated_at: now() });
      return { status: 200, body: target };
    },
    "reactions/create-for-issue-comment": (c) => {
      const target = comment(c);
      if (!target) return error(404, undefined, c.docs);
      const content = c.body.content;
      const same = s.reactions.find((r) => reactionTarget.get(r) === target.url && r.user.login === c.actor.login && r.content === content);
      if (same) return { status: 200, body: same };
      const id = s.nextId();
      const reaction = { id, node_id: nodeId("R", id), user: c.actor, content, created_at: now() };
      reactionTarget.set(reaction, target.url);
      s.reactions.push(reaction);
      target.reactions[content] += 1;
      target.reactions.total_count += 1;
      return { status: 201, body: reaction };
    },
    "repos/create-deployment": (c) => {
      const b = c.body;
      const id = s.nextId();
      const environment = b.environment ?? "production";
      const sha = s.repositories.resolve(c.full, b.ref) ?? (/^[0-9a-f]{40}$/.test(b.ref) ? b.ref : sha1(`${c.api}:${b.ref}`));
      const dep = {
        id, node_id: nodeId("DE", id), url: `${c.api}/deployments/${id}`, ref: b.ref, sha,
        task: b.task ?? "deploy", payload: b.payload ?? {}, original_environment: environment, environment,
        description: b.description ?? null, creator: c.actor, created_at: now(), updated_at: now(),
        statuses_url: `${c.api}/deployments/${id}/statuses`, repository_url: c.api,
        transient_environment: b.transient_environment ?? false,
        production_environment: b.production_environment ?? environment === "production",
        performed_via_github_app: viaApp(c),
      };
      s.deployments.push(dep);
      return { status: 201, body: dep };
    },
    "repos/list-deployments": (c) => {
      const filters = ["sha", "ref", "task", "environment"].filter((k) => c.query[k] !== undefined);
      const matches = s.deployments.filter((d) => d.repository_url === c.api && filters.every((k) => c.query[k] === d[k]));
      return page(c, matches.sort(latestFirst));
    },
    "repos/get-deployment": (c) => found(c, deployment(c)),
    "repos/list-deployment-statuses": (c) => {
      const dep = deployment(c);
      return dep ? page(c, statusesOf(dep.url)) : error(404, undefined, c.docs);
    },
    "repos/create-deployment-status": (c) => {
      const dep = deployment(c);
      if (!dep) return error(404, undefined, c.docs);
      const b = c.body;
      if (typeof b.description === "string" && characters(b.description) > LIMITS.deploymentStatusDescription) {
        const message = `description is too long (maximum is ${LIMITS.deploymentStatusDescription} characters)`;
        return validationFailed("DeploymentStatus", "description", message, c.docs);
      }
      const logUrl = b.log_url ?? b.target_url ?? "";
      const environment = b.environment ?? statusesOf(dep.url)[0]?.environment ?? dep.environment;
      const fields = { state: b.state, description: b.description ?? "", environment, environment_url: b.environment_url ?? "" };
      const status = addStatus(c, dep, { ...fields, target_url: logUrl, log_url: logUrl });
      if (b.auto_inactive !== false && b.state === "success") {
        // As documented: prior non-transient, non-production deployments of the environment whose latest state is success.
        const prior = s.deployments.filter((d) => d.repository_url === c.api && d.id < dep.id && d.environment === environment
          && !d.transient_environment && !d.production_environment && statusesOf(d.url)[0]?.state === "success");
        const inactive = { state: "inactive", description: "", environment, environment_url: "", target_url: "", log_url: "" };
        for (const d of prior) addStatus(c, d, inactive);
      }
      return { status: 201, body: status };
    },
    "repos/get-collaborator-permission-level": (c) => {
      const login = c.p.username!;
      // Owners, repositories and logins are case-insensitive on GitHub.
      const role = s.permissions.get(`${c.full}/${login}`.toLowerCase()) ?? "read";
      const flags = {
        admin: role === "admin", maintain: role === "admin" || role === "maintain",
        push: ["admin", "maintain", "write"].includes(role), triage: role !== "read" && role !== "none", pull: role !== "none",
      };
      const user = { ...userShape(s.url, s.apiUrl, login, userId(login), "User"), permissions: flags, role_name: role };
      return { status: 200, body: { permission: LEGACY_PERMISSION[role], role_name: role, user } };
    },
    "pulls/get": (c) => {
      const [owner = "", repo = ""] = c.full.split("/");
      return found(c, s.repositories.getPull(owner, repo, c.p.pull_number!));
    },
    "repos/get-commit": (c) => {
      const sha = s.repositories.resolve(c.full, c.p.ref!);
      return sha ? { status: 200, body: s.repositories.commitShape(c.full, sha) } : error(422, `No commit found for SHA: ${c.p.ref}`, c.docs);
    },
    "users/get-authenticated": (c) => {
      // GitHub answers an installation token so; only a user's token has a "current user".
      if (c.actor === s.bot) {
        return { ...error(403, "Resource not accessible by integration", c.docs), violation: "needs a user access token, not an installation token" };
      }
      const octocat = c.actor.login === "octocat";
      const profile = {
        name: octocat ? "The Octocat" : null, company: octocat ? "@github" : null, blog: octocat ? "https://github.blog" : "",
        location: octocat ? "San Francisco" : null, email: null, hireable: null, bio: null, twitter_username: null,
        public_repos: octocat ? 8 : 0, public_gists: octocat ? 8 : 0, followers: 0, following: 0,
        created_at: "2011-01-25T18:44:36Z", updated_at: "2026-01-01T00:00:00Z",
      };
      return { status: 200, body: { ...c.actor, user_view_type: "public", ...profile } };
    },
    "repos/get-branch": (c) => {
      const branch = s.repositories.branchShape(c.full, c.p.branch!);
      return branch ? { status: 200, body: branch } : error(404, "Branch not found", c.docs);
    },
  };
}

const reactionTarget = new WeakMap<object, string>();
