// `npm run demo` as a person runs it: the script starts (setup, then Octostage with the dashboard
// against the doubles), prints the address, and a browser (here fetch with a cookie jar, following
// the OAuth redirects by hand) signs in through GitHub's (the double's) OAuth flow and sees the
// simulated stagings reach their states, with the demo banner on every page; the live table
// streams a push's redeploy; Ctrl-C (SIGINT to the process group) stops it all within seconds.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait.ts";

const root = resolve(import.meta.dirname, "../..");
const banner = '<p class="demo" role="note"><strong>Demo:</strong>';

let demo: ChildProcess;
let stdout = "";
let stderr = "";
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let base = "";

/** The session and OAuth cookies Octostage sets (the GitHub double sets none). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split("=")[1]!) < Date.now()));
      if (gone || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

const jar = new CookieJar();

/** GET with the jar, following redirects by hand (cookies only to Octostage); the last answer and its address. */
async function browse(start: string): Promise<{ url: string; status: number; body: string }> {
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    const ours = url.startsWith(base);
    const res = await fetch(url, { redirect: "manual", headers: ours ? { cookie: jar.header() } : {} });
    if (ours) jar.take(res);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url).toString();
      continue;
    }
    return { url, status: res.status, body: await res.text() };
  }
  throw new Error(`more than 10 redirects from ${start}`);
}

/** The stagings table's rows: name → status and the row's markup. */
function rows(page: string): Map<string, { status: string; html: string }> {
  const out = new Map<string, { status: string; html: string }>();
  for (const m of page.matchAll(/<tr id="row-[^"]*" data-staging="([^"]+)" data-status="([^"]+)"[\s\S]*?<\/tr>/g)) out.set(m[1]!, { status: m[2]!, html: m[0] });
  return out;
}

beforeAll(async () => {
  demo = spawn("npm", ["run", "--silent", "demo"], {
    cwd: root,
    detached: true, // its own process group: npm, sh and node all get the signal, as with Ctrl-C
    env: { ...process.env, PORT: "0", OCTOSTAGE_DEMO_NO_BROWSER: "1", OCTOSTAGE_DEMO_PUSH_SECONDS: "2" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  demo.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  demo.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  exited = new Promise((done) => demo.once("exit", (code, signal) => done({ code, signal })));
  const address = await waitFor("the demo's address", () => {
    if (demo.exitCode !== null) throw new Error(`the demo exited (${demo.exitCode}): ${stderr}`);
    return /Octostage demo: (http:\/\/127\.0\.0\.1:\d+)\/login\/github \(signs you in as "demo"\)/.exec(stdout)?.[1];
  }, 45_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`);
  });
  base = address;
}, 60_000);

afterAll(async () => {
  // After a failure: stop it as Ctrl-C would (its test database is dropped), then for good.
  const running = () => demo?.pid !== undefined && demo.exitCode === null && demo.signalCode === null;
  if (!running()) return;
  process.kill(-demo.pid!, "SIGINT");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  try {
    process.kill(-demo.pid!, "SIGKILL");
  } catch {
    // the whole group is gone
  }
}, 20_000);

describe("npm run demo", { timeout: 60_000 }, () => {
  it("prints the sign-in address and says it is a demo that Ctrl-C stops", () => {
    expect(stdout).toMatch(/This is a demo.*Ctrl-C stops it/);
  });

  it("signs in as demo through GitHub's OAuth flow; the simulated stagings reach their states", async () => {
    const signedIn = await browse(`${base}/login/github`);
    expect(signedIn).toMatchObject({ url: `${base}/stagings`, status: 200 });
    expect(signedIn.body).toContain('<span class="who">demo</span>');

    const table = await waitFor("running, failed and named stagings", async () => {
      const page = await browse(`${base}/stagings`);
      const r = rows(page.body);
      return r.get("shop-pr-12")?.status === "running" && r.get("shop-pr-13")?.status === "failed" && r.get("qa-demo")?.status === "running" ? { page, r } : null;
    }, 30_000, 200);
    expect(table.page.body).toContain(banner);
    expect(table.r.get("shop-pr-13")!.html).toMatch(/<div class="reason">CrashLoopBackOff in shop-pr-13-web-[\w-]+ \(exit 1, 5 restarts\)<\/div>/);
    expect(table.r.get("shop-pr-12")!.html).toContain("acme/shop#12");
    expect(table.r.get("qa-demo")!.html).toContain("main");
    // The closed PR's staging: archived, shown only with "Show archived".
    const all = await waitFor("archived #9", async () => {
      const r = rows((await browse(`${base}/stagings?archived=1`)).body);
      return r.get("shop-pr-9")?.status === "archived" ? r : null;
    }, 15_000, 200);
    expect([...all.keys()].sort()).toEqual(["qa-demo", "shop-pr-12", "shop-pr-13", "shop-pr-9"]);
    expect(rows((await browse(`${base}/stagings`)).body).has("shop-pr-9")).toBe(false);
  });

  it("every page carries the demo banner; the failed staging's page says why", async () => {
    for (const path of ["/stagings/shop-pr-13", "/repos", "/stagings/new", "/stagings/qa-demo"]) {
      const page = await browse(`${base}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.body, path).toContain(banner);
      expect(page.body, path).toContain("· Octostage (demo)</title>");
    }
    const failed = await browse(`${base}/stagings/shop-pr-13`);
    expect(failed.body).toMatch(/<span class="reason">CrashLoopBackOff in shop-pr-13-web-/);
    // Signed out, the sign-in page has it too.
    const anonymous = await fetch(`${base}/login`);
    expect(await anonymous.text()).toContain(banner);
  });

  it("the live table streams the pushed PR's redeploy; Ctrl-C stops everything within seconds, the live stream still open", async () => {
    const controller = new AbortController();
    const live = await fetch(`${base}/stagings/live`, { headers: { cookie: jar.header(), accept: "text/event-stream" }, signal: controller.signal });
    expect(live.status).toBe(200);
    const reader = live.body!.pipeThrough(new TextDecoderStream()).getReader();
    let events = "";
    await waitFor("a row event for shop-pr-12", async () => {
      const { value } = await reader.read();
      events += value ?? "";
      return /event: row\ndata: \{"name":"shop-pr-12"/.test(events);
    }, 20_000, 0);

    // The live stream is still open, as a browser's would be.
    const started = Date.now();
    process.kill(-demo.pid!, "SIGINT");
    const result = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]);
    controller.abort();
    // npm itself dies of the SIGINT, as on any Ctrl-C of an npm script (the shell then shows 130);
    // the demo prints its last line only once everything stopped and its test database is dropped.
    expect(result, `stdout: ${stdout}\nstderr: ${stderr}`).not.toBe("hung");
    expect([{ code: 0, signal: null }, { code: 130, signal: null }, { code: null, signal: "SIGINT" }]).toContainEqual(result);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stdout).toMatch(/SIGINT: stopping the demo[\s\S]*\nThe demo stopped\.\n$/);
    expect(stderr).not.toMatch(/Could not stop|did not stop|The demo failed/);
    // Nothing of the process group is left.
    expect(() => process.kill(-demo.pid!, 0)).toThrow(/ESRCH/);
    await expect(fetch(`${base}/login`)).rejects.toThrow();
  });
});
