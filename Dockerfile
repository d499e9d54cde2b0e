# The image deploy/ runs: `docker build -t <registry>/foresight:0.1.0 .`, then point the manifests at it (README,
# "Running it in a cluster": kustomize `images:`). Node 20 on Debian, as the project is developed and tested.
#
# Build stage: every dependency (the build needs TypeScript and the AssemblyScript compiler; `npm ci` runs `prepare`,
# which is `npm run build`), then only the runtime dependencies are kept.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json asconfig.json ./
COPY assembly ./assembly
COPY src ./src
COPY scripts/postbuild.mjs ./scripts/postbuild.mjs
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

# Runtime: the compiled host (dist/), the WASM core (build/), the runtime dependencies and the demo trace (examples/:
# `foresight start` without FORESIGHT_PROMETHEUS_URL runs the demo). No shell tools are needed at run time.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build ./build
COPY examples ./examples
# The deploy/ manifests run as 65532 with a read-only root filesystem; nothing here is written at run time.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["start"]
