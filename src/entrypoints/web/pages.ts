/**
 * The dashboard's pages, rendered on the server: every page works without JavaScript (forms
 * post, links navigate); /assets/app.js adds live updates (Server-Sent Events), the key picker
 * and checks as you type. Views only: what to show comes from src/app/web/dashboard.ts.
 */
import type { StagingList, StagingPage, StagingRow, RepoOverview, WebPerson } from "../../app/web/dashboard.ts";
import type { ChartKey } from "../../app/charts.ts";
import { hasRole } from "../../domain/roles.ts";
import { stagingStatuses } from "../../domain/state-machine.ts";
import type { StagingStatus } from "../../domain/state-machine.ts";
import { stagingDetailsView } from "../http-api/views.ts";
import { ago, html, money, raw, until } from "./html.ts";
import type { Html } from "./html.ts";

export interface PageContext {
  person: WebPerson | null;
  csrf: string;
  now: Date;
  demo: boolean;
  /** GitHub's web address (https://github.com, or a GitHub Enterprise Server). */
  githubUrl: string;
  /** Jira's site, for links to linked issues. */
  jiraUrl?: string;
  /** A message after a change (from the redirect's query). */
  notice?: string;
}

const statusLabel = (s: StagingStatus) => s.replace("_", " ");

function badge(status: StagingStatus): Html {
  return html`<span class="badge s-${status}">${statusLabel(status)}</span>`;
}

function layout(ctx: PageContext, title: string, active: "stagings" | "repos" | "new" | "none", body: Html): Html {
  const nav = ctx.person
    ? html`<nav aria-label="Main"><ul>
        <li><a href="/stagings" ${active === "stagings" ? raw('aria-current="page"') : ""}>Stagings</a></li>
        <li><a href="/repos" ${active === "repos" ? raw('aria-current="page"') : ""}>Repositories</a></li>
        <li><a href="/stagings/new" ${active === "new" ? raw('aria-current="page"') : ""}>New staging</a></li>
      </ul>
      <form method="post" action="/logout" class="signout"><input type="hidden" name="_csrf" value="${ctx.csrf}"><span class="who">${ctx.person.login}</span> <button type="submit" class="link">Sign out</button></form>
      </nav>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="csrf-token" content="${ctx.csrf}">
<title>${title} · Octostage${ctx.demo ? " (demo)" : ""}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${ctx.demo ? html`<p class="demo" role="note"><strong>Demo:</strong> simulated pull requests, cluster and GitHub, nothing here is real. <code>npm run demo</code> started it.</p>` : ""}
<header><a class="brand" href="/stagings">Octostage</a>${nav}</header>
<main id="main" tabindex="-1">
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ""}
${body}
</main>
</body>
</html>`;
}

export function loginPage(ctx: PageContext, error?: string): Html {
  return layout(
    ctx,
    "Sign in",
    "none",
    html`<section class="signin">
<h1>Sign in to Octostage</h1>
<p>Every staging of the repositories you can read on GitHub, live. What you may change follows your GitHub access: write access lets you create, redeploy, keep, archive and restore; admin access lets you delete.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<p><a class="button primary" href="/login/github">Sign in with GitHub</a></p>
</section>`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string): Html {
  const heading: Record<number, string> = { 401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Not possible now", 422: "Not accepted", 503: "Not available right now" };
  return layout(ctx, heading[status] ?? "Error", "none", html`<h1>${heading[status] ?? "Something went wrong"}</h1><p class="error" role="alert">${message}</p><p><a href="/stagings">All stagings</a></p>`);
}

function origin(row: StagingRow, githubUrl: string): Html {
  const s = row.staging;
  const repo = `${s.repoOwner}/${s.repoName}`;
  if (s.origin === "pull_request" && s.prNumber !== null) {
    return html`<a href="${githubUrl}/${repo}/pull/${s.prNumber}">${repo}#${s.prNumber}</a>${row.createdBy ? html` <span class="muted">by ${row.createdBy}</span>` : ""}`;
  }
  return html`${repo} <span class="muted">${s.imageTag ? `tag ${s.imageTag}` : s.headRef}${row.createdBy ? `, created by ${row.createdBy}` : ""}</span>`;
}

function costCell(row: StagingRow): string {
  const c = row.life.cost;
  return c ? `${money(c.currency, c.perDay)}/day` : "—";
}

/** One row of the stagings table (also sent alone by the live stream). */
export function stagingRowHtml(row: StagingRow, ctx: Pick<PageContext, "now" | "githubUrl">): Html {
  const s = row.staging;
  const sha = s.deployedSha ?? s.headSha;
  return html`<tr id="row-${s.name}" data-staging="${s.name}" data-status="${s.status}" data-version="${s.statusVersion}">
<th scope="row"><a href="/stagings/${s.name}">${s.name}</a></th>
<td>${origin(row, ctx.githubUrl)}</td>
<td>${badge(s.status)}${s.reason ? html`<div class="reason">${s.reason.slice(0, 300)}</div>` : ""}</td>
<td>${s.url && s.status !== "archived" && s.status !== "deleted" ? html`<a href="${s.url}" rel="noopener">${s.url.replace(/^https?:\/\//, "")}</a>` : "—"}</td>
<td>${sha ? html`<code>${sha.slice(0, 7)}</code>` : "—"}</td>
<td>${ago(s.statusChangedAt, ctx.now)}</td>
<td class="num">${costCell(row)}</td>
</tr>`;
}

export interface ListParams {
  repo?: string;
  status?: StagingStatus;
  q?: string;
  archived?: boolean;
}

function listQueryString(p: ListParams): string {
  const q = new URLSearchParams();
  if (p.repo) q.set("repo", p.repo);
  if (p.status) q.set("status", p.status);
  if (p.q) q.set("q", p.q);
  if (p.archived) q.set("archived", "1");
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function listPage(ctx: PageContext, list: StagingList, params: ListParams): Html {
  const rows = list.rows;
  return layout(
    ctx,
    "Stagings",
    "stagings",
    html`<h1>Stagings</h1>
<form class="filters" method="get" action="/stagings" role="search">
<label>Repository <select name="repo"><option value="">All</option>${list.repos.map((r) => html`<option value="${r.repo}" ${params.repo === r.repo ? raw("selected") : ""}>${r.repo}</option>`)}</select></label>
<label>Status <select name="status"><option value="">Any</option>${stagingStatuses.filter((s) => s !== "deleted").map((s) => html`<option value="${s}" ${params.status === s ? raw("selected") : ""}>${statusLabel(s)}</option>`)}</select></label>
<label>Name <input type="search" name="q" value="${params.q ?? ""}" placeholder="search by name" maxlength="63"></label>
<label class="check"><input type="checkbox" name="archived" value="1" ${params.archived ? raw("checked") : ""}> Show archived</label>
<button type="submit">Filter</button>
</form>
${list.unchecked.length ? html`<p class="warn" role="status">GitHub did not answer for ${list.unchecked.join(", ")}: its stagings are not shown. Reload in a moment.</p>` : ""}
${list.repos.length === 0 ? html`<p>You cannot read any repository Octostage serves on GitHub. Ask an owner of the repository for access.</p>` : ""}
<p class="muted" aria-live="polite">Shown: <span id="count">${rows.length}</span>${list.truncated.length ? ` (only the first 2,000 of ${list.truncated.join(", ")})` : ""}. Updated live.</p>
<div class="table-wrap">
<table class="stagings" data-live="/stagings/live${listQueryString(params)}${listQueryString(params) ? "&" : "?"}at=${ctx.now.getTime()}">
<caption class="sr-only">Stagings, most recently changed first</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Origin</th><th scope="col">Status</th><th scope="col">URL</th><th scope="col">Commit</th><th scope="col">Last change</th><th scope="col" class="num">Cost</th></tr></thead>
<tbody>${rows.map((r) => stagingRowHtml(r, ctx))}</tbody>
</table>
</div>`,
  );
}

const actionButtons = (ctx: PageContext, page: StagingPage): Html => {
  const s = page.row.staging;
  if (s.desiredState === "deleted") return html`<p class="muted">This staging was deleted: its namespace and volumes are gone (or going). Its history stays here.</p>`;
  const canOperate = hasRole(page.row.role, "operate");
  if (!canOperate) return html`<p class="muted">You can read this staging; changing it needs write access to ${s.repoOwner}/${s.repoName} on GitHub.</p>`;
  const form = (action: string, label: string, extra: Html | string = "", cls = "") =>
    html`<form method="post" action="/stagings/${s.name}/${action}" class="inline" ${cls === "danger" ? html`data-confirm="${`Delete ${s.name}? Its namespace and volumes are removed.`}"` : ""}><input type="hidden" name="_csrf" value="${ctx.csrf}">${extra}<button type="submit" class="${cls}">${label}</button></form>`;
  const archived = s.status === "archived" || s.desiredState === "archived";
  return html`<div class="actions">
${archived ? form("restore", "Restore", "", "primary") : html`${form("redeploy", "Redeploy")}${form("archive", "Archive")}`}
${form("keep", "Keep 7 days", html`<input type="hidden" name="keep" value="7d">`)}
${page.row.life.kept ? form("keep", "End keep", html`<input type="hidden" name="keep" value="off">`) : ""}
<a class="button" href="/stagings/${s.name}/edit">Edit</a>
${hasRole(page.row.role, "admin") ? form("delete", "Delete…", "", "danger") : ""}
</div>`;
};

/** The part of a staging's page that changes by itself (re-sent by its live stream). */
export function stagingLive(ctx: PageContext, page: StagingPage): Html {
  const s = page.row.staging;
  const life = page.row.life;
  const view = stagingDetailsView(page.details, page.secretKeys, life);
  const sha = s.deployedSha ?? s.headSha;
  return html`<section aria-labelledby="status-h" class="card">
<h2 id="status-h">Status</h2>
<p class="status-line">${badge(s.status)} ${s.reason ? html`<span class="reason">${s.reason}</span>` : ""}</p>
<dl class="facts">
<dt>URL</dt><dd>${s.url && s.status !== "archived" && s.desiredState !== "deleted" ? html`<a href="${s.url}" rel="noopener">${s.url}</a>` : (s.url ?? "—")}</dd>
<dt>Origin</dt><dd>${origin(page.row, ctx.githubUrl)}</dd>
<dt>Commit</dt><dd>${sha ? html`<code>${sha.slice(0, 12)}</code>` : "—"}${s.imageTag ? html` (image tag <code>${s.imageTag}</code>)` : ""}</dd>
<dt>Namespace</dt><dd><code>${s.namespace}</code></dd>
<dt>Last change</dt><dd>${ago(s.statusChangedAt, ctx.now)}</dd>
<dt>Cost</dt><dd>${life.cost ? `${money(life.cost.currency, life.cost.perDay)} per day, ${money(life.cost.currency, life.cost.toDate)} to date (estimate)` : "—"}</dd>
<dt>Keep</dt><dd>${life.kept ? (life.kept.by === "label" ? `kept by the ${life.kept.label} label` : life.kept.until ? html`kept, ends ${until(life.kept.until, ctx.now)}` : "kept until ended") : "not kept"}</dd>
<dt>Next</dt><dd>${life.next ? html`${life.next.action} ${until(life.next.at, ctx.now)} (${life.next.policy} policy)` : "nothing planned"}</dd>
<dt>Jira</dt><dd>${page.issues.length ? page.issues.map((k, i) => html`${i ? ", " : ""}${ctx.jiraUrl ? html`<a href="${ctx.jiraUrl}/browse/${k}">${k}</a>` : k}`) : "no linked issues"}</dd>
</dl>
${actionButtons(ctx, page)}
</section>
<section aria-labelledby="workloads-h" class="card">
<h2 id="workloads-h">Workloads</h2>
${s.workloads === null
  ? html`<p class="muted">Not observed yet: the worker shows them here once it has looked at the namespace.</p>`
  : html`<ul class="workloads">${s.workloads.workloads.map((w) => html`<li><code>${w.kind}/${w.name}</code> ${w.ready}/${w.desired} ready</li>`)}</ul>
${s.workloads.pods.length
  ? html`<div class="table-wrap"><table class="pods">
<thead><tr><th scope="col">Pod</th><th scope="col">Phase</th><th scope="col">Ready</th><th scope="col" class="num">Restarts</th><th scope="col">Problem</th></tr></thead>
<tbody>${s.workloads.pods.map((p) => html`<tr data-pod="${p.name}"><td><code>${p.name}</code></td><td>${p.phase}</td><td>${p.ready ? "yes" : "no"}</td><td class="num">${p.restarts}</td><td>${p.problem ? html`<span class="problem">${p.problem}</span>` : "—"}</td></tr>`)}</tbody>
</table></div>${s.workloads.morePods ? html`<p class="muted">and ${s.workloads.morePods} more pods</p>` : ""}`
  : html`<p class="muted">No pods.</p>`}`}
</section>
<section aria-labelledby="timeline-h" class="card">
<h2 id="timeline-h">Timeline</h2>
<ol class="timeline">${[...page.transitions].reverse().slice(0, 50).map((t) => html`<li>${ago(t.at, ctx.now)}: ${badge(t.from)} → ${badge(t.to)} <span class="muted">${t.cause}${t.reason ? `: ${t.reason}` : ""}</span></li>`)}</ol>
</section>
<section aria-labelledby="actions-h" class="card">
<h2 id="actions-h">Actions</h2>
<div class="table-wrap"><table>
<thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">State</th><th scope="col">Log</th></tr></thead>
<tbody>${[...page.actions].reverse().slice(0, 100).map((a) => html`<tr data-action="${a.kind}" data-state="${a.state}"><td>${ago(a.createdAt, ctx.now)}</td><td>${a.kind} <span class="muted">gen ${a.generation}</span></td><td>${a.actorName ?? a.actor} <span class="muted">(${a.source})</span></td><td>${a.state}${a.error ? html`<div class="reason">${a.error.slice(0, 300)}</div>` : ""}</td><td>${a.output ? html`<a href="/actions/${a.id}/log">helm log</a>` : "—"}</td></tr>`)}</tbody>
</table></div>
</section>
<section aria-labelledby="config-h" class="card">
<h2 id="config-h">Configuration</h2>
${view.config ? html`<p class="muted">Chart ${view.config.chart.name ?? view.config.chart.repository}${view.config.chart.version ? ` ${view.config.chart.version}` : ""}; deploy timeout ${view.config.deployTimeoutSeconds} s.</p>
<div class="table-wrap"><table class="config">
<thead><tr><th scope="col">Key</th><th scope="col">Value</th><th scope="col">From</th></tr></thead>
<tbody>${view.config.entries.map((e) => html`<tr><td><code>${e.scope === "deployment" ? "deployment: " : ""}${e.key}</code></td><td><code>${e.value === undefined ? "(unset)" : JSON.stringify(e.value).slice(0, 200)}</code></td><td>${e.source === "chart" ? "chart default" : e.source === "project" ? "project config" : e.source === "override" ? html`override by ${e.by ?? "?"}${e.at ? html`, ${ago(new Date(e.at), ctx.now)}` : ""}` : "unset"}</td></tr>`)}</tbody>
</table></div>` : html`<p>The project config no longer serves ${s.repoOwner}/${s.repoName}.</p>`}
</section>`;
}

export function stagingPageHtml(ctx: PageContext, page: StagingPage): Html {
  const s = page.row.staging;
  return layout(ctx, s.name, "none", html`<p class="crumbs"><a href="/stagings">Stagings</a> /</p><h1>${s.name}</h1><div id="live" data-live="/stagings/${s.name}/live">${stagingLive(ctx, page)}</div>`);
}

export interface FormValues {
  name: string;
  repo: string;
  ref: string;
  tag: string;
  follow: boolean;
  overrides: { key: string; value: string }[];
}

/** The create or edit form; `errors` by field name ("name", "repo", "ref", "tag", "override-<i>", "form"). */
export function formPage(
  ctx: PageContext,
  mode: { kind: "create"; repos: { repo: string; project: string }[] } | { kind: "edit"; name: string },
  values: FormValues,
  errors: Record<string, string> = {},
  keys?: ChartKey[],
): Html {
  const field = (name: string, label: string, input: Html, hint?: string) =>
    html`<div class="field ${errors[name] ? "has-error" : ""}"><label for="f-${name}">${label}</label>${input}${hint ? html`<p class="hint" id="h-${name}">${hint}</p>` : ""}<p class="field-error" id="e-${name}" ${errors[name] ? "" : raw("hidden")}>${errors[name] ?? ""}</p></div>`;
  const described = (name: string, hint: boolean) => raw(`aria-describedby="${hint ? `h-${name} ` : ""}e-${name}"${errors[name] ? ' aria-invalid="true"' : ""}`);
  const rows = [...values.overrides, { key: "", value: "" }];
  const action = mode.kind === "create" ? "/stagings" : `/stagings/${mode.name}/edit`;
  const title = mode.kind === "create" ? "New staging" : `Edit ${mode.name}`;
  return layout(
    ctx,
    title,
    mode.kind === "create" ? "new" : "none",
    html`<h1>${title}</h1>
${errors.form ? html`<p class="error" role="alert">${errors.form}</p>` : ""}
<form method="post" action="${action}" class="staging-form" novalidate data-check="/ui/check" data-keys="/ui/keys">
<input type="hidden" name="_csrf" value="${ctx.csrf}">
${mode.kind === "create"
  ? html`${field("name", "Name", html`<input id="f-name" name="name" required maxlength="40" pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?" value="${values.name}" ${described("name", true)}>`, "lower-case letters, digits and dashes; the staging's address and namespace come from it")}
${field("repo", "Repository", html`<select id="f-repo" name="repo" ${described("repo", false)}>${mode.repos.map((r) => html`<option value="${r.repo}" ${values.repo === r.repo ? raw("selected") : ""}>${r.repo}</option>`)}</select>`)}`
  : html`<input type="hidden" name="repo" value="${values.repo}" id="f-repo">`}
${field("ref", "Git ref", html`<input id="f-ref" name="ref" value="${values.ref}" maxlength="255" ${described("ref", true)}>`, "a branch, tag or commit SHA")}
${field("tag", "Image tag", html`<input id="f-tag" name="tag" value="${values.tag}" maxlength="128" ${described("tag", true)}>`, "instead of, or with, a ref: deploys this image tag")}
<div class="field check"><label><input type="checkbox" name="follow" value="1" ${values.follow ? raw("checked") : ""}> Follow the branch (a push to it updates the staging)</label></div>
<fieldset class="overrides">
<legend>Overrides</legend>
<p class="hint" id="h-keys">Pick a key of the chart (type to search; defaults and types are shown) or type your own. Values are typed like PR comments: <code>3</code> is a number, <code>true</code> a boolean, <code>"3"</code> a string.</p>
${keys ? html`<datalist id="chart-keys">${keys.slice(0, 1000).map((k) => html`<option value="${k.key}">${k.type}${"default" in k ? ` (default ${JSON.stringify(k.default)?.slice(0, 60)})` : ""}</option>`)}</datalist>` : html`<datalist id="chart-keys"></datalist>`}
<ol class="override-rows">
${rows.map((o, i) => html`<li class="override ${errors[`override-${i}`] ? "has-error" : ""}">
<label>Key <input name="key" list="chart-keys" value="${o.key}" maxlength="128" autocomplete="off" aria-describedby="e-override-${i}" ${errors[`override-${i}`] ? raw('aria-invalid="true"') : ""}></label>
<label>Value <input name="value" value="${o.value}" maxlength="1024" aria-describedby="e-override-${i}"></label>
<p class="key-info muted"></p>
<p class="field-error" id="e-override-${i}" ${errors[`override-${i}`] ? "" : raw("hidden")}>${errors[`override-${i}`] ?? ""}</p>
</li>`)}
</ol>
<button type="button" class="add-override" hidden>Add another override</button>
</fieldset>
<p><button type="submit" class="primary">${mode.kind === "create" ? "Create staging" : "Save changes"}</button> <a href="${mode.kind === "create" ? "/stagings" : `/stagings/${mode.name}`}">Cancel</a></p>
</form>`,
  );
}

export function reposPage(ctx: PageContext, data: { repos: RepoOverview[]; unchecked: string[] }): Html {
  return layout(
    ctx,
    "Repositories",
    "repos",
    html`<h1>Repositories</h1>
${data.unchecked.length ? html`<p class="warn" role="status">GitHub did not answer for ${data.unchecked.join(", ")}.</p>` : ""}
<div class="cards">${data.repos.map(
      (r) => html`<section class="card" aria-labelledby="repo-${r.project}">
<h2 id="repo-${r.project}"><a href="/stagings?repo=${encodeURIComponent(r.repo)}&amp;archived=1">${r.repo}</a></h2>
<p class="muted">Your access: ${r.role === "admin" ? "admin" : r.role === "operate" ? "write" : "read"}</p>
<dl class="facts">
<dt>Running</dt><dd>${(r.counts.running ?? 0) + (r.counts.deploying ?? 0) + (r.counts.degraded ?? 0)}</dd>
<dt>Failed</dt><dd>${r.counts.failed ?? 0}</dd>
<dt>Archived</dt><dd>${r.counts.archived ?? 0}</dd>
<dt>Cost per day</dt><dd>${r.cost ? money(r.cost.currency, r.cost.perDay) : "no prices configured"}</dd>
<dt>Cost to date</dt><dd>${r.cost ? money(r.cost.currency, r.cost.toDate) : "—"}</dd>
<dt>Saved by archiving</dt><dd>${r.cost ? `${money(r.cost.currency, r.cost.savedToDate)} (${money(r.cost.currency, r.cost.savedPerDay)} per day now)` : "—"}</dd>
</dl>
<h3>Due for cleanup</h3>
${r.dueForCleanup.length ? html`<ul>${r.dueForCleanup.slice(0, 20).map((d) => html`<li><a href="/stagings/${d.name}">${d.name}</a> ${until(d.at, ctx.now)}</li>`)}</ul>` : html`<p class="muted">None.</p>`}
</section>`,
    )}</div>`,
  );
}

export function logPage(ctx: PageContext, log: { id: string; staging: string | null; kind: string; state: string; log: string }): Html {
  return layout(
    ctx,
    `${log.kind} log`,
    "none",
    html`<p class="crumbs"><a href="/stagings">Stagings</a> / ${log.staging ? html`<a href="/stagings/${log.staging}">${log.staging}</a> /` : ""}</p>
<h1>${log.kind} (${log.state})</h1>
<p class="muted">helm's output, secrets redacted, the last 16,000 characters.</p>
<pre class="log" tabindex="0">${log.log || "(empty)"}</pre>`,
  );
}
