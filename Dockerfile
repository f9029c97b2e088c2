# One image for every service: `docker run suanyang:local start broker`, `start ingest alerts`...
# TypeScript is transpiled by bin/suanyang.js into node_modules/.cache on first run (esbuild, via
# tsx); the image does it once at build time, so the unprivileged user never has to.
# Node 22 LTS, pinned; slim Debian, because the native modules (classic-level) ship glibc prebuilds.
FROM node:24.22.3-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24.22.3-bookworm-slim
# MALLOC_MMAP_THRESHOLD_: scrypt's 16 MiB buffers go back to the system after each login check
# (glibc otherwise keeps them per thread: measured 111 MB vs 42 MB RSS after 400 checks).
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HTTP_PORT=8080 \
    MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN node bin/suanyang.js help > /dev/null
# DATA_DIR holds the spool and the broker accounts: owned by the unprivileged user, and a volume.
# /dashboards: where `suanyang dashboards` writes for Grafana (a fresh volume takes this owner).
RUN mkdir -p /data /dashboards && chown node:node /data /dashboards
USER node
VOLUME ["/data"]
EXPOSE 1883 8083 8080
# Healthy = started (/readyz) and not degraded (/healthz: 503 with its reasons).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "const b = 'http://127.0.0.1:' + (process.env.HTTP_PORT || 8080); Promise.all([b + '/readyz', b + '/healthz'].map((u) => fetch(u))).then((rs) => process.exit(rs.every((r) => r.ok) ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/suanyang.js"]
CMD ["start"]
