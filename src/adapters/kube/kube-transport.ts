import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { KubernetesListObject, KubernetesObject, V1ListMeta } from "@kubernetes/client-node";
import type { WorkloadRef } from "../../ports/cluster.ts";
import type { KubeConnection } from "./kube-config.ts";
import { KubeApiError } from "./kube-error.ts";
import type { WatchSource } from "./list-watch.ts";

export type Query = Record<string, string | number | undefined>;

/** Called with each line of a watch stream, before anything parses it (one JSON watch event per line). */
type LineHandler = (line: Buffer) => void;

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface JsonRequest {
  method: Method;
  /** e.g. /apis/apps/v1/namespaces/pr-1/deployments/web/scale */
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Of the body; default application/json (a PATCH names its kind: application/merge-patch+json). */
  contentType?: string;
}

/**
 * The worker's HTTP client of the API server (no @kubernetes/client-node at run time: see
 * kube-config.ts). `request` sends JSON and returns the parsed answer, for every read and write
 * of the adapter. `get` and `watch` hand over the raw bytes, for the informers: an informer that
 * keeps only staging namespaces drops most of a busy cluster's objects before parsing them.
 * Authentication, TLS and proxies come from the KubeConnection.
 */
export interface KubeTransport {
  /**
   * Sends one request and returns the parsed JSON answer (undefined for an empty one). Rejects
   * with a KubeApiError (status `code`, Status text `body`) for a non-2xx answer, or a
   * TimeoutError after `requestInactivityMs` without data.
   */
  request<T>(request: JsonRequest): Promise<T>;
  /**
   * GETs `path` (a list page) and hands its body to `read`, whose result it returns. `read`
   * must not keep the buffer or a view of it: it is reused for the next GET. Rejects with a
   * KubeApiError carrying the status and the Status body, or a TimeoutError after
   * `inactivityMs` without data.
   */
  get<T>(path: string, query: Query, read: (body: Buffer) => T): Promise<T>;
  /**
   * Opens `path?watch=true&...` and calls `line` for each line of the stream. `done` is called
   * once: null when the server ended the stream, else the error (a KubeApiError for a non-200
   * answer, a TimeoutError after `inactivityMs` without data, an AbortError after abort()), as
   * client-node's Watch does, so the ListWatch (list-watch.ts) can drive it.
   */
  watch(path: string, query: Query, line: LineHandler, done: (err: unknown) => void): Promise<AbortController>;
}

const NEWLINE = 10;
const CR = 13;

function timeoutError(): DOMException {
  return new DOMException("The operation was aborted due to timeout", "TimeoutError");
}

function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks)));
    res.on("error", reject);
  });
}

/**
 * Buffers that list pages are read into, kept and reused. A list of the whole cluster arrives as
 * pages of a few MB; a fresh buffer for each, freed after it is scanned, left the process tens
 * of MB larger for good (glibc's malloc raises its mmap threshold after such a free and keeps
 * what it frees below it; measured in bench/README.md, "Scoped observation"). Two buffers are
 * kept (lists of several kinds run at once at start); they grow to the largest page.
 */
class BodyBuffers {
  private readonly spare: Buffer[] = [];
  private readonly keep = 2;
  private readonly initial = 256 * 1024;

  /** Reads the whole body into a buffer of the pool, and hands over the bytes read. */
  read(res: IncomingMessage): Promise<{ buffer: Buffer; length: number }> {
    return new Promise((resolve, reject) => {
      const announced = Number(res.headers["content-length"]);
      let buffer = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.initial);
      let length = 0;
      const grow = (needed: number): void => {
        const bigger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, needed, Number.isFinite(announced) ? announced : 0));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      };
      res.on("data", (c: Buffer) => {
        if (length + c.length > buffer.length) grow(length + c.length);
        c.copy(buffer, length);
        length += c.length;
      });
      let settled = false;
      res.on("end", () => {
        settled = true;
        resolve({ buffer, length });
      });
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        this.release(buffer);
        reject(err);
      };
      res.on("error", fail);
      res.on("close", () => fail(new Error("the API server's answer ended before it was complete")));
    });
  }

  release(buffer: Buffer): void {
    this.spare.push(buffer);
    this.spare.sort((a, b) => b.length - a.length);
    this.spare.length = Math.min(this.spare.length, this.keep);
  }
}

/** A non-2xx answer: toKubeError and the ListWatch (410) read its `code` and `body`. */
function apiError(res: IncomingMessage, body: Buffer): KubeApiError {
  return new KubeApiError(res.statusCode ?? 0, res.statusMessage ?? "", body.toString("utf8"));
}

export function createKubeTransport(connection: KubeConnection, options: { inactivityMs?: number; requestInactivityMs?: number; connectTimeoutMs?: number } = {}): KubeTransport {
  // client-node's Watch gives up on a stream after 30 s without data; a quiet informer reconnects.
  const inactivityMs = options.inactivityMs ?? 30_000;
  // client-node's generated calls (undici) gave up after 300 s without headers or body data.
  const requestInactivityMs = options.requestInactivityMs ?? 300_000;
  // ...and after 10 s without a connection (TCP and TLS): an API server that accepts and never
  // completes the handshake (a stuck load balancer, an upgrade) fails a deploy's call in seconds.
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const bodies = new BodyBuffers();
  const server = connection.cluster.server;

  async function open(method: Method, path: string, query: Query, signal: AbortSignal, body?: { data: string; contentType: string }): Promise<IncomingMessage> {
    const url = new URL(server + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const opts = await connection.requestOptions();
    opts.method = method;
    opts.headers = { ...opts.headers, Accept: "application/json", "User-Agent": "octostage" };
    if (body) Object.assign(opts.headers, { "Content-Type": body.contentType, "Content-Length": String(Buffer.byteLength(body.data)) });
    const send = url.protocol === "https:" ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...opts, signal }, resolve);
      req.on("error", reject);
      req.on("socket", (socket) => {
        // A kept-alive socket is connected already; a new one has connectTimeoutMs to be ready.
        if (!socket.connecting) return;
        const timer = setTimeout(() => req.destroy(timeoutError()), connectTimeoutMs);
        timer.unref();
        socket.once(url.protocol === "https:" ? "secureConnect" : "connect", () => clearTimeout(timer));
        socket.once("close", () => clearTimeout(timer));
      });
      req.end(body?.data);
    });
  }

  /** Runs `work` with a signal that aborts (TimeoutError) after `ms` without a call to the reset it is given. */
  async function withInactivityTimeout<T>(ms: number, work: (signal: AbortSignal, reset: () => void) => Promise<T>): Promise<T> {
    // A connection that stops sending (half-open TCP) fails instead of holding a caller forever.
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined = undefined;
    const reset = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(timeoutError()), ms);
      timer.unref();
    };
    try {
      reset();
      return await work(controller.signal, reset);
    } catch (err) {
      throw controller.signal.aborted ? controller.signal.reason : err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    request<T>({ method, path, query = {}, body, contentType = "application/json" }: JsonRequest): Promise<T> {
      return withInactivityTimeout(requestInactivityMs, async (signal, reset) => {
        const res = await open(method, path, query, signal, body === undefined ? undefined : { data: JSON.stringify(body), contentType });
        res.on("data", reset);
        const text = (await readBody(res)).toString("utf8");
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) throw new KubeApiError(status, res.statusMessage ?? "", text);
        return (text.trim() ? JSON.parse(text) : undefined) as T;
      });
    },

    get(path, query, read) {
      return withInactivityTimeout(inactivityMs, async (signal, reset) => {
        const res = await open("GET", path, query, signal);
        res.on("data", reset);
        const { buffer, length } = await bodies.read(res);
        try {
          const body = buffer.subarray(0, length);
          if (res.statusCode !== 200) throw apiError(res, body);
          return read(body);
        } finally {
          bodies.release(buffer);
        }
      });
    },

    async watch(path, query, line, done) {
      const controller = new AbortController();
      let finished = false;
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined = undefined;
      const finish = (err: unknown): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        // Aborted by the caller: say so (the socket's own error is only its consequence).
        const outcome: unknown = timedOut ? timeoutError() : controller.signal.aborted ? controller.signal.reason : err;
        controller.abort();
        done(outcome);
      };
      const resetTimer = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          controller.abort(timeoutError());
        }, inactivityMs);
        timer.unref();
      };
      try {
        resetTimer();
        const res = await open("GET", path, { ...query, watch: "true" }, controller.signal);
        if (res.statusCode !== 200) throw apiError(res, await readBody(res));
        resetTimer();
        let partial: Buffer | undefined = undefined;
        res.on("data", (chunk: Buffer) => {
          if (finished) return;
          resetTimer();
          const data = partial ? Buffer.concat([partial, chunk]) : chunk;
          partial = undefined;
          let start = 0;
          try {
            for (let nl = data.indexOf(NEWLINE); nl >= 0 && !finished; nl = data.indexOf(NEWLINE, start)) {
              const end = nl > start && data[nl - 1] === CR ? nl - 1 : nl;
              if (end > start) line(data.subarray(start, end));
              start = nl + 1;
            }
          } catch (err) {
            // A handler that throws ends the stream with its error: the informer restarts (and logs it).
            finish(err);
            return;
          }
          if (start < data.length) partial = Buffer.from(data.subarray(start));
        });
        res.on("end", () => finish(null));
        res.on("error", finish);
        res.on("close", () => finish(null));
      } catch (err) {
        finish(err);
      }
      return controller;
    },
  };
}

/** A Watch on the transport, as client-node's: every event parsed and handed over (for small, wanted objects such as namespaces). */
export function parsedWatch(transport: KubeTransport): WatchSource {
  return {
    watch: (path, query, callback, done) =>
      transport.watch(
        path,
        query,
        (line) => {
          const event = JSON.parse(line.toString("utf8")) as { type: string; object: unknown };
          callback(event.type, event.object, event);
        },
        done,
      ),
  };
}

/** The list metadata as client-node's model names it (`continue` is `_continue` there). */
export function listMeta(raw: Record<string, unknown> | undefined): V1ListMeta {
  return {
    ...(typeof raw?.resourceVersion === "string" ? { resourceVersion: raw.resourceVersion } : {}),
    ...(typeof raw?.continue === "string" && raw.continue ? { _continue: raw.continue } : {}),
  };
}

/** One list page, parsed whole. */
export async function getList<T extends KubernetesObject>(transport: KubeTransport, path: string, query: Query): Promise<KubernetesListObject<T>> {
  const page = await transport.get(path, query, (body) => JSON.parse(body.toString("utf8")) as { metadata?: Record<string, unknown>; items?: T[] | null });
  return { metadata: listMeta(page.metadata), items: page.items ?? [] };
}

/** A JSON merge patch (RFC 7386): what every PATCH of the adapter sends. */
export const MERGE_PATCH = "application/merge-patch+json";

/** /api/v1 + pr-1 + pods (+ name) → /api/v1/namespaces/pr-1/pods(/name), each segment encoded as client-node encodes it. */
export function namespaced(prefix: string, namespace: string, resource: string, name?: string): string {
  return `${prefix}/namespaces/${encodeURIComponent(namespace)}/${resource}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}

/** The scale subresource of a workload. */
export function scalePath(ref: WorkloadRef): string {
  return `${namespaced("/apis/apps/v1", ref.namespace, ref.kind === "Deployment" ? "deployments" : "statefulsets", ref.name)}/scale`;
}

/** The items of a list, in one request. */
export async function listItems<T>(transport: KubeTransport, path: string): Promise<T[]> {
  return (await transport.request<{ items?: T[] | null }>({ method: "GET", path })).items ?? [];
}
