import { describe, expect, test } from "vitest";
import { renderTemplate, templateVariables, unknownVariables } from "../../src/domain/template.ts";

describe("templates", () => {
  test("render known placeholders, as often as they appear", () => {
    expect(renderTemplate("{name}.staging.example.com", { name: "web-pr-1" })).toBe("web-pr-1.staging.example.com");
    expect(renderTemplate("{owner}-{repo}-{pr}-{pr}", { owner: "acme", repo: "web", pr: "7" })).toBe("acme-web-7-7");
    expect(renderTemplate("https://{host}/", { host: "h.example.com" })).toBe("https://h.example.com/");
  });

  test("leave placeholders without a value as they are", () => {
    expect(renderTemplate("{name}-{sha}", { name: "n" })).toBe("n-{sha}");
    expect(renderTemplate("{unknown}", { name: "n" })).toBe("{unknown}");
  });

  test("do not evaluate expressions or nested braces", () => {
    expect(renderTemplate("{name.toUpperCase()}-{{name}}", { name: "n" })).toBe("{name.toUpperCase()}-{n}");
    expect(renderTemplate("$&{name}$1", { name: "$&" })).toBe("$&$&$1");
  });

  test("list their placeholders and the ones not allowed", () => {
    expect(templateVariables("{name}.{pr}.{name}")).toEqual(["name", "pr", "name"]);
    expect(templateVariables("no placeholders")).toEqual([]);
    expect(unknownVariables("{name}-{branch}-{sha}", ["name", "pr"])).toEqual(["branch", "sha"]);
    expect(unknownVariables("{name}-{pr}", ["name", "pr"])).toEqual([]);
  });
});
