// The value policy: what an override may set, whoever sends it (PR comment, and later the API,
// Slack, the dashboard). Its default refuses the keys that take a staging out of its namespace or
// sandbox, and `{{` anywhere in a value (a chart passing values through `tpl` would run it).
import { describe, expect, test } from "vitest";
import { defaultValuePolicy, valuePolicyRefusal } from "../../src/domain/value-policy.ts";
import type { ValuePolicy } from "../../src/domain/value-policy.ts";

const policy: ValuePolicy = { ...defaultValuePolicy, denyKeys: [...defaultValuePolicy.denyKeys] };
const refuse = (key: string, value: unknown = "x", op: "set" | "unset" = "set", p = policy) => valuePolicyRefusal(p, key, op, value);

describe("denied keys", () => {
  test.each([
    "namespaceOverride",
    "web.namespaceOverride",
    "securityContext.privileged",
    "api.podSecurityContext.runAsUser",
    "containerSecurityContext",
    "volumes[0].hostPath.path",
    "hostNetwork",
    "worker.hostPID",
    "HOSTIPC",
    "sidecar.privileged",
  ])("%s is refused, set or unset, naming the pattern it matched", (key) => {
    for (const op of ["set", "unset"] as const) {
      const why = refuse(key, "x", op);
      expect(why).toMatch(new RegExp(`^"${key.replace(/[.[\]]/g, "\\$&")}" may not be overridden: the value policy refuses keys matching "[^"]+"`));
      expect(why).toContain("valuePolicy.denyKeys");
    }
  });

  test("names the first pattern that matched", () => {
    expect(refuse("a.namespaceOverride")).toContain('matching "*.namespaceOverride"');
    expect(refuse("securityContext.privileged")).toContain('matching "*securityContext*"');
  });

  test.each(["replicaCount", "image.tag", "namespace", "web.namespaceOverrides", "podAnnotations.priv", "env[0].value"])(
    "%s may be set",
    (key) => {
      expect(refuse(key, "3")).toBeUndefined();
    },
  );

  test("a pattern matches the whole key, and pattern characters other than * are literal", () => {
    const p = { denyTemplates: false, denyKeys: ["a.b", "x+y", "c*"] };
    expect(refuse("a.b", "1", "set", p)).toBeDefined();
    expect(refuse("axb", "1", "set", p)).toBeUndefined(); // "." is not a wildcard
    expect(refuse("a.b.c", "1", "set", p)).toBeUndefined(); // whole key, not a prefix
    expect(refuse("z.a.b", "1", "set", p)).toBeUndefined(); // nor a suffix
    expect(refuse("x+y", "1", "set", p)).toBeDefined();
    expect(refuse("xxy", "1", "set", p)).toBeUndefined(); // "+" is literal
    expect(refuse("cat.dog", "1", "set", p)).toBeDefined();
    expect(refuse("C", "1", "set", p)).toBeDefined(); // case-insensitive
  });

  test("an empty list denies nothing", () => {
    expect(refuse("securityContext.privileged", true, "set", { denyTemplates: true, denyKeys: [] })).toBeUndefined();
  });
});

describe("templates", () => {
  test.each([
    ["a string", "{{ lookup \"v1\" \"Secret\" \"kube-system\" \"x\" }}"],
    ["text around it", "prefix {{ .Release.Name }} suffix"],
    ["a list item", ["ok", "{{ x }}"]],
    ["a nested value", { a: { b: "{{ x }}" } }],
    ["a nested key", { "{{ x }}": "ok" }],
    ["a list of maps", [{ a: 1 }, { b: ["{{"] }]],
  ])("{{ in %s is refused, with how to allow it", (_what, value) => {
    const why = refuse("config", value);
    expect(why).toBe(
      'the value of "config" contains "{{": templates are refused in overrides (a chart that passes values through tpl would run them). Set valuePolicy.denyTemplates to false in the project configuration to allow them',
    );
  });

  test("{{ in the key is refused too", () => {
    expect(refuse("a{{b", "1")).toContain("templates are refused");
  });

  test.each([["plain", "hello { world }"], ["one brace", "{x}"], ["a number", 3], ["null", null], ["a boolean", true], ["a map", { a: "b" }], ["a list", ["a", 1]]])(
    "%s is fine",
    (_what, value) => {
      expect(refuse("config", value)).toBeUndefined();
    },
  );

  test("an unset carries no value to check; denyTemplates: false allows templates", () => {
    expect(refuse("config", "{{ x }}", "unset")).toBeUndefined();
    expect(refuse("config", "{{ x }}", "set", { denyTemplates: false, denyKeys: [] })).toBeUndefined();
  });

  test("denied keys are checked before templates", () => {
    expect(refuse("hostPath", "{{ x }}")).toContain("may not be overridden");
  });
});
