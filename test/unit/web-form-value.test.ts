// The dashboard's create and edit forms type a value as PR comments do (the form's hint says so):
// `3` is a number, `true` a boolean, `"3"` (quoted) the string 3. The edit form writes each
// override with formatValue, so saving a form unchanged must give every value back unchanged.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatValue } from "../../src/domain/command-tokens.ts";
import { formValue } from "../../src/entrypoints/web/dashboard.ts";

describe("a form value", () => {
  it.each([
    ["3", 3],
    ["true", true],
    ["null", null],
    ["web", "web"],
    ['"3"', "3"],
    ['"true"', "true"],
    ['"two words"', "two words"],
    ['"a \\"quoted\\" word"', 'a "quoted" word'],
    ['"', '"'],
    ['"unterminated \\"', '"unterminated \\"'],
  ])("%s is %j", (text, value) => {
    expect(formValue(text)).toStrictEqual(value);
  });

  it("written by the edit form (formatValue) reads back as the same value", () => {
    const primitive = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(primitive, (value) => {
        const back = formValue(formatValue(value));
        expect(back).toStrictEqual(Object.is(value, -0) ? 0 : value);
      }),
      { numRuns: 2000 },
    );
  });
});
