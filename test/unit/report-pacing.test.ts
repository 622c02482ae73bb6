import { expect, test } from "vitest";
import { reasonChangeIntervalMs, reportDelayMs, statusChangeIntervalMs } from "../../src/domain/report-pacing.ts";

const t = (ms: number) => new Date(1_000_000 + ms);

test("the first report goes out at once", () => {
  expect(reportDelayMs(t(0), null, true)).toBe(0);
  expect(reportDelayMs(t(0), null, false)).toBe(0);
});

test("a new status is reported at once when the last report is not too recent", () => {
  expect(reportDelayMs(t(statusChangeIntervalMs + 1), t(0), true)).toBe(0);
});

test("a new status right after a report waits for the rest of the short interval", () => {
  expect(reportDelayMs(t(500), t(0), true)).toBe(statusChangeIntervalMs - 500);
});

test("a change of reason alone waits for the long interval (a crash loop counting restarts)", () => {
  expect(reportDelayMs(t(5_000), t(0), false)).toBe(reasonChangeIntervalMs - 5_000);
  expect(reportDelayMs(t(reasonChangeIntervalMs), t(0), false)).toBe(0);
});
