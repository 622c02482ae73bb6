// Real GitHub webhook payloads (@octokit/webhooks-examples), adapted to the test repository,
// signed exactly as GitHub signs them (HMAC SHA-256 of the raw body, X-Hub-Signature-256).
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples") as { name: string; examples: any[] }[];

/** A deep copy of the first real example of `event` with `action` (and matching `pick`). */
function webhookExample(event: string, action: string, pick: (p: any) => boolean = () => true): any {
  const group = examples.find((e) => e.name === event);
  const found = group?.examples.find((p) => p.action === action && pick(p));
  if (!found) throw new Error(`no @octokit/webhooks-examples payload for ${event}.${action}`);
  return structuredClone(found);
}

export interface PullRequestShape {
  owner: string;
  repo: string;
  number: number;
  sha: string;
  ref?: string;
  installationId: number;
  draft?: boolean;
  labels?: string[];
  /** Head branch in another repository. */
  forkOwner?: string;
  sender?: string;
  /** GitHub's updated_at of the PR (default: now, as GitHub sends it). */
  updatedAt?: Date;
  state?: "open" | "closed";
  /** A closed PR that was merged. */
  merged?: boolean;
  title?: string;
  body?: string | null;
}

/** Rewrites a real pull_request payload to describe the test repository's PR. */
export function pullRequestPayload(action: string, s: PullRequestShape): any {
  const p = webhookExample("pull_request", action);
  const full = `${s.owner}/${s.repo}`;
  p.installation = { id: s.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  p.number = s.number;
  Object.assign(p.repository, { name: s.repo, full_name: full });
  p.repository.owner.login = s.owner;
  const pr = p.pull_request;
  pr.number = s.number;
  pr.draft = s.draft ?? false;
  pr.labels = (s.labels ?? []).map((name, i) => ({ id: i + 1, node_id: `L${i}`, url: "", name, color: "ededed", default: false, description: null }));
  pr.head.sha = s.sha;
  pr.updated_at = (s.updatedAt ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  pr.state = s.state ?? (action === "closed" ? "closed" : "open");
  pr.head.ref = s.ref ?? "feature";
  pr.head.repo = { ...pr.base.repo, name: s.repo, full_name: s.forkOwner ? `${s.forkOwner}/${s.repo}` : full };
  pr.base.repo = { ...pr.base.repo, name: s.repo, full_name: full };
  if (s.sender) p.sender.login = s.sender;
  if (action === "synchronize") p.after = s.sha;
  pr.merged = s.merged ?? false;
  if (s.title !== undefined) pr.title = s.title;
  if (s.body !== undefined) pr.body = s.body;
  return p;
}

export interface Delivery {
  id: string;
  status: number;
  body: string;
  ms: number;
}

/** POSTs a webhook the way GitHub does. `secret: null` sends no signature; a wrong secret a bad one. */
export async function deliverWebhook(url: string, event: string, payload: unknown, secret: string | null, id: string = randomUUID()): Promise<Delivery> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/test",
    "x-github-event": event,
    "x-github-delivery": id,
    "x-github-hook-id": "1",
  };
  if (secret !== null) headers["x-hub-signature-256"] = await sign(secret, body);
  const started = performance.now();
  const res = await fetch(url, { method: "POST", headers, body });
  return { id, status: res.status, body: await res.text(), ms: performance.now() - started };
}

export interface CommentShape {
  owner: string;
  repo: string;
  number: number;
  installationId: number;
  body: string;
  login: string;
  commentId: number;
  userType?: "User" | "Bot";
  action?: "created" | "edited";
  /** GitHub's created_at of the comment (default: now, as GitHub sends it). */
  createdAt?: Date;
}

/**
 * A real `issue_comment` payload rewritten as a comment on the test PR. GitHub marks a PR's
 * comments with `issue.pull_request` (the examples are on plain issues, so it is added here).
 */
export function issueCommentPayload(s: CommentShape): any {
  const p = webhookExample("issue_comment", s.action ?? "created");
  const full = `${s.owner}/${s.repo}`;
  p.installation = { id: s.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  Object.assign(p.repository, { name: s.repo, full_name: full });
  p.repository.owner.login = s.owner;
  p.issue.number = s.number;
  p.issue.pull_request = {
    url: `https://api.github.com/repos/${full}/pulls/${s.number}`,
    html_url: `https://github.com/${full}/pull/${s.number}`,
    diff_url: `https://github.com/${full}/pull/${s.number}.diff`,
    patch_url: `https://github.com/${full}/pull/${s.number}.patch`,
  };
  const at = (s.createdAt ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  Object.assign(p.comment, { id: s.commentId, body: s.body, created_at: at, updated_at: at });
  Object.assign(p.comment.user, { login: s.login, type: s.userType ?? "User" });
  Object.assign(p.sender, { login: s.login, type: s.userType ?? "User" });
  return p;
}

export interface PushShape {
  owner: string;
  repo: string;
  installationId: number;
  /** refs/heads/<branch> (or refs/tags/...). */
  ref: string;
  before: string;
  after: string;
  /** GitHub's repository.pushed_at (default: now). */
  pushedAt?: Date;
  sender?: string;
}

/** A real `push` payload rewritten as a push to the test repository. */
export function pushPayload(s: PushShape): any {
  const group = examples.find((e) => e.name === "push");
  const p = structuredClone(group!.examples.find((x) => x.ref?.startsWith("refs/heads/") && !x.deleted));
  const full = `${s.owner}/${s.repo}`;
  Object.assign(p, { ref: s.ref, before: s.before, after: s.after, deleted: false, created: false });
  p.installation = { id: s.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  Object.assign(p.repository, { name: s.repo, full_name: full, pushed_at: Math.floor((s.pushedAt ?? new Date()).getTime() / 1000) });
  p.repository.owner.login = s.owner;
  if (p.head_commit) p.head_commit.id = s.after;
  if (s.sender) p.sender.login = s.sender;
  return p;
}
