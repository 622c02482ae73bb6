// The web dashboard in a real browser (Debian's Chromium through playwright-core) against the
// running server with real Postgres and Redis and the Kubernetes, helm and GitHub doubles:
// sign-in through the GitHub double's OAuth endpoints, roles from GitHub permissions, live
// updates without reloading, the form's keys and checks, archive and restore, a failed deploy's
// log, CSRF, sign-out; axe-core on every page; screenshots light and dark into docs/screenshots.
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { AxeBuilder } from "@axe-core/playwright";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installationId, startTestSystem, webhookSecret } from "../support/system.ts";
import type { TestSystem } from "../support/system.ts";
import { realisticPod } from "../support/realistic-pod.ts";
import { waitFor } from "../support/wait.ts";
import { deliverWebhook, pullRequestPayload } from "../support/webhooks.ts";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const shots = resolve(import.meta.dirname, "../../docs/screenshots");

let sys: TestSystem;
let browser: Browser;
let url: string;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is needed for the dashboard's browser tests: ${chromiumPath} is missing (npm run setup installs Debian's chromium package; or set CHROMIUM_PATH)`);
  sys = await startTestSystem(undefined, {}, { dashboard: true, dashboardLivePollMs: 150, project: { cost: { currency: "EUR", cpuHour: 0.03, memoryGiBHour: 0.004, storageGiBMonth: 0.1 } } });
  url = sys.app.url!;
  sys.github.installOn("octo-org", "web", installationId);
  sys.github.setBranch("octo-org", "web", "main", "a".repeat(40));
  sys.github.setPermission("octo-org", "web", "wendy", "write");
  sys.github.setPermission("octo-org", "web", "rita", "read");
  sys.github.setPermission("octo-org", "web", "ada", "admin");
  sys.github.setPermission("octo-org", "web", "mallory", "none");
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  // A pull request's staging, running, for the table and the reader.
  sys.github.openPullRequest("octo-org", "web", { number: 7, ref: "feature/login", sha: "b".repeat(40) });
  await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { owner: "octo-org", repo: "web", number: 7, sha: "b".repeat(40), ref: "feature/login", installationId, sender: "octocat" }), webhookSecret);
  await waitFor("PR staging running", async () => ((await sys.app.deps!.store.findByName("web-pr-7"))?.status === "running" ? true : null));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sys?.stop();
});

async function signIn(login: string, colorScheme: "light" | "dark" = "light"): Promise<{ context: BrowserContext; page: Page }> {
  sys.github.signInAs(login);
  const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.getByRole("link", { name: "Sign in with GitHub" }).click();
  await page.waitForURL(`${url}/stagings`);
  return { context, page };
}

/** No serious or critical accessibility violation on the page as it is. */
async function accessible(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}

/** A form POST from inside the page (its session cookie goes with it), as a script would send it. */
function postForm(page: Page, path: string, body: string): Promise<{ status: number; text: string }> {
  return page.evaluate(async ({ path, body }) => {
    const res = await fetch(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
    return { status: res.status, text: await res.text() };
  }, { path, body });
}

/** The page in light and dark, into docs/screenshots (the docs show them). */
async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await accessible(page);
    await page.screenshot({ path: `${shots}/${name}-${scheme}.png`, fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

describe("the web dashboard", () => {
  it("signs in through GitHub's OAuth flow and lists the stagings the person can read", async () => {
    const { context, page } = await signIn("wendy");
    await expect(page.getByRole("heading", { name: "Stagings" }).isVisible()).resolves.toBe(true);
    const row = page.locator('tr[data-staging="web-pr-7"]');
    await expect(row.getAttribute("data-status")).resolves.toBe("running");
    await expect(row.textContent()).resolves.toContain("octo-org/web#7");
    // Who opened it: the first entry of its audit log (the webhook's sender).
    await expect(row.textContent()).resolves.toContain("by octocat");
    // The session cookie: HTTP-only, SameSite; its id is not what Redis stores.
    const cookie = (await context.cookies()).find((c) => c.name === "octostage_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });
    expect(sys.github.requests.some((r) => r.path === "/login/oauth/access_token")).toBe(true);
    expect(sys.github.violations).toEqual([]);
    await screenshot(page, "stagings");
    // On a phone: the table becomes a list, nothing overflows the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await accessible(page);
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${shots}/stagings-phone.png`, fullPage: true });
    // A page that does not exist: a clear 404, accessible too.
    const missing = await page.goto(`${url}/stagings/no-such-staging`);
    expect(missing?.status()).toBe(404);
    await expect(page.textContent("main")).resolves.toContain('no staging named "no-such-staging"');
    await accessible(page);
    await context.close();
  });

  it("a reader sees the staging but no buttons, and a forged change is refused", async () => {
    const { context, page } = await signIn("rita");
    await page.goto(`${url}/stagings/web-pr-7`);
    await expect(page.getByRole("heading", { name: "web-pr-7" }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole("button", { name: "Archive" }).count()).resolves.toBe(0);
    await expect(page.textContent("main")).resolves.toContain("changing it needs write access to octo-org/web on GitHub");
    // The reader's own valid CSRF token, posted by hand: still refused by role.
    const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
    const status = await postForm(page, "/stagings/web-pr-7/archive", `_csrf=${encodeURIComponent(token ?? "")}`);
    expect(status.status).toBe(403);
    expect(status.text).toContain("needs write access to octo-org/web on GitHub; you have read");
    expect((await sys.app.deps!.store.findByName("web-pr-7"))?.desiredState).toBe("active");
    await context.close();
  });

  it("someone without access sees nothing of the repository", async () => {
    const { context, page } = await signIn("mallory");
    await expect(page.locator("tr[data-staging]").count()).resolves.toBe(0);
    await expect(page.textContent("main")).resolves.toContain("You cannot read any repository");
    const res = await page.goto(`${url}/stagings/web-pr-7`);
    expect(res?.status()).toBe(404);
    await context.close();
  });

  it("a writer creates a named staging with a key picked from the chart and watches it go running without reloading", async () => {
    const { context, page } = await signIn("wendy");
    await page.goto(`${url}/stagings/new`);
    await screenshot(page, "create");
    await page.getByLabel("Name").fill("qa-login");
    await page.getByLabel("Git ref").fill("main");
    const key = page.locator('input[name="key"]').first();
    // The chart's keys arrive for the datalist; picking one shows its type and default.
    await waitFor("chart keys", async () => ((await page.locator("#chart-keys option").count()) > 0 ? true : null));
    await expect(page.locator('#chart-keys option[value="replicaCount"]').count()).resolves.toBe(1);
    await key.fill("replicaCount");
    await expect(page.locator(".key-info").first().textContent()).resolves.toContain("integer");
    // A value the chart's values.schema.json refuses: the error beside the field as it is typed.
    await page.locator('input[name="value"]').first().fill("-1");
    const error = page.locator("#e-override-0");
    await error.waitFor({ state: "visible" });
    await expect(error.textContent()).resolves.toContain("replicaCount");
    await expect(error.textContent()).resolves.toMatch(/>= 0|minimum/);
    await screenshot(page, "create-error");
    // Submitted anyway (as without JavaScript): the server refuses it and says so on the field.
    await page.getByRole("button", { name: "Create staging" }).click();
    await page.waitForLoadState();
    await expect(page.locator("#e-override-0").textContent()).resolves.toContain("replicaCount");
    expect(await sys.app.deps!.store.findByName("qa-login")).toBeNull();
    // Fixed: created, and the page follows it to running with no navigation.
    sys.kube.setController("manual");
    await page.locator('input[name="value"]').first().fill("2");
    await page.getByRole("button", { name: "Create staging" }).click();
    await page.waitForURL(`${url}/stagings/qa-login?notice=created`);
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    const badge = page.locator("#live .status-line .badge");
    await waitFor("deploying shown", async () => (/pending|deploying/.test((await badge.textContent()) ?? "") ? true : null));
    const created = await sys.app.deps!.store.findByName("qa-login");
    expect(created).toMatchObject({ origin: "named", headRef: "main" });
    sys.kube.setController("ready");
    await waitFor("running shown live", async () => ((await badge.textContent()) === "running" ? true : null), 20_000);
    expect(navigations).toBe(0);
    await expect(page.textContent("#live")).resolves.toContain("override by web:wendy");
    const action = await sys.db.db.action.findFirst({ where: { kind: "deploy", staging: { name: "qa-login" } }, orderBy: { createdAt: "asc" } });
    expect(action).toMatchObject({ source: "web", actor: "wendy" });
    await screenshot(page, "staging");
    // Edit shows the override; removing its row removes it.
    await page.getByRole("link", { name: "Edit" }).click();
    await expect(page.locator('input[name="key"]').first().inputValue()).resolves.toBe("replicaCount");
    await expect(page.locator('input[name="value"]').first().inputValue()).resolves.toBe("2");
    await screenshot(page, "edit");
    await page.locator('input[name="key"]').first().fill("");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL(`${url}/stagings/qa-login?notice=updated`);
    const overrides = await sys.app.deps!.store.listOverrides(created!.id);
    expect(overrides.at(-1)).toMatchObject({ key: "replicaCount", op: "unset", source: "web", actor: "wendy" });
    await context.close();
  });

  it("the stagings table updates live when a staging changes elsewhere", async () => {
    const { context, page } = await signIn("wendy");
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    const row = page.locator('tr[data-staging="web-pr-8"]');
    await expect(row.count()).resolves.toBe(0);
    sys.github.openPullRequest("octo-org", "web", { number: 8, ref: "feature/cart", sha: "c".repeat(40) });
    await deliverWebhook(sys.webhookUrl, "pull_request", pullRequestPayload("opened", { owner: "octo-org", repo: "web", number: 8, sha: "c".repeat(40), ref: "feature/cart", installationId }), webhookSecret);
    await waitFor("new row running", async () => ((await row.count()) === 1 && (await row.getAttribute("data-status")) === "running" ? true : null), 20_000);
    expect(navigations).toBe(0);
    await context.close();
  });

  it("shows the workloads and pods with their problems, live", async () => {
    const { context, page } = await signIn("rita");
    await page.goto(`${url}/stagings/web-pr-8`);
    await waitFor("workloads observed", async () => ((await page.textContent("#workloads-h + *"))?.includes("ready") ? true : null), 20_000);
    await expect(page.textContent("section[aria-labelledby=workloads-h]")).resolves.toMatch(/Deployment\/web-pr-8-web \d+\/\d+ ready/);
    // A pod of the staging starts crash looping: its problem appears without reloading.
    sys.kube.put(realisticPod("octostage-web-pr-8", "web-pr-8-web-7f9c5d8b6-crash", { ready: false }));
    const pod = page.locator('tr[data-pod="web-pr-8-web-7f9c5d8b6-crash"]');
    await waitFor("crash loop shown", async () => ((await pod.count()) === 1 ? true : null), 20_000);
    await expect(pod.textContent()).resolves.toContain("CrashLoopBackOff");
    sys.kube.remove("Pod", "octostage-web-pr-8", "web-pr-8-web-7f9c5d8b6-crash");
    await context.close();
  });

  it("asks GitHub again before a change: write access just removed counts at once", async () => {
    const { context, page } = await signIn("wendy");
    await page.goto(`${url}/stagings/web-pr-8`);
    sys.github.setPermission("octo-org", "web", "wendy", "read");
    try {
      await page.getByRole("button", { name: "Archive" }).click();
      await page.waitForLoadState();
      await expect(page.textContent("main")).resolves.toContain("Archive needs write access to octo-org/web on GitHub; you have read");
      expect((await sys.app.deps!.store.findByName("web-pr-8"))?.desiredState).toBe("active");
    } finally {
      sys.github.setPermission("octo-org", "web", "wendy", "write");
    }
    await context.close();
  });

  it("archives and restores from the staging's page", async () => {
    const { context, page } = await signIn("wendy");
    await page.goto(`${url}/stagings/web-pr-7`);
    await page.getByRole("button", { name: "Archive" }).click();
    await page.waitForURL(`${url}/stagings/web-pr-7?notice=archive`);
    const badge = page.locator("#live .status-line .badge");
    await waitFor("archived", async () => ((await badge.textContent()) === "archived" ? true : null), 20_000).catch(async (err: unknown) => {
      const s = await sys.app.deps!.store.findByName("web-pr-7");
      throw new Error(`${(err as Error).message}; page: ${await badge.textContent()}; store: ${s?.status} ${s?.desiredState} ${s?.reason}; page url ${page.url()}`);
    });
    await page.getByRole("button", { name: "Restore" }).click();
    await page.waitForURL(`${url}/stagings/web-pr-7?notice=restore`);
    await waitFor("running again", async () => ((await badge.textContent()) === "running" ? true : null), 20_000);
    const kinds = (await sys.db.db.action.findMany({ where: { staging: { name: "web-pr-7" }, source: "web" }, orderBy: { createdAt: "asc" } })).map((a) => a.kind);
    expect(kinds).toEqual(expect.arrayContaining(["archive", "restore"]));
    await context.close();
  });

  it("shows the helm log of a failed deploy", async () => {
    const { context, page } = await signIn("wendy");
    sys.helm.failNext("upgrade", "chartNotFound", 10);
    await page.goto(`${url}/stagings/web-pr-7`);
    await page.getByRole("button", { name: "Redeploy" }).click();
    const badge = page.locator("#live .status-line .badge");
    await waitFor("failed", async () => ((await badge.textContent()) === "failed" ? true : null), 20_000).catch(async (err: unknown) => {
      const s = await sys.app.deps!.store.findByName("web-pr-7");
      throw new Error(`${(err as Error).message}; page: ${await badge.textContent()}; store: ${s?.status} ${s?.desiredState} ${s?.reason}; page url ${page.url()}`);
    });
    await waitFor("log link", async () => ((await page.getByRole("link", { name: "helm log" }).count()) > 0 ? true : null));
    await page.getByRole("link", { name: "helm log" }).first().click();
    await expect(page.textContent("pre.log")).resolves.toContain('chart "web" version "9.9.9" not found');
    await screenshot(page, "log");
    sys.helm.reset();
    await context.close();
  });

  it("refuses a change without the CSRF token, and one from another session's token", async () => {
    const { context, page } = await signIn("wendy");
    const answers = [await postForm(page, "/stagings/qa-login/archive", ""), await postForm(page, "/stagings/qa-login/archive", "_csrf=forged-token")];
    for (const a of answers) {
      expect(a.status).toBe(403);
      expect(a.text).toContain("CSRF check failed");
    }
    expect((await sys.app.deps!.store.findByName("qa-login"))?.desiredState).toBe("active");
    await context.close();
  });

  it("the repository overview, with an admin's delete behind a confirmation", async () => {
    const { context, page } = await signIn("ada");
    await page.goto(`${url}/repos`);
    await expect(page.getByRole("heading", { name: "octo-org/web" }).isVisible()).resolves.toBe(true);
    await expect(page.textContent("main")).resolves.toContain("Running");
    await screenshot(page, "repos");
    await page.goto(`${url}/stagings/qa-login`);
    const dialogs: string[] = [];
    page.once("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.getByRole("button", { name: "Delete…" }).click();
    expect(dialogs[0]).toContain("Delete qa-login?");
    expect((await sys.app.deps!.store.findByName("qa-login"))?.desiredState).toBe("active");
    // Confirmed: deleted, and its page offers nothing more to do.
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete…" }).click();
    await page.waitForURL(`${url}/stagings`);
    expect((await sys.app.deps!.store.findByName("qa-login"))?.desiredState).toBe("deleted");
    await page.goto(`${url}/stagings/qa-login`);
    await expect(page.textContent("#live")).resolves.toContain("This staging was deleted");
    await expect(page.getByRole("button", { name: "Redeploy" }).count()).resolves.toBe(0);
    await context.close();
  });

  it("signs out: the session is gone, pages ask to sign in again", async () => {
    const { context, page } = await signIn("wendy");
    const cookie = (await context.cookies()).find((c) => c.name === "octostage_session")!;
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${url}/login`);
    await screenshot(page, "login");
    // The old cookie, replayed, signs nobody in.
    const replay = await fetch(`${url}/stagings`, { headers: { cookie: `octostage_session=${cookie.value}` }, redirect: "manual" });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toBe("/login");
    await context.close();
  });

  it("keeps its JavaScript under 100 KB gzipped (the first load's budget), served compressed and revalidated", async () => {
    const js = await fetch(`${url}/assets/app.js`);
    const css = await fetch(`${url}/assets/app.css`);
    const size = gzipSync(Buffer.from(await js.arrayBuffer())).length;
    expect(size).toBeLessThan(100 * 1024);
    expect(css.headers.get("content-type")).toContain("text/css");
  });
});
