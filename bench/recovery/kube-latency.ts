// A proxy in front of the Kubernetes API double that answers namespaced, non-watch requests
// `latencyMs` late, as an API server across a network would. Octostage's worker (and helm) reach
// the double through it, so the steps of a deploy that talk to the API (namespace, quota, limit
// range and credentials before helm; the workload list after it) take measurable time and a kill
// can land in them. Watches pass at once (their events are not delayed: the informers see what
// the API server holds as soon as it holds it).
import { request } from "node:http";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface KubeLatencyProxy {
  url: string;
  /** Requests answered late so far. */
  delayed(): number;
  close(): Promise<void>;
}

const delayedPath = /\/namespaces\/[^/]+\/[^/]+/;

export async function startKubeLatencyProxy(target: string, latencyMs: number): Promise<KubeLatencyProxy> {
  const upstream = new URL(target);
  let delayedCount = 0;
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A watch's headers go out at once, as the API server sends them (client-go and
        // client-node count a watch as started when they arrive), not with its first event.
        res.flushHeaders();
        answer.pipe(res);
        res.on("close", () => answer.destroy());
      },
    );
    out.on("error", () => res.destroy());
    req.on("aborted", () => out.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const watch = url.searchParams.get("watch");
    if (latencyMs > 0 && watch !== "true" && watch !== "1" && delayedPath.test(url.pathname)) {
      delayedCount += 1;
      // Hold the request body meanwhile (pipe() resumes it when forwarding).
      req.pause();
      setTimeout(() => forward(req, res), latencyMs);
    } else forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    delayed: () => delayedCount,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A copy of `kubeconfigPath` (the double's) whose server is `url`, written in `dir`. */
export function kubeconfigVia(kubeconfigPath: string, url: string, dir: string): string {
  const text = readFileSync(kubeconfigPath, "utf8").replace(/server: \S+/g, `server: ${url}`);
  const out = join(dir, "kubeconfig-latency");
  writeFileSync(out, text, { mode: 0o600 });
  return out;
}
