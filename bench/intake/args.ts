import { parseArgs } from "node:util";

type WorkerMode = "in-process" | "separate" | "none";

export interface BenchOptions {
  /** Webhooks per second, sent on the clock (open loop). */
  rate: number;
  /** Measured seconds (after the warm-up). */
  seconds: number;
  /** Warm-up seconds at the same rate, excluded from the latency numbers. */
  warmup: number;
  /** Distinct pull requests, round-robin. */
  prs: number;
  /**
   * Where the worker runs: "in-process" (OCTOSTAGE_ROLE=all, as `npm start`), "separate"
   * (a second process with OCTOSTAGE_ROLE=worker), "none" (server only: no helm numbers).
   */
  worker: WorkerMode;
  /** How long to wait after the last webhook for the worker to apply every generation. */
  drainSeconds: number;
  logLevel: string;
  /** Loads bench/intake/probe.ts into the server: server-side time split into DB, pool wait, enqueue. */
  probe: boolean;
  /** Writes a V8 CPU profile of the server process and prints its heaviest functions. */
  cpuProf: boolean;
  /** Where to write the JSON results (default bench/intake/results-<date>.json). */
  out: string | undefined;
  /** Wait up to this many seconds for the machine to be idle (< 15 % busy) before starting. */
  waitIdleSeconds: number;
  /** Runs helm under `nice -n N` (an experiment: does a lower CPU priority for helm protect intake?). */
  helmNice: number;
  /** OCTOSTAGE_WORKER_CONCURRENCY for the worker (default: Octostage's own default). */
  workerConcurrency: number | undefined;
  /** After Octostage, send the same webhooks to the floor server (floor-server.ts) and report the ratio. */
  floor: boolean;
}

const usage = `Usage: npm run bench:intake -- [options]

  --rate N            webhooks per second (default 100)
  --seconds N         measured seconds (default 30)
  --warmup N          warm-up seconds, not counted (default 2)
  --prs N             distinct pull requests, round-robin (default 50)
  --worker MODE       in-process (default, like npm start) | separate | none
  --drain-seconds N   wait for the worker to catch up after the run (default 180)
  --log-level LEVEL   server LOG_LEVEL (default warn)
  --probe             instrument the server (DB, pool wait, enqueue, event-loop delay)
  --cpu-prof          CPU-profile the server and list its heaviest functions
  --out FILE          results JSON (default bench/intake/results-<date>.json)
  --wait-idle N       first wait up to N s for the machine to be < 15 % busy (default 0)
  --helm-nice N       run helm at nice N, autogroup included (experiment; default 0 = as Octostage runs it)
  --worker-concurrency N   OCTOSTAGE_WORKER_CONCURRENCY (default: Octostage's default)
`;

function positive(name: string, raw: string | undefined, fallback: number, allowZero = false): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`--${name} must be a ${allowZero ? "non-negative" : "positive"} number, got ${raw}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: "string" },
      seconds: { type: "string" },
      warmup: { type: "string" },
      prs: { type: "string" },
      worker: { type: "string" },
      "drain-seconds": { type: "string" },
      "log-level": { type: "string" },
      probe: { type: "boolean" },
      "cpu-prof": { type: "boolean" },
      out: { type: "string" },
      "wait-idle": { type: "string" },
      "helm-nice": { type: "string" },
      "worker-concurrency": { type: "string" },
      "no-floor": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const worker = values.worker ?? "in-process";
  if (worker !== "in-process" && worker !== "separate" && worker !== "none") throw new Error(`--worker must be in-process, separate or none, got ${worker}`);
  return {
    rate: positive("rate", values.rate, 100),
    seconds: positive("seconds", values.seconds, 30),
    warmup: positive("warmup", values.warmup, 2, true),
    prs: Math.round(positive("prs", values.prs, 50)),
    worker,
    drainSeconds: positive("drain-seconds", values["drain-seconds"], 180, true),
    logLevel: values["log-level"] ?? "warn",
    probe: values.probe ?? false,
    cpuProf: values["cpu-prof"] ?? false,
    out: values.out,
    waitIdleSeconds: positive("wait-idle", values["wait-idle"], 0, true),
    helmNice: Math.round(positive("helm-nice", values["helm-nice"], 0, true)),
    workerConcurrency: values["worker-concurrency"] === undefined ? undefined : Math.round(positive("worker-concurrency", values["worker-concurrency"], 4)),
    floor: !(values["no-floor"] ?? false),
  };
}
