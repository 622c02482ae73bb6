import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { effectiveConfig, latestEdits } from "../../src/domain/overrides.ts";
import type { OverrideEdit } from "../../src/domain/overrides.ts";
import type { RepoSettings } from "../../src/domain/settings.ts";
import { getValueAt, parseValuePath } from "../../src/domain/values.ts";

const settings: RepoSettings = Object.freeze({
  repo: "acme/web",
  name: "web",
  chart: Object.freeze({ repository: "https://charts.acme.dev", name: "web", version: "1.0.0" }),
  values: Object.freeze({ a: Object.freeze({ b: 1, c: Object.freeze({ d: "x" }) }), l: Object.freeze([Object.freeze({ x: 1 }), 2]) }),
  imageTagKey: "image.tag",
  imageTagTemplate: "{sha}",
  hostKey: "ingress.hostname",
  hostTemplate: "{name}.staging.acme.dev",
  urlTemplate: "https://{host}",
  namespaceTemplate: "octostage-{name}",
  deployTimeoutSeconds: 600,
  trigger: Object.freeze({ drafts: false, labels: [] }),
});

const objectKeys = ["a", "a.b", "a.c", "a.c.d", "a.e", "f", "f.g"];
const anyKeys = [...objectKeys, "l[0]", "l[1]", "l[0].x", "l[2].y"];
const value = fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.boolean(), fc.constant(null));

const editsOver = (keys: string[]) =>
  fc.array(
    fc.oneof(
      fc.record({ scope: fc.constant("app" as const), key: fc.constantFrom(...keys), op: fc.constantFrom("set" as const, "unset" as const), value }),
      fc.record({ scope: fc.constant("deployment" as const), key: fc.constant("deployTimeoutSeconds"), op: fc.constantFrom("set" as const, "unset" as const), value: fc.integer({ min: 30, max: 3600 }) }),
    ),
    { maxLength: 12 },
  ).map((edits) =>
    edits.map((e, i): OverrideEdit => ({ ...e, ...(e.op === "unset" ? { value: undefined } : {}), actor: "a", source: "github", at: new Date(i * 1000) })),
  );

function pathOf(key: string) {
  const path = parseValuePath(key);
  if ("error" in path) throw new Error(path.error);
  return path;
}

describe("effectiveConfig on any sequence of edits", () => {
  test("only the latest edit per key matters, and the settings are never changed", () => {
    fc.assert(
      fc.property(editsOver(anyKeys), (edits) => {
        expect(effectiveConfig(settings, edits)).toEqual(effectiveConfig(settings, latestEdits(edits)));
      }),
      { numRuns: 500 },
    );
  });

  test("the last edit of the sequence decides its key: a set shows its value, an unset removes it", () => {
    fc.assert(
      fc.property(editsOver(objectKeys), (edits) => {
        const cfg = effectiveConfig(settings, edits);
        const last = edits.at(-1);
        if (!last) return;
        if (last.scope === "deployment") {
          expect(cfg.deployTimeoutSeconds).toBe(last.op === "set" ? last.value : 600);
          return;
        }
        expect(getValueAt(cfg.values, pathOf(last.key))).toEqual(last.op === "set" ? last.value : undefined);
        const entry = cfg.entries.find((e) => e.scope === "app" && e.key === last.key);
        if (last.op === "unset") expect(entry).toEqual({ scope: "app", key: last.key, value: undefined, origin: "unset" });
        else if (entry) expect(entry.origin).toBe("edited");
      }),
      { numRuns: 500 },
    );
  });
});
