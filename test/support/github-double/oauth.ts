// GitHub's OAuth web application flow for the app's user access tokens, on the web host (not under
// /api/v3, also on GHE): GET /login/oauth/authorize and POST /login/oauth/access_token, as described in
// "Generating a user access token for a GitHub App" and "Refreshing user access tokens".
import { createHash, randomBytes, randomInt } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

const CODE_LIFETIME_MS = 10 * 60_000;
const ACCESS_TOKEN_SECONDS = 28_800;
const REFRESH_TOKEN_SECONDS = 15_897_600;
const TOKEN_ERRORS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/";
const AUTHORIZATION_ERRORS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/";

/** An answer of the web host: a page, a redirect or a token exchange result, not a REST JSON body. */
interface WebReply {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed parameters of a token request, for `requests`. */
  params?: Record<string, string>;
  /** Why the request is one the app should not send; recorded in `violations`. */
  violation?: string;
}

interface PendingCode {
  login: string;
  redirectUri: string;
  challenge?: string;
  issuedAt: number;
}

interface UserToken {
  login: string;
  expiresAt: number;
  revoked: boolean;
}

interface RefreshToken extends UserToken {
  accessToken: string;
}

interface OAuthWebFlow {
  /** Who the browser is signed in as at GitHub; null: the person denies the app. */
  signedIn: string | null;
  /** The login a user access token issued here stands for, "invalid" once revoked or expired, undefined if not issued here. */
  userOf(token: string): { login: string } | "invalid" | undefined;
  revoke(login: string): void;
  /** The answer for a web-host path the flow serves, undefined for any other path. */
  handle(method: string, path: string, query: URLSearchParams, raw: string, headers: IncomingHttpHeaders): WebReply | undefined;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const base62 = (length: number): string => Array.from({ length }, () => BASE62[randomInt(BASE62.length)]).join("");
const escapeMarkup = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(status: number, title: string, message: string, violation?: string): WebReply {
  const text = `<!DOCTYPE html>\n<html><head><title>${escapeMarkup(title)} · GitHub</title></head><body><h1>${escapeMarkup(title)}</h1><p>${escapeMarkup(message)}</p></body></html>\n`;
  return { status, headers: { "content-type": "text/html; charset=utf-8" }, text, ...(violation ? { violation } : {}) };
}

function redirect(location: string): WebReply {
  const text = `<html><body>You are being <a href="${escapeMarkup(location)}">redirected</a>.</body></html>`;
  return { status: 302, headers: { location, "content-type": "text/html; charset=utf-8" }, text };
}

/** `base` with `params` appended to its own query string (kept as it was). */
function withQuery(base: URL, params: Record<string, string>): string {
  const target = new URL(base);
  const extra = new URLSearchParams(params).toString();
  target.search = target.search ? `${target.search}&${extra}` : `?${extra}`;
  return target.toString();
}

/** The token endpoint answers in the format the Accept header asks for: JSON, XML, or form-encoded by default. */
function tokenAnswer(headers: IncomingHttpHeaders, fields: Record<string, string | number>): Pick<WebReply, "status" | "headers" | "text"> {
  const accept = String(headers.accept ?? "").toLowerCase();
  if (accept.includes("application/json")) {
    return { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, text: JSON.stringify(fields) };
  }
  if (accept.includes("application/xml")) {
    const elements = Object.entries(fields).map(([name, value]) => `<${name}>${escapeMarkup(String(value))}</${name}>`).join("");
    return { status: 200, headers: { "content-type": "application/xml; charset=utf-8" }, text: `<OAuth>${elements}</OAuth>` };
  }
  const form = new URLSearchParams(Object.entries(fields).map(([name, value]): [string, string] => [name, String(value)]));
  return { status: 200, headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" }, text: form.toString() };
}

/** client_id and client_secret from HTTP Basic authorization (form-encoded parts, RFC 6749 2.3.1), if sent so. */
function basicCredentials(authorization: string | undefined): { id: string; secret: string } | undefined {
  const [scheme = "", encoded = ""] = (authorization ?? "").split(" ");
  if (!/^basic$/i.test(scheme) || !encoded) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const formDecode = (part: string): string => {
    try {
      return decodeURIComponent(part.replaceAll("+", " "));
    } catch {
      return part;
    }
  };
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/** The request's parameters: the query string (GitHub documents them as such), then the form or JSON body. */
function tokenParams(query: URLSearchParams, raw: string, headers: IncomingHttpHeaders): Record<string, string> | "bad json" {
  const params: Record<string, string> = Object.fromEntries(query);
  if (raw.length === 0) return params;
  if (String(headers["content-type"] ?? "").toLowerCase().includes("application/json")) {
    try {
      const body: unknown = JSON.parse(raw);
      if (typeof body !== "object" || body === null || Array.isArray(body)) return "bad json";
      for (const [name, value] of Object.entries(body)) {
        if (typeof value === "string" || typeof value === "number") params[name] = String(value);
      }
      return params;
    } catch {
      return "bad json";
    }
  }
  return { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
}

export function createOAuthWebFlow(o: { clientId: string; clientSecret: string; now: () => Date }): OAuthWebFlow {
  const codes = new Map<string, PendingCode>();
  const accessTokens = new Map<string, UserToken>();
  const refreshTokens = new Map<string, RefreshToken>();
  const now = (): number => o.now().getTime();

  const authorize = (method: string, query: URLSearchParams): WebReply => {
    if (method !== "GET") return page(404, "Page not found", "Not Found", `${method} /login/oauth/authorize: the browser GETs the authorize page`);
    const clientId = query.get("client_id");
    if (clientId !== o.clientId) {
      return page(404, "Page not found", "The application you are trying to authorize was not found.",
        `GET /login/oauth/authorize: client_id ${JSON.stringify(clientId)} is not the app's (${o.clientId})`);
    }
    const redirectUri = query.get("redirect_uri");
    // GitHub falls back to the app's callback URL; the double's app has none registered.
    if (!redirectUri) return page(400, "Bad request", "redirect_uri is required by this double", "GET /login/oauth/authorize: no redirect_uri");
    let callback: URL;
    try {
      callback = new URL(redirectUri);
    } catch {
      return page(400, "Bad request", "The redirect_uri is not an absolute URL.", `GET /login/oauth/authorize: redirect_uri ${JSON.stringify(redirectUri)} is not an absolute URL`);
    }
    const challenge = query.get("code_challenge") ?? undefined;
    if (challenge !== undefined) {
      const challengeMethod = query.get("code_challenge_method");
      if (challengeMethod !== "S256") {
        return page(400, "Bad request", "code_challenge_method must be S256.", `GET /login/oauth/authorize: code_challenge_method ${JSON.stringify(challengeMethod)}, GitHub supports only S256`);
      }
      if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
        return page(400, "Bad request", "code_challenge must be a base64url SHA-256 digest.", "GET /login/oauth/authorize: code_challenge is not 43 base64url characters");
      }
    }
    const state = query.get("state");
    const stateParam: Record<string, string> = state === null ? {} : { state };
    if (flow.signedIn === null) {
      return redirect(withQuery(callback, {
        error: "access_denied",
        error_description: "The user has denied your application access.",
        error_uri: `${AUTHORIZATION_ERRORS}#access-denied`,
        ...stateParam,
      }));
    }
    const code = randomBytes(10).toString("hex");
    codes.set(code, { login: flow.signedIn, redirectUri, issuedAt: now(), ...(challenge ? { challenge } : {}) });
    return redirect(withQuery(callback, { code, ...stateParam }));
  };

  const issue = (login: string): Record<string, string | number> => {
    const accessToken = `ghu_${base62(36)}`;
    const refreshToken = `ghr_${base62(76)}`;
    accessTokens.set(accessToken, { login, expiresAt: now() + ACCESS_TOKEN_SECONDS * 1000, revoked: false });
    refreshTokens.set(refreshToken, { login, expiresAt: now() + REFRESH_TOKEN_SECONDS * 1000, revoked: false, accessToken });
    return {
      access_token: accessToken, expires_in: ACCESS_TOKEN_SECONDS, refresh_token: refreshToken,
      refresh_token_expires_in: REFRESH_TOKEN_SECONDS, token_type: "bearer", scope: "",
    };
  };

  const accessToken = (method: string, query: URLSearchParams, raw: string, headers: IncomingHttpHeaders): WebReply => {
    if (method !== "POST") return page(404, "Page not found", "Not Found", `${method} /login/oauth/access_token: the token exchange is a POST`);
    const params = tokenParams(query, raw, headers);
    if (params === "bad json") return { ...page(400, "Bad request", "Problems parsing JSON"), violation: "POST /login/oauth/access_token: body is not a JSON object" };
    const fail = (error: string, description: string, uri: string, violation?: string): WebReply => ({
      ...tokenAnswer(headers, { error, error_description: description, error_uri: uri }), params, ...(violation ? { violation } : {}),
    });
    const basic = basicCredentials(headers.authorization);
    const clientId = basic?.id ?? params.client_id;
    const clientSecret = basic?.secret ?? params.client_secret;
    if (clientId !== o.clientId || clientSecret !== o.clientSecret) {
      return fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", `${TOKEN_ERRORS}#incorrect-client-credentials`,
        "POST /login/oauth/access_token: incorrect client_id and/or client_secret");
    }
    const grantType = params.grant_type ?? "authorization_code";
    if (grantType === "refresh_token") {
      const entry = refreshTokens.get(params.refresh_token ?? "");
      if (!entry || entry.revoked || now() >= entry.expiresAt) {
        return fail("bad_refresh_token", "The refresh token passed is incorrect or expired.", `${TOKEN_ERRORS}#bad-refresh-token`);
      }
      // Once used, the refresh token and the access token issued with it stop working.
      entry.revoked = true;
      const previous = accessTokens.get(entry.accessToken);
      if (previous) previous.revoked = true;
      return { ...tokenAnswer(headers, issue(entry.login)), params };
    }
    if (grantType !== "authorization_code") {
      return fail("unsupported_grant_type", `The double supports the authorization_code and refresh_token grants, not ${grantType}.`, TOKEN_ERRORS,
        `POST /login/oauth/access_token: grant_type ${grantType} is not faked`);
    }
    const badCode = (): WebReply => fail("bad_verification_code", "The code passed is incorrect or expired.", `${TOKEN_ERRORS}#bad-verification-code`);
    const code = params.code ?? "";
    const pending = codes.get(code);
    if (!pending) return badCode();
    if (now() - pending.issuedAt >= CODE_LIFETIME_MS) {
      codes.delete(code);
      return badCode();
    }
    if (params.redirect_uri !== undefined && params.redirect_uri !== pending.redirectUri) {
      return fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.", `${AUTHORIZATION_ERRORS}#redirect-uri-mismatch2`,
        "POST /login/oauth/access_token: redirect_uri differs from the authorize request's");
    }
    if (pending.challenge !== undefined) {
      const verifier = params.code_verifier ?? "";
      if (createHash("sha256").update(verifier).digest("base64url") !== pending.challenge) return badCode();
    }
    codes.delete(code);
    return { ...tokenAnswer(headers, issue(pending.login)), params };
  };

  const flow: OAuthWebFlow = {
    signedIn: "octocat",
    userOf: (token) => {
      const entry = accessTokens.get(token);
      if (!entry) return undefined;
      return entry.revoked || now() >= entry.expiresAt ? "invalid" : { login: entry.login };
    },
    revoke: (login) => {
      for (const entry of [...accessTokens.values(), ...refreshTokens.values()]) if (entry.login === login) entry.revoked = true;
    },
    handle: (method, path, query, raw, headers) => {
      if (path === "/login/oauth/authorize") return authorize(method, query);
      if (path === "/login/oauth/access_token") return accessToken(method, query, raw, headers);
      return undefined;
    },
  };
  return flow;
}
