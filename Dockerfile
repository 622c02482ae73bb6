# syntax=docker/dockerfile:1
#
# The Octostage image: one image for both roles (OCTOSTAGE_ROLE=server|worker|all).
#
#   docker build -t registry.example.com/octostage:0.1.0 .
#   docker build --build-arg HELM_VERSION=v3.22.0 -t ... .
#
# The sources are compiled to JavaScript beside them (tsconfig.build.json: the same files, `.ts`
# import specifiers rewritten to `.js`), so the image never loads Node's TypeScript stripper
# (about 19 MB of RSS in each process; development and tests run the .ts files directly). The
# image holds src/ (the .ts and their .js), prisma/ (migrations apply at start), app.yml,
# octostage.example.yaml, the production node_modules, the generated Prisma client and a pinned
# helm 3 binary. It runs as
# uid/gid 10001 and works with a read-only root filesystem when /tmp and HOME are writable
# (the Helm chart in charts/octostage mounts emptyDir volumes there).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------
# deps: npm packages, the Prisma client, then only what runs in production.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

COPY package.json package-lock.json ./
# `npm install`, as scripts/setup.sh does, not `npm ci`. Install scripts run under npm's own
# policy for package.json "allowScripts" (not --ignore-scripts): the `node` package's
# preinstall fetches the Node binary that `npx prisma` below runs on.
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-audit --no-fund --loglevel=error

# The Prisma client is generated into src/generated/prisma, offline: scripts/prisma-generate.sh
# points PRISMA_SCHEMA_ENGINE_BINARY at package.json so that `prisma generate` downloads no
# engine. It needs prisma.config.ts, prisma/schema.prisma and the prisma CLI (a devDependency).
COPY prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma-generate.sh ./scripts/prisma-generate.sh
RUN bash scripts/prisma-generate.sh

# The build: type-checks src (a type error stops the image) and writes each module's .js beside
# it, the generated Prisma client included. test/e2e/js-build.test.ts runs this build as
# processes, with the TypeScript stripper turned off.
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# Production dependencies only. --omit=optional too: the prisma CLI (and typescript) are
# devDependencies that are also optional peers of @prisma/client, so npm marks them
# "devOptional" and --omit=dev alone would keep them (about 100 packages). The optional
# packages this drops from the production tree are native accelerators and platform helpers
# (msgpackr-extract, pg-cloudflare, ...) that their users load only if present. src/ imports
# nothing from devDependencies; the smoke test in the last stage checks the imports resolve.
RUN npm prune --omit=dev --omit=optional --no-audit --no-fund --loglevel=error \
 && rm -rf node_modules/.cache

# ---------------------------------------------------------------------------------------------
# helm: a pinned helm 3 release from get.helm.sh, checked against its published .sha256sum.
FROM ${NODE_IMAGE} AS helm
ARG HELM_VERSION=v3.22.0
# Set by BuildKit (docker buildx / docker build with BuildKit): amd64, arm64, ...
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/helm
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    file="helm-${HELM_VERSION}-linux-${arch}.tar.gz"; \
    curl -fsSLO "https://get.helm.sh/${file}"; \
    curl -fsSLO "https://get.helm.sh/${file}.sha256sum"; \
    echo "$(cut -d ' ' -f 1 "${file}.sha256sum")  ${file}" | sha256sum -c -; \
    tar -xzf "${file}"; \
    install -m 0755 "linux-${arch}/helm" /usr/local/bin/helm; \
    helm version --short | grep -q '^v3\.'

# ---------------------------------------------------------------------------------------------
# runtime
FROM ${NODE_IMAGE} AS runtime
# ca-certificates: helm (Go) verifies https chart repositories and OCI registries against the
# system trust store, which the slim image lacks. tini: PID 1 that forwards SIGTERM to node and
# reaps the helm processes the worker starts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 octostage \
 && useradd --uid 10001 --gid 10001 --home-dir /home/octostage --create-home \
      --shell /usr/sbin/nologin octostage

COPY --from=helm /usr/local/bin/helm /usr/local/bin/helm

WORKDIR /app
# Owned by root and read-only for the app user: Octostage never writes here (except the
# registration page's .env, which cannot work in this image; register the app by hand).
COPY --from=deps /app/node_modules ./node_modules
# package.json: "type": "module" makes Node load src/**/*.js as ES modules.
COPY package.json app.yml octostage.example.yaml ./
COPY prisma ./prisma
COPY --from=deps /app/src ./src

# HOME must be writable (helm keeps its cache and config there): the user's home in the image,
# an emptyDir in the chart. NODE_ENV is left unset, as in the test suite.
# glibc's malloc, for a long-running process with few threads (docs/operators/install.md,
# "Memory"; measured in bench/README.md, "Worker memory"): MALLOC_TRIM_THRESHOLD_ gives freed
# memory back to the system above 128 KiB instead of keeping it after a large free (list pages
# of a busy cluster), MALLOC_ARENA_MAX=2 keeps helper threads from each growing an arena of their own.
ENV HOME=/home/octostage \
    MALLOC_TRIM_THRESHOLD_=131072 \
    MALLOC_ARENA_MAX=2

USER 10001:10001

# Smoke test: every module the app loads at start resolves with the pruned node_modules (no
# connection is made; start.js only declares functions), including the Prisma query compiler
# that the generated client imports lazily and the schema engine migrate.ts imports only when a
# migration is pending.
RUN node --input-type=module -e " \
      await import('./src/main/start.js'); \
      await import('./src/main/serve.js'); \
      await import('@prisma/schema-engine-wasm'); \
      await import('@prisma/client/runtime/query_compiler_fast_bg.postgresql.mjs'); \
      await import('@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs'); \
    " \
 && helm version --short

# PORT's default in src/config/env.ts. Only the server role (and "all") listens.
EXPOSE 3000

ENTRYPOINT ["/usr/bin/tini", "--"]
# package.json "serve" on the build; --max-semi-space-size=4 keeps V8's young generation small
# (see docs/operators/install.md, "Memory").
CMD ["node", "--max-semi-space-size=4", "src/main/octostage.js"]
