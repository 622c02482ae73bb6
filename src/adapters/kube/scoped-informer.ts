import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { silentLogger } from "../../ports/logger.ts";
import { scanList, scanWatchEvent, type WatchEventHead } from "./json-scan.ts";
import { toKubeError } from "./kube-error.ts";
import { listMeta, type KubeTransport, type Query } from "./kube-transport.ts";
import type { NamespaceScope } from "./namespace-scope.ts";
import { backoffDelay, startResilientInformer, type Delay, type ListPage, type ResilientInformer, type ResilientInformerOptions } from "./resilient-informer.ts";

export interface ScopedInformerOptions<T extends KubernetesObject> extends Omit<ResilientInformerOptions<T>, "watch" | "list" | "labelSelector"> {
  transport: KubeTransport;
  /** Only objects of namespaces in this scope are parsed, cached and reported. */
  scope: NamespaceScope;
}

type Callback = (phase: string, obj: unknown, watchObj?: unknown) => void;
type Held = [phase: string, obj: unknown];
interface CatchUp {
  /** The namespace's events since it entered, in order. */
  held: Held[];
  /** Its objects as listed, when the list came back while nothing could be added to the cache. */
  listed?: unknown[];
}

type NamespacePage = { metadata?: { continue?: string }; items?: unknown[] | null };

/** Past this many namespaces with dropped objects, every namespace that enters the scope is caught up. */
const MAX_DROPPED_NAMESPACES = 10_000;

const defaultDelay: Delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** /api/v1/pods → /api/v1/namespaces/<ns>/pods */
function namespacedPath(path: string, namespace: string): string {
  return path.replace(/\/([^/]+)$/, `/namespaces/${encodeURIComponent(namespace)}/$1`);
}

function isChange(type: string | undefined): boolean {
  return type === "ADDED" || type === "MODIFIED" || type === "DELETED";
}

/**
 * One cluster-wide list+watch of a kind (flat in the number of stagings) that keeps only the
 * objects of namespaces in `scope`. The Kubernetes API cannot select objects by their
 * namespace's labels, so every event of the cluster still arrives; one of another namespace is
 * dropped after reading its namespace and resourceVersion from the raw bytes (json-scan.ts):
 * never parsed, trimmed, cached or reported.
 *
 * Nothing is lost when a namespace enters the scope after some of its objects were dropped (a
 * namespace created while the namespace watch was reconnecting, or labelled later): that
 * namespace is listed once ("caught up"), and its events are held meanwhile and replayed after
 * the list, so the cache ends up as the API server has it. A namespace of which nothing was
 * dropped (the usual case: Octostage creates and labels it before helm installs anything) needs
 * no request. A namespace leaving the scope is removed from the cache (reported as deletes).
 */
export function startScopedInformer<T extends KubernetesObject>(options: ScopedInformerOptions<T>): ResilientInformer<T> {
  const { transport, scope } = options;
  const logger = (options.logger ?? silentLogger).child({ informer: options.name });
  const delay = options.delay ?? defaultDelay;
  const random = options.random ?? Math.random;
  const pageSize = options.pageSize ?? 500;
  let stopped = false;
  /** Listing (or not listed yet): ListWatch's cache is about to be replaced, nothing may be added to it. */
  let listing = true;
  /**
   * The stream sent an ERROR (410 Expired: ListWatch lists again once it ends): until the next
   * watch, nothing may go through ListWatch's handler, which would set its resourceVersion.
   */
  let sawError = false;
  /** ListWatch's watch handler (through the informer's trimming), once a watch has started. */
  let callback: Callback | undefined = undefined;
  /** resourceVersion of the last event of the stream, dropped ones included. */
  let streamVersion = "";
  /** Set when events were dropped or held after the last one ListWatch saw: it resumes from here. */
  let unseenVersion: string | undefined = undefined;
  /** Namespaces of which an object was dropped since the last list started. */
  const dropped = new Set<string>();
  let droppedOverflow = false;
  const catchUps = new Map<string, CatchUp>();
  /** Namespaces that entered or left while listing or after an ERROR: handled when the next watch starts. */
  const enteredMeanwhile = new Set<string>();
  const leftMeanwhile = new Set<string>();
  const blocked = (): boolean => listing || sawError;

  function keep(namespace: string): boolean {
    if (scope.has(namespace)) return true;
    if (!droppedOverflow && !dropped.has(namespace)) {
      dropped.add(namespace);
      if (dropped.size > MAX_DROPPED_NAMESPACES) {
        droppedOverflow = true;
        dropped.clear();
      }
    }
    return false;
  }
  const mayHaveDropped = (namespace: string): boolean => droppedOverflow || dropped.has(namespace);

  /** Puts ListWatch's resourceVersion back where the stream is, after a catch-up or a purge went through its handler. */
  function resync(cb: Callback): void {
    unseenVersion = undefined;
    if (streamVersion) cb("BOOKMARK", { metadata: { resourceVersion: streamVersion } });
  }

  async function listAll(namespace: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let next: string | undefined = undefined;
    do {
      const page: NamespacePage = await transport.get(namespacedPath(options.path, namespace), { limit: pageSize, continue: next }, (body) => JSON.parse(body.toString("utf8")) as NamespacePage);
      items.push(...(page.items ?? []));
      next = page.metadata?.continue || undefined;
    } while (next);
    return items;
  }

  /** The listed objects, then the events held since: the cache ends up as the API server has the namespace. */
  function finishCatchUp(namespace: string, entry: CatchUp, items: unknown[], cb: Callback): void {
    catchUps.delete(namespace);
    for (const item of items) cb("MODIFIED", item);
    for (const [phase, obj] of entry.held) cb(phase, obj);
    resync(cb);
    logger.debug({ namespace, objects: items.length, held: entry.held.length }, "caught up on a namespace that entered the scope");
  }

  function catchUp(namespace: string): void {
    const entry: CatchUp = { held: [] };
    catchUps.set(namespace, entry);
    const current = (): boolean => !stopped && catchUps.get(namespace) === entry;
    void (async () => {
      for (let attempt = 0; current(); attempt++) {
        try {
          const items = await listAll(namespace);
          if (!current()) return;
          // After an ERROR, the next watch finishes it (unless a list from the start replaces everything).
          if (blocked() || !callback) entry.listed = items;
          else finishCatchUp(namespace, entry, items, callback);
          return;
        } catch (err) {
          if (!current()) return;
          const delayMs = backoffDelay(attempt, options.initialBackoffMs ?? 500, options.maxBackoffMs ?? 30_000, random);
          logger.warn({ namespace, attempt, delayMs, error: toKubeError(err, `list ${namespace}`).message }, "could not list a namespace that entered the scope; retrying");
          await delay(delayMs);
        }
      }
    })();
  }

  /** Removes a namespace's objects from the cache (reported as deletes). */
  function purge(namespace: string): void {
    if (!callback) return;
    const cached = inner.list(namespace);
    if (!cached.length) return;
    for (const obj of cached) callback("DELETED", obj);
    resync(callback);
  }

  function onScopeChange(namespace: string, entered: boolean): void {
    if (stopped) return;
    if (!entered) catchUps.delete(namespace);
    if (blocked()) (entered ? enteredMeanwhile : leftMeanwhile).add(namespace);
    else if (!entered) purge(namespace);
    else if (mayHaveDropped(namespace)) catchUp(namespace);
  }

  async function list(page: ListPage): Promise<KubernetesListObject<T>> {
    if (!page._continue) {
      // A list from the start replaces the cache: it covers whatever was being caught up, and
      // every namespace in scope when its pages are read.
      listing = true;
      catchUps.clear();
      enteredMeanwhile.clear();
      leftMeanwhile.clear();
      dropped.clear();
      droppedOverflow = false;
      await scope.ready();
    }
    return transport.get(options.path, { limit: page.limit, continue: page._continue }, (body) => {
      const scanned = scanList(body);
      const items: T[] = [];
      for (const item of scanned.items) {
        if (item.namespace === undefined || keep(item.namespace)) items.push(JSON.parse(body.toString("utf8", item.start, item.end)) as T);
      }
      return { metadata: listMeta(scanned.metadata), items };
    });
  }

  function onLine(line: Buffer, cb: Callback): void {
    let head: WatchEventHead | undefined = undefined;
    try {
      head = scanWatchEvent(line);
    } catch {
      // Not what an API server sends: JSON.parse below says what is wrong with it.
    }
    const namespace = head?.namespace;
    if (head && namespace !== undefined && isChange(head.type)) {
      if (head.resourceVersion) streamVersion = head.resourceVersion;
      if (!keep(namespace)) {
        unseenVersion = head.resourceVersion;
        return;
      }
      const entry = catchUps.get(namespace);
      if (entry) {
        const event = JSON.parse(line.toString("utf8")) as { type: string; object: unknown };
        entry.held.push([event.type, event.object]);
        unseenVersion = head.resourceVersion;
        return;
      }
    }
    const event = JSON.parse(line.toString("utf8")) as { type: string; object: { metadata?: { resourceVersion?: string } } | undefined };
    if (event.type === "ERROR") sawError = true;
    const version = event.object?.metadata?.resourceVersion;
    if (version) streamVersion = version;
    unseenVersion = undefined;
    cb(event.type, event.object, event);
  }

  const watch = {
    watch(path: string, query: Query, cb: Callback, done: (err: unknown) => void): Promise<AbortController> {
      // ListWatch watches once its cache holds a list, or to resume from its resourceVersion.
      callback = cb;
      streamVersion = String(query.resourceVersion ?? "");
      unseenVersion = undefined;
      listing = false;
      sawError = false;
      for (const namespace of leftMeanwhile) if (!scope.has(namespace)) purge(namespace);
      for (const namespace of enteredMeanwhile) if (scope.has(namespace) && mayHaveDropped(namespace)) catchUp(namespace);
      leftMeanwhile.clear();
      enteredMeanwhile.clear();
      // Catch-ups whose list came back after an ERROR. This stream may send again some of the
      // events they hold: the tail of the same sequence, so applying it twice changes nothing.
      for (const [namespace, entry] of catchUps) if (entry.listed) finishCatchUp(namespace, entry, entry.listed, cb);
      return transport.watch(path, query, (line) => onLine(line, cb), (err) => {
        // Resume after the events it dropped, not before them (unless the server said the
        // version expired: ListWatch then lists again).
        if (unseenVersion && !sawError) cb("BOOKMARK", { metadata: { resourceVersion: unseenVersion } });
        unseenVersion = undefined;
        done(err);
      });
    },
  };

  const inner = startResilientInformer<T>({ ...options, watch, list });
  scope.subscribe(onScopeChange);
  return {
    list: (namespace) => inner.list(namespace),
    ready: () => inner.ready(),
    async stop() {
      stopped = true;
      catchUps.clear();
      await inner.stop();
    },
  };
}
