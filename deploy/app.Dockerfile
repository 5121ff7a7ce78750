# The app's image for deploy/docker-compose.yml: the API, the MQTT ingest and the scheduled jobs in
# one Node.js process (`npm start`), and `npm run db:migrate` as a one-shot. Built from the
# repository's root: `docker build -f deploy/app.Dockerfile .` (what it leaves out:
# deploy/app.Dockerfile.dockerignore).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so that a change of the code reuses this layer. No install scripts: the
# postinstall's PGlite template serves only the embedded database, which a deployment with
# DATABASE_URL never opens; the postgres.js patch is applied by hand (db/patch-postgres-js.mjs).
COPY package.json package-lock.json ./
COPY db/patch-postgres-js.mjs db/
RUN npm ci --omit=dev --ignore-scripts && node db/patch-postgres-js.mjs && npm cache clean --force

COPY . .

USER node
EXPOSE 3000
# `npm start` without npm in between, so that SIGTERM reaches the app (it drains the ingest and
# closes its sessions cleanly); the same flags as package.json's start script (the test checks).
CMD ["node", "--max-old-space-size=192", "--max-semi-space-size=32", "--import", "tsx", "src/node.ts"]
