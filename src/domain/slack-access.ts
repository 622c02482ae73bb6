/**
 * Who may do what from Slack, per repository: lists of Slack ids that get `read`, `operate` or
 * `admin` (roles.ts). An entry is a user (`U…`, `W…`), a user group (`S…`: its members), a
 * channel (`C…`, `G…`: anyone running the command there) or `*` (everyone in the workspace).
 * A person gets the highest role any entry gives them; nobody gets anything by default.
 */
import type { Role } from "./roles.ts";

export interface SlackAccess {
  read: readonly string[];
  operate: readonly string[];
  admin: readonly string[];
  /** Who to ask for a role, shown in refusals (e.g. "DevOps in #devops"). */
  grantedBy?: string;
}

/** A repository's Slack settings (project config `slack`): its notification channel and roles. */
export interface SlackSettings {
  /** Channel id (C…/G…) receiving the repository's staging notifications; none when absent. */
  channel?: string;
  access: SlackAccess;
}

/** The person asking: their user id, the user groups they are in, the channel they ask from. */
export interface SlackSubject {
  userId: string;
  groups: readonly string[];
  channelId?: string;
}

const slackId = /^(\*|[UWSCG][A-Z0-9]{2,})$/;

/** Why an access entry is not a Slack id, or undefined when it is. */
export function slackAccessEntryProblem(entry: string): string | undefined {
  return slackId.test(entry) ? undefined : `"${entry.slice(0, 40)}" is not a Slack user (U…/W…), user group (S…), channel (C…/G…) or *`;
}

function matches(entry: string, subject: SlackSubject): boolean {
  if (entry === "*") return true;
  if (entry === subject.userId) return true;
  if (entry.startsWith("S")) return subject.groups.includes(entry);
  return (entry.startsWith("C") || entry.startsWith("G")) && entry === subject.channelId;
}

/** The highest role the subject has on a repository; null when none (or no access configured). */
export function slackRole(access: SlackAccess | undefined, subject: SlackSubject): Role | null {
  if (!access) return null;
  for (const role of ["admin", "operate", "read"] as const) {
    if (access[role].some((e) => matches(e, subject))) return role;
  }
  return null;
}

/** The user groups whose members must be known to decide (the others need no Slack call). */
export function groupsToResolve(access: SlackAccess | undefined): string[] {
  if (!access) return [];
  return [...new Set([...access.read, ...access.operate, ...access.admin].filter((e) => e.startsWith("S")))];
}

/** A refusal naming the role needed, the role held and who grants roles. */
export function slackRefusal(repo: string, what: string, needed: Role, held: Role | null, access: SlackAccess | undefined): string {
  const have = held ? `you have ${held}` : "you have no role there";
  const who = access?.grantedBy ? `ask ${access.grantedBy}` : "ask whoever runs Octostage";
  return `${what} needs the ${needed} role on ${repo}; ${have}. Roles come from Octostage's project config (\`slack.roles\` of ${repo}): ${who}.`;
}
