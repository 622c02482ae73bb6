-- Stagings by name and the HTTP API (issue 10): a staging has an origin (a pull request, or a
-- name given by a person or a pipeline), API tokens are stored hashed, POSTs are idempotent.

ALTER TABLE "Staging" ADD COLUMN "origin" TEXT NOT NULL DEFAULT 'pull_request';
ALTER TABLE "Staging" ALTER COLUMN "prNumber" DROP NOT NULL;
ALTER TABLE "Staging" ADD COLUMN "imageTag" TEXT;
ALTER TABLE "Staging" ADD COLUMN "follow" BOOLEAN NOT NULL DEFAULT false;

CREATE INDEX "Staging_repoOwner_repoName_headRef_idx" ON "Staging"("repoOwner", "repoName", "headRef");

CREATE TABLE "ApiToken" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "ApiToken_name_key" ON "ApiToken"("name");
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

CREATE TABLE "IdempotentRequest" (
    "tokenId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "body" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IdempotentRequest_pkey" PRIMARY KEY ("tokenId","key")
);

ALTER TABLE "IdempotentRequest" ADD CONSTRAINT "IdempotentRequest_tokenId_fkey" FOREIGN KEY ("tokenId") REFERENCES "ApiToken"("id") ON DELETE CASCADE ON UPDATE CASCADE;
