/**
 * A list+watch cache of one collection: client-node's ListWatch (dist/cache.js of 2.x), kept to
 * what the informers use, without importing client-node (which loads all of its generated API
 * classes). Same semantics: list (the caller's function, paged there), then watch from the
 * list's resourceVersion; ADDED/MODIFIED/DELETED update the cache and call the handlers,
 * BOOKMARK and every event move the resourceVersion; ERROR 410 (in the stream or as the watch's
 * error) forgets the resourceVersion so the next round lists again. A stream that ends is watched
 * again from where it was (after a delay that doubles while reconnects bring nothing, reset by
 * any event; none after a client-side TimeoutError). Any other error goes to the `error`
 * handlers and the ListWatch stops there (resilient-informer.ts restarts it).
 */
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";

export type WatchCallback = (phase: string, obj: unknown, watchObj?: unknown) => void;

/** Streams watch events (kube-transport.ts's parsedWatch, or client-node's Watch in tests). */
export interface WatchSource {
  watch(path: string, query: Record<string, string | number | undefined>, callback: WatchCallback, done: (err: unknown) => void): Promise<AbortController>;
}

type Handler<T> = (obj: T) => void;
type Verb = "add" | "update" | "delete";

const BASE_RECONNECT_DELAY_MS = 1000;
const MAX_RECONNECT_DELAY_MS = 30_000;

function metaOf(obj: unknown): { name: string; namespace: string; resourceVersion: string | undefined } {
  const meta = (obj as KubernetesObject | undefined)?.metadata;
  return { name: meta?.name ?? "", namespace: meta?.namespace ?? "", resourceVersion: meta?.resourceVersion ?? undefined };
}

export class ListWatch<T extends KubernetesObject> {
  private objects = new Map<string, Map<string, T>>();
  private resourceVersion = "";
  private stopped = false;
  private reconnectDelayMs = 0;
  private hasConnected = false;
  private request: AbortController | undefined = undefined;
  private readonly handlers: Record<Verb, Handler<T>[]> = { add: [], update: [], delete: [] };
  private readonly errorHandlers: ((err: unknown) => void)[] = [];
  private readonly path: string;
  private readonly source: WatchSource;
  private readonly listFn: () => Promise<KubernetesListObject<T>>;
  private readonly labelSelector: string | undefined;
  private readonly delay: (ms: number) => Promise<void>;

  constructor(options: { path: string; watch: WatchSource; list: () => Promise<KubernetesListObject<T>>; labelSelector?: string; delay: (ms: number) => Promise<void> }) {
    this.path = options.path;
    this.source = options.watch;
    this.listFn = options.list;
    this.labelSelector = options.labelSelector;
    this.delay = options.delay;
  }

  /** Lists (unless a resourceVersion is known) and opens the watch; resolves once the watch is open, or after an error went to the handlers. */
  async start(): Promise<void> {
    this.stopped = false;
    this.reconnectDelayMs = 0;
    this.hasConnected = false;
    await this.doneHandler(null);
  }

  /** Aborts the watch; nothing restarts. */
  stop(): Promise<void> {
    this.stopped = true;
    this.abortWatch();
    return Promise.resolve();
  }

  on(verb: Verb, handler: Handler<T>): void;
  on(verb: "error", handler: (err: unknown) => void): void;
  on(verb: Verb | "error", handler: Handler<T> | ((err: unknown) => void)): void {
    if (verb === "error") this.errorHandlers.push(handler as (err: unknown) => void);
    else this.handlers[verb].push(handler);
  }

  /** The cached objects of `namespace`, or of all namespaces. */
  list(namespace?: string): T[] {
    if (!namespace) return [...this.objects.values()].flatMap((objects) => [...objects.values()]);
    return [...(this.objects.get(namespace)?.values() ?? [])];
  }

  private abortWatch(): void {
    this.request?.abort();
    this.request = undefined;
  }

  private fail(err: unknown): void {
    for (const handler of [...this.errorHandlers]) handler(err);
  }

  private async doneHandler(err: unknown): Promise<void> {
    this.abortWatch();
    const status = err as { statusCode?: unknown; code?: unknown; name?: unknown } | null;
    if (status && (status.statusCode === 410 || status.code === 410)) {
      this.resourceVersion = "";
    } else if (status && status.name === "TimeoutError") {
      // The client gave up on a quiet stream: that wait throttled already, reconnect at once.
      this.reconnectDelayMs = 0;
    } else if (err) {
      this.fail(err);
      return;
    }
    if (this.stopped) return;
    if (!this.resourceVersion) {
      let list: KubernetesListObject<T>;
      try {
        list = await this.listFn();
      } catch (listErr) {
        this.fail(listErr);
        return;
      }
      this.replace(list.items);
      this.resourceVersion = list.metadata?.resourceVersion ?? "";
    }
    const query: Record<string, string> = { resourceVersion: this.resourceVersion };
    if (this.labelSelector !== undefined) query.labelSelector = this.labelSelector;
    if (this.reconnectDelayMs > 0 && this.hasConnected) await this.delay(this.reconnectDelayMs);
    if (this.hasConnected) this.reconnectDelayMs = Math.min(this.reconnectDelayMs > 0 ? this.reconnectDelayMs * 2 : BASE_RECONNECT_DELAY_MS, MAX_RECONNECT_DELAY_MS);
    this.hasConnected = true;
    this.request = await this.source.watch(this.path, query, (phase, obj) => this.onEvent(phase, obj), (doneErr) => void this.doneHandler(doneErr));
  }

  /** A new list: objects it no longer has are deleted (and reported), the others added or updated. */
  private replace(items: readonly T[] | null | undefined): void {
    const listed = new Map<string, Set<string>>();
    for (const obj of items ?? []) {
      const { namespace, name } = metaOf(obj);
      let names = listed.get(namespace);
      if (!names) listed.set(namespace, (names = new Set()));
      names.add(name);
    }
    const deleted = [...this.handlers.delete];
    for (const [namespace, objects] of this.objects) {
      const names = listed.get(namespace);
      if (!names) {
        this.objects.delete(namespace);
        for (const obj of objects.values()) for (const handler of deleted) handler(obj);
        continue;
      }
      for (const [name, obj] of objects) {
        if (names.has(name)) continue;
        objects.delete(name);
        for (const handler of deleted) handler(obj);
      }
    }
    for (const obj of items ?? []) this.addOrUpdate(obj);
  }

  private addOrUpdate(obj: T): void {
    const { namespace, name, resourceVersion } = metaOf(obj);
    let objects = this.objects.get(namespace);
    if (!objects) this.objects.set(namespace, (objects = new Map<string, T>()));
    const found = objects.get(name);
    if (!found) {
      objects.set(name, obj);
      for (const handler of [...this.handlers.add]) handler(obj);
    } else if (!(metaOf(found).resourceVersion !== undefined && metaOf(found).resourceVersion === resourceVersion)) {
      objects.set(name, obj);
      for (const handler of [...this.handlers.update]) handler(obj);
    }
  }

  private remove(obj: T): void {
    const { namespace, name } = metaOf(obj);
    const objects = this.objects.get(namespace);
    if (!objects?.delete(name)) return;
    for (const handler of [...this.handlers.delete]) handler(obj);
    if (objects.size === 0) this.objects.delete(namespace);
  }

  private onEvent(phase: string, obj: unknown): void {
    switch (phase) {
      case "ERROR":
        // The stream ends after it; the done handler lists again if the version expired.
        if ((obj as { code?: unknown } | undefined)?.code === 410) this.resourceVersion = "";
        return;
      case "ADDED":
      case "MODIFIED":
        this.addOrUpdate(obj as T);
        break;
      case "DELETED":
        this.remove(obj as T);
        break;
      default: // BOOKMARK: only its resourceVersion matters
        break;
    }
    this.reconnectDelayMs = 0;
    this.resourceVersion = metaOf(obj).resourceVersion ?? "";
  }
}
