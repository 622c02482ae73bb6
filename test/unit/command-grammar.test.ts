import { describe, expect, test } from "vitest";
import {
  commandLimits,
  commandUsage,
  formatCommand,
  helpText,
  parseCommand,
  parseComment,
  suggestCommand,
} from "../../src/domain/command-grammar.ts";
import type { CommandName, OctoCommand, ParsedLine } from "../../src/domain/command-grammar.ts";
import { editDistance } from "../../src/domain/command-suggest.ts";

/** The one parsed line of a one-line comment. */
function one(text: string): ParsedLine {
  const parsed = parseComment(text);
  expect(parsed).toHaveLength(1);
  return parsed[0]!;
}

function command(text: string): OctoCommand {
  const line = one(text);
  if (!line.ok) throw new Error(`expected ${text} to parse, got: ${line.error}`);
  return line.command;
}

function error(text: string): { error: string; usage?: string; suggestion?: CommandName } {
  const line = one(text);
  if (line.ok) throw new Error(`expected ${text} to fail, got ${JSON.stringify(line.command)}`);
  const { error: message, usage, suggestion } = line;
  return { error: message, ...(usage ? { usage } : {}), ...(suggestion ? { suggestion } : {}) };
}

function values(text: string): Record<string, unknown> {
  const cmd = command(text);
  if (cmd.name !== "override") throw new Error("not an override");
  return Object.fromEntries(cmd.set.map((s) => [s.key, s.value]));
}

const overrideUsage = "/octo override [--deployment] key=value [key=value ...]";
const unsetUsage = "/octo unset [--deployment] key [key ...]";

describe("which lines are commands", () => {
  test("only lines starting with /octo, after trimming, with their 1-based line number", () => {
    const body = "Looks good!\n  /octo status  \nplease run /octo help\n- /octo help\n`/octo help`\n\n/octo config";
    expect(parseComment(body)).toEqual([
      { line: 2, text: "/octo status", ok: true, command: { name: "status" } },
      { line: 7, text: "/octo config", ok: true, command: { name: "config" } },
    ]);
  });

  test("CRLF and CR line endings count lines the same way", () => {
    expect(parseComment("a\r\n/octo help\r\nb\r/octo status").map((l) => l.line)).toEqual([2, 4]);
  });

  test("/octostage and /octo-x are not /octo; the prefix and the command name are case-insensitive", () => {
    expect(parseComment("/octostage help\n/octo-x help\n/octohelp")).toEqual([]);
    expect(command("/OCTO Status")).toEqual({ name: "status" });
    expect(command("/octo\thelp")).toEqual({ name: "help" });
  });

  test("lines inside fenced code blocks are ignored, for ``` and ~~~ fences of any length", () => {
    const body = [
      "```",
      "/octo delete",
      "```",
      "/octo status",
      "~~~yaml",
      "/octo delete",
      "```",
      "/octo delete",
      "~~~",
      "````",
      "```",
      "/octo delete",
      "````",
      "/octo config",
    ].join("\n");
    expect(parseComment(body).map((l) => l.text)).toEqual(["/octo status", "/octo config"]);
  });

  test("an unclosed fence hides every line after it", () => {
    expect(parseComment("/octo help\n```\n/octo delete\n/octo archive")).toHaveLength(1);
  });

  test("block-quoted lines are ignored, so quoting a command does not run it again", () => {
    expect(parseComment("> /octo delete\n>/octo delete\n  > > /octo archive\n/octo status").map((l) => l.text)).toEqual([
      "/octo status",
    ]);
  });

  test("lines inside multi-line HTML comments are ignored", () => {
    const body = "<!-- PR template:\n/octo delete\n-->\n/octo status\nsee <!-- hidden\n/octo archive\nstill hidden --> /octo x\n<!-- /octo delete -->";
    expect(parseComment(body).map((l) => l.text)).toEqual(["/octo status"]);
  });

  test("an empty body or one without commands gives nothing", () => {
    expect(parseComment("")).toEqual([]);
    expect(parseComment("LGTM 🚀\n\n/ octo help")).toEqual([]);
  });
});

describe("commands without arguments", () => {
  test.each(["help", "status", "config", "redeploy", "deploy", "archive", "restore", "delete"] as const)("/octo %s", (name) => {
    expect(command(`/octo ${name}`)).toEqual({ name });
  });

  test.each([
    ["/octo help me", "/octo help takes no arguments (got \"me\")", "/octo help"],
    ["/octo delete --force", "/octo delete takes no arguments (got \"--force\")", "/octo delete"],
    ["/octo status a=1", "/octo status takes no arguments (got \"a=1\")", "/octo status"],
  ])("%s is refused with the usage line", (text, message, usage) => {
    expect(error(text)).toEqual({ error: message, usage });
  });

  test("a long argument is cut in the message", () => {
    const { error: message } = error(`/octo archive ${"x".repeat(500)}`);
    expect(message.length).toBeLessThan(100);
    expect(message).toContain("…");
  });
});

describe("unknown and missing commands", () => {
  test("a misspelled command suggests the closest one", () => {
    expect(error("/octo overide a=1")).toEqual({
      error: 'Unknown command "overide". Did you mean `/octo override`?',
      suggestion: "override",
    });
    expect(error("/octo stauts")).toEqual({ error: 'Unknown command "stauts". Did you mean `/octo status`?', suggestion: "status" });
  });

  test("a command far from every known one points to help", () => {
    expect(error("/octo frobnicate")).toEqual({ error: 'Unknown command "frobnicate". Try `/octo help` for the list of commands.' });
  });

  test("/octo alone asks for a command", () => {
    expect(error("/octo")).toEqual({ error: "Missing command after /octo. Try `/octo help`." });
    expect(error("/octo    ")).toEqual({ error: "Missing command after /octo. Try `/octo help`." });
  });
});

describe("parseCommand", () => {
  test("parses one line on its own, and refuses a line that is not an /octo command", () => {
    expect(parseCommand("/octo override a=1")).toEqual({ ok: true, command: { name: "override", scope: "app", set: [{ key: "a", value: 1 }] } });
    expect(parseCommand("/octostage help")).toEqual({ ok: false, error: 'A command starts with "/octo"' });
    expect(parseCommand("help")).toEqual({ ok: false, error: 'A command starts with "/octo"' });
  });
});

describe("suggestCommand", () => {
  test.each([
    ["overide", "override"],
    ["overrdie", "override"],
    ["stauts", "status"],
    ["STATUS", "status"],
    ["hlep", "help"],
    ["confg", "config"],
    ["redeplyo", "redeploy"],
    ["deplo", "deploy"],
    ["archve", "archive"],
    ["restroe", "restore"],
    ["delte", "delete"],
    ["unste", "unset"],
    ["status", "status"],
  ])("%s → %s", (word, name) => {
    expect(suggestCommand(word)).toBe(name);
  });

  test.each(["", "x", "frobnicate", "overriddenly", "remove"])("nothing within 2 edits of %j", (word) => {
    expect(suggestCommand(word)).toBeUndefined();
  });

  test("edit distance counts an adjacent swap as one edit", () => {
    expect(editDistance("stauts", "status")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });
});

describe("/octo override", () => {
  test("app overrides, several pairs on a line", () => {
    expect(command("/octo override image.tag=v2 replicaCount=3")).toEqual({
      name: "override",
      scope: "app",
      set: [
        { key: "image.tag", value: "v2" },
        { key: "replicaCount", value: 3 },
      ],
    });
  });

  test("unquoted values are typed like YAML scalars", () => {
    expect(values("/octo override a=true b=false c=null d=42 e=-7 f=0.5 g=-1.25 h=1e+21 i=hello j=True k=yes l=~ m=v1.2")).toEqual({
      a: true,
      b: false,
      c: null,
      d: 42,
      e: -7,
      f: 0.5,
      g: -1.25,
      h: 1e21,
      i: "hello",
      j: "True",
      k: "yes",
      l: "~",
      m: "v1.2",
    });
  });

  test("a number only when it prints back as typed: versions, zero-padded ids and huge integers stay text", () => {
    expect(values("/octo override a=1.10 b=1.0 c=007 d=12345678901234567890 e=-0 f=1.2.3 g=0")).toEqual({
      a: "1.10",
      b: "1.0",
      c: "007",
      d: "12345678901234567890",
      e: "-0",
      f: "1.2.3",
      g: 0,
    });
  });

  test('quoted values are always text: "2" stays a string', () => {
    expect(values(`/octo override a="2" b='true' c="null" d="" e=''`)).toEqual({ a: "2", b: "true", c: "null", d: "", e: "" });
  });

  test("quotes keep spaces and = signs; single quotes are literal", () => {
    expect(values(`/octo override msg="a b  c" q='x = y' path='C:\\dir\\n' url=https://x.test/?a=b&c=d`)).toEqual({
      msg: "a b  c",
      q: "x = y",
      path: "C:\\dir\\n",
      url: "https://x.test/?a=b&c=d",
    });
  });

  test("double quotes take backslash escapes; an unknown escape keeps its backslash", () => {
    expect(values(String.raw`/octo override a="say \"hi\"" b="back\\slash" c="l1\nl2\tx\ry" d="C:\dir"`)).toEqual({
      a: 'say "hi"',
      b: "back\\slash",
      c: "l1\nl2\tx\ry",
      d: "C:\\dir",
    });
  });

  test("a quote inside an unquoted value is just a character", () => {
    expect(values(`/octo override a=it's b=x"y`)).toEqual({ a: "it's", b: 'x"y' });
  });

  test("list index paths", () => {
    expect(values("/octo override env[0].value=x hosts[2]=h matrix[1][0]=1")).toEqual({ "env[0].value": "x", "hosts[2]": "h", "matrix[1][0]": 1 });
  });

  test("--deployment, before or after the pairs, sets deployment overrides", () => {
    const expected = {
      name: "override",
      scope: "deployment",
      set: [
        { key: "chart.version", value: "1.4.2" },
        { key: "deployTimeoutSeconds", value: 900 },
      ],
    };
    expect(command("/octo override --deployment chart.version=1.4.2 deployTimeoutSeconds=900")).toEqual(expected);
    expect(command("/octo override chart.version=1.4.2 --deployment deployTimeoutSeconds=900")).toEqual(expected);
    expect(command('/octo override --deployment namespaceQuota=large chart.repository=oci://ghcr.io/acme/charts/web chart.version="2.0"')).toEqual({
      name: "override",
      scope: "deployment",
      set: [
        { key: "namespaceQuota", value: "large" },
        { key: "chart.repository", value: "oci://ghcr.io/acme/charts/web" },
        { key: "chart.version", value: "2.0" },
      ],
    });
  });

  describe("errors, each with the usage line", () => {
    test.each([
      ["/octo override", "/octo override needs at least one key=value pair"],
      ["/octo override --deployment", "/octo override needs at least one key=value pair"],
      ["/octo override image.tag", 'Missing "=" in "image.tag": write key=value'],
      ["/octo override a=1 b", 'Missing "=" in "b": write key=value'],
      ["/octo override =v2", 'Missing key before "=" in "=v2": write key=value'],
      ["/octo override a= b=1", 'No value after "a=": write a="" for empty text, or /octo unset a to remove it'],
      ['/octo override a="open', 'Unterminated " quote in the value of "a": close it with "'],
      ['/octo override a="ends with backslash\\', 'Unterminated " quote in the value of "a": close it with "'],
      ["/octo override a='open b=1", "Unterminated ' quote in the value of \"a\": close it with '"],
      ['/octo override a="x"y', 'Unexpected text after the closing quote in "a="x"y": put a space between pairs'],
      ["/octo override a..b=1", 'Bad key: "a..b" is not a dotted path like a.b[0].c (bad part "")'],
      ["/octo override a[x]=1", 'Bad key: "a[x]" is not a dotted path like a.b[0].c (bad part "a[x]")'],
      ["/octo override .a=1", 'Bad key: ".a" is not a dotted path like a.b[0].c (bad part "")'],
      ["/octo override a=1 a=2", 'Key "a" is given twice'],
      ["/octo override --force a=1", 'Unknown flag "--force" for /octo override: the only flag is --deployment'],
      ["/octo override --deployment=true a=1", 'Unknown flag "--deployment=true" for /octo override: the only flag is --deployment'],
      ['/octo override "a b"=1', 'Missing "=" in ""a": write key=value'],
      ["/octo override a'b=1", 'Key "a\'b" cannot contain quotes, backticks, backslashes, "=", spaces or control characters'],
      ["/octo override a\\b=1", 'Key "a\\b" cannot contain quotes, backticks, backslashes, "=", spaces or control characters'],
      ["/octo override -a=1", 'Key "-a" cannot start with "-" (that marks a flag such as --deployment)'],
      ["/octo override __proto__.x=1", 'Key "__proto__.x" uses the reserved name "__proto__"'],
      ["/octo override a.constructor.prototype=1", 'Key "a.constructor.prototype" uses the reserved name "constructor"'],
      ["/octo override hosts[1000]=x", 'Key "hosts[1000]" has list index 1000: at most 999'],
    ])("%s", (text, message) => {
      expect(error(text)).toEqual({ error: message, usage: overrideUsage });
    });

    test("a key over 128 characters names the limit", () => {
      const key = "k".repeat(commandLimits.maxKeyLength + 1);
      expect(error(`/octo override ${key}=1`).error).toBe(`Key "${"k".repeat(39)}…" is too long: 129 characters, at most 128`);
      expect(command(`/octo override ${"k".repeat(128)}=1`)).toMatchObject({ name: "override" });
    });

    test("a value over 1024 characters names the limit; the length counts after escapes", () => {
      expect(error(`/octo override a=${"v".repeat(1025)}`)).toEqual({
        error: 'The value of "a" is too long: 1025 characters, at most 1024',
        usage: overrideUsage,
      });
      expect(values(`/octo override a="${"\\\\".repeat(1024)}"`).a).toBe("\\".repeat(1024));
    });

    test("more than 20 pairs names the limit", () => {
      const pairs = Array.from({ length: 21 }, (_, i) => `k${i}=${i}`).join(" ");
      expect(error(`/octo override ${pairs}`)).toEqual({
        error: "Too many key=value pairs: at most 20 per command (got 21); split them over several commands",
        usage: overrideUsage,
      });
      expect(command(`/octo override ${pairs.split(" ").slice(0, 20).join(" ")}`)).toMatchObject({ name: "override" });
    });

    test("control characters and broken Unicode are refused in values", () => {
      expect(error("/octo override a=x\u0007y").error).toBe('The value of "a" contains control characters');
      expect(error("/octo override a=x\ud800y").error).toBe('The value of "a" is not valid Unicode text');
    });

    test("a value for a secret-looking key is refused in a comment, unless the channel allows it", () => {
      expect(error("/octo override db.password=hunter2")).toEqual({
        error: expect.stringMatching(/^"db\.password" looks like a secret: its value is not taken from PR comments/),
        usage: overrideUsage,
      });
      expect(error("/octo override api_key=x").error).toMatch(/looks like a secret/);
      expect(parseComment("/octo override db.password=hunter2", { allowSecretValues: true })[0]).toMatchObject({
        ok: true,
        command: { set: [{ key: "db.password", value: "hunter2" }] },
      });
    });

    test("deployment overrides are checked against the fixed keys", () => {
      expect(error("/octo override --deployment replicas=2")).toEqual({
        error: 'Unknown deployment override "replicas"; valid keys: chart.version, chart.repository, deployTimeoutSeconds, namespaceQuota',
        usage: overrideUsage,
      });
      expect(error("/octo override --deployment chart.verison=1.2.3").error).toBe(
        'Unknown deployment override "chart.verison" (did you mean chart.version?); valid keys: chart.version, chart.repository, deployTimeoutSeconds, namespaceQuota',
      );
      expect(error("/octo override --deployment deployTimeoutSeconds=5").error).toBe(
        "deployTimeoutSeconds must be a whole number of seconds from 30 to 3600",
      );
      expect(error('/octo override --deployment deployTimeoutSeconds="600"').error).toBe(
        "deployTimeoutSeconds must be a whole number of seconds from 30 to 3600",
      );
      expect(error("/octo override --deployment namespaceQuota=huge").error).toBe("namespaceQuota must be one of small, medium, large");
      expect(error("/octo override --deployment chart.version=1.4").error).toBe(
        'chart.version must be a version such as 1.4.2 or a range such as ^1.4 (at most 64 characters; quote numbers: chart.version="1.4")',
      );
      expect(command("/octo override --deployment chart.version=2.0")).toMatchObject({ set: [{ value: "2.0" }] });
      expect(error("/octo override --deployment chart.version=2").error).toBe(
        'chart.version must be a version such as 1.4.2 or a range such as ^1.4 (at most 64 characters; quote numbers: chart.version="2")',
      );
      expect(error("/octo override --deployment chart.repository=http://charts.example.com").error).toBe(
        "chart.repository must be an https:// chart repository URL or an oci:// reference, without credentials in it",
      );
    });
  });

  test("the first error of a line is the one reported", () => {
    expect(error("/octo override a..b=1 c").error).toMatch(/^Bad key/);
  });
});

describe("/octo unset", () => {
  test("app and deployment keys", () => {
    expect(command("/octo unset image.tag env[0].value")).toEqual({ name: "unset", scope: "app", keys: ["image.tag", "env[0].value"] });
    expect(command("/octo unset --deployment chart.version deployTimeoutSeconds")).toEqual({
      name: "unset",
      scope: "deployment",
      keys: ["chart.version", "deployTimeoutSeconds"],
    });
  });

  test("a secret-looking key can be unset: no value is shown", () => {
    expect(command("/octo unset db.password")).toEqual({ name: "unset", scope: "app", keys: ["db.password"] });
  });

  test.each([
    ["/octo unset", "/octo unset needs at least one key"],
    ["/octo unset image.tag=v2", '/octo unset takes keys, not key=value ("image.tag=v2")'],
    ["/octo unset a..b", 'Bad key: "a..b" is not a dotted path like a.b[0].c (bad part "")'],
    ["/octo unset a a", 'Key "a" is given twice'],
    ["/octo unset --all", 'Unknown flag "--all" for /octo unset: the only flag is --deployment'],
    [
      "/octo unset --deployment image.tag",
      'Unknown deployment override "image.tag"; valid keys: chart.version, chart.repository, deployTimeoutSeconds, namespaceQuota',
    ],
    ['/octo unset a="x', 'Unterminated " quote in the value of "a": close it with "'],
  ])("%s", (text, message) => {
    expect(error(text)).toEqual({ error: message, usage: unsetUsage });
  });

  test("more than 20 keys names the limit", () => {
    const keys = Array.from({ length: 21 }, (_, i) => `k${i}`).join(" ");
    expect(error(`/octo unset ${keys}`)).toEqual({
      error: "Too many keys: at most 20 per command (got 21); split them over several commands",
      usage: unsetUsage,
    });
  });
});

describe("several commands in a comment", () => {
  test("each line is parsed on its own: one bad line does not spoil the others", () => {
    const parsed = parseComment("/octo override a=1\n/octo overide b=2\n/octo status");
    expect(parsed.map((l) => l.ok)).toEqual([true, false, true]);
  });

  test("at most 10 commands run; the lines after are reported, not parsed", () => {
    const body = Array.from({ length: 12 }, (_, i) => (i === 11 ? "/octo overide" : `/octo status`)).join("\n");
    const parsed = parseComment(body);
    expect(parsed).toHaveLength(12);
    expect(parsed.slice(0, 10).every((l) => l.ok)).toBe(true);
    for (const line of parsed.slice(10)) {
      expect(line).toMatchObject({
        ok: false,
        error: "Too many commands in one comment: at most 10 run; this one did not. Put it in another comment.",
      });
      expect(line).not.toHaveProperty("suggestion");
    }
  });
});

describe("usage, help and limits", () => {
  const names: CommandName[] = ["help", "status", "config", "override", "unset", "redeploy", "deploy", "archive", "restore", "delete", "keep"];

  test("every command has a usage line that starts with /octo and its name", () => {
    expect(Object.keys(commandUsage).sort()).toEqual([...names].sort());
    for (const name of names) expect(commandUsage[name]).toMatch(new RegExp(`^/octo ${name}( |$)`));
    expect(commandUsage.override).toBe(overrideUsage);
    expect(commandUsage.unset).toBe(unsetUsage);
  });

  test("help lists every command with its usage and a description, and the deployment keys", () => {
    const help = helpText();
    for (const name of names) expect(help).toMatch(new RegExp(`^- \`${commandUsage[name].replace(/[[\].]/g, "\\$&")}\`: \\S`, "m"));
    for (const key of ["chart.version", "chart.repository", "deployTimeoutSeconds", "namespaceQuota"]) expect(help).toContain(`\`${key}\``);
    expect(help).toContain('tag="2"');
  });

  test("the documented limits", () => {
    expect(commandLimits).toMatchObject({ maxKeyLength: 128, maxValueLength: 1024, maxPairsPerCommand: 20, maxCommandsPerComment: 10 });
    expect(Object.isFrozen(commandLimits)).toBe(true);
  });
});

describe("formatCommand", () => {
  test.each<[OctoCommand, string]>([
    [{ name: "status" }, "/octo status"],
    [{ name: "unset", scope: "app", keys: ["a", "b[0]"] }, "/octo unset a b[0]"],
    [{ name: "unset", scope: "deployment", keys: ["chart.version"] }, "/octo unset --deployment chart.version"],
    [
      {
        name: "override",
        scope: "app",
        set: [
          { key: "a", value: "2" },
          { key: "b", value: 2 },
          { key: "c", value: "a b" },
          { key: "d", value: "" },
          { key: "e", value: 'q"\\\n' },
          { key: "f", value: null },
          { key: "g", value: "'x" },
          { key: "h", value: -0 },
        ],
      },
      String.raw`/octo override a="2" b=2 c="a b" d="" e="q\"\\\n" f=null g="'x" h=0`,
    ],
  ])("%j", (cmd, text) => {
    expect(formatCommand(cmd)).toBe(text);
  });
});

describe("which lines are commands (the rule the command reference states)", () => {
  test("`/octo` in any case starts a command, as the reference says; code blocks, quotes and HTML comments do not", () => {
    const body = ["/OCTO redeploy", "/Octo status", "```", "/octo delete", "```", "> /octo archive", "<!-- /octo restore -->", "/octopus help", "/octo help"].join("\n");
    expect(parseComment(body).map((l) => (l.ok ? l.command.name : l.error))).toEqual(["redeploy", "status", "help"]);
  });

  test("`/octo deploy` takes an optional commit SHA, nothing else", () => {
    expect(command("/octo deploy")).toEqual({ name: "deploy" });
    expect(command("/octo deploy ABCDEF1234")).toEqual({ name: "deploy", sha: "abcdef1234" });
    expect(parseCommand("/octo deploy main")).toMatchObject({ ok: false, error: expect.stringContaining("7 to 40 hex characters") });
    expect(parseCommand("/octo deploy abc")).toMatchObject({ ok: false });
  });
});
