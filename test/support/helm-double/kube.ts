/** A minimal Kubernetes REST client over plain HTTP, configured from a kubeconfig like helm's client-go. */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { parse } from "yaml";

/** What helm prints for an error, and exits 1 with. */
export class HelmFailure extends Error {}

export interface KubeResponse {
  status: number;
  body: any;  
}

export interface KubeClient {
  server: string;
  request(method: string, apiPath: string, body?: unknown): Promise<KubeResponse>;
}

interface Kubeconfig {
  "current-context"?: string;
  clusters?: { name: string; cluster: { server: string } }[];
  contexts?: { name: string; context: { cluster: string; user?: string } }[];
  users?: { name: string; user?: { token?: string } }[];
}

/**
 * --kubeconfig, else KUBECONFIG (first entry), else ~/.kube/config; with none of them
 * client-go falls back to http://localhost:8080, and so does the double.
 */
export function loadKubeTarget(flag: string | undefined, envValue: string | undefined): { server: string; token?: string } {
  const file = flag ?? envValue?.split(path.delimiter).find(Boolean) ?? path.join(homedir(), ".kube", "config");
  if (!existsSync(file)) {
    if (flag !== undefined) throw new HelmFailure(`Kubernetes cluster unreachable: stat ${file}: no such file or directory`);
    return { server: "http://localhost:8080" };
  }
  const config = (parse(readFileSync(file, "utf8")) ?? {}) as Kubeconfig;
  const context = config.contexts?.find((c) => c.name === config["current-context"]) ?? config.contexts?.[0];
  const cluster = config.clusters?.find((c) => c.name === context?.context.cluster) ?? config.clusters?.[0];
  if (!cluster) {
    throw new HelmFailure("Kubernetes cluster unreachable: invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
  }
  const token = config.users?.find((u) => u.name === context?.context.user)?.user?.token;
  if (!cluster.cluster.server.startsWith("http://")) {
    throw new HelmFailure(`the helm double only talks plain http:// API servers, not ${cluster.cluster.server}`);
  }
  return { server: cluster.cluster.server.replace(/\/$/, ""), ...(token ? { token } : {}) };
}

/** Go's net error text for a failed connection (helm prints it inside its own message). */
function dialError(url: URL, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const port = url.port || "80";
  if (cause?.code === "ECONNREFUSED") return `dial tcp ${url.hostname}:${port}: connect: connection refused`;
  if (cause?.code === "ENOTFOUND") return `dial tcp: lookup ${url.hostname}: no such host`;
  return `dial tcp ${url.hostname}:${port}: ${cause?.message ?? String(err)}`;
}

export function createKubeClient(target: { server: string; token?: string }): KubeClient {
  async function request(method: string, apiPath: string, body?: unknown): Promise<KubeResponse> {
    const url = new URL(apiPath, `${target.server}/`);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      const verb = method.charAt(0) + method.slice(1).toLowerCase();
      throw new HelmFailure(`${verb} "${url.href}": ${dialError(url, err)}`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }
  return { server: target.server, request };
}

/** The API's message for a failed request, as client-go surfaces it. */
export function apiMessage(res: KubeResponse): string {
  const body = res.body as { message?: unknown } | string;
  return typeof body === "object" && typeof body.message === "string" ? body.message : `the server responded with status ${res.status}`;
}
