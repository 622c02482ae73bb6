-- The web dashboard (issue 13): what the worker last saw of a staging's workloads and pods
-- (src/domain/workload-snapshot.ts), saved when it changes.
ALTER TABLE "Staging" ADD COLUMN "workloads" JSONB;
