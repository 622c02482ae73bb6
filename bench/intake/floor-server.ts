// The intake floor: the least durable work a webhook needs, done as plainly as Node allows, so
// bench:intake can show Octostage's figures beside it (issue 14). Per POST: check the
// X-Hub-Signature-256 HMAC, parse the JSON, one PostgreSQL transaction with three writes (the
// delivery, the staging's upsert with a new generation, an audit row), one Redis push, 200.
// A replayed delivery id is answered 200 and writes nothing more. It runs as its own process:
//   node bench/intake/floor-server.ts   (env: PORT, DATABASE_URL, REDIS_URL, WEBHOOK_SECRET, FLOOR_KEY)
// and prints `listening <port>` once it accepts requests.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";

const secret = process.env.WEBHOOK_SECRET ?? "";
const key = process.env.FLOOR_KEY ?? "floor";
const maxBytes = 2 * 1024 * 1024;
if (!secret) throw new Error("WEBHOOK_SECRET is required");

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });

await pool.query(`
  CREATE TABLE IF NOT EXISTS floor_delivery (id text PRIMARY KEY, event text NOT NULL, received_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS floor_staging (repo text NOT NULL, pr int NOT NULL, head_sha text NOT NULL, generation int NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (repo, pr));
  CREATE TABLE IF NOT EXISTS floor_action (id bigserial PRIMARY KEY, repo text NOT NULL, pr int NOT NULL, delivery_id text NOT NULL, kind text NOT NULL, generation int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
`);

function signed(body: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith("sha256=")) return false;
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

interface PullRequestEvent {
  repository?: { full_name?: string };
  pull_request?: { number?: number; head?: { sha?: string } };
}

async function record(id: string, event: string, repo: string, pr: number, sha: string): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const delivery = await client.query("INSERT INTO floor_delivery (id, event) VALUES ($1, $2) ON CONFLICT DO NOTHING", [id, event]);
    if (delivery.rowCount === 0) {
      await client.query("COMMIT");
      return false;
    }
    const staging = await client.query<{ generation: number }>(
      `INSERT INTO floor_staging (repo, pr, head_sha) VALUES ($1, $2, $3)
       ON CONFLICT (repo, pr) DO UPDATE SET head_sha = EXCLUDED.head_sha, generation = floor_staging.generation + 1, updated_at = now()
       RETURNING generation`,
      [repo, pr, sha],
    );
    await client.query("INSERT INTO floor_action (repo, pr, delivery_id, kind, generation) VALUES ($1, $2, $3, 'deploy', $4)", [repo, pr, id, staging.rows[0]!.generation]);
    await client.query("COMMIT");
    return true;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const server = createServer((req, res) => {
  const answer = (status: number, body: string): void => void res.writeHead(status, { "content-type": "text/plain" }).end(body);
  if (req.method !== "POST") return answer(405, "use POST");
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) req.destroy();
    else chunks.push(chunk);
  });
  req.on("end", () => {
    void (async () => {
      const body = Buffer.concat(chunks);
      if (!signed(body, req.headers["x-hub-signature-256"] as string | undefined)) return answer(401, "bad signature");
      const id = req.headers["x-github-delivery"];
      const event = req.headers["x-github-event"];
      let payload: PullRequestEvent;
      try {
        payload = JSON.parse(body.toString("utf8")) as PullRequestEvent;
      } catch {
        return answer(400, "not JSON");
      }
      const repo = payload.repository?.full_name;
      const pr = payload.pull_request?.number;
      const sha = payload.pull_request?.head?.sha;
      if (typeof id !== "string" || typeof event !== "string" || !repo || typeof pr !== "number" || !sha) return answer(400, "not a pull_request event");
      try {
        if (await record(id, event, repo, pr, sha)) await redis.lpush(`${key}:deploy`, `${repo}#${pr}`);
        answer(200, "ok");
      } catch {
        answer(503, "try again");
      }
    })();
  });
});

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});

const stop = (): void => {
  server.close();
  void Promise.allSettled([pool.end(), redis.quit()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
