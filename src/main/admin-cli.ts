/**
 * Server-side commands for operators, run where Octostage runs (DATABASE_URL from the
 * environment or .env): `octostage token create NAME --role admin` prints a new API token once
 * (the first admin token comes from here), `token list`, `token revoke NAME`.
 */
import { Command, InvalidArgumentError } from "commander";
import { applyMigrations } from "../adapters/db/migrate.ts";
import { createDb } from "../adapters/db/prisma.ts";
import { createTokenStore } from "../adapters/db/token-store.ts";
import { createToken, listTokens, operatorCaller, revokeToken } from "../app/tokens.ts";
import { roles } from "../domain/roles.ts";
import type { Role } from "../domain/roles.ts";
import { systemClock } from "../ports/clock.ts";

function role(value: string): Role {
  const found = roles.find((r) => r === value);
  if (!found) throw new InvalidArgumentError(`one of ${roles.join(", ")}`);
  return found;
}

function days(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a whole number of days, at least 1");
  return n;
}

/** Runs `octostage <argv>`; resolves with the exit code. */
export async function runAdminCommand(argv: string[], databaseUrl: string, out = process.stdout, err = process.stderr): Promise<number> {
  let code = 0;
  const withTokens = async <T>(run: (deps: { tokens: ReturnType<typeof createTokenStore>; clock: typeof systemClock }) => Promise<T>): Promise<T> => {
    await applyMigrations({ databaseUrl });
    const db = createDb(databaseUrl);
    try {
      return await run({ tokens: createTokenStore(db), clock: systemClock });
    } finally {
      await db.$disconnect();
    }
  };
  const program = new Command("octostage").description("Octostage's server-side commands (the server itself: `npm start`)").exitOverride().showSuggestionAfterError();
  program.configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  const token = program.command("token").description("API tokens for the octo CLI and CI");
  token
    .command("create")
    .argument("<name>", "the token's name (shown in audit logs)")
    .requiredOption("--role <role>", `${roles.join(", ")}`, role)
    .option("--expires-in-days <days>", "expire after this many days", days)
    .description("create an API token; it is printed once, only its hash is kept")
    .action(async (name: string, o: { role: Role; expiresInDays?: number }) => {
      const result = await withTokens((deps) => createToken(deps, operatorCaller, { name, role: o.role, ...(o.expiresInDays ? { expiresInDays: o.expiresInDays } : {}) }));
      if (!result.ok) {
        err.write(`error: ${result.message}\n`);
        code = 1;
        return;
      }
      out.write(`${result.value.token}\n`);
      err.write(`token "${name}" (${o.role}) created: it is shown only now; \`octo login\` takes it\n`);
    });
  token
    .command("list")
    .description("list API tokens (never the tokens themselves)")
    .action(async () => {
      const result = await withTokens((deps) => listTokens(deps, operatorCaller));
      if (!result.ok) return;
      for (const t of result.value) {
        const state = t.revokedAt ? "revoked" : t.expiresAt && t.expiresAt < new Date() ? "expired" : "active";
        out.write(`${t.name}\t${t.role}\t${t.prefix}…\t${state}\t${t.expiresAt?.toISOString() ?? "never expires"}\n`);
      }
    });
  token
    .command("revoke")
    .argument("<name>")
    .description("revoke an API token at once")
    .action(async (name: string) => {
      const result = await withTokens((deps) => revokeToken(deps, operatorCaller, name));
      if (!result.ok) {
        err.write(`error: ${result.message}\n`);
        code = 1;
        return;
      }
      err.write(`token "${name}" revoked\n`);
    });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    const exit = (e as { exitCode?: number }).exitCode;
    if (typeof exit !== "number") throw e;
    return exit === 0 ? 0 : 2;
  }
  return code;
}
