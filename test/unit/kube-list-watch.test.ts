// The list+watch cache the informers run on (list-watch.ts): client-node's ListWatch semantics,
// without client-node. A scripted watch source and list stand in for the API server.
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ListWatch, type WatchCallback } from "../../src/adapters/kube/list-watch.ts";

interface Opened {
  query: Record<string, string | number | undefined>;
  send: WatchCallback;
  end: (err: unknown) => void;
  controller: AbortController;
}

const obj = (namespace: string, name: string, resourceVersion: string): KubernetesObject => ({ metadata: { namespace, name, resourceVersion } });
const names = (objects: readonly KubernetesObject[]): string[] => objects.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort();
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A ListWatch on scripted lists (one per call, the last repeated) and a watch source that records what it opened. */
function scripted(lists: KubernetesListObject<KubernetesObject>[], labelSelector?: string) {
  const opened: Opened[] = [];
  const delays: number[] = [];
  const events: string[] = [];
  const errors: unknown[] = [];
  let listed = 0;
  const informer = new ListWatch<KubernetesObject>({
    path: "/api/v1/pods",
    watch: {
      watch(_path, query, send, end) {
        const controller = new AbortController();
        opened.push({ query, send, end, controller });
        return Promise.resolve(controller);
      },
    },
    list: () => Promise.resolve(lists[Math.min(listed++, lists.length - 1)]!),
    ...(labelSelector ? { labelSelector } : {}),
    delay: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  for (const verb of ["add", "update", "delete"] as const) informer.on(verb, (o) => events.push(`${verb} ${o.metadata?.name}@${o.metadata?.resourceVersion}`));
  informer.on("error", (err) => errors.push(err));
  return { informer, opened, delays, events, errors, lists: () => listed, last: () => opened.at(-1)! };
}

const list = (resourceVersion: string, ...items: KubernetesObject[]): KubernetesListObject<KubernetesObject> => ({ metadata: { resourceVersion }, items });

describe("ListWatch", () => {
  it("lists, then watches from the list's resourceVersion with the label selector, and caches what the events say", async () => {
    const lw = scripted([list("10", obj("pr-1", "a", "1"), obj("pr-2", "b", "2"))], "app=web");
    await lw.informer.start();
    expect(lw.last().query).toEqual({ resourceVersion: "10", labelSelector: "app=web" });
    expect(lw.events).toEqual(["add a@1", "add b@2"]);
    lw.last().send("ADDED", obj("pr-1", "c", "11"));
    lw.last().send("MODIFIED", obj("pr-1", "a", "12"));
    lw.last().send("MODIFIED", obj("pr-1", "a", "12")); // the same version again: no update
    lw.last().send("DELETED", obj("pr-2", "b", "13"));
    lw.last().send("DELETED", obj("pr-2", "gone", "14")); // not cached: nothing to report
    lw.last().send("BOOKMARK", { metadata: { resourceVersion: "20" } });
    expect(lw.events).toEqual(["add a@1", "add b@2", "add c@11", "update a@12", "delete b@13"]);
    expect(names(lw.informer.list())).toEqual(["pr-1/a@12", "pr-1/c@11"]);
    expect(lw.informer.list("pr-2")).toEqual([]);
    // The stream ends: the watch resumes from the last event's version, without listing again.
    lw.last().end(null);
    await settle();
    expect(lw.opened).toHaveLength(2);
    expect(lw.last().query.resourceVersion).toBe("20");
    expect(lw.lists()).toBe(1);
  });

  it("lists again after ERROR 410 in the stream or a 410 answer, and deletes (reporting) what the new list lacks", async () => {
    const lw = scripted([list("10", obj("pr-1", "a", "1"), obj("pr-1", "b", "2"), obj("pr-2", "c", "3")), list("30", obj("pr-1", "a", "1"), obj("pr-1", "d", "25")), list("40")]);
    await lw.informer.start();
    lw.last().send("ERROR", { kind: "Status", code: 410, reason: "Expired" });
    lw.last().end(null);
    await settle();
    expect(lw.lists()).toBe(2);
    expect(lw.last().query.resourceVersion).toBe("30");
    expect(lw.events.slice(3)).toEqual(["delete b@2", "delete c@3", "add d@25"]);
    expect(names(lw.informer.list())).toEqual(["pr-1/a@1", "pr-1/d@25"]);
    lw.last().end({ code: 410 });
    await settle();
    expect(lw.lists()).toBe(3);
    expect(lw.informer.list()).toEqual([]);
    expect(lw.errors).toEqual([]);
  });

  it("reconnects a stream that ends after a delay that doubles while nothing comes (to 30 s), and at once after an event or a client timeout", async () => {
    const lw = scripted([list("10")]);
    await lw.informer.start();
    for (let i = 0; i < 7; i++) {
      lw.last().end(null);
      await settle();
    }
    expect(lw.delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
    lw.last().send("MODIFIED", obj("pr-1", "a", "11"));
    lw.last().end(null);
    await settle();
    expect(lw.delays).toHaveLength(6);
    lw.last().end(null);
    await settle();
    expect(lw.delays.at(-1)).toBe(1000);
    lw.last().end(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    await settle();
    expect(lw.delays).toHaveLength(7);
    expect(lw.opened).toHaveLength(11);
  });

  it("stops at any other error, telling the error handlers; stop() aborts the watch and nothing restarts", async () => {
    const lw = scripted([list("10")]);
    await lw.informer.start();
    const refused = Object.assign(new Error("Forbidden"), { code: 403 });
    lw.last().end(refused);
    await settle();
    expect(lw.errors).toEqual([refused]);
    expect(lw.opened).toHaveLength(1);
    await lw.informer.start();
    expect(lw.opened).toHaveLength(2);
    expect(lw.lists()).toBe(1); // resumed from its resourceVersion
    await lw.informer.stop();
    expect(lw.last().controller.signal.aborted).toBe(true);
    lw.last().end(null);
    await settle();
    expect(lw.opened).toHaveLength(2);
  });

  it("reports a list that fails to the error handlers", async () => {
    const opened: unknown[] = [];
    const errors: unknown[] = [];
    const boom = new Error("list failed");
    const informer = new ListWatch<KubernetesObject>({
      path: "/api/v1/pods",
      watch: { watch: () => Promise.resolve(new AbortController()).finally(() => opened.push(1)) },
      list: () => Promise.reject(boom),
      delay: () => Promise.resolve(),
    });
    informer.on("error", (err) => errors.push(err));
    await informer.start();
    expect(errors).toEqual([boom]);
    expect(opened).toEqual([]);
  });
});
