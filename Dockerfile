# syntax=docker/dockerfile:1
#
# One image for every Datalinx process: the five subgraphs, their migrations, the gateway, the
# worker, the web app and the Dagster UI. docker-compose.yml picks the command per service.
#
#   docker build -t datalinx .
#
# Stages: `python` (dbt + Dagster venv, changes rarely), `manifests` (package.json files only, so
# editing sources does not invalidate `npm ci`), `build` (npm ci, tsc -b, the gateway's GraphiQL
# bundle, next build, then dev dependencies pruned) and the runtime image.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS base
# Debian 12's python3 is 3.11, inside the range workers/python/requirements.txt is pinned for.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates openssl \
 && rm -rf /var/lib/apt/lists/*
ENV NEXT_TELEMETRY_DISABLED=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app

FROM base AS python
COPY workers/python/requirements.txt /tmp/requirements.txt
# Same path as in the runtime image: a venv's scripts carry its absolute path in their shebangs.
RUN python3 -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --no-input --require-virtualenv -r /tmp/requirements.txt \
 && /app/.venv/bin/pip check

FROM base AS manifests
WORKDIR /src
COPY . .
# Keep only the lockfile and every package.json (root and workspaces), at their paths.
RUN mkdir /out \
 && cp package-lock.json /out/ \
 && find . -name package.json -not -path '*/node_modules/*' \
      -exec sh -c 'mkdir -p "/out/$(dirname "$1")" && cp "$1" "/out/$1"' _ {} \;

FROM base AS build
COPY --from=manifests /out/ ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && node gateway/scripts/build-explorer.mjs \
 && npm run build --workspace web \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf web/.next/cache

FROM base AS runtime
ENV NODE_ENV=production
COPY --from=python /app/.venv /app/.venv
COPY --from=build --chown=node:node /app /app
# Data directory for Dagster (DAGSTER_HOME) and dbt artifacts; a named volume in compose.
RUN mkdir -p /var/lib/datalinx && chown node:node /var/lib/datalinx
ENV PATH=/app/.venv/bin:$PATH \
    DLX_DATA_DIR=/var/lib/datalinx \
    DAGSTER_HOME=/var/lib/datalinx/dagster
USER node
# No default process: compose (or `docker run datalinx node gateway/dist/index.js`) chooses.
CMD ["node", "-e", "console.error('Choose a process, e.g. node gateway/dist/index.js (see docker-compose.yml)'); process.exit(2)"]
