// Rate limits and conditional requests, as GitHub's REST API applies them.
import { createHash } from "node:crypto";
import { RATE_LIMIT_DOCS, SECONDARY_RATE_LIMIT_DOCS, type Reply } from "./common.ts";

const HOUR_MS = 3_600_000;

/** One primary rate limit: an installation, the app's JWT, a user's token, or an IP without credentials. */
export interface Bucket {
  limit: number;
  used: number;
  /** Epoch ms when the window ends and `used` goes back to 0. */
  resetAt: number;
  /** GitHub's message once the limit is exhausted. */
  exceeded: string;
}

export interface RateLimitSetting {
  limit: number;
  /** Requests left in the current window (default: `limit`). */
  remaining?: number;
  /** When the window ends (default: an hour from now). */
  resetAt?: Date;
}

export class PrimaryRateLimits {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** The bucket for `key`, starting a new hour-long window when the last one has ended. */
  bucket(key: string, limit: number, exceeded: string): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { limit, used: 0, resetAt: this.now() + HOUR_MS, exceeded };
      this.buckets.set(key, bucket);
    }
    if (this.now() >= bucket.resetAt) Object.assign(bucket, { used: 0, resetAt: this.now() + HOUR_MS });
    return bucket;
  }

  set(key: string, defaultLimit: number, exceeded: string, setting: RateLimitSetting): void {
    const bucket = this.bucket(key, defaultLimit, exceeded);
    const remaining = Math.min(setting.limit, Math.max(0, setting.remaining ?? setting.limit));
    Object.assign(bucket, { limit: setting.limit, used: setting.limit - remaining });
    if (setting.resetAt) bucket.resetAt = setting.resetAt.getTime();
  }

  used(key: string): number {
    const bucket = this.buckets.get(key);
    return bucket && this.now() < bucket.resetAt ? bucket.used : 0;
  }
}

export const exhausted = (bucket: Bucket): boolean => bucket.used >= bucket.limit;
export const consume = (bucket: Bucket): void => void (bucket.used = Math.min(bucket.limit, bucket.used + 1));

export function rateLimitHeaders(bucket: Bucket): Record<string, string> {
  return {
    "x-ratelimit-limit": String(bucket.limit),
    "x-ratelimit-remaining": String(Math.max(0, bucket.limit - bucket.used)),
    "x-ratelimit-used": String(bucket.used),
    "x-ratelimit-reset": String(Math.floor(bucket.resetAt / 1000)),
    "x-ratelimit-resource": "core",
  };
}

/** GitHub's answer once a primary rate limit is used up (its headers say remaining 0). */
export function primaryLimitExceeded(bucket: Bucket): Reply {
  return { status: 403, body: { message: bucket.exceeded, documentation_url: RATE_LIMIT_DOCS } };
}

export interface SecondaryRateLimitOptions {
  /** Seconds for the retry-after header; GitHub sometimes sends none. */
  retryAfterSeconds?: number;
  /** Only requests with this method count (default: any). */
  method?: string;
  /** Only requests whose path (without /api/v3) matches count (default: any). */
  path?: RegExp;
}

export interface SecondaryRule extends SecondaryRateLimitOptions {
  left: number;
}

export function takeSecondary(rules: SecondaryRule[], method: string, path: string): SecondaryRule | undefined {
  const rule = rules.find((r) => r.left > 0 && (!r.method || r.method.toUpperCase() === method) && (!r.path || r.path.test(path)));
  if (rule) rule.left -= 1;
  return rule;
}

export function secondaryLimitExceeded(rule: SecondaryRule, id: string): Reply {
  const message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    + `If you reach out to GitHub Support for help, please include the request ID ${id}.`;
  const headers: Record<string, string> = rule.retryAfterSeconds === undefined ? {} : { "retry-after": String(rule.retryAfterSeconds) };
  return { status: 403, body: { message, documentation_url: SECONDARY_RATE_LIMIT_DOCS }, headers };
}

/** A weak validator like GitHub's: W/"<sha256 of the body>". */
export const etagOf = (json: string): string => `W/"${createHash("sha256").update(json).digest("hex")}"`;

/** Last-Modified for a single resource that says when it last changed (undefined for lists and others). */
export function lastModifiedOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, any>;
  const when: unknown = record.updated_at ?? record.commit?.committer?.date ?? record.commit?.commit?.committer?.date;
  return typeof when === "string" ? new Date(when).toUTCString() : undefined;
}

/** True when the request's If-None-Match (or, without it, If-Modified-Since) says the client's copy is current. */
export function notModified(headers: Record<string, string | string[] | undefined>, etag: string, lastModified: string | undefined): boolean {
  const strip = (tag: string): string => tag.trim().replace(/^W\//, "");
  const ifNoneMatch = headers["if-none-match"];
  if (typeof ifNoneMatch === "string") {
    return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || strip(tag) === strip(etag));
  }
  const ifModifiedSince = headers["if-modified-since"];
  if (typeof ifModifiedSince !== "string" || lastModified === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && Date.parse(lastModified) <= since;
}
