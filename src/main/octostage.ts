#!/usr/bin/env node
// `npm start`: server and worker in one process (OCTOSTAGE_ROLE=server|worker to split them).
// With arguments, a server-side command instead (`octostage token create NAME --role admin`).
import { existsSync, statSync } from "node:fs";
import { ConfigError } from "../config/errors.ts";
import { parseEnv } from "../config/env.ts";
import { startOctostage } from "./start.ts";

if (existsSync(".env")) {
  const mode = statSync(".env").mode & 0o777;
  if (mode & 0o077) console.error(`warning: .env (mode ${mode.toString(8)}) is readable by other users and may hold Octostage's private key: run \`chmod 600 .env\``);
  process.loadEnvFile(".env");
}

if (process.argv.length > 2) {
  // `octostage token create NAME --role admin` and the other server-side commands.
  const { runAdminCommand } = await import("./admin-cli.ts");
  const env = parseEnv(process.env);
  process.exit(await runAdminCommand(process.argv.slice(2), env.DATABASE_URL));
}

try {
  const env = parseEnv(process.env);
  const app = await startOctostage({ env });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`received ${signal}, shutting down`);
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
