# syntax=docker/dockerfile:1
# --- build: full install, compile TypeScript ---
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
# This image's npm (10) ignores package.json's allowScripts, which denies onnxruntime-node's install script
# (it only downloads CUDA providers; the CPU binaries ship in the package): the variable skips it here.
ENV ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime: production dependencies and dist only, non-root ---
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# The embedded lexicon model (LOCAL_MODEL_FALLBACK); drop transformers.js model folders in /app/models
# (LOCAL_MODEL_PATH) or mount them there. Downloads (ALLOW_REMOTE_MODELS) are cached in /app/.cache.
COPY --chown=node:node models ./models
RUN mkdir -p /app/.cache/models && chown -R node:node /app/.cache
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# exec form: node is PID 1's child-free main process and receives SIGTERM for a graceful shutdown.
CMD ["node", "--max-semi-space-size=64", "--no-memory-reducer", "dist/main.js"]
