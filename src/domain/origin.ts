/**
 * Where a staging comes from: a pull request (named `<project>-pr-<n>`, steered by PR events and
 * comments), or a name chosen by a person or a pipeline (API, `octo`), deployed from a git ref
 * or an explicit image tag, optionally following its branch.
 */
import { isDnsLabel, maxStagingNameLength } from "./naming.ts";

export type StagingOrigin = "pull_request" | "named";

/** Why `name` cannot name a staging created by name, or undefined when it can. */
export function namedStagingNameProblem(name: string): string | undefined {
  if (name.length === 0) return "a staging needs a name";
  if (name.length > maxStagingNameLength) return `"${name}" is ${name.length} characters long: at most ${maxStagingNameLength} (helm's limit for release names)`;
  if (!isDnsLabel(name, maxStagingNameLength)) {
    return `"${name}" is not a valid staging name: use lowercase letters, digits and dashes, starting and ending with a letter or digit (e.g. release-2-4)`;
  }
  if (/-pr-\d+$/.test(name)) return `"${name}" ends like a pull request's staging (<project>-pr-<number>): choose another name`;
  return undefined;
}

/** Docker's tag grammar: what an explicit image tag may be. */
const imageTagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function imageTagProblem(tag: string): string | undefined {
  return imageTagPattern.test(tag) ? undefined : `"${tag}" is not an image tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`;
}

/** A git ref as people give it: a branch, a tag, or a commit SHA (no spaces, no "..", no control characters). */
export function gitRefProblem(ref: string): string | undefined {
  if (ref.length === 0 || ref.length > 255) return "a git ref is 1 to 255 characters long";
  const control = [...ref].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (control || /[\s~^:?*[\\]|\.\.|@\{|^[-/.]|[/.]$|\.lock$|\/\//.test(ref)) return `"${ref}" is not a valid git ref (branch, tag or commit SHA)`;
  return undefined;
}
