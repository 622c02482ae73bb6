/**
 * What a staging costs, estimated from what it asks the cluster for: the CPU and memory its pods
 * request, and the size of its PersistentVolumeClaims, priced per hour (CPU, memory) and per
 * month (storage). A UsageLedger integrates those requests over time (core-hours, GiB-hours),
 * so the estimate to date is right however often the requests changed; while a staging is
 * archived its CPU and memory are not requested (what they would have cost is "saved"), but its
 * volumes are kept and still cost. Pure: the caller passes the time.
 */
import { quantityPattern } from "./sandbox.ts";

export interface Resources {
  cpuCores: number;
  memoryGiB: number;
  storageGiB: number;
}

/** Prices per unit; a month is 730 hours. */
export interface CostPrices {
  /** ISO 4217 code: USD, EUR, SEK... */
  currency: string;
  cpuHour: number;
  memoryGiBHour: number;
  storageGiBMonth: number;
}

export interface UsageLedger {
  /** ISO time the ledger started. */
  since: string;
  /** ISO time the integrals below are accrued up to. */
  updatedAt: string;
  cpuCoreHours: number;
  memoryGiBHours: number;
  storageGiBHours: number;
  /** Requests not running while archived. */
  savedCpuCoreHours: number;
  savedMemoryGiBHours: number;
  /** What is requested now (0 CPU and memory while archived; storage is kept). */
  current: Resources;
  /** What ran before archiving; null unless archived. */
  archived: { cpuCores: number; memoryGiB: number } | null;
}

export interface CostEstimate {
  currency: string;
  /** At the current requests. */
  perDay: number;
  toDate: number;
  savedToDate: number;
  /** What archiving saves per day (0 unless archived). */
  savedPerDay: number;
}

/** The requests of one pod, as Kubernetes counts them for scheduling. */
export interface PodRequests {
  cpuCores: number;
  memoryGiB: number;
}

type ResourceList = Record<string, string> | undefined;

/** The parts of a Pod's spec (V1PodSpec) podRequests reads. */
export interface PodRequestsSpec {
  containers?: { resources?: { requests?: ResourceList } }[];
  initContainers?: { resources?: { requests?: ResourceList }; restartPolicy?: string }[];
  /** RuntimeClass overhead, reserved on the node on top of the containers. */
  overhead?: ResourceList;
  /** Pod-level resources (Kubernetes 1.32+): when set, they are the pod's requests. */
  resources?: { requests?: ResourceList };
}

const HOURS_PER_MONTH = 730;
const MS_PER_HOUR = 3_600_000;
const GIB = 1024 ** 3;

const decimalExponent: Record<string, number> = { m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binaryExponent: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** Kubernetes quantity → plain number ("250m" → 0.25, "1Ki" → 1024, "1e3" → 1000). Throws unless a non-negative quantity. */
function parseQuantity(q: string, what: string): number {
  const match = quantityPattern.exec(q);
  if (!match) throw new Error(`${what} ${JSON.stringify(q)} is not a Kubernetes quantity (such as 500m, 2 or 4Gi)`);
  const number = match[1]!;
  const suffix = match[3] ?? "";
  let value: number;
  if (suffix === "") value = Number(number);
  else if (suffix in binaryExponent) value = Number(number) * 2 ** binaryExponent[suffix]!;
  else if (suffix in decimalExponent) value = Number(`${number}e${decimalExponent[suffix]!}`);
  else value = Number(`${number}${suffix}`); // e3, E-2: a decimal exponent, written the way JavaScript reads it
  if (!Number.isFinite(value)) throw new Error(`${what} ${JSON.stringify(q)} is out of range`);
  if (value < 0) throw new Error(`${what} ${JSON.stringify(q)} is negative`);
  return value === 0 ? 0 : value; // no -0
}

/** CPU cores of a Kubernetes quantity: "250m" → 0.25, "1" → 1, "1.5" → 1.5. Throws on anything else. */
export function parseCpu(q: string): number {
  return parseQuantity(q, "CPU quantity");
}

/** Bytes of a Kubernetes quantity: "512Mi", "1Gi", "1G", "1e9", "100k". Throws on anything else. */
export function parseBytes(q: string): number {
  return parseQuantity(q, "memory or storage quantity");
}

export function gib(bytes: number): number {
  return bytes / GIB;
}

/** Rounded to 6 decimals: no float noise in stored JSON (0.1 + 0.2), precise enough for cents. */
function round(n: number): number {
  return Math.round(n * 1e6) / 1e6 || 0;
}

function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? round(n) : 0;
}

function cpuOf(list: ResourceList): number {
  try {
    return list?.cpu === undefined ? 0 : parseCpu(list.cpu);
  } catch {
    return 0;
  }
}

function memoryOf(list: ResourceList): number {
  try {
    return list?.memory === undefined ? 0 : gib(parseBytes(list.memory));
  } catch {
    return 0;
  }
}

/**
 * A pod's effective requests as the scheduler counts them: the larger of the sum of its
 * containers (sidecars, init containers with restartPolicy Always, included) and the largest
 * init container (with the sidecars started before it), plus the RuntimeClass overhead.
 * Pod-level requests, when set, replace the containers'. Missing or unparsable requests count 0.
 */
export function podRequests(spec: PodRequestsSpec | undefined): PodRequests {
  const total = (of: (list: ResourceList) => number): number => {
    const podLevel = spec?.resources?.requests;
    let sum = (spec?.containers ?? []).reduce((acc, c) => acc + of(c.resources?.requests), 0);
    let sidecars = 0;
    let init = 0;
    for (const c of spec?.initContainers ?? []) {
      const own = of(c.resources?.requests);
      if (c.restartPolicy === "Always") {
        sum += own;
        sidecars += own;
        init = Math.max(init, sidecars);
      } else {
        init = Math.max(init, own + sidecars);
      }
    }
    const containers = Math.max(sum, init);
    const pod = podLevel && of(podLevel) > 0 ? of(podLevel) : containers;
    return round(pod + of(spec?.overhead));
  };
  return { cpuCores: total(cpuOf), memoryGiB: total(memoryOf) };
}

function zero(): Resources {
  return { cpuCores: 0, memoryGiB: 0, storageGiB: 0 };
}

export function emptyLedger(now: Date): UsageLedger {
  const at = now.toISOString();
  return { since: at, updatedAt: at, cpuCoreHours: 0, memoryGiBHours: 0, storageGiBHours: 0, savedCpuCoreHours: 0, savedMemoryGiBHours: 0, current: zero(), archived: null };
}

/**
 * Adds the hours since `updatedAt` times what is requested (and, while archived, what is not
 * running). A clock that went backwards adds nothing, and `updatedAt` stays where it was, so the
 * same hours are never counted twice.
 */
export function accrue(l: UsageLedger, now: Date): UsageLedger {
  const from = Date.parse(l.updatedAt);
  const to = now.getTime();
  if (!Number.isFinite(to)) return l;
  if (!Number.isFinite(from)) return { ...l, updatedAt: now.toISOString() };
  if (to <= from) return l;
  const hours = (to - from) / MS_PER_HOUR;
  return {
    ...l,
    updatedAt: now.toISOString(),
    cpuCoreHours: round(l.cpuCoreHours + hours * l.current.cpuCores),
    memoryGiBHours: round(l.memoryGiBHours + hours * l.current.memoryGiB),
    storageGiBHours: round(l.storageGiBHours + hours * l.current.storageGiB),
    savedCpuCoreHours: round(l.savedCpuCoreHours + hours * (l.archived?.cpuCores ?? 0)),
    savedMemoryGiBHours: round(l.savedMemoryGiBHours + hours * (l.archived?.memoryGiB ?? 0)),
  };
}

/** Accrues up to `now`, then records what is requested from now on. */
export function observe(l: UsageLedger, now: Date, current: Resources): UsageLedger {
  return {
    ...accrue(l, now),
    current: { cpuCores: nonNegative(current.cpuCores), memoryGiB: nonNegative(current.memoryGiB), storageGiB: nonNegative(current.storageGiB) },
  };
}

/** Scaled to zero: CPU and memory stop (and count as saved), volumes are kept and still cost. */
export function archive(l: UsageLedger, now: Date): UsageLedger {
  const a = accrue(l, now);
  // Archiving twice keeps what ran before the first time (the second would see nothing running).
  const archived = a.archived ?? { cpuCores: a.current.cpuCores, memoryGiB: a.current.memoryGiB };
  return { ...a, archived, current: { cpuCores: 0, memoryGiB: 0, storageGiB: a.current.storageGiB } };
}

/** Scaled back up: nothing is saved any more; the next observe records what runs. */
export function restore(l: UsageLedger, now: Date): UsageLedger {
  return { ...accrue(l, now), archived: null };
}

/** Uninstalled and its namespace deleted: nothing costs from now on. */
export function cleanup(l: UsageLedger, now: Date): UsageLedger {
  return { ...accrue(l, now), current: zero(), archived: null };
}

/** What the ledger comes to at `prices`, accrued up to `now` (the ledger itself is not changed). */
export function estimate(l: UsageLedger, prices: CostPrices, now: Date): CostEstimate {
  const a = accrue(l, now);
  const storageGiBHour = prices.storageGiBMonth / HOURS_PER_MONTH;
  const computeHour = (r: { cpuCores: number; memoryGiB: number }) => r.cpuCores * prices.cpuHour + r.memoryGiB * prices.memoryGiBHour;
  return {
    currency: prices.currency,
    perDay: round(24 * (computeHour(a.current) + a.current.storageGiB * storageGiBHour)),
    toDate: round(a.cpuCoreHours * prices.cpuHour + a.memoryGiBHours * prices.memoryGiBHour + a.storageGiBHours * storageGiBHour),
    savedToDate: round(a.savedCpuCoreHours * prices.cpuHour + a.savedMemoryGiBHours * prices.memoryGiBHour),
    savedPerDay: a.archived ? round(24 * computeHour(a.archived)) : 0,
  };
}

const symbols: Record<string, string> = { USD: "$", EUR: "€", GBP: "£" };

/** "≈ $1.23", "≈ €0.40", "≈ 12.00 SEK"; an amount that would show as 0.00 but is not 0: "≈ <$0.01". */
export function formatCost(amount: number, currency: string): string {
  const code = currency.toUpperCase();
  const symbol = symbols[code];
  const tiny = amount !== 0 && Math.abs(amount) < 0.005;
  const shown = tiny ? "0.01" : Math.abs(amount).toFixed(2);
  const sign = amount < 0 && !tiny ? "-" : "";
  const prefix = tiny ? "<" : "";
  return symbol ? `≈ ${prefix}${sign}${symbol}${shown}` : `≈ ${prefix}${sign}${shown} ${code}`;
}

/** The total of several estimates; null for none, or when their currencies differ (no meaningful total). */
export function sumEstimates(list: CostEstimate[]): CostEstimate | null {
  const first = list[0];
  if (!first || list.some((e) => e.currency !== first.currency)) return null;
  const sum = (field: "perDay" | "toDate" | "savedToDate" | "savedPerDay") => round(list.reduce((acc, e) => acc + e[field], 0));
  return { currency: first.currency, perDay: sum("perDay"), toDate: sum("toDate"), savedToDate: sum("savedToDate"), savedPerDay: sum("savedPerDay") };
}
