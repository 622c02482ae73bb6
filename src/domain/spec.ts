import { isDnsLabel, stagingName } from "./naming.ts";
import { defaultSandbox } from "./sandbox.ts";
import type { Sandbox } from "./sandbox.ts";
import type { ChartSource, RepoSettings } from "./settings.ts";
import { renderTemplate } from "./template.ts";
import { parseValuePath, setValueAt } from "./values.ts";
import type { Values } from "./values.ts";

/** Everything the worker needs to deploy a staging: stored as JSON on the staging row. */
export interface DesiredSpec {
  sha: string;
  ref: string;
  imageTag: string;
  chart: ChartSource;
  values: Values;
  host: string;
  url: string;
  deployTimeoutSeconds: number;
  /** Hard limits of the namespace's ResourceQuota (from the `namespaceQuota` deployment override). */
  namespaceQuota?: { profile: string; hard: Record<string, string> };
  /** The project's secretKeys: their values are redacted wherever helm's output goes. */
  secretKeys?: string[];
  /** The namespace's sandbox: Pod Security level, ResourceQuota (the override's profile, else the project's), LimitRange. */
  sandbox?: Sandbox;
}

/** What a staging deploys: a pull request's head, or a named staging's commit (and explicit tag). */
export interface StagingHead {
  owner: string;
  repo: string;
  /** The pull request; null for a named staging (`{pr}` renders empty). */
  number: number | null;
  sha: string;
  ref: string;
  /** An explicit image tag (named stagings): used instead of imageTagTemplate. */
  imageTag?: string | null;
}

export interface StagingIdentity {
  name: string;
  namespace: string;
}

function setAt(values: Values, key: string, value: unknown): Values {
  const path = parseValuePath(key);
  if ("error" in path) throw new Error(`invalid values key ${key}: ${path.error}`);
  return setValueAt(values, path, value);
}

export function stagingIdentity(settings: RepoSettings, prNumber: number): StagingIdentity {
  const name = stagingName(settings.name, prNumber);
  const namespace = renderTemplate(settings.namespaceTemplate, { name, pr: String(prNumber) });
  if (!isDnsLabel(namespace)) {
    throw new Error(`namespace "${namespace}" from namespaceTemplate is not a DNS label (RFC 1123, ≤ 63 chars)`);
  }
  return { name, namespace };
}

/** A named staging's identity: its name as given (validated by origin.ts), its namespace from namespaceTemplate (`{pr}` empty). */
export function namedIdentity(settings: RepoSettings, name: string): StagingIdentity {
  const namespace = renderTemplate(settings.namespaceTemplate, { name, pr: "" });
  if (!isDnsLabel(namespace)) {
    throw new Error(`namespace "${namespace}" from namespaceTemplate is not a DNS label (RFC 1123, ≤ 63 chars)`);
  }
  return { name, namespace };
}

/** The desired spec for a head: base values + image tag + host. Overrides come on top later. */
export function buildDesiredSpec(settings: RepoSettings, head: StagingHead, name: string): DesiredSpec {
  const vars = {
    name,
    pr: head.number === null ? "" : String(head.number),
    owner: head.owner,
    repo: head.repo,
    sha: head.sha,
    shortSha: head.sha.slice(0, 7),
  };
  const imageTag = head.imageTag ?? renderTemplate(settings.imageTagTemplate, vars);
  const host = renderTemplate(settings.hostTemplate, vars);
  const url = renderTemplate(settings.urlTemplate, { ...vars, host });
  let values = setAt(settings.values, settings.imageTagKey, imageTag);
  values = setAt(values, settings.hostKey, host);
  return {
    sha: head.sha,
    ref: head.ref,
    imageTag,
    chart: { ...settings.chart },
    values,
    host,
    url,
    deployTimeoutSeconds: settings.deployTimeoutSeconds,
    ...(settings.secretKeys?.length ? { secretKeys: [...settings.secretKeys] } : {}),
    sandbox: structuredClone(settings.sandbox ?? defaultSandbox),
  };
}
