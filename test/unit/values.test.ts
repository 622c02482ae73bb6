import { describe, expect, test } from "vitest";
import { getValueAt, mergeValues, parseValuePath, setValueAt, unsetValueAt } from "../../src/domain/values.ts";
import type { PathSegment, Values } from "../../src/domain/values.ts";

function path(key: string): PathSegment[] {
  const parsed = parseValuePath(key);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed;
}

/** A deep-frozen copy: any mutation of an input throws in strict mode. */
function frozen<T>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (v && typeof v === "object") {
      Object.freeze(v);
      Object.values(v).forEach(freeze);
    }
  };
  freeze(copy);
  return copy;
}

describe("parseValuePath", () => {
  test.each([
    ["image", ["image"]],
    ["image.tag", ["image", "tag"]],
    ["a.b[0].c", ["a", "b", 0, "c"]],
    ["env[12]", ["env", 12]],
    ["matrix[1][2].x", ["matrix", 1, 2, "x"]],
    ["ingress.annotations.nginx/proxy-body-size", ["ingress", "annotations", "nginx/proxy-body-size"]],
    ["with-dash_and_UPPER", ["with-dash_and_UPPER"]],
  ])("parses %s", (key, segments) => {
    expect(parseValuePath(key)).toEqual(segments);
  });

  test.each(["", "a..b", ".a", "a.", "a[", "a[x]", "a[-1]", "[0]", "a.[0]", "a[0]b", "a]b", "a[0]]"])(
    "rejects %j with a message",
    (key) => {
      const parsed = parseValuePath(key);
      expect(parsed).toHaveProperty("error");
      if ("error" in parsed) expect(parsed.error.length).toBeGreaterThan(5);
    },
  );

  test("the message quotes the key and the bad part", () => {
    const parsed = parseValuePath("image..tag");
    expect(parsed).toEqual({ error: expect.stringContaining('"image..tag"') });
    expect(parseValuePath("")).toEqual({ error: "the key is empty" });
  });
});

describe("setValueAt", () => {
  test("sets a nested value, creating objects on the way, without touching the input", () => {
    const doc = frozen({ image: { repository: "ghcr.io/acme/web" }, replicaCount: 1 });
    const out = setValueAt(doc, path("image.tag"), "abc123");
    expect(out).toEqual({ image: { repository: "ghcr.io/acme/web", tag: "abc123" }, replicaCount: 1 });
    expect(doc).toEqual({ image: { repository: "ghcr.io/acme/web" }, replicaCount: 1 });
    expect(setValueAt(frozen({}), path("a.b.c"), true)).toEqual({ a: { b: { c: true } } });
  });

  test("creates intermediate lists for index paths", () => {
    expect(setValueAt({}, path("env[0].name"), "DEBUG")).toEqual({ env: [{ name: "DEBUG" }] });
    expect(setValueAt({}, path("m[0][0]"), 1)).toEqual({ m: [[1]] });
    const out = setValueAt({}, path("hosts[2]"), "c");
    expect(Array.isArray(out.hosts)).toBe(true);
    expect((out.hosts as unknown[])[2]).toBe("c");
  });

  test("changes one element of an existing list and keeps the others, without mutating it", () => {
    const doc = frozen({ env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] });
    const out = setValueAt(doc, path("env[1].value"), "3");
    expect(out).toEqual({ env: [{ name: "A", value: "1" }, { name: "B", value: "3" }] });
    expect(doc.env[1]!.value).toBe("2");
  });

  test("replaces a scalar in the way by a container", () => {
    expect(setValueAt({ image: "nginx" }, path("image.tag"), "1")).toEqual({ image: { tag: "1" } });
  });

  test("an empty path returns the document", () => {
    const doc = { a: 1 };
    expect(setValueAt(doc, [], 2)).toEqual({ a: 1 });
  });
});

describe("unsetValueAt", () => {
  test("removes a nested key without touching the input", () => {
    const doc = frozen({ image: { repository: "r", tag: "t" }, replicaCount: 1 });
    expect(unsetValueAt(doc, path("image.tag"))).toEqual({ image: { repository: "r" }, replicaCount: 1 });
    expect(unsetValueAt(doc, path("replicaCount"))).toEqual({ image: { repository: "r", tag: "t" } });
    expect(doc).toEqual({ image: { repository: "r", tag: "t" }, replicaCount: 1 });
  });

  test("an absent path leaves the document as it was", () => {
    const doc = frozen({ a: { b: 1 } });
    expect(unsetValueAt(doc, path("x.y"))).toEqual({ a: { b: 1 } });
    expect(unsetValueAt(doc, path("a.c"))).toEqual({ a: { b: 1 } });
    expect(unsetValueAt(doc, path("a.b.c"))).toEqual({ a: { b: 1 } });
    expect(unsetValueAt(doc, path("constructor.name"))).toEqual({ a: { b: 1 } });
    expect(unsetValueAt(doc, path("a[0]"))).toEqual({ a: { b: 1 } });
  });

  test("removes a key inside a list element, without mutating the list", () => {
    const doc = frozen({ env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] });
    expect(unsetValueAt(doc, path("env[1].value"))).toEqual({ env: [{ name: "A", value: "1" }, { name: "B" }] });
    expect(doc.env[1]).toEqual({ name: "B", value: "2" });
  });

  test("removes a list element by index", () => {
    const doc = frozen({ hosts: ["a", "b", "c"] });
    expect(unsetValueAt(doc, path("hosts[1]"))).toEqual({ hosts: ["a", "c"] });
    expect(unsetValueAt(doc, path("hosts[5]"))).toEqual({ hosts: ["a", "b", "c"] });
  });
});

describe("mergeValues", () => {
  test("merges objects key by key; the override wins", () => {
    const base = frozen({ image: { repository: "r", tag: "old" }, replicaCount: 1, ingress: { enabled: true } });
    const over = frozen({ image: { tag: "new" }, replicaCount: 3, extra: "x" });
    expect(mergeValues(base, over)).toEqual({
      image: { repository: "r", tag: "new" },
      replicaCount: 3,
      ingress: { enabled: true },
      extra: "x",
    });
    expect(base.image.tag).toBe("old");
  });

  test("lists are replaced, not merged", () => {
    const base = frozen({ hosts: ["a", "b", "c"], env: [{ name: "A" }] });
    expect(mergeValues(base, { hosts: ["z"] })).toEqual({ hosts: ["z"], env: [{ name: "A" }] });
    expect(mergeValues(base, { env: [] })).toEqual({ hosts: ["a", "b", "c"], env: [] });
  });

  test("an object replaces a scalar and a scalar replaces an object", () => {
    expect(mergeValues({ a: 1 }, { a: { b: 2 } })).toEqual({ a: { b: 2 } });
    expect(mergeValues({ a: { b: 2 } }, { a: null })).toEqual({ a: null });
  });

  test("the result shares no mutable object with the inputs at the merged levels", () => {
    const base: Values = { image: { tag: "t" } };
    const out = mergeValues(base, { image: { pullPolicy: "Always" } });
    (out.image as Values).tag = "changed";
    expect(base).toEqual({ image: { tag: "t" } });
  });
});

describe("getValueAt", () => {
  test("reads nested values and list elements; undefined when absent", () => {
    const doc = { a: { b: [{ c: 1 }] } };
    expect(getValueAt(doc, path("a.b[0].c"))).toBe(1);
    expect(getValueAt(doc, path("a.b[1].c"))).toBeUndefined();
    expect(getValueAt(doc, path("a.x.y"))).toBeUndefined();
    expect(getValueAt({ a: "s" }, path("a.length"))).toBeUndefined();
  });
});
