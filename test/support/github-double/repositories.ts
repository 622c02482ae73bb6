// Repository state the double keeps: branches, tags, known commits and pull requests. Pull requests
// take their shape from a real `pull_request` payload in @octokit/webhooks-examples.
import { createRequire } from "node:module";
import { idFor, nodeId, sha1, timestamp, userId, userShape } from "./common.ts";

const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: any[] }[];
const PULL_TEMPLATE: any = examples.find((e) => e.name === "pull_request")!.examples
  .find((p) => p.action === "opened" && "auto_merge" in p.pull_request).pull_request;
const TEMPLATE_REPO = "Codertocat/Hello-World";

export interface OpenPullRequestOptions {
  number: number;
  /** Head commit. */
  sha: string;
  /** Head branch (default `feature-<number>`). */
  ref?: string;
  /** Base branch (default "main"). */
  base?: string;
  /** The head branch lives in this owner's fork. */
  forkOwner?: string;
  draft?: boolean;
  labels?: string[];
  /** The PR's author (default "octocat"). */
  author?: string;
  title?: string;
}

export interface PullRequestChanges {
  draft?: boolean;
  labels?: string[];
  title?: string;
}

interface CommitRecord {
  sha: string;
  parents: string[];
  message: string;
  date: string;
}

interface RepoState {
  branches: Map<string, string>;
  tags: Map<string, string>;
  commits: Map<string, CommitRecord>;
}

const isFullSha = (ref: string): boolean => /^[0-9a-f]{40}$/i.test(ref);

export class Repositories {
  private readonly repos = new Map<string, RepoState>();
  private readonly pulls = new Map<string, any>();

  private readonly web: string;
  private readonly apiUrl: string;
  private readonly now: () => Date;

  constructor(web: string, apiUrl: string, now: () => Date) {
    this.web = web;
    this.apiUrl = apiUrl;
    this.now = now;
  }

  // ---- refs and commits ----

  private repo(full: string): RepoState {
    let state = this.repos.get(full);
    if (!state) {
      state = { branches: new Map(), tags: new Map(), commits: new Map() };
      this.repos.set(full, state);
    }
    return state;
  }

  /** Makes a commit known to a repository (its parents, when new). */
  private remember(full: string, sha: string, parents: string[], message: string): void {
    const commits = this.repo(full).commits;
    const key = sha.toLowerCase();
    if (!commits.has(key)) commits.set(key, { sha: key, parents: parents.filter((p) => p !== key), message, date: timestamp(this.now()) });
  }

  setBranch(owner: string, repo: string, branch: string, sha: string): void {
    const full = `${owner}/${repo}`;
    const state = this.repo(full);
    const previous = state.branches.get(branch);
    this.remember(full, sha, previous ? [previous] : [], `Update ${branch}`);
    state.branches.set(branch, sha.toLowerCase());
    for (const pr of this.pulls.values()) {
      if (pr.state === "open" && pr.head?.ref === branch && pr.head?.repo?.full_name === full) this.moveHead(pr, sha);
    }
  }

  setTag(owner: string, repo: string, tag: string, sha: string): void {
    const full = `${owner}/${repo}`;
    this.remember(full, sha, [], `Release ${tag}`);
    this.repo(full).tags.set(tag, sha.toLowerCase());
  }

  branchSha(full: string, branch: string): string | undefined {
    return this.repos.get(full)?.branches.get(branch);
  }

  /** Resolves a ref as git does: full SHA, then tag, then branch (also refs/… and heads/… forms), then a unique abbreviated SHA. */
  resolve(full: string, ref: string): string | undefined {
    const state = this.repos.get(full);
    if (!state) return undefined;
    if (isFullSha(ref)) return state.commits.has(ref.toLowerCase()) ? ref.toLowerCase() : undefined;
    const named = ref.replace(/^refs\//, "");
    const byName = named.startsWith("tags/") ? state.tags.get(named.slice(5))
      : named.startsWith("heads/") ? state.branches.get(named.slice(6))
        : state.tags.get(named) ?? state.branches.get(named);
    if (byName) return byName;
    if (!/^[0-9a-f]{4,39}$/i.test(ref)) return undefined;
    const matches = [...state.commits.keys()].filter((sha) => sha.startsWith(ref.toLowerCase()));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** The REST `commit` shape of a known commit. */
  commitShape(full: string, sha: string): Record<string, unknown> {
    const record = this.repo(full).commits.get(sha)!;
    const api = `${this.apiUrl}/repos/${full}`;
    const html = `${this.web}/${full}`;
    const author = userShape(this.web, this.apiUrl, "octocat", 583231, "User");
    const person = { name: "The Octocat", email: "octocat@users.noreply.github.com", date: record.date };
    const tree = sha1(`tree:${sha}`);
    return {
      url: `${api}/commits/${sha}`, sha, node_id: Buffer.from(`06:Commit${sha}`).toString("base64url"), html_url: `${html}/commit/${sha}`,
      comments_url: `${api}/commits/${sha}/comments`,
      commit: {
        url: `${api}/git/commits/${sha}`, author: person, committer: person, message: record.message, comment_count: 0,
        tree: { sha: tree, url: `${api}/git/trees/${tree}` },
        verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
      },
      author, committer: author,
      parents: record.parents.map((p) => ({ sha: p, url: `${api}/commits/${p}`, html_url: `${html}/commit/${p}` })),
      stats: { total: 0, additions: 0, deletions: 0 }, files: [],
    };
  }

  /** The REST `branch-with-protection` shape, or undefined for an unknown branch. */
  branchShape(full: string, branch: string): Record<string, unknown> | undefined {
    const sha = this.repos.get(full)?.branches.get(branch);
    if (!sha) return undefined;
    const api = `${this.apiUrl}/repos/${full}/branches/${encodeURIComponent(branch)}`;
    return {
      name: branch, commit: this.commitShape(full, sha), _links: { self: api, html: `${this.web}/${full}/tree/${branch}` },
      protected: false, protection: { enabled: false, required_status_checks: { enforcement_level: "off", contexts: [], checks: [] } },
      protection_url: `${api}/protection`,
    };
  }

  // ---- pull requests ----

  private key = (owner: string, repo: string, n: number | string): string => `${owner}/${repo}#${n}`;

  getPull(owner: string, repo: string, number: number | string): any {
    return this.pulls.get(this.key(owner, repo, number));
  }

  private requirePull(owner: string, repo: string, number: number): any {
    const pr = this.getPull(owner, repo, number);
    if (!pr) throw new Error(`GitHub double: no pull request ${this.key(owner, repo, number)}`);
    return pr;
  }

  /** A GitHub-shaped repository object, from the template's. */
  private repoShape(owner: string, repo: string, fork: boolean): any {
    const full = `${owner}/${repo}`;
    const host = new URL(this.web).host;
    let text = JSON.stringify(PULL_TEMPLATE.base.repo);
    for (const [from, to] of [
      [`https://api.github.com/repos/${TEMPLATE_REPO}`, `${this.apiUrl}/repos/${full}`],
      [`https://github.com/${TEMPLATE_REPO}`, `${this.web}/${full}`],
      [`git://github.com/${TEMPLATE_REPO}`, `git://${host}/${full}`],
      [`git@github.com:${TEMPLATE_REPO}`, `git@${host}:${full}`],
    ] as const) text = text.replaceAll(from, to);
    const id = idFor("repo", full, 100_000_000);
    return {
      ...JSON.parse(text), id, node_id: nodeId("R", id), name: repo, full_name: full, owner: this.user(owner),
      private: true, visibility: "private", fork, default_branch: "main",
    };
  }

  private user(login: string): Record<string, unknown> {
    return userShape(this.web, this.apiUrl, login, userId(login), "User");
  }

  private label(owner: string, repo: string, name: string): Record<string, unknown> {
    const id = idFor("label", `${owner}/${repo}:${name}`, 1_000_000_000);
    return { id, node_id: nodeId("LA", id), url: `${this.apiUrl}/repos/${owner}/${repo}/labels/${encodeURIComponent(name)}`, name, color: "ededed", default: false, description: null };
  }

  /** Sets updated_at to now, and always later than before (to the second, as GitHub reports it). */
  private touch(pr: any): string {
    const previous = Date.parse(pr.updated_at ?? "");
    const at = Number.isFinite(previous) ? Math.max(this.now().getTime(), previous + 1000) : this.now().getTime();
    pr.updated_at = timestamp(new Date(at));
    return pr.updated_at;
  }

  /** Moves the PR's head to `sha`; false when it is there already. */
  private moveHead(pr: any, sha: string): boolean {
    const lower = sha.toLowerCase();
    if (pr.head.sha === lower) return false;
    const base = pr.base?.repo?.full_name as string | undefined;
    if (base) this.remember(base, lower, pr.head.sha ? [pr.head.sha] : [], `Update ${pr.head.ref ?? "head"}`);
    pr.head.sha = lower;
    if (base) {
      pr.statuses_url = `${this.apiUrl}/repos/${base}/statuses/${lower}`;
      if (pr._links?.statuses) pr._links.statuses.href = pr.statuses_url;
    }
    if (typeof pr.commits === "number") pr.commits += 1;
    this.touch(pr);
    return true;
  }

  /** A full `pull-request` shape for a new PR. */
  private pullShape(owner: string, repo: string, o: OpenPullRequestOptions): any {
    const full = `${owner}/${repo}`;
    const api = `${this.apiUrl}/repos/${full}`;
    const html = `${this.web}/${full}/pull/${o.number}`;
    const headOwner = o.forkOwner ?? owner;
    const headRef = o.ref ?? `feature-${o.number}`;
    const baseRef = o.base ?? "main";
    const baseSha = this.branchSha(full, baseRef) ?? sha1(`${full}:${baseRef}`);
    const id = idFor("pull", `${full}#${o.number}`, 500_000_000);
    const created = timestamp(this.now());
    const links = {
      self: `${api}/pulls/${o.number}`, html, issue: `${api}/issues/${o.number}`, comments: `${api}/issues/${o.number}/comments`,
      review_comments: `${api}/pulls/${o.number}/comments`, review_comment: `${api}/pulls/comments{/number}`,
      commits: `${api}/pulls/${o.number}/commits`, statuses: `${api}/statuses/${o.sha.toLowerCase()}`,
    };
    return {
      ...structuredClone(PULL_TEMPLATE),
      url: links.self, id, node_id: nodeId("PR", id), html_url: html, diff_url: `${html}.diff`, patch_url: `${html}.patch`,
      issue_url: links.issue, number: o.number, state: "open", locked: false, title: o.title ?? `Pull request ${o.number}`,
      user: this.user(o.author ?? "octocat"), body: null, created_at: created, updated_at: created, closed_at: null, merged_at: null,
      merge_commit_sha: null, assignee: null, assignees: [], requested_reviewers: [], requested_teams: [],
      labels: (o.labels ?? []).map((name) => this.label(owner, repo, name)), milestone: null,
      commits_url: links.commits, review_comments_url: links.review_comments, review_comment_url: links.review_comment,
      comments_url: links.comments, statuses_url: links.statuses,
      head: { label: `${headOwner}:${headRef}`, ref: headRef, sha: o.sha.toLowerCase(), user: this.user(headOwner), repo: this.repoShape(headOwner, repo, headOwner !== owner) },
      base: { label: `${owner}:${baseRef}`, ref: baseRef, sha: baseSha, user: this.user(owner), repo: this.repoShape(owner, repo, false) },
      _links: Object.fromEntries(Object.entries(links).map(([name, href]) => [name, { href }])),
      author_association: o.forkOwner ? "CONTRIBUTOR" : "MEMBER", auto_merge: null, active_lock_reason: null,
      draft: o.draft ?? false, merged: false, mergeable: null, rebaseable: null, mergeable_state: "unknown", merged_by: null,
      comments: 0, review_comments: 0, maintainer_can_modify: false, commits: 1, additions: 1, deletions: 1, changed_files: 1,
    };
  }

  openPull(owner: string, repo: string, o: OpenPullRequestOptions): any {
    const full = `${owner}/${repo}`;
    if (this.getPull(owner, repo, o.number)) throw new Error(`GitHub double: pull request ${full}#${o.number} already exists`);
    const pr = this.pullShape(owner, repo, o);
    const clash = [...this.pulls.values()].find((p) => p.state === "open" && p.base?.repo?.full_name === full && p.base.ref === pr.base.ref
      && p.head?.repo?.full_name === pr.head.repo.full_name && p.head.ref === pr.head.ref);
    if (clash) throw new Error(`GitHub double: a pull request already exists for ${pr.head.label} (#${clash.number})`);
    if (!this.branchSha(full, pr.base.ref)) this.setBranch(owner, repo, pr.base.ref, pr.base.sha);
    this.setBranch(o.forkOwner ?? owner, repo, pr.head.ref, o.sha);
    this.remember(full, pr.head.sha, [pr.base.sha], `Changes for #${o.number}`);
    this.pulls.set(this.key(owner, repo, o.number), pr);
    return pr;
  }

  /** The legacy setter: `pr` over a full shape, so a partial object still answers like GitHub. */
  setPull(owner: string, repo: string, partial: { number: number; head?: { sha?: string } }): any {
    const sha = partial.head?.sha ?? sha1(`${owner}/${repo}#${partial.number}`);
    const pr = deepMerge(this.pullShape(owner, repo, { number: partial.number, sha }), partial);
    if (typeof pr.head?.sha === "string" && pr.base?.repo?.full_name) this.remember(pr.base.repo.full_name, pr.head.sha, [], "Pull request head");
    this.pulls.set(this.key(owner, repo, partial.number), pr);
    return pr;
  }

  pushPull(owner: string, repo: string, number: number, sha: string): any {
    const pr = this.requirePull(owner, repo, number);
    if (pr.state !== "open") throw new Error(`GitHub double: ${this.key(owner, repo, number)} is closed; GitHub does not move a closed pull request's head`);
    const headRepo = pr.head?.repo?.full_name as string | undefined;
    if (headRepo && pr.head.ref) {
      const [headOwner, headName] = headRepo.split("/") as [string, string];
      this.setBranch(headOwner, headName, pr.head.ref, sha);
    }
    this.moveHead(pr, sha);
    return pr;
  }

  updatePull(owner: string, repo: string, number: number, changes: PullRequestChanges): any {
    const pr = this.requirePull(owner, repo, number);
    if (changes.draft !== undefined) pr.draft = changes.draft;
    if (changes.title !== undefined) pr.title = changes.title;
    if (changes.labels) pr.labels = changes.labels.map((name) => this.label(owner, repo, name));
    this.touch(pr);
    return pr;
  }

  closePull(owner: string, repo: string, number: number, merged: boolean): any {
    const pr = this.requirePull(owner, repo, number);
    if (pr.state !== "open") throw new Error(`GitHub double: ${this.key(owner, repo, number)} is already closed`);
    const at = this.touch(pr);
    Object.assign(pr, { state: "closed", closed_at: at });
    if (merged) {
      const full = `${owner}/${repo}`;
      const baseHead = this.branchSha(full, pr.base.ref) ?? pr.base.sha;
      const mergeSha = sha1(`merge:${full}#${number}:${pr.head.sha}`);
      this.remember(full, mergeSha, [baseHead, pr.head.sha], `Merge pull request #${number} from ${pr.head.label}`);
      Object.assign(pr, { merged: true, merged_at: at, merge_commit_sha: mergeSha, merged_by: this.user("octocat"), mergeable: null, mergeable_state: "unknown" });
      this.setBranch(owner, repo, pr.base.ref, mergeSha);
    }
    return pr;
  }

  reopenPull(owner: string, repo: string, number: number): any {
    const pr = this.requirePull(owner, repo, number);
    if (pr.state === "open") throw new Error(`GitHub double: ${this.key(owner, repo, number)} is already open`);
    if (pr.merged) throw new Error(`GitHub double: ${this.key(owner, repo, number)} was merged; GitHub cannot reopen it`);
    Object.assign(pr, { state: "open", closed_at: null });
    const headRepo = pr.head?.repo?.full_name as string | undefined;
    const branchHead = headRepo && pr.head.ref ? this.branchSha(headRepo, pr.head.ref) : undefined;
    // Reopening picks up what was pushed to the head branch meanwhile.
    if (!(branchHead && this.moveHead(pr, branchHead))) this.touch(pr);
    return pr;
  }
}

function deepMerge(target: any, source: any): any {
  for (const [key, value] of Object.entries(source ?? {})) {
    const plain = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);
    target[key] = plain(value) && plain(target[key]) ? deepMerge(target[key], value) : value;
  }
  return target;
}
