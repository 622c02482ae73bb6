// Checks HTTP requests (and, for self-tests, responses) against GitHub's own REST API
// description from @octokit/openapi (api.github.com.json, with $refs resolved on the fly).
// A small JSON-schema subset: type, nullable, enum, required, properties, items,
// maxLength, maxItems, anyOf/oneOf (at least one branch), allOf.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

 
type Schema = Record<string, any>;

interface MatchedOperation {
  operationId: string;
  template: string;
  pathParams: Record<string, string>;
  /** The operation's page in GitHub's REST docs (GitHub's documentation_url in error bodies). */
  docsUrl?: string;
}

interface RequestCheck {
  operation?: MatchedOperation;
  /** 0 when the request is valid, else the status GitHub would answer (400, 404 or 422). */
  status: number;
  errors: string[];
}

export interface OpenApiValidator {
  checkRequest(method: string, path: string, query: Record<string, string>, body: unknown): RequestCheck;
  /** Errors of a response body against the operation's documented response schema. */
  checkResponse(operationId: string, status: number, body: unknown): string[];
}

interface CompiledPath {
  template: string;
  regex: RegExp;
  names: string[];
  literals: number;
  item: Record<string, Schema>;
}

let spec: Schema | undefined;

function loadSpec(): Schema {
  if (spec) return spec;
  const pkg = createRequire(import.meta.url).resolve("@octokit/openapi/package.json");
  const file = path.join(path.dirname(pkg), "generated", "api.github.com.json");
  spec = JSON.parse(readFileSync(file, "utf8")) as Schema;
  return spec;
}

function resolve(root: Schema, schema: Schema): Schema {
  let current = schema;
  while (typeof current.$ref === "string") {
    current = current.$ref
      .slice(2)
      .split("/")
      .reduce<Schema>((node, key) => node[key.replaceAll("~1", "/").replaceAll("~0", "~")], root);
  }
  return current;
}

function typeOk(type: string, value: unknown): boolean {
  if (type === "integer") return Number.isInteger(value);
  if (type === "number") return typeof value === "number";
  if (type === "array") return Array.isArray(value);
  if (type === "object") return typeof value === "object" && value !== null && !Array.isArray(value);
  return typeof value === type;
}

function validate(root: Schema, raw: Schema, value: unknown, at: string, errors: string[]): void {
  const schema = resolve(root, raw);
  if (value === null && (schema.nullable === true || schema.type === "null")) return;
  for (const sub of (schema.allOf ?? []) as Schema[]) validate(root, sub, value, at, errors);
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (branches) {
    const results = branches.map((sub) => {
      const branchErrors: string[] = [];
      validate(root, sub, value, at, branchErrors);
      return branchErrors;
    });
    if (!results.some((r) => r.length === 0)) errors.push(`${at}: matches none of the allowed forms (${results.flat().join("; ")})`);
  }
  const types = (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []) as string[];
  if (types.length > 0 && !types.some((t) => typeOk(t, value))) {
    errors.push(`${at}: expected ${types.join("|")}, got ${value === null ? "null" : typeof value}`);
    return;
  }
  if (Array.isArray(schema.enum) && !(schema.enum as unknown[]).includes(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  // Counted in characters (code points), worded as GitHub words it.
  if (typeof value === "string" && typeof schema.maxLength === "number" && [...value].length > schema.maxLength) {
    errors.push(`${at}: Only ${schema.maxLength} characters are allowed; ${[...value].length} were supplied.`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) errors.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((item, i) => validate(root, schema.items as Schema, item, `${at}[${i}]`, errors));
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const record = value as Record<string, unknown>;
  for (const name of (schema.required ?? []) as string[]) {
    if (!(name in record)) errors.push(`${at}: missing required field "${name}"`);
  }
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    if (record[name] !== undefined) validate(root, sub, record[name], `${at}.${name}`, errors);
  }
}

function compilePaths(root: Schema): CompiledPath[] {
  return Object.entries(root.paths as Record<string, Record<string, Schema>>).map(([template, item]) => {
    const names: string[] = [];
    const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_m, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    const literals = template.split("/").filter((s) => s && !s.startsWith("{")).length;
    return { template, regex: new RegExp(`^${source}$`), names, literals, item };
  });
}

function checkParams(root: Schema, params: Schema[], values: Record<string, string>, where: string, errors: string[]): void {
  for (const raw of params) {
    const param = resolve(root, raw);
    if (param.in !== where) continue;
    const value = values[param.name as string];
    if (value === undefined) {
      if (param.required === true) errors.push(`${where} parameter "${param.name}" is required`);
      continue;
    }
    const schema = resolve(root, (param.schema ?? {}) as Schema);
    if (schema.type === "integer" && !/^-?\d+$/.test(value)) errors.push(`${where} parameter "${param.name}" must be an integer, got "${value}"`);
    if (Array.isArray(schema.enum) && !(schema.enum as unknown[]).includes(value)) {
      errors.push(`${where} parameter "${param.name}": "${value}" is not one of ${JSON.stringify(schema.enum)}`);
    }
  }
}

export function createOpenApiValidator(): OpenApiValidator {
  const root = loadSpec();
  const compiled = compilePaths(root);
  const operations = new Map<string, Schema>();
  for (const entry of compiled) {
    for (const op of Object.values(entry.item)) if (typeof op.operationId === "string") operations.set(op.operationId, op);
  }

  const checkRequest = (method: string, urlPath: string, query: Record<string, string>, body: unknown): RequestCheck => {
    const lower = method.toLowerCase();
    const candidates = compiled
      .map((entry) => ({ entry, match: entry.regex.exec(urlPath) }))
      .filter((c) => c.match !== null && c.entry.item[lower] !== undefined)
      .sort((a, b) => b.entry.literals - a.entry.literals);
    const found = candidates[0];
    if (!found?.match) return { status: 404, errors: [`${method} ${urlPath} is not an operation of the GitHub REST API`] };
    const op = found.entry.item[lower]!;
    const pathParams = Object.fromEntries(found.entry.names.map((n, i) => [n, decodeURIComponent(found.match![i + 1]!)]));
    const docsUrl = (op.externalDocs as { url?: string } | undefined)?.url;
    const operation = { operationId: op.operationId as string, template: found.entry.template, pathParams, ...(docsUrl ? { docsUrl } : {}) };
    const params = [...((found.entry.item.parameters ?? []) as Schema[]), ...((op.parameters ?? []) as Schema[])];
    const pathErrors: string[] = [];
    checkParams(root, params, pathParams, "path", pathErrors);
    if (pathErrors.length > 0) return { operation, status: 404, errors: pathErrors };
    const errors: string[] = [];
    checkParams(root, params, query, "query", errors);
    const requestBody = op.requestBody ? resolve(root, op.requestBody as Schema) : undefined;
    const bodySchema = requestBody?.content?.["application/json"]?.schema as Schema | undefined;
    if (body === undefined) {
      if (requestBody?.required === true) errors.push("a JSON request body is required");
    } else if (bodySchema) {
      validate(root, bodySchema, body, "body", errors);
    }
    return { operation, status: errors.length > 0 ? 422 : 0, errors };
  };

  const checkResponse = (operationId: string, status: number, body: unknown): string[] => {
    const op = operations.get(operationId);
    if (!op) return [`unknown operation ${operationId}`];
    const response = (op.responses as Record<string, Schema>)[String(status)];
    if (!response) return [`${operationId} does not document status ${status}`];
    const schema = resolve(root, response).content?.["application/json"]?.schema as Schema | undefined;
    const errors: string[] = [];
    if (schema) validate(root, schema, body, "response", errors);
    return errors;
  };

  return { checkRequest, checkResponse };
}
