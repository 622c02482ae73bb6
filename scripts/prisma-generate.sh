#!/usr/bin/env bash
# Generates the Prisma client into src/generated/prisma without network access.
# `prisma generate` never runs the schema engine, but insists the binary exists;
# point it at any file so it skips the download (see docs/contributors/development.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$PWD/package.json}"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
exec npx --no-install prisma generate
