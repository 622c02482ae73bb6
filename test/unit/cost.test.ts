// The cost estimate: Kubernetes quantities, a pod's effective requests, the usage ledger through
// a staging's life (observe, archive, restore, cleanup) and what it comes to at given prices.
import { describe, expect, it, test } from "vitest";
import {
  accrue,
  archive,
  cleanup,
  emptyLedger,
  estimate,
  formatCost,
  gib,
  observe,
  parseBytes,
  parseCpu,
  podRequests,
  restore,
  sumEstimates,
  type CostEstimate,
  type CostPrices,
  type UsageLedger,
} from "../../src/domain/cost.ts";

const t0 = new Date("2026-12-01T00:00:00Z");
const hours = (h: number) => new Date(t0.getTime() + h * 3_600_000);
const prices: CostPrices = { currency: "USD", cpuHour: 0.04, memoryGiBHour: 0.005, storageGiBMonth: 0.1 };
/** 500m CPU, 1Gi memory, a 10Gi volume. */
const staging = { cpuCores: parseCpu("500m"), memoryGiB: gib(parseBytes("1Gi")), storageGiB: gib(parseBytes("10Gi")) };

describe("Kubernetes quantities", () => {
  test.each([
    ["250m", 0.25],
    ["1", 1],
    ["1.5", 1.5],
    ["100m", 0.1],
    ["0.1", 0.1],
    [".5", 0.5],
    ["2k", 2000],
    ["1e3", 1000],
    ["+2", 2],
    ["0", 0],
  ])("CPU %s is %d cores", (q, cores) => {
    expect(parseCpu(q)).toBe(cores);
  });

  test.each([
    ["512Mi", 536_870_912],
    ["1Gi", 1_073_741_824],
    ["1.5Gi", 1_610_612_736],
    ["1G", 1_000_000_000],
    ["1e9", 1_000_000_000],
    ["1E3", 1000],
    ["100k", 100_000],
    ["1Ki", 1024],
    ["2Ti", 2 * 1024 ** 4],
    ["3M", 3_000_000],
    ["1E", 1e18],
    ["129M", 129_000_000],
    ["128974848", 128_974_848],
    ["1000m", 1],
  ])("%s is %d bytes", (q, bytes) => {
    expect(parseBytes(q)).toBe(bytes);
  });

  test.each(["", "abc", "Gi", "1GB", "1gi", "1 Gi", " 1", "1.2.3", "1e", "-1", "-500m", "1Gii", "1e400"])("%j is refused", (q) => {
    expect(() => parseCpu(q)).toThrow(Error);
    expect(() => parseBytes(q)).toThrow(Error);
  });

  it("says which quantity it refused", () => {
    expect(() => parseCpu("lots")).toThrow(/"lots"/);
  });

  it("counts GiB in powers of two", () => {
    expect(gib(1_073_741_824)).toBe(1);
    expect(gib(536_870_912)).toBe(0.5);
    expect(gib(1_000_000_000)).toBeCloseTo(0.931323, 6);
  });
});

describe("podRequests: what a pod asks the scheduler for", () => {
  it("sums the containers' requests", () => {
    expect(podRequests({ containers: [{ resources: { requests: { cpu: "100m", memory: "256Mi" } } }, { resources: { requests: { cpu: "150m", memory: "768Mi" } } }] })).toEqual({ cpuCores: 0.25, memoryGiB: 1 });
  });

  it("counts a missing request, a container without resources, and an unparsable one as 0", () => {
    expect(podRequests({ containers: [{ resources: { requests: { cpu: "lots", memory: "1Gi" } } }, { resources: { requests: { cpu: "200m" } } }, {}] })).toEqual({ cpuCores: 0.2, memoryGiB: 1 });
    expect(podRequests({ containers: [] })).toEqual({ cpuCores: 0, memoryGiB: 0 });
    expect(podRequests(undefined)).toEqual({ cpuCores: 0, memoryGiB: 0 });
  });

  it("takes the largest init container when it asks for more than the containers together, per resource", () => {
    const spec = {
      containers: [{ resources: { requests: { cpu: "100m", memory: "256Mi" } } }, { resources: { requests: { cpu: "100m", memory: "256Mi" } } }],
      initContainers: [{ resources: { requests: { cpu: "1", memory: "64Mi" } } }, { resources: { requests: { cpu: "500m", memory: "128Mi" } } }],
    };
    expect(podRequests(spec)).toEqual({ cpuCores: 1, memoryGiB: 0.5 });
  });

  it("adds sidecars (init containers that keep running) to the containers, and to every init container started after them", () => {
    const spec = {
      containers: [{ resources: { requests: { cpu: "100m" } } }],
      initContainers: [{ restartPolicy: "Always", resources: { requests: { cpu: "200m" } } }, { resources: { requests: { cpu: "250m" } } }],
    };
    // Running: 100m + the 200m sidecar; while the second init container runs: 250m + the sidecar.
    expect(podRequests(spec).cpuCores).toBe(0.45);
    expect(podRequests({ ...spec, initContainers: [spec.initContainers[0]!] }).cpuCores).toBe(0.3);
  });

  it("adds the RuntimeClass overhead, and pod-level requests replace the containers'", () => {
    const containers = [{ resources: { requests: { cpu: "100m", memory: "128Mi" } } }];
    expect(podRequests({ containers, overhead: { cpu: "250m", memory: "128Mi" } })).toEqual({ cpuCores: 0.35, memoryGiB: 0.25 });
    expect(podRequests({ containers, resources: { requests: { cpu: "2" } } })).toEqual({ cpuCores: 2, memoryGiB: 0.125 });
  });

  it("has no float noise (0.1 + 0.2 cores)", () => {
    expect(podRequests({ containers: [{ resources: { requests: { cpu: "100m" } } }, { resources: { requests: { cpu: "200m" } } }] }).cpuCores).toBe(0.3);
  });
});

describe("the usage ledger", () => {
  it("starts empty at the given time", () => {
    expect(emptyLedger(t0)).toEqual({
      since: "2026-12-01T00:00:00.000Z",
      updatedAt: "2026-12-01T00:00:00.000Z",
      cpuCoreHours: 0,
      memoryGiBHours: 0,
      storageGiBHours: 0,
      savedCpuCoreHours: 0,
      savedMemoryGiBHours: 0,
      current: { cpuCores: 0, memoryGiB: 0, storageGiB: 0 },
      archived: null,
    });
  });

  it("500m CPU, 1Gi memory and a 10Gi volume for 24 hours", () => {
    const l = accrue(observe(emptyLedger(t0), t0, staging), hours(24));
    expect(l).toMatchObject({ updatedAt: "2026-12-02T00:00:00.000Z", cpuCoreHours: 12, memoryGiBHours: 24, storageGiBHours: 240, savedCpuCoreHours: 0, savedMemoryGiBHours: 0 });
    // 12 × 0.04 + 24 × 0.005 + 240 × 0.10 / 730 = 0.48 + 0.12 + 0.0328767…
    expect(estimate(l, prices, hours(24))).toEqual({ currency: "USD", perDay: 0.632877, toDate: 0.632877, savedToDate: 0, savedPerDay: 0 });
  });

  it("accrues what was requested over each stretch of time, whatever it is now", () => {
    let l = observe(emptyLedger(t0), t0, { cpuCores: 1, memoryGiB: 2, storageGiB: 0 });
    l = observe(l, hours(2), { cpuCores: 0.25, memoryGiB: 0.5, storageGiB: 5 });
    l = accrue(l, hours(6));
    expect(l).toMatchObject({ cpuCoreHours: 3, memoryGiBHours: 6, storageGiBHours: 20, current: { cpuCores: 0.25, memoryGiB: 0.5, storageGiB: 5 } });
  });

  it("estimates up to now without changing the ledger", () => {
    const l = observe(emptyLedger(t0), t0, staging);
    const copy = structuredClone(l);
    expect(estimate(l, prices, hours(24)).toDate).toBe(0.632877);
    expect(estimate(l, prices, hours(48)).toDate).toBe(1.265753);
    expect(l).toEqual(copy);
    expect(accrue(l, hours(1))).not.toBe(l);
    expect(l).toEqual(copy);
  });

  it("archived: CPU and memory stop and count as saved, the volume still costs", () => {
    let l = observe(emptyLedger(t0), t0, staging);
    l = archive(l, hours(24));
    expect(l.current).toEqual({ cpuCores: 0, memoryGiB: 0, storageGiB: 10 });
    expect(l.archived).toEqual({ cpuCores: 0.5, memoryGiB: 1 });
    l = accrue(l, hours(48));
    expect(l).toMatchObject({ cpuCoreHours: 12, memoryGiBHours: 24, storageGiBHours: 480, savedCpuCoreHours: 12, savedMemoryGiBHours: 24 });
    // Storage alone: 10 × 0.10 / 730 × 24 = 0.0328767… a day; compute not running saves 0.60 a day.
    expect(estimate(l, prices, hours(48))).toEqual({ currency: "USD", perDay: 0.032877, toDate: 0.665753, savedToDate: 0.6, savedPerDay: 0.6 });
  });

  it("archiving twice keeps what ran before the first time", () => {
    const once = archive(observe(emptyLedger(t0), t0, staging), hours(1));
    expect(archive(once, hours(2)).archived).toEqual({ cpuCores: 0.5, memoryGiB: 1 });
  });

  it("restored: nothing more is saved, and the next observe says what runs", () => {
    let l = archive(observe(emptyLedger(t0), t0, staging), hours(24));
    l = restore(l, hours(48));
    expect(l.archived).toBeNull();
    expect(l.current).toEqual({ cpuCores: 0, memoryGiB: 0, storageGiB: 10 });
    l = observe(l, hours(48), staging);
    l = accrue(l, hours(72));
    expect(l).toMatchObject({ cpuCoreHours: 24, memoryGiBHours: 48, storageGiBHours: 720, savedCpuCoreHours: 12, savedMemoryGiBHours: 24 });
    expect(estimate(l, prices, hours(72))).toMatchObject({ perDay: 0.632877, savedPerDay: 0, savedToDate: 0.6 });
  });

  it("cleaned up: nothing costs or is saved any more, and what was spent stays", () => {
    let l = archive(observe(emptyLedger(t0), t0, staging), hours(24));
    l = cleanup(l, hours(48));
    expect(l.current).toEqual({ cpuCores: 0, memoryGiB: 0, storageGiB: 0 });
    expect(l.archived).toBeNull();
    const later = accrue(l, hours(24 * 30));
    expect(later).toMatchObject({ cpuCoreHours: 12, memoryGiBHours: 24, storageGiBHours: 480, savedCpuCoreHours: 12, savedMemoryGiBHours: 24 });
    expect(estimate(later, prices, hours(24 * 30))).toEqual({ currency: "USD", perDay: 0, toDate: 0.665753, savedToDate: 0.6, savedPerDay: 0 });
  });

  it("a clock going backwards adds nothing, and the hours it skipped are not counted twice", () => {
    const l = observe(emptyLedger(t0), hours(10), staging);
    expect(accrue(l, hours(9))).toEqual(l);
    const back = observe(l, hours(5), { ...staging, cpuCores: 2 });
    expect(back).toMatchObject({ cpuCoreHours: 0, updatedAt: hours(10).toISOString(), current: { cpuCores: 2 } });
    expect(accrue(back, hours(11)).cpuCoreHours).toBe(2);
    expect(estimate(l, prices, hours(1)).toDate).toBe(0);
  });

  it("keeps no float noise and no negative requests", () => {
    let l = observe(emptyLedger(t0), t0, { cpuCores: 0.1 + 0.2, memoryGiB: -1, storageGiB: Number.NaN });
    expect(l.current).toEqual({ cpuCores: 0.3, memoryGiB: 0, storageGiB: 0 });
    l = accrue(l, new Date(t0.getTime() + 1_200_000)); // 20 minutes
    expect(l.cpuCoreHours).toBe(0.1);
    l = observe(l, new Date(t0.getTime() + 1_200_000), { cpuCores: 1, memoryGiB: 0, storageGiB: 0 });
    l = accrue(l, new Date(t0.getTime() + 2_400_000));
    expect(l.cpuCoreHours).toBe(0.433333);
    const json = JSON.stringify(l);
    expect(json).not.toMatch(/\d\.\d{7,}/);
    expect(JSON.parse(json)).toEqual(l);
  });
});

describe("formatCost", () => {
  test.each([
    [1.234, "USD", "≈ $1.23"],
    [0.4, "EUR", "≈ €0.40"],
    [2.5, "gbp", "≈ £2.50"],
    [12, "SEK", "≈ 12.00 SEK"],
    [0, "USD", "≈ $0.00"],
    [0.001, "USD", "≈ <$0.01"],
    [0.004, "EUR", "≈ <€0.01"],
    [0.0001, "SEK", "≈ <0.01 SEK"],
    [0.006, "USD", "≈ $0.01"],
    [1234.5, "USD", "≈ $1234.50"],
  ])("%d %s is %s", (amount, currency, shown) => {
    expect(formatCost(amount, currency)).toBe(shown);
  });
});

describe("sumEstimates", () => {
  const e = (perDay: number, toDate: number, savedToDate = 0, savedPerDay = 0, currency = "USD"): CostEstimate => ({ currency, perDay, toDate, savedToDate, savedPerDay });

  it("totals estimates of one currency", () => {
    expect(sumEstimates([e(0.1, 1, 0.5, 0.25), e(0.2, 2.5, 0, 0.5), e(0, 0.02)])).toEqual({ currency: "USD", perDay: 0.3, toDate: 3.52, savedToDate: 0.5, savedPerDay: 0.75 });
    expect(sumEstimates([e(1, 2, 3, 4, "EUR")])).toEqual(e(1, 2, 3, 4, "EUR"));
  });

  it("has no total for none, or for several currencies", () => {
    expect(sumEstimates([])).toBeNull();
    expect(sumEstimates([e(1, 1), e(1, 1, 0, 0, "EUR")])).toBeNull();
  });

  it("adds up ledgers estimated separately", () => {
    const a: UsageLedger = accrue(observe(emptyLedger(t0), t0, staging), hours(24));
    const b: UsageLedger = archive(a, hours(24));
    expect(sumEstimates([estimate(a, prices, hours(24)), estimate(b, prices, hours(24))])).toEqual({ currency: "USD", perDay: 0.665754, toDate: 1.265754, savedToDate: 0, savedPerDay: 0.6 });
  });
});
