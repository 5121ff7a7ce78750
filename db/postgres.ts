import { drizzle } from "drizzle-orm/postgres-js";
import postgres, { type Options, type PostgresType, type Sql } from "postgres";
import type { Database } from "./database.js";
import * as schema from "./schema.js";

/** How long postgres.js may take to open a connection (seconds). */
export const CONNECT_TIMEOUT_S = 5;

/**
 * A postgres.js client as every entry opens it: a Node process's pool (db/client.ts) and a
 * Workers request's client over Hyperdrive (src/worker.ts). Types are fetched (postgres.js's
 * default, one query per new connection): without them, arrays such as `array_agg` results come
 * back as the text `{…}`.
 */
export function openPostgres(url: string, options: Options<Record<string, PostgresType>>): Sql {
  return postgres(url, {
    // An unreachable database is reported in seconds (readiness, the ingest's retry loop), not
    // after postgres.js's default 30 s per connection attempt.
    connect_timeout: CONNECT_TIMEOUT_S,
    onnotice: () => {},
    ...options,
  });
}

/** drizzle over a postgres.js client: the one place the driver is wired (Node and Workers). */
export function drizzleOverPostgres(client: Sql): Database {
  return drizzle(client, { schema, casing: "snake_case" }) as unknown as Database;
}
