// `npm run bench:redact`: the one redactor (src/domain/redact.ts) on a megabyte of hostile and of
// ordinary helm output, with 200 known secret values. Prints ms per input (median of 5 runs).
import { createRedactor } from "../../src/domain/redact.ts";

const MiB = 1 << 20;
const inputs: Record<string, string> = {
  "`a://` repeated (no `@`)": "a://".repeat(MiB / 4),
  "one 1 MiB token": "x".repeat(MiB),
  "`eyJ` runs (JWT-like, no dots)": "eyJaaaaa".repeat(MiB / 8),
  "`password=` repeated": "password=".repeat(Math.floor(MiB / 9)),
  "PEM header, no end": `-----BEGIN RSA PRIVATE KEY-----${"A".repeat(MiB)}`,
  "`a ` (short words)": "a ".repeat(MiB / 2),
  "helm errors with credentials": (`Error: UPGRADE FAILED: template: web/templates/deployment.yaml:21:28: executing at <.Values.image.tag>: https://user:pw@x.io token=abc ghp_${"a".repeat(36)}\n`).repeat(6000),
};
const redact = createRedactor(Array.from({ length: 200 }, (_, i) => `s3cret-value-${i}-${"z".repeat(i % 20)}`));
for (const text of Object.values(inputs)) redact(text); // warm-up
console.log("| input | size | ms (median of 5) |\n|---|---|---|");
for (const [name, text] of Object.entries(inputs)) {
  const times = Array.from({ length: 5 }, () => {
    const started = performance.now();
    redact(text);
    return performance.now() - started;
  }).sort((a, b) => a - b);
  console.log(`| ${name} | ${(text.length / MiB).toFixed(2)} MiB | ${times[2]!.toFixed(1)} |`);
}
