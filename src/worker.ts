/**
 * The Cloudflare Workers entry (wrangler.toml). The database comes through a Hyperdrive binding;
 * sensors reach this deployment over the HTTP ingest route (the MQTT consumer runs on Node).
 * Workers may not share a connection between requests, so each request gets its own small
 * postgres.js client (Hyperdrive pools the real connections) and its own app around it.
 */

import { sql } from "drizzle-orm";
import pino from "pino";
import postgres from "postgres";
import { hashKey } from "../db/keys.js";
import { drizzleOverPostgres } from "../db/postgres.js";
import { createApp } from "./app.js";
import { loadConfig } from "./config.js";

interface Env {
  HYPERDRIVE: { connectionString: string };
  /** swagger-ui-dist, served as static assets (wrangler.toml [assets]). */
  ASSETS: { fetch: (request: Request) => Promise<Response> };
  ADMIN_TOKEN?: string;
  LOG_LEVEL?: string;
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const config = loadConfig({ ADMIN_TOKEN: env.ADMIN_TOKEN, LOG_LEVEL: env.LOG_LEVEL });
    const client = postgres(env.HYPERDRIVE.connectionString, {
      max: 5,
      fetch_types: false,
      onnotice: () => {},
    });
    const db = drizzleOverPostgres(client);
    const app = createApp({
      db,
      logger: pino({ level: config.LOG_LEVEL }),
      clock: () => new Date(),
      pingDatabase: async () => {
        await db.execute(sql`select 1`);
      },
      ...(config.ADMIN_TOKEN ? { adminTokenHash: hashKey(config.ADMIN_TOKEN) } : {}),
      readDocsAsset: async (file) => {
        const res = await env.ASSETS.fetch(new Request(new URL(`/${file}`, request.url)));
        return res.ok ? res.text() : null;
      },
    });
    const response = await app.fetch(request);
    ctx.waitUntil(client.end());
    return response;
  },
};
