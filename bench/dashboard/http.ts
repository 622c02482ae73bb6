// The dashboard over plain HTTP: sign-in through the GitHub double's OAuth web flow with a
// cookie jar, timed sequential GETs (node:http, keep-alive, the bytes as they came over the
// wire), and idle live streams (/stagings/live) held open.
import http from "node:http";
import { gunzipSync } from "node:zlib";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** name=value pairs the server set, minus those it cleared. */
function remember(jar: Map<string, string>, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair!.indexOf("=");
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    if (value === "" || /max-age=0\b|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
}

const cookieHeader = (jar: Map<string, string>): string => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

/**
 * GET /login/github → 302 to the double's /login/oauth/authorize → 302 back to
 * /auth/github/callback?code&state (with the state and PKCE verifier cookies) → 303 /stagings
 * with `octostage_session`. Returns the session cookie's value as the server set it.
 */
export async function signIn(base: string): Promise<string> {
  const jar = new Map<string, string>();
  const step = async (url: string, expect: number[]): Promise<string> => {
    const res = await fetch(url, { redirect: "manual", headers: url.startsWith(base) && jar.size ? { cookie: cookieHeader(jar) } : {} });
    await res.arrayBuffer();
    if (url.startsWith(base)) remember(jar, res);
    if (!expect.includes(res.status)) throw new Error(`sign-in: GET ${url} answered ${res.status}, expected ${expect.join(" or ")}`);
    const location = res.headers.get("location");
    if (!location) throw new Error(`sign-in: GET ${url} answered ${res.status} without a Location`);
    return new URL(location, url).toString();
  };
  const authorize = await step(`${base}/login/github`, [302, 303]);
  const callback = await step(authorize, [302]);
  if (!callback.startsWith(`${base}/auth/github/callback?`)) throw new Error(`sign-in: the double sent the browser to ${callback}`);
  const landing = await step(callback, [302, 303]);
  if (landing !== `${base}/stagings`) throw new Error(`sign-in: the callback sent the browser to ${landing}`);
  const session = jar.get("octostage_session");
  if (!session) throw new Error("sign-in: no octostage_session cookie");
  return session;
}

export interface TimedGet {
  status: number;
  /** Request written → response headers, and → last body byte (ms). */
  headersMs: number;
  totalMs: number;
  /** Body bytes as sent, and decoded. */
  wireBytes: number;
  body: Buffer;
  contentEncoding: string | undefined;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export function timedGet(url: string, headers: Record<string, string>): Promise<TimedGet> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const req = http.get(url, { agent, headers }, (res) => {
      const headersMs = performance.now() - started;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", fail);
      res.on("end", () => {
        const totalMs = performance.now() - started;
        const wire = Buffer.concat(chunks);
        const encoding = res.headers["content-encoding"];
        done({ status: res.statusCode ?? 0, headersMs, totalMs, wireBytes: wire.length, body: encoding === "gzip" ? gunzipSync(wire) : wire, contentEncoding: encoding });
      });
    });
    req.on("error", fail);
  });
}

export function closeAgent(): void {
  agent.destroy();
}

/** `n` live streams of the stagings table, each open once the server sent "ready"; close() ends them. */
export async function openLiveStreams(base: string, session: string, n: number): Promise<{ events: () => number; close: () => Promise<void> }> {
  const aborts: AbortController[] = [];
  const readers: Promise<void>[] = [];
  let events = 0;
  let ready = 0;
  for (let i = 0; i < n; i++) {
    const abort = new AbortController();
    aborts.push(abort);
    const res = await fetch(`${base}/stagings/live`, { headers: { cookie: `octostage_session=${session}`, accept: "text/event-stream" }, signal: abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`GET /stagings/live answered ${res.status}`);
    const reader = res.body.getReader();
    readers.push(
      (async () => {
        const decoder = new TextDecoder();
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            const text = decoder.decode(value, { stream: true });
            for (const m of text.matchAll(/^event: (\w+)/gm)) {
              if (m[1] === "ready") ready++;
              else events++;
            }
          }
        } catch {
          // aborted
        }
      })(),
    );
  }
  const deadline = Date.now() + 30_000;
  while (ready < n) {
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${n} live streams got "ready" within 30 s`);
    await sleep(50);
  }
  return {
    events: () => events,
    async close() {
      for (const a of aborts) a.abort();
      await Promise.all(readers);
    },
  };
}
