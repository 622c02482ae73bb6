/** `{name}.staging.example.com` style templates: known placeholders only, no expressions. */

export type TemplateVariable = "name" | "pr" | "owner" | "repo" | "sha" | "shortSha" | "host";

const placeholder = /\{([a-zA-Z]+)\}/g;

export function templateVariables(template: string): string[] {
  return [...template.matchAll(placeholder)].map((m) => m[1] ?? "");
}

/** Placeholders in the template that are not among `allowed`. */
export function unknownVariables(template: string, allowed: readonly TemplateVariable[]): string[] {
  const known = new Set<string>(allowed);
  return templateVariables(template).filter((v) => !known.has(v));
}

export function renderTemplate(template: string, vars: Partial<Record<TemplateVariable, string>>): string {
  return template.replace(placeholder, (whole, key: string) => {
    const value = vars[key as TemplateVariable];
    return value === undefined ? whole : value;
  });
}
