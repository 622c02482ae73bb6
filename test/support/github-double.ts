/**
 * GitHub REST API double: a node:http server on 127.0.0.1 at GitHub Enterprise paths (/api/v3/...),
 * so `GHE_HOST=<host> GHE_PROTOCOL=http` (or Octokit `baseUrl: apiUrl`) works unchanged.
 * The code is in ./github-double/: server.ts (pipeline and test API), handlers.ts (operations),
 * repositories.ts (refs, commits, pull requests), limits.ts (rate limits, ETags), access.ts (installations, permissions).
 *
 * CHECKS, in GitHub's order, every request:
 * - against @octokit/openapi (api.github.com): path template and method exist, path params present
 *   (integers where documented), query param types/enums, the JSON body against the operation's schema
 *   (required fields, types, enums, maxLength in characters worded as GitHub words it, anyOf);
 * - auth: app endpoints need a JWT-shaped Bearer, all others a token and refuse the JWT; tokens of an
 *   uninstalled installation answer 401 "Bad credentials";
 * - the primary rate limit per installation (default 5000/hour; also per app JWT, per user token, 60 per IP
 *   without credentials): x-ratelimit-limit/remaining/used/reset/resource on every answer, 403 "API rate limit
 *   exceeded for installation ID N." at 0; injected secondary rate limits and failNext come next;
 * - app permissions: each implemented operation needs the permission GitHub documents (checks:write to write
 *   check runs, issues or pull_requests for comments and reactions, deployments, contents:read for commits and
 *   branches, metadata:read for collaborator permission, pull_requests:read for pulls.get); default app.yml's;
 *   403 "Resource not accessible by integration" plus x-accepted-github-permissions otherwise;
 * - GitHub's own limits: comment body <= 65536 characters, check run output.summary/text <= 65535 characters
 *   (schema) and <= 65535 UTF-8 bytes ("summary exceeds a maximum bytesize of 65535"), deployment status
 *   description <= 140 characters, "completed check run needs a conclusion".
 * Invalid requests answer 400/401/403/404/422, known-but-unimplemented operations 501; each is recorded in
 * `violations` (so is a permission refusal while the installation still has app.yml's permissions).
 * FAKES, statefully: installation tokens (optionally with a subset of permissions), check runs, issue comments
 * (paginated, Link header), comment reactions, deployments and deployment statuses (newest first, auto_inactive
 * as documented: only prior non-transient, non-production deployments whose latest state is success), collaborator
 * permission (legacy `permission` + `role_name`), pull requests with a full real shape (open/push/update/close/merge/
 * reopen; updated_at always advances), branches, tags and commits (GET commits/{ref} by branch, tag, full or
 * abbreviated SHA; GET branches/{branch}), conditional requests (weak ETag of the body on every 200 GET,
 * Last-Modified for single resources with updated_at or a commit date, 304 for If-None-Match / If-Modified-Since,
 * not counted), an injectable clock (`setNow`).
 * Tokens it issued act as the app's bot "octostage[bot]" (type Bot); any other token acts as the human
 * "octocat" (type User, no app permission checks), so a test posts a human comment with a plain Octokit and any token.
 * DOES NOT FAKE: JWT signatures, token expiry (expires_at is an hour ahead in real time, never enforced),
 * per-repo installation scoping (every installation reaches every repository, all repositories are private),
 * permission changes are seen at once by tokens already issued (GitHub fixes them at issuance), issues themselves
 * (any issue number accepts comments), commits of check runs and deployments (any head_sha is accepted; an unknown
 * non-SHA deployment ref gets a made-up sha), required_contexts/auto_merge, case-insensitive names, the search
 * and GraphQL rate limits, abuse detection by itself (secondary limits only when a test asks for them).
 */
export { generateTestPrivateKey, startGitHubDouble, type GitHubDouble } from "./github-double/server.ts";
