/** Checks Helm values against a chart's values.schema.json (JSON Schema). Adapter: src/adapters/json-schema/ajv.ts. */

export interface SchemaIssue {
  /** The values path, dotted (`image.tag`, `env[0].value`); "" for the whole document. */
  path: string;
  /** What the rule wants, for people ("must be integer", "must be >= 0"). */
  message: string;
}

export interface ValuesSchemaChecker {
  /** The issues of `values` against `schema`; none when they conform. Throws on a schema that cannot be compiled. */
  check(schema: Record<string, unknown>, values: Record<string, unknown>): SchemaIssue[];
}
