import { describe, expect, test } from "vitest";
import { createRedactor, REDACTED, redactAroundCut, redactText } from "../../src/domain/redact.ts";
import { isSecretPath, secretValues } from "../../src/domain/secrets.ts";

describe("the redactor", () => {
  test("removes every occurrence of the values it is told about, overlapping ones included, longest first", () => {
    const redact = createRedactor(["hunter22", "hunter2", "db-pass-123", "ab"]);
    expect(redact("login with hunter22, then hunter2; db-pass-123db-pass-123")).toBe(`login with ${REDACTED}, then ${REDACTED}; ${REDACTED}`);
    // Values shorter than 4 characters are not redacted (a "1" under a secret key would erase half the text).
    expect(redact("ab abc")).toBe("ab abc");
    expect(redactText("héllo wörld s3crét! bye", ["s3crét!"])).toBe(`héllo wörld ${REDACTED} bye`);
  });

  test("removes credentials by their shape wherever they appear", () => {
    const cases: [string, string][] = [
      ["pulling https://robot:hunter2@charts.example.com/index.yaml", `pulling https://${REDACTED}@charts.example.com/index.yaml`],
      ["git clone https://ghp_abc@github.com/acme/web.git", `git clone https://${REDACTED}@github.com/acme/web.git`],
      ["Authorization: Bearer eyJhbGciOi.payload.sig", `Authorization: Bearer ${REDACTED}`],
      ["header bearer abc.def-ghi", `header bearer ${REDACTED}`],
      ['{"password": "p@ss w0rd", "user": "x"}', `{"password": "${REDACTED}", "user": "x"}`],
      ["secret: 'a b c' kept", `secret: '${REDACTED}' kept`],
      ["DB_PASSWORD=s3cr3t API_KEY=abc123 client_secret: zzz", `DB_PASSWORD=${REDACTED} API_KEY=${REDACTED} client_secret: ${REDACTED}`],
      [`token ghp_${"a".repeat(36)} and github_pat_${"B".repeat(30)}`, `token ${REDACTED} and ${REDACTED}`],
      ["slack xoxb-1234567890-abcdefghij and https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX", `slack ${REDACTED} and https://${REDACTED}`],
      ["aws AKIAABCDEFGHIJKLMNOP done", `aws ${REDACTED} done`],
      [`google AIza${"x".repeat(35)}`, `google ${REDACTED}`],
      ["jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", `jwt ${REDACTED} end`],
      ["-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc=\n-----END RSA PRIVATE KEY-----\nafter", `${REDACTED}\nafter`],
      ["cut: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg", `cut: ${REDACTED}`],
    ];
    for (const [input, output] of cases) expect(redactText(input, [])).toBe(output);
  });

  test("leaves ordinary helm output alone", () => {
    const text = 'Error: UPGRADE FAILED: template: web/templates/deployment.yaml:21:28: executing "web" at <.Values.image.tag>: nil pointer\nRelease "web-pr-1" has been upgraded. Happy Helming!';
    expect(redactText(text, ["not-in-it"])).toBe(text);
  });

  test("a secret cut in two by truncation does not escape", () => {
    const [h, t] = redactAroundCut("head ends with s3cr", "3t-Value and more", ["s3cr3t-Value"]);
    expect(h).toBe(`head ends with ${REDACTED}`);
    expect(t).toBe(`${REDACTED} and more`);
  });

  test("hostile input costs linear time: a megabyte of it in well under a second, where backtracking patterns took minutes", () => {
    const redact = createRedactor(Array.from({ length: 200 }, (_, i) => `secret-${i}-${"z".repeat(i % 20)}`));
    const hostile = ["a://".repeat(262_144), "x".repeat(1 << 20), "eyJaaaaa".repeat(131_072), "password=".repeat(116_508), `-----BEGIN RSA PRIVATE KEY-----${"A".repeat(1 << 20)}`];
    for (const text of hostile) {
      const started = performance.now();
      redact(text);
      // The benchmark (bench/redact) records the real figures: 15–45 ms per megabyte on 2 cores.
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });
});

describe("which values are secrets", () => {
  test("values at secret-looking keys, env-style entries named like secrets, and the project's secretKeys", () => {
    const values = {
      db: { host: "db.internal", password: "Pa55word!" },
      env: [
        { name: "DB_PASSWORD", value: "env-secret-1" },
        { name: "LOG_LEVEL", value: "debug" },
      ],
      database: { url: "postgres://app@db/app" },
      auth: { issuer: "https://id.example.com", audience: "web" },
      replicaCount: 2,
      apiToken: 12345678,
    };
    expect(secretValues(values).sort()).toEqual(["12345678", "Pa55word!", "env-secret-1"].sort());
    expect(secretValues(values, ["database.url", "auth.*"]).sort()).toEqual(["12345678", "Pa55word!", "env-secret-1", "postgres://app@db/app", "https://id.example.com", "web"].sort());
    expect(isSecretPath(values, "env[0].value")).toBe(true);
    expect(isSecretPath(values, "env[1].value")).toBe(false);
    expect(isSecretPath(values, "database.url", ["database.url"])).toBe(true);
    expect(isSecretPath(values, "db.host")).toBe(false);
  });
});
