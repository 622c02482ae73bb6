export type KubeErrorCode = "not_found" | "unreachable" | "forbidden" | "conflict" | "failed";

/** Every error the kube adapter throws. Branch on `code`, never on `message`. */
export class KubeError extends Error {
  override readonly name = "KubeError";
  readonly code: KubeErrorCode;
  /** HTTP status from the API server, when there was a response. */
  readonly status: number | undefined;

  constructor(code: KubeErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

/**
 * A non-2xx answer of the API server (kube-transport.ts): `code` is the HTTP status and `body`
 * the answer's text (a Status).
 */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  readonly code: number;
  readonly body: string;

  constructor(code: number, statusText: string, body: string) {
    super(`HTTP-Code: ${code}\nMessage: ${statusText}`);
    this.code = code;
    this.body = body;
  }
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

function codeForStatus(status: number): KubeErrorCode {
  if (status === 404 || status === 410) return "not_found";
  if (status === 401 || status === 403) return "forbidden";
  if (status === 409) return "conflict";
  if (status === 502 || status === 503 || status === 504) return "unreachable";
  return "failed";
}

/** The `message` of a Kubernetes Status body, if the body is one. */
function statusMessage(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.slice(0, 300) || undefined;
  }
  if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") return parsed.message;
  return undefined;
}

function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    if (e.name === "AbortError" || e.name === "TimeoutError" || e.message === "fetch failed") return true;
  }
  return false;
}

/** Wraps anything a request throws into a KubeError; `action` says what was being done ("scale Deployment pr-1/web"). */
export function toKubeError(err: unknown, action: string): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof KubeApiError) {
    const status = err.code;
    const detail = statusMessage(err.body) ?? `HTTP ${status}`;
    return new KubeError(codeForStatus(status), `${action}: ${detail}`, { status, cause: err });
  }
  const status = (err as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === "number") return new KubeError(codeForStatus(status), `${action}: HTTP ${status}`, { status, cause: err });
  if (isNetworkError(err)) return new KubeError("unreachable", `${action}: Kubernetes API server unreachable`, { cause: err });
  return new KubeError("failed", `${action}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
