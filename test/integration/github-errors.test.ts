import { describe, expect, it } from "vitest";
import { GitHubError, toGitHubError } from "../../src/adapters/github/errors.ts";

const httpError = (status: number, headers: Record<string, string | undefined> = {}): unknown =>
  Object.assign(new Error("GitHub said something"), { status, response: { headers } });

describe("toGitHubError", () => {
  it.each([
    { status: 401, headers: {}, code: "unauthorized", permanent: true },
    { status: 403, headers: {}, code: "forbidden", permanent: true },
    { status: 403, headers: { "x-ratelimit-remaining": "0" }, code: "rate_limited", permanent: false },
    { status: 403, headers: { "retry-after": "60" }, code: "rate_limited", permanent: false },
    { status: 404, headers: {}, code: "not_found", permanent: true },
    { status: 410, headers: {}, code: "not_found", permanent: true },
    { status: 422, headers: {}, code: "validation", permanent: true },
    { status: 429, headers: {}, code: "rate_limited", permanent: false },
    { status: 502, headers: {}, code: "transient", permanent: false },
  ])("maps HTTP $status $headers to $code", ({ status, headers, code, permanent }) => {
    const error = toGitHubError(httpError(status, { ...headers, "x-github-request-id": "AB:CD" }), "issues.createComment");
    expect(error).toBeInstanceOf(GitHubError);
    expect(error).toMatchObject({ code, permanent, status, requestId: "AB:CD", operation: "issues.createComment" });
  });

  it("treats failures without an HTTP status (network) as transient and keeps the cause", () => {
    const cause = new TypeError("fetch failed");
    const error = toGitHubError(cause, "checks.create");
    expect(error).toMatchObject({ code: "transient", permanent: false, status: undefined, cause });
  });

  it("reads retry-after and leaves a GitHubError as it is", () => {
    const error = toGitHubError(httpError(429, { "retry-after": "30" }), "checks.update");
    expect(error.retryAfterSeconds).toBe(30);
    expect(toGitHubError(error, "other")).toBe(error);
  });
});
