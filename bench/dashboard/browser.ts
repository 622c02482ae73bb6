// The stagings page in a real browser: Debian's Chromium through playwright-core, the session
// cookie put into a fresh context (no cache) for every load. Page-side code is passed as strings
// (the project's TypeScript has no DOM types).
import { chromium } from "playwright-core";
import type { Browser, BrowserContext } from "playwright-core";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

async function signedInContext(browser: Browser, base: string, session: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name: "octostage_session", value: session, url: base, httpOnly: true, sameSite: "Lax" }]);
  return context;
}

// Before the page's own scripts: the largest contentful paint, and how many rows the table has at DOMContentLoaded.
const timingProbe = `
window.__bench = { lcp: 0, dclRows: -1 };
try { new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__bench.lcp = e.startTime; }).observe({ type: "largest-contentful-paint", buffered: true }); } catch {}
document.addEventListener("DOMContentLoaded", () => { window.__bench.dclRows = document.querySelectorAll("table.stagings tbody tr").length; });
`;

export interface Load {
  /** From page.goto() to the load event, and to N rows in the table, on the bench's clock (ms). */
  gotoToLoadMs: number;
  gotoToRowsMs: number;
  /** Navigation Timing, ms from navigation start. */
  responseStart: number;
  responseEnd: number;
  domInteractive: number;
  domContentLoaded: number;
  loadEventEnd: number;
  firstContentfulPaint: number;
  largestContentfulPaint: number;
  rowsAtDomContentLoaded: number;
  /** What came over the wire: the document and each asset (bytes as transferred, encoded body, decoded body). */
  resources: { url: string; type: string; transferSize: number; encodedBodySize: number; decodedBodySize: number }[];
}

/** One cold navigation to /stagings, until the load event and N rows in the DOM. */
export async function loadStagings(browser: Browser, base: string, session: string, rows: number): Promise<Load> {
  const context = await signedInContext(browser, base, session);
  try {
    const page = await context.newPage();
    await page.addInitScript(timingProbe);
    const started = performance.now();
    const res = await page.goto(`${base}/stagings`, { waitUntil: "load", timeout: 60_000 });
    const gotoToLoadMs = performance.now() - started;
    if (res?.status() !== 200 || !res.url().endsWith("/stagings")) throw new Error(`the browser got ${res?.status()} at ${res?.url()}`);
    await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll("table.stagings tbody tr").length >= n, rows, { timeout: 60_000, polling: 10 });
    const gotoToRowsMs = performance.now() - started;
    // LCP settles after load; give it a frame.
    await page.waitForTimeout(100);
    // Predicates run in the page are passed as functions (the page's CSP forbids the eval string predicates need).
    const t = await page.evaluate<Omit<Load, "gotoToLoadMs" | "gotoToRowsMs">>(`(() => {
      const n = performance.getEntriesByType("navigation")[0];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      const resources = performance.getEntriesByType("resource").filter((r) => r.initiatorType !== "other" || !r.name.includes("/live"))
        .map((r) => ({ url: r.name, type: r.initiatorType, transferSize: r.transferSize, encodedBodySize: r.encodedBodySize, decodedBodySize: r.decodedBodySize }));
      return {
        responseStart: n.responseStart, responseEnd: n.responseEnd, domInteractive: n.domInteractive,
        domContentLoaded: n.domContentLoadedEventEnd, loadEventEnd: n.loadEventEnd,
        firstContentfulPaint: fcp ? fcp.startTime : NaN, largestContentfulPaint: window.__bench.lcp || NaN,
        rowsAtDomContentLoaded: window.__bench.dclRows,
        resources: [{ url: n.name, type: "document", transferSize: n.transferSize, encodedBodySize: n.encodedBodySize, decodedBodySize: n.decodedBodySize }, ...resources],
      };
    })()`);
    return { gotoToLoadMs, gotoToRowsMs, ...t };
  } finally {
    await context.close();
  }
}

// Records when the live stream is ready and every row the live script puts into the table.
const liveProbe = `
window.__live = { readyAt: 0, rows: [] };
const NativeEventSource = window.EventSource;
window.EventSource = class extends NativeEventSource {
  constructor(...args) { super(...args); this.addEventListener("ready", () => { window.__live.readyAt = Date.now(); }); }
};
document.addEventListener("DOMContentLoaded", () => {
  const body = document.querySelector("table.stagings tbody");
  if (!body) return;
  new MutationObserver((records) => {
    const at = Date.now();
    for (const r of records) for (const n of r.addedNodes) if (n.dataset && n.dataset.staging) window.__live.rows.push({ name: n.dataset.staging, status: n.dataset.status, at });
  }).observe(body, { childList: true });
});
`;

/**
 * Status changes written to PostgreSQL while the page is open: for each, the time from the
 * UPDATE's commit to the changed row in the browser's table (Date.now() on both sides: one machine).
 */
export async function liveLatencies(browser: Browser, base: string, session: string, names: readonly string[], change: (name: string, k: number) => Promise<void>): Promise<number[]> {
  const context = await signedInContext(browser, base, session);
  try {
    const page = await context.newPage();
    await page.addInitScript(liveProbe);
    await page.goto(`${base}/stagings`, { waitUntil: "load", timeout: 60_000 });
    await page.waitForFunction(() => (globalThis as any).__live.readyAt > 0, undefined, { timeout: 60_000 });
    const out: number[] = [];
    for (const [k, name] of names.entries()) {
      // Spread the changes over the server's poll cycle.
      await page.waitForTimeout(500 + ((k * 733) % 2000));
      await change(name, k);
      const committed = Date.now();
      // Each staging changes once: its first row event is this change's.
      const seen = await page.waitForFunction((n) => (globalThis as any).__live.rows.find((r: { name: string; at: number }) => r.name === n)?.at ?? 0, name, { timeout: 30_000, polling: 20 });
      const seenAt = (await seen.jsonValue()) as number;
      out.push(seenAt - committed);
    }
    return out;
  } finally {
    await context.close();
  }
}
