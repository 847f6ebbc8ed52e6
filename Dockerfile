# syntax=docker/dockerfile:1
# The webhook image (also runs the TLS setup Job: node dist/function/tls/setup.js).
# Compiled output and production dependencies only, exactly what `npm pack` ships (package.json
# "files"), installed from the lockfile; runs as a non-root user and fetches nothing at run time.
# function/image.test.ts repeats these steps without Docker (npm test).
#
#   docker build -t REGISTRY/pando-webhook:0.1.0 .
#
# Reproducible builds: pin the base image by digest as well as by tag, e.g.
#   docker build --build-arg NODE_IMAGE=node:20.20.0-bookworm-slim@sha256:<digest> ...
# (digest placeholder: look it up with `docker buildx imagetools inspect node:20.20.0-bookworm-slim`).
ARG NODE_IMAGE=node:20.20.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY function ./function
# npm pack keeps only the runtime files (no tests, no TypeScript sources). The server runs as
# one esbuild bundle (dist/serve.js) of function/main.ts: the handler on node:http, no Express.
RUN npm run build \
 && npm run bundle \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && mkdir /app \
 && tar -xzf /tmp/pando-webhook-*.tgz -C /app --strip-components=1

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# kubectl-pando (the plugin, one bundled file) on the PATH: kubectl pando works where kubectl does.
ENV PATH=/app/dist/bin:$PATH
WORKDIR /app
COPY --from=build /app ./
COPY package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# 65532: the conventional "nonroot" uid/gid; the manifests set runAsNonRoot with the same ids.
USER 65532:65532
# 8080: plain HTTP (PORT, Knative's probes); 8443: HTTPS for the API server (PANDO_TLS_PORT).
EXPOSE 8080 8443
# A 2 MB young generation: RSS stays near a bare node:http server's (docs/performance.md).
CMD ["node", "--max-semi-space-size=2", "dist/serve.js"]
