import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { commandLimits, formatCommand, parseComment } from "../../src/domain/command-grammar.ts";
import type { CommandName, OctoCommand } from "../../src/domain/command-grammar.ts";
import { formatValue } from "../../src/domain/command-tokens.ts";
import { deploymentOverrideKeys, isSecretKey, validateOverride, validateOverrideKey } from "../../src/domain/overrides.ts";

/** Pieces that steer random comments into the grammar's corners. */
const fragment = fc.oneof(
  fc.constantFrom(
    "/octo ", "/OCTO", "/octo", "override ", "unset ", "--deployment ", "--", "=", '"', "'", "\\", '\\"', "\n", "\r\n", "\r",
    "```", "~~~", "> ", "<!--", "-->", " ", "\t", "\u00a0", "\u2028", "a", "b.c", "[0]", "[", "]", ".", "true", "1.5",
    "1.10", "-0", "null", "chart.version", "deployTimeoutSeconds", "namespaceQuota", "600", "help", "status", "overide",
    "password", "__proto__", "\u0000", "\ud800", "é", "🚀",
  ),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
);

const randomComment = fc.array(fragment, { maxLength: 60 }).map((parts) => parts.join(""));

const segment = fc
  .oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }), fc.stringMatching(/^[a-zA-Z][\w-]{0,8}$/))
  .filter((s) => !/[.[\]]/.test(s));
const appKey = fc
  .tuple(fc.array(fc.tuple(segment, fc.array(fc.nat({ max: 999 }), { maxLength: 2 })), { minLength: 1, maxLength: 4 }))
  .map(([parts]) => parts.map(([name, indices]) => `${name}${indices.map((i) => `[${i}]`).join("")}`).join("."))
  .filter((key) => validateOverrideKey("app", key) === undefined && !isSecretKey(key));

const appValue = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.constantFrom("2", "true", "false", "null", "1.10", "-0", "", " ", '"', "'x", "a\\b", "x\ny\tz\r", "=", "--deployment", "a=b", "1e+21", "```"),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
  )
  .filter((v) => validateOverride("app", "k", v) === undefined);

const deploymentPair = fc.oneof(
  fc.record({ key: fc.constant("chart.version"), value: fc.oneof(fc.constantFrom("1.4.2", "2.0", "v1.0.0-rc.1+build.5"), fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 })) }),
  fc.record({ key: fc.constant("chart.repository"), value: fc.constantFrom("https://charts.example.com", "https://x.test/charts?a=b", "oci://ghcr.io/acme/charts/web") }),
  fc.record({ key: fc.constant("deployTimeoutSeconds"), value: fc.integer({ min: 30, max: 3600 }) }),
  fc.record({ key: fc.constant("namespaceQuota"), value: fc.constantFrom("small", "medium", "large") }),
).filter((p) => validateOverride("deployment", p.key, p.value) === undefined);

const noArgs: CommandName[] = ["help", "status", "config", "redeploy", "deploy", "archive", "restore", "delete"];
const byKey = { selector: (p: { key: string }) => p.key };

const validCommand: fc.Arbitrary<OctoCommand> = fc.oneof(
  fc.constantFrom(...noArgs).map((name) => ({ name }) as OctoCommand),
  fc
    .uniqueArray(fc.record({ key: appKey, value: appValue }), { ...byKey, minLength: 1, maxLength: commandLimits.maxPairsPerCommand })
    .map((set): OctoCommand => ({ name: "override", scope: "app", set })),
  fc.uniqueArray(deploymentPair, { ...byKey, minLength: 1, maxLength: 4 }).map((set): OctoCommand => ({ name: "override", scope: "deployment", set })),
  fc.uniqueArray(appKey, { minLength: 1, maxLength: commandLimits.maxPairsPerCommand }).map((keys): OctoCommand => ({ name: "unset", scope: "app", keys })),
  fc
    .subarray(deploymentOverrideKeys.map((d) => d.key as string), { minLength: 1 })
    .map((keys): OctoCommand => ({ name: "unset", scope: "deployment", keys })),
);

/** `/octo override|unset [--deployment] k=v ...` lines with random keys and values: many parse, many do not. */
const randomPair = (deployment: boolean) =>
  fc.record({
    key: fc.oneof(
      { arbitrary: fc.constantFrom(...deploymentOverrideKeys.map((d) => d.key)), weight: deployment ? 8 : 1 },
      { arbitrary: fc.constantFrom("a", "a.b", "env[0].value", "db.password", "x[1000]", "a..b"), weight: 2 },
      { arbitrary: fc.stringMatching(/^[\w.[\]-]{1,12}$/), weight: 2 },
      { arbitrary: fc.string({ unit: "binary", maxLength: 10 }), weight: 1 },
    ),
    value: fc.oneof(
      { arbitrary: fc.constantFrom("30", "600", "large", "1.2.3", "1.4", "https://c.example", "oci://r/c", "true", "null", "-0", ""), weight: 3 },
      { arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }), weight: 2 },
      { arbitrary: fc.string({ unit: "binary", maxLength: 10 }), weight: 1 },
    ),
    quote: fc.constantFrom("", "", '"', "'"),
  });
/** Mostly plausible pairs (printed valid ones), some random: both the accepting and the refusing paths. */
const pairText = (name: string, deployment: boolean) =>
  fc.oneof(
    randomPair(deployment).map((p) => (name === "override" ? `${p.key}=${p.quote}${p.value}${p.quote}` : p.key)),
    (deployment ? deploymentPair : fc.record({ key: appKey, value: appValue })).map((p) =>
      name === "override" ? `${p.key}=${formatValue(p.value)}` : p.key,
    ),
  );
const randomOverrideLine = fc
  .tuple(fc.constantFrom("override", "unset"), fc.boolean())
  .chain(([name, deployment]) =>
    fc
      .array(pairText(name, deployment), { minLength: 1, maxLength: 3 })
      .map((pairs) => [`/octo ${name}`, deployment ? "--deployment" : "", ...pairs].join(" ")),
  );

describe("parseComment on any input", () => {
  test("never throws, and every line it returns is an /octo line with a result", () => {
    fc.assert(
      fc.property(fc.oneof(randomComment, randomOverrideLine, fc.string({ unit: "binary", maxLength: 200 })), (body) => {
        const parsed = parseComment(body);
        let previous = 0;
        for (const line of parsed) {
          expect(line.line).toBeGreaterThan(previous);
          previous = line.line;
          expect(line.text.toLowerCase().startsWith("/octo")).toBe(true);
          if (!line.ok) expect(line.error.length).toBeGreaterThan(0);
        }
        expect(parsed.filter((l) => l.ok).length).toBeLessThanOrEqual(commandLimits.maxCommandsPerComment);
      }),
      { numRuns: 2000 },
    );
  });

  test("every override it accepts passes validateOverride for its scope; every unset key passes validateOverrideKey", () => {
    let overrides = 0;
    let unsets = 0;
    fc.assert(
      fc.property(fc.oneof(randomOverrideLine, randomComment), fc.boolean(), (body, allowSecretValues) => {
        for (const line of parseComment(body, { allowSecretValues })) {
          if (!line.ok) continue;
          const cmd = line.command;
          if (cmd.name === "override") {
            overrides++;
            expect(cmd.set.length).toBeGreaterThan(0);
            expect(cmd.set.length).toBeLessThanOrEqual(commandLimits.maxPairsPerCommand);
            for (const { key, value } of cmd.set) {
              expect(validateOverride(cmd.scope, key, value)).toBeUndefined();
              if (!allowSecretValues) expect(isSecretKey(key)).toBe(false);
            }
          }
          if (cmd.name === "unset") {
            unsets++;
            for (const key of cmd.keys) expect(validateOverrideKey(cmd.scope, key)).toBeUndefined();
          }
        }
      }),
      { numRuns: 3000 },
    );
    // The generator must reach the accepting paths, or the property says nothing.
    expect(overrides).toBeGreaterThan(100);
    expect(unsets).toBeGreaterThan(100);
  });
});

describe("formatCommand and parseComment", () => {
  test("parse(print(command)) gives the command back", () => {
    fc.assert(
      fc.property(validCommand, (cmd) => {
        const text = formatCommand(cmd);
        expect(parseComment(text)).toEqual([{ line: 1, text, ok: true, command: cmd }]);
      }),
      { numRuns: 1500 },
    );
  });

  test("several printed commands in one comment, between prose, come back in order", () => {
    fc.assert(
      fc.property(fc.array(validCommand, { minLength: 1, maxLength: commandLimits.maxCommandsPerComment }), (cmds) => {
        const body = ["Trying this:", ...cmds.map(formatCommand), "Thanks!"].join("\n\n");
        expect(parseComment(body).map((l) => (l.ok ? l.command : l.error))).toEqual(cmds);
      }),
      { numRuns: 300 },
    );
  });
});
