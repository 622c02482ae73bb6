// Shapes and helpers shared by the GitHub double's modules.
import { createHash, randomBytes } from "node:crypto";

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Why the request is one the app should not send; recorded in `violations`. */
  violation?: string;
}

const DOCS = "https://docs.github.com/rest";
export const RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
export const SECONDARY_RATE_LIMIT_DOCS = `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`;

const MESSAGES: Record<number, string> = {
  401: "Bad credentials",
  403: "Resource not accessible by integration",
  404: "Not Found",
  422: "Validation Failed",
  429: "API rate limit exceeded for installation.",
};

const USER_LINKS = ["events", "followers", "following", "gists", "organizations", "received_events", "repos", "starred", "subscriptions"];

/** GitHub's timestamps: ISO 8601 to the second, UTC. */
export const timestamp = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");
export const nodeId = (kind: string, id: number): string => Buffer.from(`0:${kind}${id}`).toString("base64url");
export const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");
export const latestFirst = (a: { id: number }, b: { id: number }): number => b.id - a.id;
/** Length as GitHub counts it: characters (code points), not UTF-16 units. */
export const characters = (text: string): number => [...text].length;

/** A request id shaped like GitHub's x-github-request-id (e.g. "C0B8:2E4A:1B2C3D:1C2D3E:6543ABCD"). */
export function requestId(): string {
  const hex = (bytes: number): string => randomBytes(bytes).toString("hex").toUpperCase();
  return [hex(2), hex(2), hex(3), hex(3), hex(4)].join(":");
}

export function error(status: number, message = MESSAGES[status] ?? "Server Error", docs = DOCS): Reply {
  return { status, body: { message, documentation_url: docs, status: String(status) } };
}

/** GitHub's model-validation 422: {"message":"Validation Failed","errors":[{resource, code: "custom", field, message}]}. */
export function validationFailed(resource: string, field: string, message: string, docs: string): Reply {
  return {
    status: 422,
    body: { message: "Validation Failed", errors: [{ resource, code: "custom", field, message }], documentation_url: docs, status: "422" },
    violation: `${resource}.${field}: ${message}`,
  };
}

export function userShape(web: string, api: string, login: string, id: number, type: "Bot" | "User"): Record<string, unknown> {
  const url = `${api}/users/${encodeURIComponent(login)}`;
  const links = Object.fromEntries(USER_LINKS.map((name) => [`${name}_url`, `${url}/${name}`]));
  return { login, id, node_id: nodeId("U", id), avatar_url: `${web}/avatars/u/${id}`, gravatar_id: "", url, html_url: `${web}/${login}`, ...links, type, site_admin: false };
}

/** The id the double gives a user login (octocat is GitHub's real 583231). */
export const userId = (login: string): number => (login === "octocat" ? 583231 : 7_000_000 + parseInt(sha1(login).slice(0, 6), 16));

/** A stable made-up numeric id for a name (repositories, pull requests, labels). */
export const idFor = (salt: string, name: string, base: number): number => base + parseInt(sha1(`${salt}:${name}`).slice(0, 6), 16);
