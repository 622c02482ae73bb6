import { z } from "zod";
import type { PullRequestEvent } from "../app/request-pull-request-staging.ts";
import type { PullRequestEdit } from "../app/jira/link-issues.ts";

/** The subset of GitHub's `pull_request` payload Octostage reads, checked at the edge. */
const repoRef = z.object({ full_name: z.string() });

const pullRequestPayload = z.object({
  action: z.enum(["opened", "reopened", "synchronize", "ready_for_review", "converted_to_draft", "labeled", "unlabeled", "closed"]),
  installation: z.object({ id: z.number().int() }),
  repository: z.object({ name: z.string(), owner: z.object({ login: z.string() }), full_name: z.string() }),
  sender: z.object({ login: z.string() }),
  pull_request: z.object({
    number: z.number().int().positive(),
    state: z.enum(["open", "closed"]),
    merged: z.boolean().nullable().optional(),
    title: z.string().max(1024).optional(),
    body: z.string().nullable().optional(),
    updated_at: z.iso.datetime({ offset: true }).nullable().optional(),
    draft: z.boolean().optional().default(false),
    labels: z.array(z.object({ name: z.string() })).default([]),
    head: z.object({ sha: z.string().regex(/^[0-9a-f]{7,64}$/), ref: z.string(), repo: repoRef.nullable() }),
    base: z.object({ repo: repoRef }),
  }),
});

export function toPullRequestEvent(deliveryId: string, raw: unknown): PullRequestEvent {
  const p = pullRequestPayload.parse(raw);
  const pr = p.pull_request;
  return {
    deliveryId,
    action: p.action,
    state: pr.state,
    merged: pr.merged === true,
    title: pr.title ?? "",
    body: pr.body ?? "",
    // GitHub's clock: orders events (a late redelivery of an older one changes nothing).
    updatedAt: pr.updated_at ? new Date(pr.updated_at) : null,
    installationId: p.installation.id,
    owner: p.repository.owner.login,
    repo: p.repository.name,
    number: pr.number,
    sender: p.sender.login,
    headSha: pr.head.sha,
    headRef: pr.head.ref,
    draft: pr.draft,
    labels: pr.labels.map((l) => l.name),
    // A deleted fork has no head repo: treat it as a fork, never as trusted.
    fromFork: pr.head.repo === null || pr.head.repo.full_name.toLowerCase() !== pr.base.repo.full_name.toLowerCase(),
  };
}

/** `pull_request.edited`: what Jira linking reads (the title and body may name issues now). */
const pullRequestEditPayload = z.object({
  action: z.literal("edited"),
  repository: z.object({ name: z.string(), owner: z.object({ login: z.string() }) }),
  pull_request: z.object({
    number: z.number().int().positive(),
    title: z.string().max(1024),
    body: z.string().nullable().optional(),
    head: z.object({ ref: z.string() }),
  }),
});

export function toPullRequestEdit(raw: unknown): PullRequestEdit {
  const p = pullRequestEditPayload.parse(raw);
  return { owner: p.repository.owner.login, repo: p.repository.name, number: p.pull_request.number, headRef: p.pull_request.head.ref, title: p.pull_request.title, body: p.pull_request.body ?? "" };
}
