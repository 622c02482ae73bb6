/**
 * The `octo` CLI's HTTP client for /api/v1 and its login file. It loads nothing of the server:
 * only Node's fetch and file system.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface Login {
  url: string;
  token: string;
}

export class CliError extends Error {
  readonly exitCode: number;
  readonly code: string | undefined;
  constructor(message: string, exitCode: number, code?: string) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** Exit codes (docs/users/cli.md): 0 ok, 1 the staging failed, 2 usage, 3 authentication, 4 not found, 5 timeout, 6 refused (conflict, invalid), 7 server or network. */
export const exitCodes = { ok: 0, failed: 1, usage: 2, auth: 3, notFound: 4, timeout: 5, refused: 6, unavailable: 7 } as const;

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "octostage", "login.json");
}

export function saveLogin(login: Login, env: NodeJS.ProcessEnv = process.env): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
  return path;
}

/** OCTOSTAGE_URL and OCTOSTAGE_TOKEN win over the login file. */
export function loadLogin(env: NodeJS.ProcessEnv = process.env): Login {
  let saved: Partial<Login> = {};
  const path = configPath(env);
  if (existsSync(path)) {
    if (statSync(path).mode & 0o077) process.stderr.write(`warning: ${path} is readable by other users: chmod 600 it\n`);
    try {
      saved = JSON.parse(readFileSync(path, "utf8")) as Partial<Login>;
    } catch {
      throw new CliError(`${path} is not valid JSON: run \`octo login\` again`, exitCodes.auth);
    }
  }
  const url = env.OCTOSTAGE_URL || saved.url;
  const token = env.OCTOSTAGE_TOKEN || saved.token;
  if (!url || !token) throw new CliError("not logged in: run `octo login URL` (or set OCTOSTAGE_URL and OCTOSTAGE_TOKEN)", exitCodes.auth);
  return { url: url.replace(/\/+$/, ""), token };
}

const exitFor: Record<string, number> = {
  unauthorized: exitCodes.auth,
  forbidden: exitCodes.auth,
  not_found: exitCodes.notFound,
  conflict: exitCodes.refused,
  invalid: exitCodes.refused,
  invalid_request: exitCodes.usage,
  idempotency_key_reused: exitCodes.refused,
  rate_limited: exitCodes.unavailable,
  unavailable: exitCodes.unavailable,
};

export interface Client {
  login: Login;
  request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** The raw response of a GET (the event stream); `signal` ends it (the body's reads then throw). */
  stream(path: string, lastEventId?: string, signal?: AbortSignal): Promise<Response>;
}

export function createClient(login: Login): Client {
  const headers = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${login.token}`, accept: "application/json", ...extra });
  async function send(method: string, path: string, body: unknown, extra: Record<string, string>): Promise<Response> {
    try {
      return await fetch(`${login.url}${path}`, {
        method,
        headers: headers(body === undefined ? extra : { "content-type": "application/json", ...extra }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new CliError(`cannot reach Octostage at ${login.url}: ${cause ?? (err as Error).message}`, exitCodes.unavailable);
    }
  }
  return {
    login,
    async request<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
      const res = await send(method, path, body, extra);
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        throw new CliError(`unexpected answer from ${login.url} (HTTP ${res.status}): is it an Octostage server?`, exitCodes.unavailable);
      }
      if (!res.ok) {
        const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
        throw new CliError(error?.message ?? `HTTP ${res.status}`, exitFor[error?.code ?? ""] ?? exitCodes.unavailable, error?.code);
      }
      return parsed as T;
    },
    async stream(path, lastEventId, signal) {
      const res = await fetch(`${login.url}${path}`, { headers: headers({ accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) }), ...(signal ? { signal } : {}) }).catch((err: unknown) => {
        throw new CliError(`cannot reach Octostage at ${login.url}: ${(err as Error).message}`, exitCodes.unavailable);
      });
      if (!res.ok) {
        const parsed = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
        throw new CliError(parsed?.error?.message ?? `HTTP ${res.status}`, exitFor[parsed?.error?.code ?? ""] ?? exitCodes.unavailable, parsed?.error?.code);
      }
      return res;
    },
  };
}

/** Server-Sent Events from a response body: `{ event, id, data }` as they arrive. */
export async function* serverEvents(res: Response): AsyncGenerator<{ event: string; id: string | undefined; data: string }> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      let event = "message";
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        const [field, ...rest] = line.split(":");
        const value = rest.join(":").replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "id") id = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) yield { event, id, data: data.join("\n") };
    }
  }
}
