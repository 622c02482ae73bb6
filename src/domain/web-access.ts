/**
 * The web dashboard's roles follow GitHub: a person's permission on a repository decides what
 * they may do with its stagings (named ones included). Reading on GitHub (read, triage) lets
 * them see; writing (write, maintain) lets them operate, as a PR comment does; administering the
 * repository lets them delete and forget too.
 */
import type { Role } from "./roles.ts";

export type GitHubPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

const roleOf: Record<GitHubPermission, Role | null> = { admin: "admin", maintain: "operate", write: "operate", triage: "read", read: "read", none: null };

/** The dashboard role of someone with `permission` on a repository; null: they may not see it. */
export function roleFromPermission(permission: GitHubPermission): Role | null {
  return roleOf[permission];
}

/** The refusal shown for a change the person may not make, naming what GitHub grants. */
export function webRefusal(repo: string, what: string, needed: Role, held: Role | null): string {
  const grant = needed === "admin" ? "admin" : needed === "operate" ? "write" : "read";
  const has = held === null ? "no access" : held === "admin" ? "admin" : held === "operate" ? "write" : "read";
  return `${what} needs ${grant} access to ${repo} on GitHub; you have ${has}`;
}
