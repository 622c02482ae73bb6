import { describe, expect, test } from "vitest";
import { parseCommand } from "../../src/domain/command-grammar.ts";
import { namedCommandUsage, namedHelpText, parseNamedCommand, parseOverrideList } from "../../src/domain/named-command-grammar.ts";
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

describe("the named-staging grammar: edges Stryker found untested", () => {
  test("help explains each command by its usage and what it does; a topic with more words is general help", () => {
    for (const [name, usage] of Object.entries(namedCommandUsage)) {
      expect(usage).toMatch(new RegExp(`^/octo ${name}\\b`));
      const one = namedHelpText(name as NamedCommandName);
      expect(one.startsWith(`\`${usage}\`: `)).toBe(true);
      expect(one.length).toBeGreaterThan(usage.length + 10);
    }
    expect(ok("help create now")).toEqual({ name: "help" });
    expect(ok("help nonsense")).toEqual({ name: "help" });
    const all = namedHelpText();
    expect(all.split("\n")[0]).toBe("*Octostage commands*");
    expect(all).toContain("`/octo create` with nothing after it opens a form.");
    expect(all).toContain("Values of keys that look like secrets");
  });

  test("flags take their value after a space or =, exactly one", () => {
    expect(ok("update web-x --ref=main")).toEqual({ name: "update", staging: "web-x", ref: "main", changes: [] });
    expect(err("update web-x --ref=").error).toBe("--ref= needs one value");
    expect(err("update web-x --ref='a' 'b'").error).toContain("Unexpected");
    expect(err("update web-x --ref").error).toBe("--ref needs a value");
    expect(err("update web-x --ref --tag v1").error).toBe("--ref needs a value");
    expect(err("update web-x --bogus 1").error).toBe('Unknown flag "--bogus" for /octo update: it takes --ref, --tag, --set, --unset, --deployment, --unset-deployment');
    expect(err("create web-x --repo a/b --ref main --unset x").error).toContain('Unknown flag "--unset" for /octo create: did you mean --set?');
    expect(err("update web-x extra --ref main").error).toContain('Unexpected "extra": options start with --');
  });

  test("every kind of change counts towards the 20 per command", () => {
    const n = (k: number, f: (i: number) => string) => Array.from({ length: k }, (_, i) => f(i)).join(" ");
    const twenty = `update web-x ${n(5, (i) => `--set a${i}=1`)} ${n(5, (i) => `--deployment b${i}=1`)} ${n(5, (i) => `--unset c${i}`)} ${n(5, (i) => `--unset-deployment d${i}`)}`;
    for (const extra of ["--set z=1", "--unset z", "--deployment z=1", "--unset-deployment z"]) {
      const e = err(`${twenty} ${extra}`);
      expect(e.error).toContain("Too many changes: at most 20 per command (got 21)");
    }
  });

  test("the same key may be set in one scope and unset in the other, not both in one", () => {
    expect(err("update web-x --set replicaCount=2 --unset replicaCount").error).toContain('Key "replicaCount" is both set and unset');
    expect(ok("update web-x --set chart.version=3 --unset-deployment chart.version")).toMatchObject({ changes: [{ scope: "app", key: "chart.version" }, { scope: "deployment", key: "chart.version", op: "unset" }] });
  });

  test("list: only --all is a flag; the repository is owner/repo exactly", () => {
    expect(ok("list --all")).toEqual({ name: "list", all: true });
    expect(ok("list acme/web")).toEqual({ name: "list", repo: "acme/web", all: false });
    expect(err("list x acme/web").error).toContain("at most one repository");
    expect(err("list acme/web/extra").error).toContain("is not a repository");
    expect(err("list /acme/web").error).toContain("is not a repository");
    expect(err("list 'all'").error).toContain("is not a repository");
  });

  test("keys and keep take what they say", () => {
    expect(ok("keys web")).toEqual({ name: "keys", project: "web" });
    expect(err("keys web api").error).toBe('/octo keys takes one project, not "web api"');
    expect(err("keep").error).toBe("/octo keep needs the staging's name first");
    expect(err("keep web-x forever").usage).toBe(namedCommandUsage.keep);
    expect(err("status a b").error).toBe('/octo status takes one staging name, not "a b"');
  });
});

describe("the create form's overrides field", () => {
  test("key=value pairs over lines and spaces, typed and quoted as --set", () => {
    expect(parseOverrideList("replicaCount=2\nfeature.flag=true\r\nmsg='two words' tag=\"2\"")).toEqual({
      changes: [
        { scope: "app", key: "replicaCount", op: "set", value: 2 },
        { scope: "app", key: "feature.flag", op: "set", value: true },
        { scope: "app", key: "msg", op: "set", value: "two words" },
        { scope: "app", key: "tag", op: "set", value: "2" },
      ],
    });
    expect(parseOverrideList("")).toEqual({ changes: [] });
    expect(parseOverrideList("  \n ")).toEqual({ changes: [] });
  });

  test("what it refuses: flags, missing =, secrets, bad keys, repeats, more than 20, unterminated quotes", () => {
    expect(parseOverrideList("--set a=1")).toEqual({ error: 'Write key=value pairs, one per line (got "--set")' });
    expect(parseOverrideList("replicaCount 2")).toMatchObject({ error: expect.stringContaining('Missing "="') });
    expect(parseOverrideList("db.password=x")).toMatchObject({ error: expect.stringContaining("looks like a secret") });
    expect(parseOverrideList("db.password=x", { allowSecretValues: true })).toMatchObject({ changes: [expect.objectContaining({ key: "db.password" })] });
    expect(parseOverrideList("a=1\na=2")).toEqual({ error: 'Key "a" is given twice' });
    expect(parseOverrideList("msg='open")).toMatchObject({ error: expect.stringMatching(/quote/i) });
    const twenty = Array.from({ length: 20 }, (_, i) => `k${i}=1`).join("\n");
    expect(parseOverrideList(twenty)).toMatchObject({ changes: expect.any(Array) });
    expect(parseOverrideList(`${twenty}\nk20=1`)).toEqual({ error: "Too many overrides: at most 20 (got 21)" });
    expect(parseOverrideList("a..b=1")).toMatchObject({ error: expect.any(String) });
  });
});
