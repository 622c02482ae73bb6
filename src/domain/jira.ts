/**
 * Jira issues and stagings: which issue keys a staging is linked to (from its branch, its PR's
 * title and body, or `--jira KEY`), and what an issue's move between status categories asks of
 * its stagings. Pure; the webhook (src/entrypoints/jira-webhook.ts) and the use case
 * (src/app/jira/issue-moved.ts) do the rest.
 */

export interface JiraPolicy {
  /** Jira project keys whose issues link to stagings (WEB links WEB-123, nothing else). */
  projects: string[];
  /** An issue moved into a Done status: archive its stagings (default), clean them up, or nothing. */
  onDone: "archive" | "cleanup" | "nothing";
  /** An issue moved out of Done: restore its archived stagings (default on). */
  restoreOnReopen: boolean;
}

export const defaultJiraPolicy: Readonly<Omit<JiraPolicy, "projects">> = Object.freeze({ onDone: "archive", restoreOnReopen: true });

/** At most this many issues per staging (a PR body listing a whole release links none past it). */
export const maxKeysPerStaging = 10;

const keyShape = /^[A-Z][A-Z0-9_]{1,19}-[1-9][0-9]{0,9}$/;

/** "WEB" of "WEB-12". */
export function projectOf(key: string): string {
  return key.slice(0, key.lastIndexOf("-"));
}

/** A well-formed key of one of these projects. */
export function isKeyOf(projects: readonly string[], key: string): boolean {
  return isIssueKey(key) && projects.includes(projectOf(key));
}

export function isIssueKey(key: string): boolean {
  return keyShape.test(key);
}

/**
 * The issue keys of the allowed projects in these texts, in order of first appearance, without
 * duplicates. A key is a word of its own (`WEB-12` in `feature/WEB-12-login` or `[WEB-12]`, not
 * in `XWEB-12` or `WEB-123`'s prefix); branch names are matched without regard to case
 * (`web-12-login`), titles and bodies as Jira writes keys (upper case).
 */
export function extractIssueKeys(projects: readonly string[], sources: { branch?: string; texts?: readonly string[] }): string[] {
  if (projects.length === 0) return [];
  const found: string[] = [];
  const add = (key: string) => {
    if (!found.includes(key) && isKeyOf(projects, key) && found.length < maxKeysPerStaging) found.push(key);
  };
  const word = /(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_]{0,19}-[1-9][0-9]{0,9})(?![A-Za-z0-9_]|-[0-9])/g;
  if (sources.branch) for (const m of sources.branch.matchAll(word)) add(m[1]!.toUpperCase());
  for (const text of sources.texts ?? []) {
    for (const m of text.slice(0, 65_536).matchAll(word)) if (/^[A-Z0-9_]+-\d+$/.test(m[1]!)) add(m[1]!);
  }
  return found;
}

export type StatusCategory = "new" | "indeterminate" | "done";

/** What an issue moving from one status category to another asks of its stagings, if anything. */
export function decideIssueMove(policy: Pick<JiraPolicy, "onDone" | "restoreOnReopen">, from: StatusCategory | null, to: StatusCategory): "archive" | "cleanup" | "restore" | null {
  if (to === "done" && from !== "done") return policy.onDone === "nothing" ? null : policy.onDone;
  if (from === "done" && to !== "done") return policy.restoreOnReopen ? "restore" : null;
  return null;
}
