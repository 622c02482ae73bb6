import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
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

export interface RunDir {
  dir: string;
  /** Writes a file readable by this user only (0600), refusing to overwrite one. Returns its path. */
  write(name: string, content: string): Promise<string>;
  /** Deletes the directory and its files; safe to call twice. */
  dispose(): Promise<void>;
}

const prefix = "octostage-helm-";

/**
 * A fresh private directory (0700) for one helm run's files: its values (secrets in them) and,
 * when helm runs as a staging's deployer, that identity's kubeconfig (a token). The process id
 * is in its name, so a worker that starts removes what a dead one left (removeLeftovers).
 */
export async function createRunDir(parentDir: string): Promise<RunDir> {
  const dir = await mkdtemp(path.join(parentDir, `${prefix}${process.pid}-`)); // mkdtemp creates it 0700
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  return {
    dir,
    async write(name, content) {
      const file = path.join(dir, name);
      await writeFile(file, content, { mode: 0o600, flag: "wx" });
      return file;
    },
    dispose,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes run directories whose worker is gone (killed before it could clean up): values with
 * secrets and deployer tokens must not stay in /tmp. Directories of live processes are kept.
 */
export async function removeLeftovers(parentDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parentDir).catch(() => [] as string[])) {
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await rm(path.join(parentDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
