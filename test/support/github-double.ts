/**
 * GitHub REST API double: a node:http server on 127.0.0.1 at GitHub Enterprise paths (/api/v3/...),
 * so `GHE_HOST=<host> GHE_PROTOCOL=http` (or Octokit `baseUrl: apiUrl`) works unchanged.
 * The code is in ./github-double/: server.ts (pipeline and test API), handlers.ts (operations),
 * repositories.ts (refs, commits, pull requests), limits.ts (rate limits, ETags), access.ts (installations, permissions),
 * oauth.ts (the OAuth web application flow for user access tokens, on the web host: /login/oauth/..., not under /api/v3).
 *
 * CHECKS, in GitHub's order, every request:
 * - against @octokit/openapi (api.github.com): path template and method exist, path params present
 *   (integers where documented), query param types/enums, the JSON body against the operation's schema
 *   (required fields, types, enums, maxLength in characters worded as GitHub words it, anyOf);
 * - auth: app endpoints (but apps/...-for-authenticated-user) need a JWT-shaped Bearer, all others a token and
 *   refuse the JWT; tokens of an uninstalled installation and revoked, refreshed or expired user access tokens
 *   answer 401 "Bad credentials";
 * - the primary rate limit per installation (default 5000/hour; also per app JWT, per user login, 60 per IP
 *   without credentials): x-ratelimit-limit/remaining/used/reset/resource on every answer, 403 "API rate limit
 *   exceeded for installation ID N." at 0; injected secondary rate limits and failNext come next;
 * - app permissions: each implemented operation needs the permission GitHub documents (checks:write to write
 *   check runs, issues or pull_requests for comments and reactions, deployments, contents:read for commits and
 *   branches, metadata:read for collaborator permission, pull_requests:read for pulls.get); default app.yml's;
 *   403 "Resource not accessible by integration" plus x-accepted-github-permissions otherwise;
 * - GitHub's own limits: comment body <= 65536 characters, check run output.summary/text <= 65535 characters
 *   (schema) and <= 65535 UTF-8 bytes ("summary exceeds a maximum bytesize of 65535"), deployment status
 *   description <= 140 characters, "completed check run needs a conclusion";
 * - the OAuth web flow as "Generating a user access token for a GitHub App" documents it: GET /login/oauth/authorize
 *   needs the app's client_id ("Iv1.octostage", else a 404 HTML page, no redirect) and a redirect_uri (GitHub would
 *   fall back to the registered callback URL; the double has none, so 400), code_challenge_method S256 with a
 *   code_challenge (400 otherwise). POST /login/oauth/access_token takes form-encoded or JSON bodies (or query
 *   parameters), client_id/client_secret in the body or as HTTP Basic, and answers 200 with GitHub's error bodies:
 *   incorrect_client_credentials, bad_verification_code (unknown, used, older than 10 minutes of the double's clock,
 *   or a code_verifier that does not hash (S256) to the code_challenge), redirect_uri_mismatch (differs from the
 *   authorize request's), bad_refresh_token (refusals leave a code usable); as JSON for Accept: application/json, XML for application/xml,
 *   else form-encoded. These web answers carry no x-ratelimit headers and count against no limit.
 * Invalid requests answer 400/401/403/404/422, known-but-unimplemented operations 501; each is recorded in
 * `violations` (so is a permission refusal while the installation still has app.yml's permissions; for the OAuth
 * flow: a wrong client_id/secret, a missing redirect_uri, a non-S256 challenge, redirect_uri_mismatch; not code
 * errors, which a replayed or stale callback causes, nor a denial).
 * FAKES, statefully: installation tokens (optionally with a subset of permissions), check runs, issue comments
 * (paginated, Link header), comment reactions, deployments and deployment statuses (newest first, auto_inactive
 * as documented: only prior non-transient, non-production deployments whose latest state is success), collaborator
 * permission (legacy `permission` + `role_name`), pull requests with a full real shape (open/push/update/close/merge/
 * reopen; updated_at always advances), branches, tags and commits (GET commits/{ref} by branch, tag, full or
 * abbreviated SHA; GET branches/{branch}), conditional requests (weak ETag of the body on every 200 GET,
 * Last-Modified for single resources with updated_at or a commit date, 304 for If-None-Match / If-Modified-Since,
 * not counted), an injectable clock (`setNow`).
 * The OAuth web flow: instead of a consent page, GET /login/oauth/authorize signs in whoever `signInAs(login)` chose
 * (default "octocat") and redirects 302 to redirect_uri (its own query kept) with code (20 hex) and state verbatim;
 * `signInAs(null)` denies (error=access_denied, error_description, error_uri, state). A code converts once into
 * ghu_ (expires_in 28800, enforced on the double's clock) and ghr_ (15897600) tokens, token_type bearer, scope "";
 * grant_type=refresh_token gives a new pair and retires the old one; `revokeUserTokens(login)` makes them answer
 * 401 "Bad credentials". GET /user (users/get-authenticated) answers the public profile of the token's person
 * (user_view_type "public"), 403 "Resource not accessible by integration" to an installation token.
 * Installation tokens it issued act as the app's bot "octostage[bot]" (type Bot); user access tokens it issued act
 * as their person (type User, a stable id per login); any other token acts as the human "octocat" (type User), so a
 * test posts a human comment with a plain Octokit and any token. User tokens get no app permission checks.
 * DOES NOT FAKE: JWT signatures, installation token expiry (expires_at is an hour ahead in real time, never enforced),
 * per-repo installation scoping (every installation reaches every repository, all repositories are private),
 * permission changes are seen at once by tokens already issued (GitHub fixes them at issuance), issues themselves
 * (any issue number accepts comments), commits of check runs and deployments (any head_sha is accepted; an unknown
 * non-SHA deployment ref gets a made-up sha), required_contexts/auto_merge, case-insensitive names (except collaborator permissions), the search
 * and GraphQL rate limits, abuse detection by itself (secondary limits only when a test asks for them);
 * for user access tokens: the consent page and browser session, registered callback URLs (any absolute redirect_uri
 * is accepted), the authorize parameters login/prompt/allow_signup/scope and the token request's repository_id
 * (ignored), the device flow (other grant types get the double's own unsupported_grant_type), non-expiring user tokens, /applications/{client_id}/token and /grant, the
 * intersection of the app's permissions with the person's access (a user token reaches everything, unchecked),
 * private profile fields on GET /user, user-token endpoints under apps/ (…-for-authenticated-user: 501).
 */
export { generateTestPrivateKey, startGitHubDouble, type GitHubDouble } from "./github-double/server.ts";
