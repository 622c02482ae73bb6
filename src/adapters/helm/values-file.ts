import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";

/**
 * The values document as YAML that helm reads back exactly. Helm parses values as YAML 1.1
 * (go-yaml v2 through sigs.k8s.io/yaml), where plain `on`, `yes`, `0755`, `1_000` or `0o17`
 * are not strings; quoting every string and key in JSON syntax keeps them strings.
 */
export function valuesToYaml(values: Record<string, unknown>): string {
  return stringify(values, {
    version: "1.1",
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "QUOTE_DOUBLE",
    doubleQuotedAsJSON: true,
    lineWidth: 0,
  });
}

export interface ValuesFile {
  path: string;
  /** Deletes the file and its private directory; safe to call twice. */
  dispose(): Promise<void>;
}

/** Writes the values to a fresh 0600 file inside a fresh 0700 directory under `parentDir`. */
export async function writeValuesFile(parentDir: string, values: Record<string, unknown>): Promise<ValuesFile> {
  const dir = await mkdtemp(path.join(parentDir, "octostage-helm-")); // mkdtemp creates it 0700
  const file = path.join(dir, "values.yaml");
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await writeFile(file, valuesToYaml(values), { mode: 0o600, flag: "wx" });
  } catch (err) {
    await dispose();
    throw err;
  }
  return { path: file, dispose };
}
