import { describe, expect, test } from "vitest";
import { parseCommand } from "../../src/domain/command-grammar.ts";
import { namedCommandUsage, namedHelpText, parseNamedCommand } from "../../src/domain/named-command-grammar.ts";
import type { NamedCommand, NamedCommandName } from "../../src/domain/named-command-grammar.ts";

function ok(text: string): NamedCommand {
  const r = parseNamedCommand(text);
  if (!r.ok) throw new Error(`expected "${text}" to parse, got: ${r.error}`);
  return r.command;
}

function err(text: string): { error: string; usage?: string; suggestion?: NamedCommandName } {
  const r = parseNamedCommand(text);
  if (r.ok) throw new Error(`expected "${text}" to fail, got ${JSON.stringify(r.command)}`);
  return r;
}

describe("the named-staging grammar (Slack's /octo)", () => {
  test("nothing, or help, is help; help takes a command as its topic", () => {
    expect(ok("")).toEqual({ name: "help" });
    expect(ok("  help ")).toEqual({ name: "help" });
    expect(ok("help create")).toEqual({ name: "help", topic: "create" });
    expect(ok("HELP")).toEqual({ name: "help" });
    expect(namedHelpText("keep")).toContain(namedCommandUsage.keep);
    const all = namedHelpText();
    for (const usage of Object.values(namedCommandUsage)) expect(all).toContain(usage);
  });

  test("list takes an optional owner/repo and --all", () => {
    expect(ok("list")).toEqual({ name: "list", all: false });
    expect(ok("list acme/web --all")).toEqual({ name: "list", repo: "acme/web", all: true });
    expect(err("list web").error).toContain("owner/repo");
    expect(err("list acme/web acme/api").error).toContain("at most one repository");
    expect(err("list --everything").error).toContain("the only flag is --all");
  });

  test("commands about one staging take exactly its name", () => {
    for (const name of ["status", "config", "archive", "restore", "redeploy", "delete", "history"] as const) {
      expect(ok(`${name} web-release`)).toEqual({ name, staging: "web-release" });
      const missing = err(name);
      expect(missing.error).toContain("needs the staging's name");
      expect(missing.usage).toBe(namedCommandUsage[name]);
      expect(err(`${name} a b`).error).toContain("takes one staging name");
      expect(err(`${name} a --force`).error).toContain("takes no flags");
    }
  });

  test("keys names a project", () => {
    expect(ok("keys web")).toEqual({ name: "keys", project: "web" });
    expect(err("keys").error).toContain("needs a project");
  });

  test("keep takes the PR comments' keep syntax after the name", () => {
    expect(ok("keep web-release")).toEqual({ name: "keep", staging: "web-release", arg: "" });
    expect(ok("keep web-release 7d")).toEqual({ name: "keep", staging: "web-release", arg: "7d" });
    expect(ok("keep web-release until 2027-01-15")).toEqual({ name: "keep", staging: "web-release", arg: "until 2027-01-15" });
    expect(ok("keep web-release off")).toEqual({ name: "keep", staging: "web-release", arg: "off" });
    expect(err("keep web-release forever").error).toContain('not "forever"');
    expect(err("keep").error).toContain("needs the staging's name");
  });

  test("create needs a name, --repo and a ref or a tag; --set values are typed as in PR comments", () => {
    expect(ok('create qa-1 --repo acme/web --ref main --set replicas=2 --set msg="a b" --deployment deployTimeoutSeconds=900')).toEqual({
      name: "create",
      staging: "qa-1",
      repo: "acme/web",
      ref: "main",
      changes: [
        { scope: "app", key: "replicas", op: "set", value: 2 },
        { scope: "app", key: "msg", op: "set", value: "a b" },
        { scope: "deployment", key: "deployTimeoutSeconds", op: "set", value: 900 },
      ],
    });
    expect(ok("create qa-1 --repo=acme/web --tag=v1.2.3")).toEqual({ name: "create", staging: "qa-1", repo: "acme/web", tag: "v1.2.3", changes: [] });
    expect(err("create qa-1 --ref main").error).toContain("needs --repo");
    expect(err("create qa-1 --repo acme/web").error).toContain("needs --ref");
    expect(err("create --repo acme/web --ref main").error).toContain("name first");
    expect(err("create qa-1 --repo acme/web --ref main --tag v1").error).toContain("not both");
    expect(err("create qa-1 --repo acme/web --ref main --ref dev").error).toContain("--ref is given twice");
    expect(err("create qa-1 --repo acme/web --ref").error).toContain("--ref needs a value");
    expect(err("create qa-1 --rep acme/web --ref main").error).toContain("did you mean --repo?");
    expect(err("create qa-1 extra --repo acme/web --ref main").error).toContain('Unexpected "extra"');
  });

  test("the override rules are the PR comments' own: same errors, secrets refused", () => {
    const comment = parseCommand("/octo override db.password=hunter2");
    const slack = err("create qa-1 --repo acme/web --ref main --set db.password=hunter2");
    expect(comment.ok).toBe(false);
    expect(slack.error).toContain(comment.ok ? "never" : comment.error);
    expect(slack.error).not.toContain("hunter2");
    expect(err("update qa-1 --set replicas").error).toContain('Missing "="');
    expect(err("update qa-1 --deployment nope=1").error).toContain("--deployment");
    expect(err("update qa-1 --set a=1 --set a=2").error).toContain("given twice");
    expect(err("update qa-1 --set a=1 --unset a").error).toContain("both set and unset");
    expect(err("update qa-1 --unset a=1").error).toContain("takes keys");
  });

  test("update needs something to change, and changes may be unsets", () => {
    expect(err("update qa-1").error).toContain("needs something to change");
    expect(ok("update qa-1 --unset replicas --unset-deployment deployTimeoutSeconds")).toEqual({
      name: "update",
      staging: "qa-1",
      changes: [
        { scope: "app", key: "replicas", op: "unset" },
        { scope: "deployment", key: "deployTimeoutSeconds", op: "unset" },
      ],
    });
    expect(ok("update qa-1 --ref feature/x")).toEqual({ name: "update", staging: "qa-1", ref: "feature/x", changes: [] });
  });

  test("at most 20 changes per command, as for PR comments", () => {
    const sets = Array.from({ length: 21 }, (_, i) => `--set k${i}=${i}`).join(" ");
    expect(err(`update qa-1 ${sets}`).error).toContain("at most 20");
    expect(ok(`update qa-1 ${sets.split(" --set ").slice(0, 20).join(" --set ")}`).name).toBe("update");
  });

  test("an unknown command gets a suggestion with its usage, or the way to help", () => {
    const typo = err("lsit");
    expect(typo.suggestion).toBe("list");
    expect(typo.error).toContain("Did you mean `/octo list`?");
    expect(typo.usage).toBe(namedCommandUsage.list);
    expect(err("restor web").suggestion).toBe("restore");
    const unknown = err("frobnicate");
    expect(unknown.suggestion).toBeUndefined();
    expect(unknown.error).toContain("/octo help");
  });

  test("hostile input is echoed clipped, and unterminated quotes are named", () => {
    const long = "x".repeat(5000);
    expect(err(long).error.length).toBeLessThan(200);
    expect(err(`update qa-1 --set msg="open`).error).toContain("Unterminated");
  });
});
