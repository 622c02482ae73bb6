/**
 * What a caller may do, whatever the surface: `read` sees stagings, their audit log and run
 * logs; `operate` also creates, updates, archives, restores and redeploys; `admin` also deletes,
 * forgets and manages API tokens. A token has a role; on GitHub, people with write access to a
 * repository steer (and may delete) its pull requests' stagings.
 */
import type { Actor } from "./actor.ts";

export type Role = "read" | "operate" | "admin";
export const roles: readonly Role[] = ["read", "operate", "admin"];

const rank: Record<Role, number> = { read: 0, operate: 1, admin: 2 };

function roleAllows(role: Role, needed: Role): boolean {
  return rank[role] >= rank[needed];
}

/** Who is asking, and what they may do. */
export interface Caller {
  actor: Actor;
  role: Role;
}

/** The role each use case needs. */
const roleNeeded = {
  list: "read",
  get: "read",
  actions: "read",
  actionLog: "read",
  keys: "read",
  cost: "read",
  create: "operate",
  update: "operate",
  archive: "operate",
  restore: "operate",
  redeploy: "operate",
  keep: "operate",
  delete: "admin",
  forget: "admin",
  tokens: "admin",
} as const satisfies Record<string, Role>;

export type UseCase = keyof typeof roleNeeded;

/** The role a use case needs. */
export function roleNeededFor(useCase: UseCase): Role {
  return roleNeeded[useCase];
}

/** Whether `role` is at least `needed`. */
export function hasRole(role: Role | null, needed: Role): boolean {
  return role !== null && roleAllows(role, needed);
}

/** The refusal for a caller whose role is too low, naming the role needed; undefined when allowed. */
export function roleRefusal(caller: Caller, useCase: UseCase): string | undefined {
  const needed = roleNeeded[useCase];
  if (roleAllows(caller.role, needed)) return undefined;
  return `${useCase} needs the ${needed} role; ${caller.actor.name} has ${caller.role}`;
}
