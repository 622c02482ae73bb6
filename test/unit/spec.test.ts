import { describe, expect, test } from "vitest";
import { isDnsLabel } from "../../src/domain/naming.ts";
import type { RepoSettings } from "../../src/domain/settings.ts";
import { buildDesiredSpec, stagingIdentity } from "../../src/domain/spec.ts";
import type { StagingHead } from "../../src/domain/spec.ts";

function settings(over: Partial<RepoSettings> = {}): RepoSettings {
  return {
    repo: "acme/web",
    name: "web",
    chart: { repository: "https://charts.example.com", name: "web", version: "1.4.2" },
    values: { replicaCount: 1, image: { repository: "ghcr.io/acme/web", tag: "latest" }, ingress: { enabled: true } },
    imageTagKey: "image.tag",
    imageTagTemplate: "{sha}",
    hostKey: "ingress.hostname",
    hostTemplate: "{name}.staging.example.com",
    urlTemplate: "https://{host}",
    namespaceTemplate: "octostage-{name}",
    deployTimeoutSeconds: 600,
    trigger: { drafts: false, labels: [] },
    ...over,
  };
}

const sha = "0123456789abcdef0123456789abcdef01234567";
const head: StagingHead = { owner: "acme", repo: "web", number: 42, sha, ref: "feature/login" };

describe("stagingIdentity", () => {
  test("names the staging and its namespace from the templates", () => {
    expect(stagingIdentity(settings(), 42)).toEqual({ name: "web-pr-42", namespace: "octostage-web-pr-42" });
    expect(stagingIdentity(settings({ namespaceTemplate: "pr-{pr}-{name}" }), 7)).toEqual({ name: "web-pr-7", namespace: "pr-7-web-pr-7" });
  });

  test("the default namespace fits a DNS label even for the longest staging name", () => {
    const id = stagingIdentity(settings({ name: "x".repeat(120) }), 123456);
    expect(id.name.length).toBeLessThanOrEqual(53);
    expect(isDnsLabel(id.namespace)).toBe(true);
  });

  test("a namespace template that does not render to a DNS label is refused with a message", () => {
    expect(() => stagingIdentity(settings({ namespaceTemplate: "Staging_{name}" }), 1)).toThrow(/namespace "Staging_web-pr-1".*not a DNS label/);
    expect(() => stagingIdentity(settings({ namespaceTemplate: "very-long-prefix-{name}" }), 1)).not.toThrow();
    expect(() => stagingIdentity(settings({ name: "y".repeat(80), namespaceTemplate: "very-long-prefix-{name}" }), 1)).toThrow(/≤ 63/);
  });
});

describe("buildDesiredSpec", () => {
  test("puts the image tag and the host at the configured dotted keys", () => {
    const spec = buildDesiredSpec(settings(), head, "web-pr-42");
    expect(spec.values).toEqual({
      replicaCount: 1,
      image: { repository: "ghcr.io/acme/web", tag: sha },
      ingress: { enabled: true, hostname: "web-pr-42.staging.example.com" },
    });
    expect(spec.imageTag).toBe(sha);
    expect(spec.host).toBe("web-pr-42.staging.example.com");
    expect(spec.url).toBe("https://web-pr-42.staging.example.com");
  });

  test("honours other keys, including list indexes", () => {
    const spec = buildDesiredSpec(
      settings({ values: {}, imageTagKey: "app.containers[0].tag", hostKey: "ingress.hosts[0].host" }),
      head,
      "web-pr-42",
    );
    expect(spec.values).toEqual({
      app: { containers: [{ tag: sha }] },
      ingress: { hosts: [{ host: "web-pr-42.staging.example.com" }] },
    });
  });

  test("renders every template variable", () => {
    const spec = buildDesiredSpec(
      settings({
        imageTagTemplate: "pr-{pr}-{shortSha}",
        hostTemplate: "{repo}-{pr}.{owner}.example.com",
        urlTemplate: "https://{host}/?staging={name}&sha={sha}",
      }),
      head,
      "web-pr-42",
    );
    expect(spec.imageTag).toBe("pr-42-0123456");
    expect(spec.host).toBe("web-42.acme.example.com");
    expect(spec.url).toBe(`https://web-42.acme.example.com/?staging=web-pr-42&sha=${sha}`);
  });

  test("carries the PR head, chart and timeout, and leaves the settings untouched", () => {
    const s = settings({ deployTimeoutSeconds: 900 });
    const before = structuredClone(s);
    const spec = buildDesiredSpec(s, head, "web-pr-42");
    expect(spec).toMatchObject({ sha, ref: "feature/login", chart: before.chart, deployTimeoutSeconds: 900 });
    expect(s).toEqual(before);
    spec.chart.version = "9.9.9";
    expect(s.chart.version).toBe("1.4.2");
  });

  test("an invalid values key is an error naming the key", () => {
    expect(() => buildDesiredSpec(settings({ imageTagKey: "image..tag" }), head, "web-pr-42")).toThrow(/image\.\.tag/);
  });
});
