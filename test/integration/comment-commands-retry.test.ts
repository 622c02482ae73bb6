// A comment-command job that fails after its commands ran (GitHub refused the reply, or the
// worker died after posting) is retried: the retry posts the saved reply at most once and does
// not run the commands again.
import { expect, it } from "vitest";
import { runCommentCommands } from "../../src/app/run-comment-commands.ts";
import { GitHubError } from "../../src/ports/code-host.ts";
import type { CodeHost } from "../../src/ports/code-host.ts";
import type { NewCommand, StagingStore } from "../../src/ports/store.ts";
import { pushed, sha, testProject, testRepo } from "../support/builders.ts";
import { useWorkerDoubles } from "../support/worker-doubles.ts";
import { workerDeps } from "../support/worker-deps.ts";

const doubles = useWorkerDoubles();

function comment(pr: number, commentId: number, body: string): NewCommand {
  return { source: "github", externalId: String(commentId), deliveryId: `delivery-${commentId}`, installationId: 42, repoOwner: testRepo.owner, repoName: testRepo.repo, prNumber: pr, commentId, commentedAt: new Date(), actor: "dev", body };
}

/** A PR's comments as GitHub keeps them; ensureComment finds a reply by its hidden marker. */
function fakeGitHub(base: CodeHost, failFirstPost: boolean) {
  const posted: string[] = [];
  let fail = failFirstPost;
  const codeHost: CodeHost = {
    ...base,
    getPermission: async () => "write",
    addReaction: async () => undefined,
    postComment: async (_pr, body) => {
      if (fail) {
        fail = false;
        throw new Error("GitHub answered 502");
      }
      posted.push(body);
      return { id: posted.length };
    },
    ensureComment: async (_pr, marker, body) => {
      const found = posted.findIndex((p) => p.includes(`<!-- ${marker} -->`));
      if (found >= 0) return { id: found + 1 };
      posted.push(`${body}\n\n<!-- ${marker} -->`);
      return { id: posted.length };
    },
  };
  return { codeHost, posted };
}

it("a retried command job posts the saved reply once and runs nothing twice", async () => {
  const { db, kube, helm } = doubles;
  const staging = await pushed(db.store, 31, sha(31));
  const base = workerDeps(db, kube, helm);
  const { codeHost, posted } = fakeGitHub(base.codeHost, true);
  const deps = { ...base, codeHost };
  const { command } = await db.store.recordCommand(comment(31, 9031, "/octo override replicaCount=3\n/octo redeploy"));

  await expect(runCommentCommands(deps, command.id)).rejects.toThrow("GitHub answered 502");
  const deploysAfterFirst = deps.queue.deploys.length;
  expect(deploysAfterFirst).toBeGreaterThan(0);

  await runCommentCommands(deps, command.id); // BullMQ's retry
  await runCommentCommands(deps, command.id); // and a stray third run
  expect(posted).toHaveLength(1);
  expect(posted[0]).toContain("override `replicaCount=3` saved");
  expect(posted[0]).toContain("Redeploying");
  const overrides = await db.store.listOverrides(staging.id);
  expect(overrides.filter((o) => o.key === "replicaCount")).toHaveLength(1);
  expect(deps.queue.deploys).toHaveLength(deploysAfterFirst);
  const actions = await db.db.action.findMany({ where: { stagingId: staging.id } });
  const fromComment = actions.filter((a) => (a.detail as { commentId?: number } | null)?.commentId === 9031);
  expect(fromComment.map((a) => a.kind).sort()).toEqual(["deploy", "override"]);
});

it("a worker that died after posting the reply (before recording it) does not post it again", async () => {
  const { db, kube, helm } = doubles;
  await pushed(db.store, 32, sha(32));
  const base = workerDeps(db, kube, helm);
  const { codeHost, posted } = fakeGitHub(base.codeHost, false);
  let dieAfterPosting = true;
  const store: StagingStore = {
    ...db.store,
    markCommandReplied: async (id) => {
      if (dieAfterPosting) {
        dieAfterPosting = false;
        throw new Error("worker killed");
      }
      return db.store.markCommandReplied(id);
    },
  };
  const deps = { ...base, codeHost, store };
  const { command } = await db.store.recordCommand(comment(32, 9032, "/octo redeploy"));
  await expect(runCommentCommands(deps, command.id)).rejects.toThrow("worker killed");
  await runCommentCommands(deps, command.id);
  expect(posted).toHaveLength(1);
  expect((await db.store.getCommand(command.id))!.state).toBe("replied");
});

it("a reply longer than GitHub's 65,536 characters is split into comments that each fit, nothing lost", async () => {
  const { db, kube, helm } = doubles;
  // Ten `/octo config` in one comment, each listing 150 defaults of 60 characters: about 150,000 characters.
  const values = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`key${i}`, "v".repeat(60)]));
  const project = testProject({ values });
  await pushed(db.store, 33, sha(33), { project });
  const base = workerDeps(db, kube, helm, "worker-1", { project });
  const { codeHost, posted } = fakeGitHub(base.codeHost, false);
  const { command } = await db.store.recordCommand(comment(33, 9033, Array.from({ length: 10 }, () => "/octo config").join("\n")));
  await runCommentCommands({ ...base, codeHost }, command.id);
  expect(posted.length).toBeGreaterThan(1);
  for (const p of posted) expect(p.length).toBeLessThanOrEqual(65_536);
  const all = posted.join("\n");
  expect(all.match(/\*\*Effective configuration\*\*/g)).toHaveLength(10);
  expect(all.match(/`key149`/g)).toHaveLength(10);
  // A table continued in the next comment starts with its header again.
  for (const p of posted.slice(1)) if (p.startsWith("|")) expect(p.startsWith("| Key | Value | Origin |")).toBe(true);
});

it("a reply GitHub refuses for good (app uninstalled, permission removed) settles the command instead of retrying it for ever", async () => {
  const { db, kube, helm } = doubles;
  await pushed(db.store, 34, sha(34));
  const base = workerDeps(db, kube, helm);
  const codeHost: CodeHost = {
    ...base.codeHost,
    getPermission: async () => "write",
    addReaction: async () => undefined,
    postComment: async () => {
      throw new GitHubError("forbidden", "issues.createComment", { status: 403 });
    },
  };
  const { command } = await db.store.recordCommand(comment(34, 9034, "/octo status"));
  await runCommentCommands({ ...base, codeHost }, command.id);
  expect((await db.store.getCommand(command.id))!.state).toBe("replied");
  expect((await db.store.listWork(new Date(Date.now() + 3_600_000))).commands.map((c) => c.id)).not.toContain(command.id);
  // A transient failure is still retried.
  const transient: CodeHost = { ...codeHost, postComment: async () => Promise.reject(new GitHubError("transient", "issues.createComment", { status: 502 })) };
  const again = await db.store.recordCommand(comment(34, 9035, "/octo status"));
  await expect(runCommentCommands({ ...base, codeHost: transient }, again.command.id)).rejects.toMatchObject({ code: "transient" });
  expect((await db.store.getCommand(again.command.id))!.state).toBe("queued");
});
