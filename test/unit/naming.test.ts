import { describe, expect, test } from "vitest";
import { isDnsLabel, maxNamespaceLength, maxStagingNameLength, slugify, stagingName } from "../../src/domain/naming.ts";

/** RFC 1123 label, written out here rather than imported, so the test checks the module. */
const dnsLabel = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A small seeded PRNG (mulberry32): random but reproducible inputs. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const alphabet = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ..."-_.  /@:+~!*()[]{}|\\'\"\t\n",
  ..."éüßÅøİıΣσ日本語中文한국어🚀👩‍💻\u0301\u200b",
];

function randomName(next: () => number): string {
  const length = Math.floor(next() ** 2 * 200);
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(next() * alphabet.length)];
  return out;
}

function randomPr(next: () => number): number {
  const magnitude = Math.floor(next() * 16);
  return Math.max(1, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(next() * 10 ** magnitude)));
}

describe("stagingName", () => {
  test("short names read as <project>-pr-<n>", () => {
    expect(stagingName("web", 42)).toBe("web-pr-42");
    expect(stagingName("My Shop.API", 7)).toBe("my-shop-api-pr-7");
  });

  test("is an RFC 1123 label of at most 53 characters for any project name and PR number", () => {
    const next = rng(20240601);
    const fixed = [
      "",
      "---",
      "...",
      "日本語",
      "🚀🚀🚀",
      "UPPER.case.Dotted.Name",
      "a".repeat(53),
      "a".repeat(500),
      `${"x".repeat(45)}-${"y".repeat(45)}`,
      `${"-".repeat(60)}abc${"-".repeat(60)}`,
      `${"ab-".repeat(40)}`,
    ];
    const inputs: [string, number][] = fixed.flatMap((name) => [
      [name, 1],
      [name, 99999],
      [name, Number.MAX_SAFE_INTEGER],
    ]);
    for (let i = 0; i < 2000; i++) inputs.push([randomName(next), randomPr(next)]);
    for (const [project, pr] of inputs) {
      const name = stagingName(project, pr);
      const context = JSON.stringify({ project, pr, name });
      expect(name.length, context).toBeLessThanOrEqual(53);
      expect(name, context).toMatch(dnsLabel);
      expect(name.endsWith(`-pr-${pr}`), context).toBe(true);
      expect(isDnsLabel(name, maxStagingNameLength), context).toBe(true);
    }
  });

  test("is stable: the same project and PR always give the same name", () => {
    const next = rng(7);
    for (let i = 0; i < 300; i++) {
      const project = randomName(next);
      const pr = randomPr(next);
      expect(stagingName(project, pr)).toBe(stagingName(project, pr));
    }
    // Pinned: the name must not depend on the process, time or randomness (it is a DB key).
    expect(stagingName("a".repeat(80), 12)).toBe(`${"a".repeat(40)}-0f45e8-pr-12`);
  });

  test("different PR numbers of one project never share a name", () => {
    const project = "a-very-long-project-name-that-does-not-fit-in-helm-release-names";
    const names = new Set(Array.from({ length: 500 }, (_, i) => stagingName(project, i + 1)));
    expect(names.size).toBe(500);
  });

  test("two long project names differing only at the end do not collide", () => {
    const stem = "acme-platform-customer-facing-storefront-frontend-service";
    const pairs: [string, string][] = [
      [`${stem}-a`, `${stem}-b`],
      [`${stem}1`, `${stem}2`],
      [`${"x".repeat(200)}a`, `${"x".repeat(200)}b`],
    ];
    const next = rng(99);
    for (let i = 0; i < 200; i++) {
      const base = "p".repeat(60) + randomName(next);
      pairs.push([`${base}-one`, `${base}-two`]);
    }
    for (const [a, b] of pairs) {
      const na = stagingName(a, 42);
      const nb = stagingName(b, 42);
      expect(na, `${a} vs ${b}`).not.toBe(nb);
      expect(na.length).toBeLessThanOrEqual(maxStagingNameLength);
      expect(nb.length).toBeLessThanOrEqual(maxStagingNameLength);
    }
  });

  test("a cut name keeps a readable prefix of the project", () => {
    const name = stagingName("storefront-".repeat(10), 1234);
    expect(name.startsWith("storefront-storefront")).toBe(true);
    expect(name).toMatch(/-[0-9a-f]{6}-pr-1234$/);
  });

  test("a name with no usable characters still gives a valid staging name", () => {
    expect(stagingName("日本語", 3)).toMatch(dnsLabel);
    expect(stagingName("", 3)).toBe("staging-pr-3");
  });
});

describe("slugify", () => {
  test("lowercases, turns other characters into single dashes and trims dashes", () => {
    expect(slugify("Hello, World!")).toBe("hello-world");
    expect(slugify("--a__b..c--")).toBe("a-b-c");
    expect(slugify("ÄÖÜ")).toBe("");
    expect(slugify("v1.2.3")).toBe("v1-2-3");
  });
});

describe("isDnsLabel", () => {
  test("accepts RFC 1123 labels up to 63 characters by default", () => {
    expect(maxNamespaceLength).toBe(63);
    for (const ok of ["a", "0", "a-b", "octostage-web-pr-1", "a".repeat(63), "1a", "a--b"]) {
      expect(isDnsLabel(ok), ok).toBe(true);
    }
  });

  test("rejects uppercase, dots, underscores, edge dashes, empty and over-long names", () => {
    for (const bad of ["", "A", "a.b", "a_b", "-a", "a-", "a b", "é", "a".repeat(64)]) {
      expect(isDnsLabel(bad), bad).toBe(false);
    }
  });

  test("honours a tighter maximum", () => {
    expect(isDnsLabel("a".repeat(53), 53)).toBe(true);
    expect(isDnsLabel("a".repeat(54), 53)).toBe(false);
  });
});
