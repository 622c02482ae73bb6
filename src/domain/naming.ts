import { createHash } from "node:crypto";

/** Helm release names (and so staging names) are limited to 53 characters. */
export const maxStagingNameLength = 53;
/** Kubernetes namespace names are RFC 1123 labels: at most 63 characters. */
export const maxNamespaceLength = 63;

const rfc1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Lowercases and replaces anything outside [a-z0-9-] with "-", trimming dashes. */
export function slugify(input: string): string {
  return input
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "");
}

export function isDnsLabel(name: string, maxLength = maxNamespaceLength): boolean {
  return name.length <= maxLength && rfc1123Label.test(name);
}

function shortHash(input: string): string {
  return createHash("sha256").update(input).digest("hex").slice(0, 6);
}

/**
 * The staging's name: `<project>-pr-<n>`, DNS-safe and within helm's 53 characters.
 * Stable for a PR (a pure function of project and number); a project name too long to fit
 * is cut and suffixed with a hash of the full name, so two long names never collide.
 */
export function stagingName(project: string, prNumber: number): string {
  const suffix = `-pr-${prNumber}`;
  const slug = slugify(project) || "staging";
  const room = maxStagingNameLength - suffix.length;
  if (slug.length <= room) return `${slug}${suffix}`;
  const hash = shortHash(project);
  const cut = slug.slice(0, room - hash.length - 1).replace(/-+$/, "");
  return `${cut}-${hash}${suffix}`;
}
