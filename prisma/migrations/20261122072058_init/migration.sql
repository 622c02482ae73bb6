-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Staging" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "repoOwner" TEXT NOT NULL,
    "repoName" TEXT NOT NULL,
    "prNumber" INTEGER NOT NULL,
    "installationId" BIGINT NOT NULL,
    "namespace" TEXT NOT NULL,
    "desiredState" TEXT NOT NULL DEFAULT 'active',
    "desiredSpec" JSONB NOT NULL,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "observedGeneration" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "reason" TEXT,
    "statusChangedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "statusVersion" INTEGER NOT NULL DEFAULT 1,
    "reportedVersion" INTEGER NOT NULL DEFAULT 0,
    "reportedAt" TIMESTAMP(3),
    "reportedCheckHash" TEXT,
    "reportedCommentHash" TEXT,
    "reportedDeploymentHash" TEXT,
    "url" TEXT,
    "headSha" TEXT NOT NULL,
    "headRef" TEXT NOT NULL,
    "deployedSha" TEXT,
    "lastDeployError" TEXT,
    "approvedSha" TEXT,
    "approvedBy" TEXT,
    "skipReason" TEXT,
    "archivedReplicas" JSONB,
    "deployStartedAt" TIMESTAMP(3),
    "checkRunId" BIGINT,
    "checkRunSha" TEXT,
    "commentId" BIGINT,
    "deploymentId" BIGINT,
    "deploymentSha" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Staging_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Action" (
    "id" UUID NOT NULL,
    "stagingId" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "generation" INTEGER NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'queued',
    "detail" JSONB,
    "exitCode" INTEGER,
    "durationMs" INTEGER,
    "output" TEXT,
    "error" TEXT,
    "deliveryId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Action_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Override" (
    "id" UUID NOT NULL,
    "stagingId" UUID NOT NULL,
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "op" TEXT NOT NULL,
    "value" JSONB,
    "actor" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Override_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StatusTransition" (
    "id" UUID NOT NULL,
    "stagingId" UUID NOT NULL,
    "from" TEXT NOT NULL,
    "to" TEXT NOT NULL,
    "reason" TEXT,
    "cause" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StatusTransition_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Lease" (
    "stagingId" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Lease_pkey" PRIMARY KEY ("stagingId","kind")
);

-- CreateIndex
CREATE UNIQUE INDEX "Staging_name_key" ON "Staging"("name");

-- CreateIndex
CREATE INDEX "Staging_status_idx" ON "Staging"("status");

-- CreateIndex
CREATE UNIQUE INDEX "Staging_repoOwner_repoName_prNumber_key" ON "Staging"("repoOwner", "repoName", "prNumber");

-- CreateIndex
CREATE INDEX "Action_stagingId_createdAt_idx" ON "Action"("stagingId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Override_stagingId_scope_key_key" ON "Override"("stagingId", "scope", "key");

-- CreateIndex
CREATE INDEX "StatusTransition_stagingId_createdAt_idx" ON "StatusTransition"("stagingId", "createdAt");

-- AddForeignKey
ALTER TABLE "Action" ADD CONSTRAINT "Action_stagingId_fkey" FOREIGN KEY ("stagingId") REFERENCES "Staging"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Override" ADD CONSTRAINT "Override_stagingId_fkey" FOREIGN KEY ("stagingId") REFERENCES "Staging"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StatusTransition" ADD CONSTRAINT "StatusTransition_stagingId_fkey" FOREIGN KEY ("stagingId") REFERENCES "Staging"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Lease" ADD CONSTRAINT "Lease_stagingId_fkey" FOREIGN KEY ("stagingId") REFERENCES "Staging"("id") ON DELETE CASCADE ON UPDATE CASCADE;
