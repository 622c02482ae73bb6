// The scanner that lets an informer drop another team's objects unparsed: what it reads of a
// watch event or a list page must be exactly what JSON.parse would give, whatever the layout.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonScanError, scanList, scanWatchEvent } from "../../src/adapters/kube/json-scan.ts";
import { realisticPod } from "../support/realistic-pod.ts";

const line = (value: unknown, space?: number): Buffer => Buffer.from(JSON.stringify(value, null, space));

describe("scanWatchEvent", () => {
  it("reads the type, namespace and resourceVersion of an event as the API server writes it", () => {
    const pod = realisticPod("team-payments", "api-7f9c5d8b6-x2k4p");
    expect(scanWatchEvent(line({ type: "MODIFIED", object: pod }))).toEqual({ type: "MODIFIED", namespace: "team-payments", resourceVersion: "48213377" });
  });

  it("finds them whatever the order of fields, with spaces, escapes and braces inside strings", () => {
    const object = {
      spec: { note: 'a "quoted" {brace} [bracket] \\ backslash', list: [1, { a: [] }, "}"] },
      status: { ready: true, n: -1.5e3, none: null },
      metadata: { labels: { "x/y": "}{" }, resourceVersion: "7", annotations: {}, namespace: "pr-\u00e9\u0041", name: "w" },
    };
    for (const value of [{ object, type: "ADDED" }, { type: "DELETED", object }]) {
      for (const space of [undefined, 2]) expect(scanWatchEvent(line(value, space))).toEqual({ type: value.type, namespace: "pr-éA", resourceVersion: "7" });
    }
    const escaped = Buffer.from('{"type":"ADDED","object":{"metadata":{"namespace":"pr-\\u0031","resourceVersion":"9"}}}');
    expect(scanWatchEvent(escaped)).toEqual({ type: "ADDED", namespace: "pr-1", resourceVersion: "9" });
  });

  it("leaves the namespace out of cluster-scoped objects, bookmarks and errors", () => {
    expect(scanWatchEvent(line({ type: "ADDED", object: { kind: "Namespace", metadata: { name: "pr-1", resourceVersion: "3" } } }))).toEqual({ type: "ADDED", namespace: undefined, resourceVersion: "3" });
    expect(scanWatchEvent(line({ type: "BOOKMARK", object: { kind: "Pod", metadata: { resourceVersion: "12" } } }))).toEqual({ type: "BOOKMARK", namespace: undefined, resourceVersion: "12" });
    expect(scanWatchEvent(line({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } }))).toEqual({ type: "ERROR", namespace: undefined, resourceVersion: undefined });
  });

  it("throws on what is not a JSON object", () => {
    for (const bad of ["", "[]", '{"type":"ADDED","object":{"metadata":{"namespace":"pr-1', '{"type" "ADDED"}', "{'type':1}"]) {
      expect(() => scanWatchEvent(Buffer.from(bad)), bad).toThrow(JsonScanError);
    }
  });

  it("agrees with JSON.parse on any object", () => {
    const text = fc.string({ unit: "binary" });
    const meta = fc.record({ namespace: fc.option(text, { nil: undefined }), resourceVersion: fc.option(text, { nil: undefined }), name: text }, { requiredKeys: ["name"] });
    fc.assert(
      fc.property(fc.dictionary(text, fc.jsonValue(), { maxKeys: 4 }), meta, fc.constantFrom("ADDED", "MODIFIED", "DELETED"), fc.boolean(), (rest, metadata, type, typeLast) => {
        const object = { ...rest, metadata: { ...metadata } };
        const event = typeLast ? { object, type } : { type, object };
        const parsed = JSON.parse(JSON.stringify(event)) as { object: { metadata: { namespace?: string; resourceVersion?: string } } };
        expect(scanWatchEvent(line(event))).toEqual({ type, namespace: parsed.object.metadata.namespace, resourceVersion: parsed.object.metadata.resourceVersion });
      }),
    );
  });
});

describe("scanList", () => {
  it("gives each item's bytes and namespace, and the list's metadata", () => {
    const items = [realisticPod("team-a", "a-1"), { metadata: { name: "b", namespace: "pr-2" }, spec: { s: "]}" } }, { metadata: { name: "c" } }];
    for (const space of [undefined, 2]) {
      const body = line({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "42", continue: "abc" }, items }, space);
      const scanned = scanList(body);
      expect(scanned.metadata).toEqual({ resourceVersion: "42", continue: "abc" });
      expect(scanned.items.map((i) => i.namespace)).toEqual(["team-a", "pr-2", undefined]);
      expect(scanned.items.map((i) => JSON.parse(body.toString("utf8", i.start, i.end)) as unknown)).toEqual(items);
    }
  });

  it("reads empty and null item lists", () => {
    expect(scanList(line({ metadata: { resourceVersion: "1" }, items: [] }))).toEqual({ metadata: { resourceVersion: "1" }, items: [] });
    expect(scanList(line({ items: null, metadata: {} }))).toEqual({ metadata: {}, items: [] });
  });

  it("agrees with JSON.parse on any list", () => {
    const text = fc.string({ unit: "binary" });
    const item = fc.record({ metadata: fc.record({ namespace: fc.option(text, { nil: undefined }), name: text }, { requiredKeys: ["name"] }), spec: fc.jsonValue() });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 5 }), (items) => {
        const body = line({ kind: "List", metadata: { resourceVersion: "5" }, items });
        const parsed = JSON.parse(body.toString("utf8")) as { items: { metadata: { namespace?: string } }[] };
        const scanned = scanList(body);
        expect(scanned.items.map((i) => i.namespace)).toEqual(parsed.items.map((i) => i.metadata.namespace));
        expect(scanned.items.map((i) => JSON.parse(body.toString("utf8", i.start, i.end)) as unknown)).toEqual(parsed.items);
      }),
    );
  });
});
