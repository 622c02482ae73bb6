/**
 * What overrides may set, per repository (the project config's `valuePolicy`): people who can
 * write to a repository steer its stagings, not the cluster. By default an override may not
 * - put `{{` in a value: a chart that passes values through `tpl` would run it as a template
 *   (and `lookup` Secrets with it);
 * - touch keys that move a staging out of its namespace or out of its sandbox:
 *   `namespaceOverride`, anything with `securityContext`, `hostPath`, `hostNetwork`, `hostPID`,
 *   `hostIPC` or `privileged` in it.
 * Patterns match the whole dotted key, case-insensitively; `*` stands for any characters.
 */

export interface ValuePolicy {
  /** Refuse values containing `{{`. */
  denyTemplates: boolean;
  /** Key patterns no override may set or unset. */
  denyKeys: string[];
}

export const defaultValuePolicy: Readonly<ValuePolicy> = Object.freeze({
  denyTemplates: true,
  denyKeys: ["namespaceOverride", "*.namespaceOverride", "*securityContext*", "*hostPath*", "*hostNetwork*", "*hostPID*", "*hostIPC*", "*privileged*"],
});

function matcher(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "i");
}

function containsTemplate(value: unknown): boolean {
  if (typeof value === "string") return value.includes("{{");
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (typeof value === "object" && value !== null) return Object.entries(value).some(([k, v]) => k.includes("{{") || containsTemplate(v));
  return false;
}

/** Why this override is refused by the repository's value policy, or undefined when it may be made. */
export function valuePolicyRefusal(policy: ValuePolicy, key: string, op: "set" | "unset", value?: unknown): string | undefined {
  const pattern = policy.denyKeys.find((p) => matcher(p).test(key));
  if (pattern) {
    return `"${key}" may not be overridden: the value policy refuses keys matching "${pattern}" (they would take the staging out of its namespace or sandbox). Ask DevOps to set it in the project configuration, or to change valuePolicy.denyKeys`;
  }
  if (op === "set" && policy.denyTemplates && (containsTemplate(value) || key.includes("{{"))) {
    return `the value of "${key}" contains "{{": templates are refused in overrides (a chart that passes values through tpl would run them). Set valuePolicy.denyTemplates to false in the project configuration to allow them`;
  }
  return undefined;
}
