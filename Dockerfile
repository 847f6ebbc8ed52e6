# syntax=docker/dockerfile:1
# The webhook image; it also runs the TLS setup Job (node dist/tls-setup.js).
# The build stage bundles each program with esbuild; the runtime stage holds those bundles only
# (no node_modules), their SBOM, and runs as a non-root user. docs/image.md has the details.
#
#   docker build -t REGISTRY/pando-webhook:0.1.0 .
#   npm run image        (here, without Docker: buildah on a locally assembled base)
#
# Reproducible builds: pin the base by digest as well as by tag, e.g.
#   docker build --build-arg NODE_IMAGE=node:24.22.3-bookworm-slim@sha256:<digest> .
# (look the digest up where a registry is reachable: docker buildx imagetools inspect node:24.22.3-bookworm-slim).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts (esbuild finds its binary without them).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY function ./function
COPY cli ./cli
COPY scripts/sbom.ts ./scripts/
# Three bundles (the server, the TLS setup, kubectl-pando), each with its esbuild metafile, then
# the SBOM of what they hold.
RUN npm run bundle \
 && npm run bundle:cli \
 && npm run sbom

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# kubectl-pando (the plugin, one bundled file) on the PATH: kubectl pando works where kubectl does.
ENV PATH=/app/dist/bin:$PATH
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/dist/serve.js /src/dist/serve.js.map /src/dist/tls-setup.js ./dist/
COPY --from=build /src/dist/bin/kubectl-pando ./dist/bin/
COPY --from=build /src/dist/sbom.cdx.json ./
# 65532: the conventional "nonroot" uid/gid; the manifests set runAsNonRoot with the same ids.
USER 65532:65532
# 8080: plain HTTP (PORT, Knative's probes); 8443: HTTPS for the API server (PANDO_TLS_PORT).
EXPOSE 8080 8443
# A 2 MB young generation: RSS stays near a bare node:http server's (docs/performance.md).
CMD ["node", "--max-semi-space-size=2", "dist/serve.js"]
