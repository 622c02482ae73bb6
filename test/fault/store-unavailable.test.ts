// The store while PostgreSQL is down: every query, model or raw, on a fresh connection or on one
// the stop terminated, fails as StoreUnavailableError, so src/main/worker.ts pauses the workers
// ("PostgreSQL is unavailable: pausing the workers until it answers") instead of failing jobs
// every second. Raw queries ($queryRaw through the pg driver adapter) fail as P2010 with the reason
// only in `meta.driverAdapterError.cause` ({ kind: "DatabaseNotReachable" }, or { originalCode:
// "57P01" } on a connection the stop terminated): found by the fault suite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../src/adapters/db/migrate.ts";
import { createDb } from "../../src/adapters/db/prisma.ts";
import type { Db } from "../../src/adapters/db/prisma.ts";
import { createStagingStore } from "../../src/adapters/db/staging-store.ts";
import { StoreUnavailableError } from "../../src/ports/store.ts";
import type { StagingStore } from "../../src/ports/store.ts";
import { startPrivateServices } from "../support/private-services.ts";
import type { PrivateServices } from "../support/private-services.ts";

let services: PrivateServices;
/** Connected before PostgreSQL stopped: its pooled connection was terminated by the stop. */
let warmDb: Db;
let warm: StagingStore;
/** Created after PostgreSQL stopped: every query has to connect. */
let freshDb: Db;
let fresh: StagingStore;
/** What the warm store's first query after the stop threw (at once, before the pool noticed the termination). */
let warmError: unknown;
const someId = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  services = await startPrivateServices();
  await applyMigrations({ databaseUrl: services.databaseUrl });
  warmDb = createDb(services.databaseUrl);
  warm = createStagingStore(warmDb);
  await warm.get(someId);
  await services.postgres.stop();
  warmError = await warm.get(someId).then(
    () => "no error",
    (err: unknown) => err,
  );
  freshDb = createDb(services.databaseUrl);
  fresh = createStagingStore(freshDb);
});

afterAll(async () => {
  await Promise.all([warmDb?.$disconnect(), freshDb?.$disconnect()]);
  await services?.stop();
});

describe("the store while PostgreSQL is down", () => {
  it("a model query (findUnique) fails as StoreUnavailableError", async () => {
    await expect(fresh.get(someId)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("a raw query (listWork, the reconciler's first query) fails as StoreUnavailableError", async () => {
    await expect(fresh.listWork(new Date())).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("acquireLease (a deploy job's first query) fails as StoreUnavailableError", async () => {
    await expect(fresh.acquireLease(someId, "deploy", "worker", 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("a query on a connection the stop terminated (SQLSTATE 57P01) fails as StoreUnavailableError", async () => {
    expect(warmError).toBeInstanceOf(StoreUnavailableError);
  });
});
