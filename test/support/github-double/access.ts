// Installations, their tokens and the GitHub App permissions each operation needs.
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export type PermissionLevel = "read" | "write";
/** Repository permissions of a GitHub App installation; "none" (or absent) grants nothing. */
export type AppPermissions = Partial<Record<"checks" | "issues" | "pull_requests" | "deployments" | "contents" | "metadata" | (string & {}), PermissionLevel | "none">>;

/** The permissions Octostage asks for: `default_permissions` of app.yml. */
export function manifestPermissions(): Record<string, PermissionLevel> {
  const manifest = parse(readFileSync(new URL("../../../app.yml", import.meta.url), "utf8")) as { default_permissions: Record<string, PermissionLevel> };
  return { ...manifest.default_permissions };
}

type PermissionSet = Record<string, PermissionLevel>;
const READ_ISSUES: PermissionSet[] = [{ issues: "read" }, { pull_requests: "read" }];
const WRITE_ISSUES: PermissionSet[] = [{ issues: "write" }, { pull_requests: "write" }];

/**
 * The permission sets each implemented operation accepts (any one set is enough), from GitHub's
 * "Permissions required for GitHub Apps" (as generated in octokit/app-permissions).
 */
export const REQUIRED: Record<string, PermissionSet[]> = {
  "checks/create": [{ checks: "write" }],
  "checks/update": [{ checks: "write" }],
  "checks/get": [{ checks: "read" }, { contents: "read" }],
  "issues/list-comments": READ_ISSUES,
  "issues/get-comment": READ_ISSUES,
  "issues/create-comment": WRITE_ISSUES,
  "issues/update-comment": WRITE_ISSUES,
  "reactions/create-for-issue-comment": WRITE_ISSUES,
  "repos/create-deployment": [{ deployments: "write" }],
  "repos/create-deployment-status": [{ deployments: "write" }],
  "repos/list-deployments": [{ deployments: "read" }],
  "repos/get-deployment": [{ deployments: "read" }],
  "repos/list-deployment-statuses": [{ deployments: "read" }],
  "repos/get-collaborator-permission-level": [{ metadata: "read" }],
  "pulls/get": [{ pull_requests: "read" }],
  "repos/get-commit": [{ contents: "read" }],
  "repos/get-branch": [{ contents: "read" }],
};

const rank = (level: string | undefined): number => (level === "write" ? 2 : level === "read" ? 1 : 0);

export const grants = (granted: AppPermissions, sets: PermissionSet[]): boolean =>
  sets.some((set) => Object.entries(set).every(([name, level]) => rank(granted[name]) >= rank(level)));

/** The x-accepted-github-permissions header: sets separated by ";", permissions in a set by ",". */
export const acceptedPermissions = (sets: PermissionSet[]): string =>
  sets.map((set) => Object.entries(set).map(([name, level]) => `${name}=${level}`).join(",")).join("; ");

/** What a token may do: the requested subset, bounded by what the installation has now. */
export function effectivePermissions(installation: AppPermissions, requested: AppPermissions | undefined): AppPermissions {
  if (!requested) return installation;
  return Object.fromEntries(Object.entries(requested).map(([name, level]) => [name, rank(level) <= rank(installation[name]) ? level : installation[name] ?? "none"]));
}

/** True when every requested permission is within the installation's. */
export const withinInstallation = (installation: AppPermissions, requested: AppPermissions): boolean =>
  Object.entries(requested).every(([name, level]) => rank(level) <= rank(installation[name]));

/** The granted permissions without "none" entries, as GitHub lists them. */
export const granted = (permissions: AppPermissions): Record<string, PermissionLevel> =>
  Object.fromEntries(Object.entries(permissions).filter((e): e is [string, PermissionLevel] => e[1] === "read" || e[1] === "write"));

export interface Installation {
  id: number;
  permissions: AppPermissions;
  /** True once a test changed the permissions away from app.yml's. */
  customized: boolean;
  uninstalled: boolean;
}

export interface IssuedToken {
  installationId: number;
  permissions?: AppPermissions;
}
