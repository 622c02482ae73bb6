import { parseArgs } from "node:util";

type Scenario = "all" | "propagation" | "scale";

export interface StatusBenchOptions {
  scenario: Scenario;
  /** Propagation: stagings created through signed pull_request.opened webhooks. */
  stagings: number;
  /** Propagation: object changes measured, round-robin over the stagings. */
  samples: number;
  /** Propagation: pause before each change, after the previous report has finished. */
  gapMs: number;
  /** Propagation: afterwards, this many stagings flipped at the same instant (0: none). */
  burst: number;
  /** Scale: numbers of stagings tracked, one fresh system each. */
  sizes: number[];
  /** Scale: seconds after start-up before measuring. */
  settleSeconds: number;
  /** Scale: measured steady-state seconds. */
  seconds: number;
  /** Scale: pods of other teams (no staging), as a real API server returns them, in 50 namespaces. */
  otherPods: number;
  logLevel: string;
  /** Extra node flags for the Octostage process, e.g. "--max-old-space-size=256". */
  nodeFlags: string[];
  /** Also write the results as JSON here. */
  out: string | undefined;
}

const usage = `Usage: npm run bench:status -- [options]

  --scenario S        propagation | scale | all (default all)
  --stagings N        propagation: stagings created by webhooks (default 20)
  --samples N         propagation: changes measured (default 100)
  --gap-ms N          propagation: pause before each change (default 1200)
  --burst N           propagation: then flip N stagings at once (default: all of them; 0 skips)
  --sizes A,B,C       scale: stagings tracked (default 10,100,1000)
  --settle N          scale: seconds after start-up before measuring (default 20)
  --seconds N         scale: measured steady-state seconds (default 60)
  --other-pods N      scale: also N pods outside staging namespaces, full-size like a
                      real API server's (test/support/realistic-pod.ts; default 0)
  --log-level LEVEL   server LOG_LEVEL (default warn)
  --node-flags="..."  node flags for the Octostage process after the ones of
                      package.json's "serve" script (with =, e.g.
                      --node-flags=--max-old-space-size=128)
  --out FILE          also write the results as JSON
`;

function num(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${raw}`);
  return n;
}

export function parseOptions(argv: string[]): StatusBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string" },
      stagings: { type: "string" },
      samples: { type: "string" },
      "gap-ms": { type: "string" },
      burst: { type: "string" },
      sizes: { type: "string" },
      settle: { type: "string" },
      seconds: { type: "string" },
      "other-pods": { type: "string" },
      "log-level": { type: "string" },
      "node-flags": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const scenario = values.scenario ?? "all";
  if (scenario !== "all" && scenario !== "propagation" && scenario !== "scale") throw new Error(`--scenario must be propagation, scale or all, got ${scenario}`);
  const sizes = (values.sizes ?? "10,100,1000").split(",").map((s) => Math.round(num("sizes", s.trim(), 0)));
  if (sizes.some((n) => n < 1)) throw new Error("--sizes must be positive whole numbers");
  const stagings = Math.max(1, Math.round(num("stagings", values.stagings, 20)));
  return {
    scenario,
    stagings,
    burst: Math.min(stagings, Math.round(num("burst", values.burst, stagings))),
    samples: Math.max(1, Math.round(num("samples", values.samples, 100))),
    gapMs: num("gap-ms", values["gap-ms"], 1200),
    sizes,
    settleSeconds: num("settle", values.settle, 20),
    seconds: Math.max(1, num("seconds", values.seconds, 60)),
    otherPods: Math.round(num("other-pods", values["other-pods"], 0)),
    logLevel: values["log-level"] ?? "warn",
    nodeFlags: (values["node-flags"] ?? "").split(" ").filter(Boolean),
    out: values.out,
  };
}
