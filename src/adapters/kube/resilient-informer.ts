import { setTimeout as sleep } from "node:timers/promises";
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { silentLogger, type Logger } from "../../ports/logger.ts";
import { KubeError, toKubeError } from "./kube-error.ts";
import { ListWatch, type WatchSource } from "./list-watch.ts";

export type Delay = (ms: number) => Promise<void>;
export interface ListPage {
  /** Absent: the whole collection in one answer. */
  limit?: number;
  _continue?: string;
}
type InformerEventType = "add" | "update" | "delete";

export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** Names the informer in logs, e.g. "deployments". */
  name: string;
  /** Collection path to watch, e.g. /apis/apps/v1/deployments (cluster-wide). */
  path: string;
  /** Sent with every watch request (the list must apply the same selector itself). */
  labelSelector?: string;
  /** Streams watch events (kube-transport.ts's parsedWatch; client-node's Watch has the same shape). */
  watch: WatchSource;
  /** Lists one page of the same collection (a GET of `path` with limit and continue: getList in kube-transport.ts). */
  list: (page: ListPage) => Promise<KubernetesListObject<T>>;
  /** Objects per list page (default 500, as client-go's pager): a list of the whole cluster is never held at once. */
  pageSize?: number;
  onEvent: (type: InformerEventType, obj: T) => void;
  /**
   * Keeps only what the caller reads of each object, before it enters the cache (from a list or
   * a watch event). Must keep metadata.name, namespace and resourceVersion: the cache uses them.
   */
  trim?: (obj: T) => T;
  /** Waits between restarts and watch reconnects; defaults to a timer that does not hold the process open. */
  delay?: Delay;
  /** Jitter source in [0, 1); defaults to Math.random. */
  random?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  /** Told of every failure, before the restart's backoff. */
  onError?: (error: KubeError) => void;
}

export interface ResilientInformer<T extends KubernetesObject> {
  /** Objects in the cache now (all namespaces when `namespace` is omitted). */
  list(namespace?: string): readonly T[];
  /** Resolves after the first successful list; rejects if stopped before that. */
  ready(): Promise<void>;
  /** Stops for good: no restart follows, and no event is delivered afterwards. */
  stop(): Promise<void>;
}

const defaultDelay: Delay = (ms) => sleep(ms, undefined, { ref: false });

/** Exponential backoff with "equal jitter": between half and all of min(max, initial * 2^attempt). */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * A ListWatch (list-watch.ts, client-node's semantics) stops for good after any list or watch
 * error except 410 Gone, which it handles by relisting. This starts one and restarts it with
 * exponential backoff and jitter after every error, keeping its cache across restarts.
 */
export function startResilientInformer<T extends KubernetesObject>(options: ResilientInformerOptions<T>): ResilientInformer<T> {
  const delay = options.delay ?? defaultDelay;
  const random = options.random ?? Math.random;
  const logger = (options.logger ?? silentLogger).child({ informer: options.name });
  let stopped = false;
  let failedSinceStart = false;
  let restartPending = false;
  let attempt = 0;
  let current: Promise<void> = Promise.resolve();
  let isReady = false;
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  let settleReady: { resolve: () => void; reject: (err: Error) => void } = { resolve: () => undefined, reject: () => undefined };
  const readiness = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
  readiness.catch(() => undefined); // a caller that never asks for ready() must not see an unhandled rejection

  const trim = options.trim;
  const pageSize = options.pageSize ?? 500;
  /**
   * Lists page by page, trimming each page before the next is fetched: the peak is one page,
   * not every object of the cluster (a peak the process would keep as RSS). An expired continue
   * token fails the list (410), and the informer restarts it from the first page.
   */
  async function list(): Promise<KubernetesListObject<T>> {
    let items: T[] = [];
    let page: KubernetesListObject<T>;
    let next: string | undefined = undefined;
    do {
      try {
        page = await options.list({ limit: pageSize, ...(next ? { _continue: next } : {}) });
      } catch (err) {
        // The continue token expired (410: the list took longer than the API server keeps its
        // snapshot): as client-go's pager does, list everything in one answer instead.
        if (!next || toKubeError(err, "list").status !== 410) throw err;
        logger.warn({ pages: Math.ceil(items.length / pageSize) }, "list continue token expired; listing in one request");
        items = [];
        page = await options.list({});
      }
      // Never let a list that finishes after stop() open a new watch.
      if (stopped) throw new KubeError("failed", `${options.name} informer stopped`);
      for (const item of page.items) items.push(trim ? trim(item) : item);
      next = page.metadata?._continue || undefined;
    } while (next);
    return { ...page, metadata: { ...page.metadata, _continue: undefined }, items };
  }
  // Watch events reach the cache through the callback ListWatch gives to watch(): trim them there.
  const watch: WatchSource = trim
    ? {
        watch: (path, query, callback, done) =>
          options.watch.watch(path, query, (phase, obj, raw) => callback(phase, phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED" ? trim(obj as T) : obj, raw), done),
      }
    : options.watch;
  const informer = new ListWatch<T>({ path: options.path, watch, list, ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }), delay });
  for (const type of ["add", "update", "delete"] as const) {
    informer.on(type, (obj: T) => {
      if (!stopped) options.onEvent(type, obj);
    });
  }
  informer.on("error", (err?: unknown) => {
    if (stopped) return; // stop() itself makes the informer emit an AbortError
    failedSinceStart = true;
    void restartAfterBackoff(err);
  });

  function run(): void {
    failedSinceStart = false;
    current = informer.start().then(
      () => {
        if (failedSinceStart || stopped) return;
        attempt = 0;
        isReady = true;
        settleReady.resolve();
      },
      (err: unknown) => {
        if (stopped) return;
        failedSinceStart = true;
        void restartAfterBackoff(err);
      },
    );
  }

  async function restartAfterBackoff(err: unknown): Promise<void> {
    if (restartPending || stopped) return;
    restartPending = true;
    const delayMs = backoffDelay(attempt, options.initialBackoffMs ?? 500, options.maxBackoffMs ?? 30_000, random);
    attempt += 1;
    const error = toKubeError(err, `${options.name} informer`);
    options.onError?.(error);
    logger.warn({ attempt, delayMs, code: error.code, status: error.status, error: error.message }, "kube informer failed; restarting after backoff");
    await Promise.race([delay(delayMs), woken]);
    await current; // the previous start() must have settled before the informer starts again
    restartPending = false;
    if (!stopped) run();
  }

  run();
  return {
    list: (namespace) => informer.list(namespace),
    ready: () => readiness,
    async stop() {
      if (stopped) return;
      stopped = true;
      wake();
      if (!isReady) settleReady.reject(new KubeError("failed", `${options.name} informer stopped before its first list`));
      await informer.stop();
      // A start() still in flight may open its watch after stop(): stop again once it settles.
      await Promise.race([current, delay(1000)]);
      await informer.stop();
    },
  };
}
