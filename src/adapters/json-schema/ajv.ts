/** The values-schema port on Ajv (JSON Schema draft-07 and 2020-12, as helm accepts them). */
import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv";
import type { SchemaIssue, ValuesSchemaChecker } from "../../ports/values-schema.ts";

/** "/env/0/value" → "env[0].value". */
function dotted(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((path, seg) => (/^\d+$/.test(seg) ? `${path}[${seg}]` : path ? `${path}.${seg}` : seg), "");
}

export function createAjvChecker(): ValuesSchemaChecker {
  const draft7 = new Ajv({ strict: false, allErrors: true });
  const draft2020 = new Ajv2020({ strict: false, allErrors: true });
  const compiled = new WeakMap<object, ValidateFunction>();
  return {
    check(schema, values) {
      let validate = compiled.get(schema);
      if (!validate) {
        const is2020 = typeof schema.$schema === "string" && schema.$schema.includes("2020-12");
        // The dialect is chosen here; $schema (http or https, with or without "#") and $id are not looked up.
        const { $id: _id, $schema: _dialect, ...rest } = schema;
        validate = (is2020 ? draft2020 : draft7).compile(rest);
        compiled.set(schema, validate);
      }
      if (validate(values)) return [];
      return (validate.errors ?? []).map((e): SchemaIssue => {
        const missing = e.keyword === "required" ? (e.params as { missingProperty?: string }).missingProperty : undefined;
        const base = dotted(e.instancePath);
        return { path: missing ? (base ? `${base}.${missing}` : missing) : base, message: e.message ?? e.keyword };
      });
    },
  };
}
