// A comment-command job that fails after its commands ran (GitHub refused the reply) is retried
// by BullMQ: the retry posts the saved reply and does not run the commands again.
import { expect, it } from "vitest";
import { runCommentCommands } from "../../src/app/run-comment-commands.ts";
import type { CodeHost } from "../../src/ports/code-host.ts";
import { deployIntent, sha, testRepo } from "../support/builders.ts";
import { useWorkerDoubles } from "../support/worker-doubles.ts";
import { workerDeps } from "../support/worker-deps.ts";

const doubles = useWorkerDoubles();

it("a retried command job posts the saved reply once and runs nothing twice", async () => {
  const { db, kube, helm } = doubles;
  const out = await db.store.recordIntent(deployIntent(31, sha(31)));
  if (out.outcome !== "recorded") throw new Error("not recorded");
  const posted: string[] = [];
  let failNextPost = true;
  const codeHost: CodeHost = {
    ...workerDeps(db, kube, helm).codeHost,
    getPermission: async () => "write",
    addReaction: async () => undefined,
    postComment: async (_pr, body) => {
      if (failNextPost) {
        failNextPost = false;
        throw new Error("GitHub answered 502");
      }
      posted.push(body);
      return { id: posted.length };
    },
  };
  const deps = { ...workerDeps(db, kube, helm), codeHost };
  const job = { deliveryId: "delivery-31", installationId: 42, owner: testRepo.owner, repo: testRepo.repo, number: 31, commentId: 9031, body: "/octo override replicaCount=3\n/octo redeploy", actor: "dev" };

  await expect(runCommentCommands(deps, job)).rejects.toThrow("GitHub answered 502");
  const deploysAfterFirst = deps.queue.deploys.length;
  expect(deploysAfterFirst).toBeGreaterThan(0);

  await runCommentCommands(deps, job); // BullMQ's retry
  await runCommentCommands(deps, job); // and a stray third run
  expect(posted).toHaveLength(1);
  expect(posted[0]).toContain("override `replicaCount=3` saved");
  expect(posted[0]).toContain("Redeploying");
  const overrides = await db.store.listOverrides(out.staging.id);
  expect(overrides.filter((o) => o.key === "replicaCount")).toHaveLength(1);
  expect(deps.queue.deploys).toHaveLength(deploysAfterFirst);
  const actions = await db.db.action.findMany({ where: { stagingId: out.staging.id } });
  const fromComment = actions.filter((a) => (a.detail as { commentId?: number } | null)?.commentId === 9031);
  expect(fromComment.map((a) => a.kind).sort()).toEqual(["deploy", "override"]);
});
