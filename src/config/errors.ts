import type { z } from "zod";

/** Bad configuration: start-up stops with one line per problem, each naming the field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "invalid_config";
  readonly problems: string[];

  constructor(source: string, problems: string[]) {
    super(`Invalid ${source}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

export function describeIssues(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".");
    const where = [prefix, path].filter(Boolean).join(".").replace(/\.\[/g, "[");
    return `${where || "(root)"}: ${issue.message}`;
  });
}
