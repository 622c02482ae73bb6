-- Correctness under concurrency and faults (issue 8).
-- Reporting state moves to one row per staging and channel, leases get a fencing token,
-- comment commands are recorded in Postgres keyed by the comment, PR events are ordered by
-- GitHub's updated_at, a cleanup that failed is retried at retryAt.

-- ReportChannel, filled from the columns it replaces (no reporting state is lost).
CREATE TABLE "ReportChannel" (
    "stagingId" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "reportedVersion" INTEGER NOT NULL DEFAULT 0,
    "reportedAt" TIMESTAMP(3),
    "state" JSONB NOT NULL DEFAULT '{}',
    "errorCode" TEXT,
    "error" TEXT,
    "errorVersion" INTEGER,
    "notBefore" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ReportChannel_pkey" PRIMARY KEY ("stagingId","channel")
);

ALTER TABLE "ReportChannel" ADD CONSTRAINT "ReportChannel_stagingId_fkey" FOREIGN KEY ("stagingId") REFERENCES "Staging"("id") ON DELETE CASCADE ON UPDATE CASCADE;

INSERT INTO "ReportChannel" ("stagingId", "channel", "reportedVersion", "reportedAt", "state", "updatedAt")
SELECT "id", 'github', "reportedVersion", "reportedAt",
       jsonb_strip_nulls(jsonb_build_object(
         'checkRun', CASE WHEN "checkRunId" IS NULL OR "checkRunSha" IS NULL THEN NULL
                          ELSE jsonb_build_object('id', "checkRunId", 'sha', "checkRunSha", 'completed', false) END,
         'commentId', "commentId",
         'deployment', CASE WHEN "deploymentId" IS NULL OR "deploymentSha" IS NULL THEN NULL
                            ELSE jsonb_build_object('id', "deploymentId", 'sha', "deploymentSha") END,
         'hashes', jsonb_build_object('check', "reportedCheckHash", 'comment', "reportedCommentHash", 'deployment', "reportedDeploymentHash")
       )),
       CURRENT_TIMESTAMP
FROM "Staging";

ALTER TABLE "Staging"
    DROP COLUMN "reportedVersion",
    DROP COLUMN "reportedAt",
    DROP COLUMN "reportedCheckHash",
    DROP COLUMN "reportedCommentHash",
    DROP COLUMN "reportedDeploymentHash",
    DROP COLUMN "checkRunId",
    DROP COLUMN "checkRunSha",
    DROP COLUMN "commentId",
    DROP COLUMN "deploymentId",
    DROP COLUMN "deploymentSha",
    ADD COLUMN "headFromFork" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "headChangedAt" TIMESTAMP(3),
    ADD COLUMN "prUpdatedAt" TIMESTAMP(3),
    ADD COLUMN "prCheckedAt" TIMESTAMP(3),
    ADD COLUMN "prEtag" TEXT,
    ADD COLUMN "retryAt" TIMESTAMP(3),
    ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0;

-- A staging waiting for a fork approval was held for being a fork: keep treating it as one.
UPDATE "Staging" SET "headFromFork" = true WHERE "approvedSha" IS NOT NULL OR "skipReason" LIKE '%fork%';

-- The audit log shows people by name.
ALTER TABLE "Action" ADD COLUMN "actorName" TEXT;
UPDATE "Action" SET "source" = 'api' WHERE "source" = 'cli';

-- Fencing tokens: a new one each time a lease changes hands. Leases held now expire within a
-- minute, they are dropped, so every holder takes a fenced lease after the upgrade.
DELETE FROM "Lease";
CREATE SEQUENCE "Lease_token_seq" AS BIGINT;
ALTER TABLE "Lease" ADD COLUMN "token" BIGINT NOT NULL;

-- Commands keyed by the comment that carried them (replaces CommandRun, keyed by delivery id:
-- its rows are replies already posted or retried within minutes, kept 30 days for idempotency).
CREATE TABLE "Command" (
    "id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "deliveryId" TEXT,
    "installationId" BIGINT NOT NULL,
    "repoOwner" TEXT NOT NULL,
    "repoName" TEXT NOT NULL,
    "prNumber" INTEGER NOT NULL,
    "commentId" BIGINT NOT NULL,
    "commentedAt" TIMESTAMP(3),
    "actor" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'queued',
    "reply" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "repliedAt" TIMESTAMP(3),

    CONSTRAINT "Command_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "Command_source_externalId_key" ON "Command"("source", "externalId");
CREATE INDEX "Command_state_createdAt_idx" ON "Command"("state", "createdAt");

DROP TABLE "CommandRun";
