// Overrides that would break the values document are refused with the rule, and change nothing:
// a list item past the end (`env[5]` on a 2-item list used to fail the deploy five times,
// without a reply), values too large. Real Postgres, the comment-command runner.
import { expect, it } from "vitest";
import { runCommentCommands } from "../../src/app/run-comment-commands.ts";
import { valuesDocumentProblem, valuesLimits } from "../../src/domain/overrides-validation.ts";
import type { CodeHost } from "../../src/ports/code-host.ts";
import { pushed, sha, testProject, testRepo } from "../support/builders.ts";
import { useWorkerDoubles } from "../support/worker-doubles.ts";
import { workerDeps } from "../support/worker-deps.ts";

const doubles = useWorkerDoubles();
const project = testProject({ values: { env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] } });

async function comment(pr: number, id: number, body: string): Promise<string> {
  const { db, kube, helm } = doubles;
  const posted: string[] = [];
  const base = workerDeps(db, kube, helm, "w", { project });
  const codeHost: CodeHost = { ...base.codeHost, getPermission: async () => "write", addReaction: async () => undefined, postComment: async (_pr, body) => ({ id: posted.push(body) }) };
  const { command } = await db.store.recordCommand({ source: "github", externalId: String(id), deliveryId: `d-${id}`, installationId: 42, repoOwner: testRepo.owner, repoName: testRepo.repo, prNumber: pr, commentId: id, commentedAt: new Date(), actor: "dev", body });
  await runCommentCommands({ ...base, codeHost }, command.id);
  return posted.join("\n");
}

it("a list item past the end is refused with the rule, and nothing changes; the next index is fine", async () => {
  const { db } = doubles;
  const s = await pushed(db.store, 40, sha(40), { project });
  const refused = await comment(40, 9401, "/octo override env[5].value=x");
  expect(refused).toContain("env[2] would leave a hole in the list env");
  expect(refused).toContain("Nothing was changed");
  expect((await db.store.get(s.id))!.generation).toBe(s.generation);
  expect(await db.store.listOverrides(s.id)).toEqual([]);
  const accepted = await comment(40, 9402, "/octo override env[2].name=C env[2].value=3");
  expect(accepted).toContain("saved");
  expect((await db.store.get(s.id))!.desiredSpec.values).toMatchObject({ env: [{ name: "A" }, { name: "B" }, { name: "C", value: 3 }] });
});

it("the values a staging may add up to are bounded: size and number of overridden keys", () => {
  expect(valuesDocumentProblem({ a: "x".repeat(valuesLimits.maxValuesBytes) }, 1, undefined)).toMatch(/would be 257 KiB: at most 256 KiB/);
  expect(valuesDocumentProblem({ a: 1 }, valuesLimits.maxOverrides + 1, undefined)).toMatch(/501 overridden keys: at most 500/);
  expect(valuesDocumentProblem({ a: 1 }, 3, undefined)).toBeUndefined();
});

it("the value policy refuses templates and keys that leave the sandbox, from every surface, and ignores stored ones", async () => {
  const { db } = doubles;
  const s = await pushed(db.store, 41, sha(41), { project });
  for (const [body, rule] of [
    ["/octo override securityContext.privileged=true", 'refuses keys matching "*securityContext*"'],
    ["/octo override web.volumes[0].hostPath.path=/", 'refuses keys matching "*hostPath*"'],
    ["/octo override namespaceOverride=kube-system", 'refuses keys matching "namespaceOverride"'],
    ['/octo override podAnnotations.x="{{ (lookup \\"v1\\" \\"Secret\\" \\"octostage\\" \\"octostage\\").data }}"', 'contains "{{"'],
    ["/octo unset containerSecurityContext", 'refuses keys matching "*securityContext*"'],
  ] as const) {
    const reply = await comment(41, 9410 + body.length, body);
    expect(reply, body).toContain(rule);
    expect(reply).toContain("Nothing was changed");
  }
  expect(await db.store.listOverrides(s.id)).toEqual([]);
  expect((await db.store.get(s.id))!.generation).toBe(s.generation);
  // An override stored before the policy (or before it got stricter) never reaches helm.
  const { effectiveConfig } = await import("../../src/domain/overrides.ts");
  const cfg = effectiveConfig(project.repositories[0]!, [{ scope: "app", key: "securityContext.privileged", op: "set", value: true, actor: "old", source: "github", at: new Date() }]);
  expect(cfg.values).not.toHaveProperty("securityContext");
});
