// Loaded into the server process with `--import` when the bench runs with --probe; src/ is not
// touched. Per webhook request (from the HTTP 'request' event to the response's 'finish') it
// adds up, through AsyncLocalStorage: time waiting for a pooled PostgreSQL connection, time in
// PostgreSQL queries, and time in BullMQ Queue.add (the enqueue). Every second it samples the
// event-loop delay and the process's CPU time, and it records GC pauses. The JSON is written to
// $BENCH_PROBE_OUT when the process exits.
import { AsyncLocalStorage } from "node:async_hooks";
import { writeFileSync } from "node:fs";
import http from "node:http";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import type { PerformanceEntry } from "node:perf_hooks";
import { Queue } from "bullmq";
import pg from "pg";

interface ProbeRequest {
  id: string;
  /** Epoch milliseconds (fractional). */
  start: number;
  end: number;
  status: number;
  poolWaitMs: number;
  dbMs: number;
  dbQueries: number;
  enqueueMs: number;
  enqueues: number;
}

interface ProbeSecond {
  /** Epoch milliseconds at the end of the second. */
  t: number;
  loopDelayP50: number;
  loopDelayP99: number;
  loopDelayMax: number;
  /** CPU milliseconds (user + system) the process used in that second. */
  cpuMs: number;
}

export interface ProbeOutput {
  requests: ProbeRequest[];
  seconds: ProbeSecond[];
  gc: { t: number; ms: number; kind: number }[];
}

const out = process.env.BENCH_PROBE_OUT;
const epoch = (): number => performance.timeOrigin + performance.now();
const store = new AsyncLocalStorage<ProbeRequest>();
const requests: ProbeRequest[] = [];
const seconds: ProbeSecond[] = [];
const gc: ProbeOutput["gc"] = [];

type AnyFn = (...args: any[]) => any;

/** Wraps a method that takes a trailing callback or returns a promise, adding its duration to the current request. */
function timed(proto: any, name: string, add: (r: ProbeRequest, ms: number) => void): void {
  const original = proto[name] as AnyFn;
  proto[name] = function (this: unknown, ...args: any[]): unknown {
    const r = store.getStore();
    if (!r) return original.apply(this, args);
    const started = performance.now();
    const last = args.length - 1;
    if (typeof args[last] === "function") {
      const cb = args[last] as AnyFn;
      args[last] = function (this: unknown, ...cbArgs: any[]): unknown {
        add(r, performance.now() - started);
        return cb.apply(this, cbArgs);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(
        () => add(r, performance.now() - started),
        () => add(r, performance.now() - started),
      );
    }
    return result;
  };
}

timed(pg.Pool.prototype, "connect", (r, ms) => (r.poolWaitMs += ms));
timed(pg.Client.prototype, "query", (r, ms) => {
  r.dbMs += ms;
  r.dbQueries += 1;
});
timed(Queue.prototype, "add", (r, ms) => {
  r.enqueueMs += ms;
  r.enqueues += 1;
});

const emit = (http.Server.prototype as unknown as { emit: AnyFn }).emit;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: any[]): boolean {
  if (event !== "request") return emit.call(this, event, ...args) as boolean;
  const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
  const id = req.headers["x-github-delivery"];
  if (req.method !== "POST" || typeof id !== "string") return emit.call(this, event, ...args) as boolean;
  const r: ProbeRequest = { id, start: epoch(), end: 0, status: 0, poolWaitMs: 0, dbMs: 0, dbQueries: 0, enqueueMs: 0, enqueues: 0 };
  res.once("finish", () => {
    r.end = epoch();
    r.status = res.statusCode;
    requests.push(r);
  });
  return store.run(r, () => emit.call(this, event, ...args) as boolean);
} as typeof http.Server.prototype.emit;

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let cpu = process.cpuUsage();
setInterval(() => {
  const used = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  seconds.push({
    t: epoch(),
    loopDelayP50: loop.percentile(50) / 1e6,
    loopDelayP99: loop.percentile(99) / 1e6,
    loopDelayMax: loop.max / 1e6,
    cpuMs: (used.user + used.system) / 1000,
  });
  loop.reset();
}, 1000).unref();

new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gc.push({ t: performance.timeOrigin + e.startTime, ms: e.duration, kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0 });
}).observe({ entryTypes: ["gc"] });

// Written when the stop is asked for (the load is over by then) and again at exit.
const save = (): void => {
  if (out) writeFileSync(out, JSON.stringify({ requests, seconds, gc } satisfies ProbeOutput));
};
process.on("SIGTERM", save);
process.once("exit", save);
