// A client for Octostage's /api/v1 that checks every answer against the OpenAPI document the
// server publishes (/api/v1/openapi.json): the operation exists, the status is documented, and
// the body matches its schema (JSON Schema 2020-12, with Ajv). Mismatches are collected.
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv/dist/2020.js";

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

interface ApiAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CheckedApi {
  request<T = any>(method: string, path: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<ApiAnswer<T>>;
  /** Every answer that did not match the document, as "METHOD /path STATUS: problem". */
  violations: string[];
  document: any;
}

export async function checkedApi(baseUrl: string, defaultToken: string): Promise<CheckedApi> {
  const document = (await (await fetch(`${baseUrl}/api/v1/openapi.json`)).json()) as any;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const documentId = "https://octostage.invalid/api/v1/openapi.json";
  ajv.addSchema({ components: document.components ?? {}, $id: documentId });
  const validators = new Map<string, ValidateFunction>();
  const violations: string[] = [];

  /** The document's path template that matches a concrete path ("/api/v1/stagings/{name}"). */
  function template(path: string): string | undefined {
    const bare = path.split("?")[0]!;
    return Object.keys(document.paths as Record<string, unknown>).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(bare));
  }

  function check(method: string, path: string, status: number, body: unknown): void {
    const what = `${method} ${path} ${status}`;
    const t = template(path);
    if (!t) {
      // A path the API does not have: a 404 with the documented Error body.
      if (status === 404 && (body as { error?: { code?: string } } | null)?.error?.code === "not_found") return;
      return void violations.push(`${what}: no such path in the document`);
    }
    const op = (document.paths[t] as Record<string, Operation>)[method.toLowerCase()];
    if (!op) return void violations.push(`${what}: no ${method} operation for ${t}`);
    const response = op.responses?.[String(status)] ?? op.responses?.default;
    if (!response) return void violations.push(`${what}: status not documented (documented: ${Object.keys(op.responses ?? {}).join(", ")})`);
    const schema = response.content?.["application/json"]?.schema;
    if (!schema) return;
    const key = `${method} ${t} ${status}`;
    let validate = validators.get(key);
    if (!validate) {
      // $refs point into the document: resolve them against it.
      const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${documentId}#/components/`));
      validate = ajv.compile(rewritten);
      validators.set(key, validate);
    }
    if (!validate(body)) violations.push(`${what}: ${ajv.errorsText(validate.errors)}`);
  }

  return {
    document,
    violations,
    async request(method, path, options = {}) {
      const token = options.token === undefined ? defaultToken : options.token;
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(options.body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      const text = await res.text();
      const body = text ? JSON.parse(text) : null;
      check(method, path, res.status, body);
      return { status: res.status, headers: res.headers, body };
    },
  };
}
