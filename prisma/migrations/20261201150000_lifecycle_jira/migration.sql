-- Lifecycle policies, cost and Jira (issue 11): when a staging was archived and last used, keeps,
-- the deadline people were told about, resource usage for the cost estimate, and Jira links.

ALTER TABLE "Staging" ADD COLUMN "archivedAt" TIMESTAMP(3);
ALTER TABLE "Staging" ADD COLUMN "lastActivityAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE "Staging" ADD COLUMN "keepUntil" TIMESTAMP(3);
ALTER TABLE "Staging" ADD COLUMN "keepLabel" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Staging" ADD COLUMN "noticeAt" TIMESTAMP(3);
ALTER TABLE "Staging" ADD COLUMN "noticePolicy" TEXT;
ALTER TABLE "Staging" ADD COLUMN "usage" JSONB;

-- Stagings archived before this migration: retention counts from their last change.
UPDATE "Staging" SET "archivedAt" = "updatedAt" WHERE "desiredState" = 'archived';
UPDATE "Staging" SET "lastActivityAt" = "updatedAt";

CREATE INDEX "Staging_desiredState_archivedAt_idx" ON "Staging"("desiredState", "archivedAt");
CREATE INDEX "Staging_desiredState_lastActivityAt_idx" ON "Staging"("desiredState", "lastActivityAt");
CREATE INDEX "Staging_noticeAt_idx" ON "Staging"("noticeAt");

CREATE TABLE "JiraLink" (
    "stagingId" UUID NOT NULL,
    "issueKey" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "doneAction" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JiraLink_pkey" PRIMARY KEY ("stagingId","issueKey")
);

CREATE INDEX "JiraLink_issueKey_idx" ON "JiraLink"("issueKey");

ALTER TABLE "JiraLink" ADD CONSTRAINT "JiraLink_stagingId_fkey" FOREIGN KEY ("stagingId") REFERENCES "Staging"("id") ON DELETE CASCADE ON UPDATE CASCADE;
