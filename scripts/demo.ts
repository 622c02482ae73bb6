// `npm run demo`: Octostage with its web dashboard on http://127.0.0.1:3000, signed in as "demo",
// against the test doubles (test/support/system.ts): real Postgres (a schema of the `test`
// database, dropped on exit) and Redis, the Kubernetes API double, the helm double and the GitHub
// double, whose OAuth web flow signs the browser in at once. It then plays a few pull requests
// through real signed webhooks so the dashboard has something to show:
//   #12 becomes running (and gets a push every OCTOSTAGE_DEMO_PUSH_SECONDS, default 45, so its
//       row visibly redeploys), #13 is running, then its pod crash-loops and the staging fails,
//   #9 is closed (its staging archived: "Show archived"), and "qa-demo" is a named staging of
//       the branch main, created through the HTTP API.
// PORT (default 3000; 0: any free port) and LOG_LEVEL (default warn) as for `npm start`; the
// browser is opened unless CI or OCTOSTAGE_DEMO_NO_BROWSER is set. Ctrl-C stops everything.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createTokenStore } from "../src/adapters/db/token-store.ts";
import { createToken, operatorCaller } from "../src/app/tokens.ts";
import { systemClock } from "../src/ports/clock.ts";
import type { StagingRecord } from "../src/ports/store.ts";
import { realisticPod } from "../test/support/realistic-pod.ts";
import { installationId, startTestSystem, webhookSecret } from "../test/support/system.ts";
import type { TestSystem } from "../test/support/system.ts";
import { waitFor } from "../test/support/wait.ts";
import { deliverWebhook, pullRequestPayload } from "../test/support/webhooks.ts";

// Prisma's migration engine (WebAssembly) makes Node warn that importing WebAssembly is
// experimental: noise before the address. Other warnings are still printed.
const printWarning = process.listeners("warning");
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name !== "ExperimentalWarning" || !/WebAssembly/.test(warning.message)) for (const print of printWarning) print(warning);
});

// Whoever reads the output may go away (`npm run demo | head`): the demo keeps running, so that
// Ctrl-C still stops it and drops its database, instead of dying of EPIPE.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});

const owner = "acme";
const repoName = "shop";
const repo = `${owner}/${repoName}`;
const login = "demo";
const port = process.env.PORT ?? "3000";
const pushSeconds = Number(process.env.OCTOSTAGE_DEMO_PUSH_SECONDS ?? "45");
const pushEveryMs = (Number.isFinite(pushSeconds) && pushSeconds >= 1 ? pushSeconds : 45) * 1000;

const demoRepository = {
  repo,
  name: repoName,
  chart: { repository: "https://charts.example.com", name: "shop", version: "2.4.0" },
  values: { replicaCount: 2, image: { repository: `ghcr.io/${repo}` }, ingress: { enabled: true } },
  hostTemplate: "{name}.staging.example.com",
};
/** So the dashboard shows a cost per staging (from the pods' requests). */
const prices = { currency: "USD", cpuHour: 0.04, memoryGiBHour: 0.005, storageGiBMonth: 0.1 };

interface DemoPullRequest {
  number: number;
  title: string;
  branch: string;
  author: string;
  sha: string;
}

const pullRequests = {
  running: { number: 12, title: "Dark mode for the storefront", branch: "dark-mode", author: "mona" },
  crashing: { number: 13, title: "Switch to the v2 payments client", branch: "payments-v2", author: "hubot" },
  closed: { number: 9, title: "Fix the footer's copyright year", branch: "footer-year", author: "octocat" },
};

const newSha = (): string => randomBytes(20).toString("hex");
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** Fails early, with the fix, when the port is taken (before a test database is created). */
async function portFree(p: number): Promise<boolean> {
  if (p === 0) return true;
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(p, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

function openBrowser(url: string): void {
  if (process.env.CI || process.env.OCTOSTAGE_DEMO_NO_BROWSER) return;
  // Without a display, xdg-open would start a text browser in this terminal.
  const command = process.platform === "darwin" ? "open" : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? "xdg-open" : undefined;
  if (!command) return;
  try {
    const child = spawn(command, [url], { detached: true, stdio: "ignore" });
    child.on("error", () => {}); // not installed: the printed address is enough
    child.unref();
  } catch {
    // no browser: the printed address is enough
  }
}

let sys: TestSystem | undefined;
/** While Octostage starts: a Ctrl-C then waits for it, to stop it and drop its database. */
let starting: Promise<TestSystem> | undefined;
let stopping = false;
let pushTimer: NodeJS.Timeout | undefined;

async function stop(signal: string): Promise<void> {
  if (stopping) {
    say("Stopping at once.");
    process.exit(130);
  }
  stopping = true;
  if (pushTimer) clearInterval(pushTimer);
  say(`\n${signal}: stopping the demo (dropping its test database)…`);
  const watchdog = setTimeout(() => {
    process.stderr.write("The demo did not stop within 15 s; exiting anyway.\n");
    process.exit(1);
  }, 15_000);
  watchdog.unref();
  try {
    const system = sys ?? (await starting?.catch(() => undefined));
    await system?.stop();
  } catch (err) {
    process.stderr.write(`Could not stop cleanly: ${(err as Error).message}\n`);
    process.exit(1);
  }
  say("The demo stopped.");
  process.exit(0);
}
// SIGHUP: the terminal was closed.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(signal));

async function start(): Promise<TestSystem> {
  if (!(await portFree(Number(port)))) {
    process.stderr.write(`Port ${port} on 127.0.0.1 is taken: run \`PORT=3001 npm run demo\` (PORT=0 picks a free one).\n`);
    process.exit(1);
  }
  const system = await startTestSystem(
    [demoRepository],
    { OCTOSTAGE_DEMO: "true", LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", PORT: port, HOST: "127.0.0.1" },
    { dashboard: true, dashboardLivePollMs: 1000, project: { cost: prices } },
  );
  system.github.installOn(owner, repoName, installationId);
  system.github.setBranch(owner, repoName, "main", newSha());
  system.github.setPermission(owner, repoName, login, "admin");
  system.github.signInAs(login);
  return system;
}

async function pullRequestEvent(s: TestSystem, action: "opened" | "synchronize" | "closed", pr: DemoPullRequest): Promise<void> {
  const payload: unknown = pullRequestPayload(action, { owner, repo: repoName, number: pr.number, installationId, sha: pr.sha, ref: pr.branch, title: pr.title, sender: pr.author });
  const res = await deliverWebhook(s.webhookUrl, "pull_request", payload, webhookSecret);
  if (res.status !== 200) throw new Error(`the ${action} webhook of #${pr.number} answered ${res.status}: ${res.body}`);
}

async function reached(s: TestSystem, what: string, find: () => Promise<StagingRecord | null>, status: string): Promise<StagingRecord> {
  return waitFor(`${what} ${status}`, async () => {
    const staging = await find();
    return staging?.status === status ? staging : null;
  }, 30_000);
}

const prStaging = (s: TestSystem, number: number) => () => s.db.store.find({ repoOwner: owner, repoName, prNumber: number });

type Deployment = { metadata: { name: string }; spec?: { replicas?: number } };
const deploymentsIn = (s: TestSystem, namespace: string): Deployment[] => s.kube.list("Deployment", namespace) as Deployment[];
const podSuffix = (): string => randomBytes(3).toString("hex").slice(0, 5);

/** Pods as the Deployment's ReplicaSet would make them: the dashboard's cost comes from their requests. */
function runPods(s: TestSystem, namespace: string): void {
  for (const d of deploymentsIn(s, namespace)) {
    for (let i = 0; i < (d.spec?.replicas ?? 1); i++) s.kube.put(realisticPod(namespace, `${d.metadata.name}-7f9c5d8b6-${podSuffix()}`, { app: repoName }));
  }
}

async function openPullRequest(s: TestSystem, shape: Omit<DemoPullRequest, "sha">): Promise<{ pr: DemoPullRequest; staging: StagingRecord }> {
  const pr = { ...shape, sha: newSha() };
  s.github.openPullRequest(owner, repoName, { number: pr.number, sha: pr.sha, ref: pr.branch, title: pr.title, author: pr.author });
  await pullRequestEvent(s, "opened", pr);
  const staging = await reached(s, `#${pr.number}`, prStaging(s, pr.number), "running");
  return { pr, staging };
}

/** #12: running; later pushes redeploy it. */
async function runningPullRequest(s: TestSystem): Promise<DemoPullRequest> {
  const { pr, staging } = await openPullRequest(s, pullRequests.running);
  runPods(s, staging.namespace);
  say(`  #${pr.number} "${pr.title}": ${staging.name} is running`);
  return pr;
}

/**
 * #13: deploys, then its pod crash-loops. The Kubernetes double's controller marks every
 * Deployment ready; this one's status is set back to no ready replica, as the real controller
 * would with a pod in CrashLoopBackOff, and the status engine calls the staging failed.
 */
async function crashingPullRequest(s: TestSystem): Promise<void> {
  const { pr, staging } = await openPullRequest(s, pullRequests.crashing);
  for (const d of deploymentsIn(s, staging.namespace)) {
    s.kube.put(realisticPod(staging.namespace, `${d.metadata.name}-5c8d7b9f4-${podSuffix()}`, { app: repoName, ready: false }));
    s.kube.patchStatus("Deployment", staging.namespace, d.metadata.name, { readyReplicas: 0, availableReplicas: 0, unavailableReplicas: d.spec?.replicas ?? 1 });
  }
  const failed = await reached(s, `#${pr.number}`, prStaging(s, pr.number), "failed");
  say(`  #${pr.number} "${pr.title}": ${failed.name} failed: ${failed.reason ?? ""}`);
}

/** #9: deployed, then the PR is closed: its staging is archived (scaled to zero, volumes kept). */
async function closedPullRequest(s: TestSystem): Promise<void> {
  const { pr, staging } = await openPullRequest(s, pullRequests.closed);
  runPods(s, staging.namespace);
  s.github.closePullRequest(owner, repoName, pr.number);
  await pullRequestEvent(s, "closed", pr);
  const archived = await reached(s, `#${pr.number}`, prStaging(s, pr.number), "archived");
  // Scaled to zero: its pods go.
  for (const pod of s.kube.list("Pod", staging.namespace) as { metadata: { name: string } }[]) s.kube.remove("Pod", staging.namespace, pod.metadata.name);
  say(`  #${pr.number} "${pr.title}": closed, ${archived.name} is archived (tick "Show archived")`);
}

/** "qa-demo": a named staging of the branch main, created through the HTTP API with a token. */
async function namedStaging(s: TestSystem): Promise<void> {
  const token = await createToken({ tokens: createTokenStore(s.db.db), clock: systemClock }, operatorCaller, { name: "qa-pipeline", role: "operate" });
  if (!token.ok) throw new Error(token.message);
  const res = await fetch(`${s.app.url}/api/v1/stagings`, {
    method: "POST",
    headers: { authorization: `Bearer ${token.value.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "qa-demo", repo, ref: "main" }),
  });
  if (res.status !== 201) throw new Error(`POST /api/v1/stagings answered ${res.status}: ${await res.text()}`);
  const staging = await reached(s, "qa-demo", () => s.db.store.findByName("qa-demo"), "running");
  runPods(s, staging.namespace);
  say(`  qa-demo: a named staging of main, created through the API, is running`);
}

/** A push to #12 now and then: its row goes deploying, then running again, on the new commit. */
function keepPushing(s: TestSystem, pr: DemoPullRequest): void {
  pushTimer = setInterval(() => {
    const next = { ...pr, sha: newSha() };
    s.github.pushPullRequest(owner, repoName, pr.number, next.sha);
    pullRequestEvent(s, "synchronize", next).then(
      () => {
        pr.sha = next.sha;
        say(`  #${pr.number}: pushed ${next.sha.slice(0, 7)}, redeploying`);
      },
      (err: unknown) => {
        if (!stopping) process.stderr.write(`  #${pr.number}: the push failed: ${(err as Error).message}\n`);
      },
    );
  }, pushEveryMs);
  pushTimer.unref();
}

try {
  starting = start();
  sys = await starting;
  if (stopping) await new Promise(() => {}); // stop() has it now
  const url = `${sys.app.url}/login/github`;
  say(`Octostage demo: ${url} (signs you in as "${login}")`);
  say(`This is a demo: the pull requests, the Kubernetes cluster and GitHub are simulated, nothing is deployed. Ctrl-C stops it.`);
  openBrowser(url);
  const s = sys;
  const [running] = await Promise.all([runningPullRequest(s), crashingPullRequest(s), closedPullRequest(s), namedStaging(s)]);
  say(`Simulated: 1 running, 1 failed, 1 archived pull request and a named staging; #${running.number} gets a push every ${pushEveryMs / 1000} s.`);
  keepPushing(s, running);
} catch (err) {
  if (!stopping) {
    process.stderr.write(`The demo failed: ${(err as Error).stack ?? String(err)}\n`);
    await sys?.stop().catch(() => {});
    process.exit(1);
  }
}
