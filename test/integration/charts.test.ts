// A project's chart as Octostage reads it: `helm pull` (the helm double) for its keys and its
// values.schema.json, cached per version; the schema's issues named by values path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHelmCli } from "../../src/adapters/helm/helm-cli.ts";
import { createAjvChecker } from "../../src/adapters/json-schema/ajv.ts";
import { createChartCatalog, issuesOf } from "../../src/app/charts.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { createHelmDouble } from "../support/helm-double.ts";
import type { HelmDouble } from "../support/helm-double.ts";

let helm: HelmDouble;
beforeAll(() => {
  helm = createHelmDouble();
});
afterAll(() => helm.cleanup());

const chart = { repository: "https://charts.example.com", name: "web", version: "1.2.3" };

describe("chart catalog", () => {
  it("reads keys with types, defaults and the schema's descriptions, once per pinned version", async () => {
    let now = new Date("2026-12-01T10:00:00Z");
    const catalog = createChartCatalog({ helm: createHelmCli({ helmBin: helm.bin, env: helm.env, logger: silentLogger }), checker: createAjvChecker(), clock: { now: () => now } }, 60_000);
    const info = await catalog.info(chart);
    if (!info.ok) throw new Error(info.message);
    expect(info.value.version).toBe("1.2.3");
    expect(info.value.keys).toContainEqual({ key: "replicaCount", type: "integer", default: 1, description: "Pods of the web Deployment." });
    expect(info.value.keys).toContainEqual({ key: "image.repository", type: "string", default: "example/web" });
    expect(info.value.keys.map((k) => k.key)).toEqual([...info.value.keys.map((k) => k.key)].sort((a, b) => a.localeCompare(b)));
    const pulls = () => helm.calls().filter((c) => c.argv[0] === "pull");
    expect(pulls()).toHaveLength(1);
    expect(pulls()[0]!.argv).toEqual(["pull", "web", "--untar", "--untardir", expect.stringContaining("octostage-helm-"), "--version", "1.2.3", "--repo", "https://charts.example.com"]);
    now = new Date(now.getTime() + 3_600_000);
    await catalog.info(chart);
    expect(pulls()).toHaveLength(1); // pinned: kept
    const newest = { repository: chart.repository, name: "web" };
    await catalog.info(newest);
    await catalog.info(newest);
    expect(pulls()).toHaveLength(2);
    now = new Date(now.getTime() + 61_000);
    await catalog.info(newest);
    expect(pulls()).toHaveLength(3); // unpinned: read again after the TTL
  });

  it("names schema issues by values path, and attributes them to the edited keys", async () => {
    const catalog = createChartCatalog({ helm: createHelmCli({ helmBin: helm.bin, env: helm.env, logger: silentLogger }), checker: createAjvChecker(), clock: { now: () => new Date() } });
    const info = await catalog.info(chart);
    if (!info.ok) throw new Error(info.message);
    const issues = catalog.check(info.value, { replicaCount: -1, service: { port: "http" }, persistence: { enabled: "yes" } });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: "replicaCount", message: "must be >= 0" },
        { path: "service.port", message: "must be integer" },
        { path: "persistence.enabled", message: "must be boolean" },
      ]),
    );
    expect(issuesOf(issues, ["service.port"])).toEqual([{ path: "service.port", message: "must be integer" }]);
    expect(issuesOf(issues, ["service"])).toEqual([{ path: "service.port", message: "must be integer" }]);
    expect(issuesOf(issues, ["image.tag"])).toEqual([]);
    expect(catalog.check(info.value, { replicaCount: 2 })).toEqual([]);
  });

  it("a chart that cannot be pulled is an answer, not an exception", async () => {
    helm.failNext("pull", "chartNotFound");
    const catalog = createChartCatalog({ helm: createHelmCli({ helmBin: helm.bin, env: helm.env, logger: silentLogger }), checker: createAjvChecker(), clock: { now: () => new Date() } });
    const info = await catalog.info({ ...chart, version: "9.9.9" });
    expect(info).toMatchObject({ ok: false, message: expect.stringContaining("not found") });
    // Not asked again for a minute: a GET of a staging must not wait for helm each time.
    const before = helm.calls().filter((c) => c.argv[0] === "pull").length;
    expect(await catalog.info({ ...chart, version: "9.9.9" })).toEqual(info);
    expect(helm.calls().filter((c) => c.argv[0] === "pull")).toHaveLength(before);
  });
});
