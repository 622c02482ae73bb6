import { describe, expect, test } from "vitest";
import { z } from "zod";
import { ConfigError, describeIssues } from "../../src/config/errors.ts";

function issuesOf(schema: z.ZodType, input: unknown): z.ZodError {
  const parsed = schema.safeParse(input);
  if (parsed.success) throw new Error("expected a parse failure");
  return parsed.error;
}

describe("ConfigError", () => {
  test("is an Error with a stable code, the problems, and one line per problem in its message", () => {
    const err = new ConfigError("environment", ["PORT: bad", "REDIS_URL: bad"]);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("ConfigError");
    expect(err.code).toBe("invalid_config");
    expect(err.problems).toEqual(["PORT: bad", "REDIS_URL: bad"]);
    expect(err.message).toBe("Invalid environment:\n  - PORT: bad\n  - REDIS_URL: bad");
    expect(String(err)).toContain("ConfigError: Invalid environment");
  });
});

describe("describeIssues", () => {
  const schema = z.object({
    repositories: z.array(z.object({ chart: z.object({ name: z.string().min(2, "too short") }) })),
    port: z.number(),
  });

  test("names each field by its path, list indexes in brackets", () => {
    const problems = describeIssues(issuesOf(schema, { repositories: [{ chart: { name: "ok" } }, { chart: { name: "x" } }], port: "80" }));
    expect(problems).toEqual(["repositories[1].chart.name: too short", expect.stringMatching(/^port: .*number/)]);
  });

  test("nested lists and the root read naturally", () => {
    const nested = z.object({ m: z.array(z.array(z.string())) });
    expect(describeIssues(issuesOf(nested, { m: [["a"], ["b", 1]] }))).toEqual([expect.stringMatching(/^m\[1\]\[1\]: /)]);
    expect(describeIssues(issuesOf(z.string(), 3))).toEqual([expect.stringMatching(/^\(root\): /)]);
  });

  test("a prefix comes before the path", () => {
    expect(describeIssues(issuesOf(z.object({ a: z.string() }), { a: 1 }), "config")).toEqual([expect.stringMatching(/^config\.a: /)]);
    expect(describeIssues(issuesOf(z.string(), 1), "config")).toEqual([expect.stringMatching(/^config: /)]);
    const list = z.array(z.object({ a: z.string() }));
    expect(describeIssues(issuesOf(list, [{ a: 1 }]), "repositories")).toEqual([expect.stringMatching(/^repositories\[0\]\.a: /)]);
  });
});
