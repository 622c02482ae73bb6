import { parseArgs } from "node:util";

type Scenario = "all" | "propagation" | "scale" | "foreign-events" | "informer-memory";

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
  foreignPods: number;
  /** Scale: changes per second to those pods during the measured window (0: none). */
  foreignChurn: number;
  /** Scale: OCTOSTAGE_ROLE of the measured process: all (server and worker) or worker (what holds the informers). */
  role: "all" | "worker";
  logLevel: string;
  /** Extra node flags for the Octostage process, e.g. "--max-old-space-size=256". */
  nodeFlags: string[];
  /** Extra environment of the Octostage process, e.g. MALLOC_TRIM_THRESHOLD_=131072. */
  serverEnv: Record<string, string>;
  /** What the Octostage process runs: the TypeScript sources (as `npm start`) or the JavaScript build (as the image). */
  build: "sources" | "js";
  /** Also write the results as JSON here. */
  out: string | undefined;
}

const usage = `Usage: npm run bench:status -- [options]

  --scenario S        propagation | scale | all (default all); or foreign-events (what one
                      event of another team's pod costs the informer, in this process), or
                      informer-memory (RSS of a process that only runs the kube adapter's
                      watches, for each of --sizes with --foreign-pods, 5 fresh processes)
  --stagings N        propagation: stagings created by webhooks (default 20)
  --samples N         propagation: changes measured (default 100)
  --gap-ms N          propagation: pause before each change (default 1200)
  --burst N           propagation: then flip N stagings at once (default: all of them; 0 skips)
  --sizes A,B,C       scale: stagings tracked (default 10,100,1000)
  --settle N          scale: seconds after start-up before measuring (default 20)
  --seconds N         scale: measured steady-state seconds (default 60)
  --foreign-pods N    scale: also N pods of other teams, outside staging namespaces, in 50
                      namespaces, full-size like a real API server's
                      (test/support/realistic-pod.ts; default 0; --other-pods is the old name)
  --foreign-churn R   scale: R changes per second to those pods (a pod turning unready or
                      ready again) during the measured window (default 0)
  --role ROLE         scale: all (server and worker in one process, as npm start) or worker
                      (OCTOSTAGE_ROLE=worker: the process that watches the cluster; default all)
  --log-level LEVEL   server LOG_LEVEL (default warn)
  --node-flags="..."  node flags for the Octostage process after the ones of
                      package.json's "serve" script (with =, e.g.
                      --node-flags=--max-old-space-size=128)
  --server-env K=V    an environment variable for the Octostage process (repeatable), e.g.
                      --server-env MALLOC_TRIM_THRESHOLD_=131072
  --build B           sources (node src/main/octostage.ts, as npm start; default) or js
                      (compiled with tsconfig.build.json and run without the TypeScript
                      stripper, as the image runs it)
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
      "foreign-pods": { type: "string" },
      "foreign-churn": { type: "string" },
      role: { type: "string" },
      "log-level": { type: "string" },
      "node-flags": { type: "string" },
      "server-env": { type: "string", multiple: true },
      build: { type: "string" },
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
  if (!["all", "propagation", "scale", "foreign-events", "informer-memory"].includes(scenario)) throw new Error(`--scenario must be propagation, scale, all, foreign-events or informer-memory, got ${scenario}`);
  const sizes = (values.sizes ?? "10,100,1000").split(",").map((s) => Math.round(num("sizes", s.trim(), 0)));
  if (sizes.some((n) => n < 1)) throw new Error("--sizes must be positive whole numbers");
  const stagings = Math.max(1, Math.round(num("stagings", values.stagings, 20)));
  const role = values.role ?? "all";
  const checkedScenario = scenario as Scenario;
  if (role !== "all" && role !== "worker") throw new Error(`--role must be all or worker, got ${role}`);
  const build = values.build ?? "sources";
  if (build !== "sources" && build !== "js") throw new Error(`--build must be sources or js, got ${build}`);
  if (role === "worker" && scenario !== "scale") throw new Error("--role worker needs --scenario scale (propagation sends webhooks to the server)");
  return {
    scenario: checkedScenario,
    stagings,
    burst: Math.min(stagings, Math.round(num("burst", values.burst, stagings))),
    samples: Math.max(1, Math.round(num("samples", values.samples, 100))),
    gapMs: num("gap-ms", values["gap-ms"], 1200),
    sizes,
    settleSeconds: num("settle", values.settle, 20),
    seconds: Math.max(1, num("seconds", values.seconds, 60)),
    foreignPods: Math.round(num("foreign-pods", values["foreign-pods"] ?? values["other-pods"], 0)),
    foreignChurn: num("foreign-churn", values["foreign-churn"], 0),
    role,
    logLevel: values["log-level"] ?? "warn",
    nodeFlags: (values["node-flags"] ?? "").split(" ").filter(Boolean),
    serverEnv: Object.fromEntries(
      (values["server-env"] ?? []).map((kv) => {
        const eq = kv.indexOf("=");
        if (eq < 1) throw new Error(`--server-env must be NAME=VALUE, got ${kv}`);
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    ),
    build,
    out: values.out,
  };
}
