import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { ApiException, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1ListMeta } from "@kubernetes/client-node";

export type Query = Record<string, string | number | undefined>;

/** Called with each line of a watch stream, before anything parses it (one JSON watch event per line). */
type LineHandler = (line: Buffer) => void;

/**
 * GET requests to the API server that hand over the raw bytes, for the informers: client-node's
 * generated list calls turn every object into model classes and its Watch JSON-parses every
 * event, before the caller can tell whether it wants the object at all (an informer that keeps
 * only staging namespaces drops most of a busy cluster). Authentication, TLS and proxies come
 * from the kubeconfig exactly as for client-node's own calls (KubeConfig.applyToHTTPSOptions).
 */
export interface KubeTransport {
  /**
   * GETs `path` (a list page) and hands its body to `read`, whose result it returns. `read`
   * must not keep the buffer or a view of it: it is reused for the next GET. Rejects with an
   * ApiException carrying the status and the Status body, or a TimeoutError after
   * `inactivityMs` without data.
   */
  get<T>(path: string, query: Query, read: (body: Buffer) => T): Promise<T>;
  /**
   * Opens `path?watch=true&...` and calls `line` for each line of the stream. `done` is called
   * once: null when the server ended the stream, else the error (an ApiException for a non-200
   * answer, a TimeoutError after `inactivityMs` without data, an AbortError after abort()), as
   * client-node's Watch does, so client-node's ListWatch can drive it.
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

/** client-node's error for a non-2xx answer: toKubeError and ListWatch (410) read its `code` and `body`. */
function apiException(res: IncomingMessage, body: Buffer): ApiException<string> {
  const status = res.statusCode ?? 0;
  const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
  return new ApiException(status, `HTTP-Code: ${status}\nMessage: ${res.statusMessage ?? ""}`, body.toString("utf8"), headers);
}

export function createKubeTransport(kubeConfig: KubeConfig, options: { inactivityMs?: number } = {}): KubeTransport {
  // client-node's Watch gives up on a stream after 30 s without data; a quiet informer reconnects.
  const inactivityMs = options.inactivityMs ?? 30_000;
  const bodies = new BodyBuffers();

  async function open(path: string, query: Query, signal: AbortSignal): Promise<IncomingMessage> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("No currently active cluster");
    const url = new URL(cluster.server.replace(/\/+$/, "") + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const opts: https.RequestOptions = { method: "GET", headers: { Accept: "application/json" } };
    await kubeConfig.applyToHTTPSOptions(opts);
    const send = url.protocol === "https:" ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...opts, signal }, resolve);
      req.on("error", reject);
      req.end();
    });
  }

  return {
    async get(path, query, read) {
      // A connection that stops sending (half-open TCP) fails instead of holding an informer forever.
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined = undefined;
      const resetTimer = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(timeoutError()), inactivityMs);
        timer.unref();
      };
      try {
        resetTimer();
        const res = await open(path, query, controller.signal);
        res.on("data", resetTimer);
        const { buffer, length } = await bodies.read(res);
        try {
          const body = buffer.subarray(0, length);
          if (res.statusCode !== 200) throw apiException(res, body);
          return read(body);
        } finally {
          bodies.release(buffer);
        }
      } catch (err) {
        throw controller.signal.aborted ? controller.signal.reason : err;
      } finally {
        clearTimeout(timer);
      }
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
        const res = await open(path, { ...query, watch: "true" }, controller.signal);
        if (res.statusCode !== 200) throw apiException(res, await readBody(res));
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

type WatchCallback = (phase: string, obj: unknown, watchObj?: unknown) => void;

/** client-node's Watch on the transport: every event parsed and handed over (for small, wanted objects such as namespaces). */
export function parsedWatch(transport: KubeTransport): { watch(path: string, query: Query, callback: WatchCallback, done: (err: unknown) => void): Promise<AbortController> } {
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
