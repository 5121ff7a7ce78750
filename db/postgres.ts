import { drizzle } from "drizzle-orm/postgres-js";
import postgres, { type Options, type PostgresType, type Sql } from "postgres";
import { assertDrizzleInternals, type Database } from "./database.js";
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
  const { url: server, socketDirectory } = socketDirectoryOf(url);
  return postgres(server, {
    // An unreachable database is reported in seconds (readiness, the ingest's retry loop), not
    // after postgres.js's default 30 s per connection attempt.
    connect_timeout: CONNECT_TIMEOUT_S,
    onnotice: () => {},
    // postgres.js connects to `<directory>/.s.PGSQL.<port>` when the host is a path.
    ...(socketDirectory ? { host: socketDirectory } : {}),
    ...options,
  });
}

/**
 * libpq's way to name a Unix socket in a URL, `?host=/var/run/postgresql` (as `psql` takes it):
 * the directory, and the URL without it. postgres.js would send `host` to the server as a setting,
 * which refuses the connection. (The ingest's CPU per event over the socket and over loopback TCP
 * differed by less than the machine's noise: BENCHMARKS.md, session 16.)
 */
export function socketDirectoryOf(url: string): { url: string; socketDirectory: string | null } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, socketDirectory: null };
  }
  const host = parsed.searchParams.get("host");
  if (!host?.startsWith("/")) return { url, socketDirectory: null };
  parsed.searchParams.delete("host");
  return { url: parsed.toString(), socketDirectory: host };
}

/** drizzle over a postgres.js client: the one place the driver is wired (Node and Workers). */
export function drizzleOverPostgres(client: Sql): Database {
  const db = drizzle(client, { schema, casing: "snake_case" }) as unknown as Database;
  assertDrizzleInternals(db);
  return db;
}

/**
 * The array types a postgres.js client learned when it connected (its one `pg_type` query, what
 * `fetch_types` does), to lend to later clients of the same database so they skip that query: a
 * Workers isolate opens a client per request, and the query was a third of a request's CPU and
 * most of its latency (BENCHMARKS.md). Built-in and enum array types only change with a migration,
 * which deploys a new Worker. postgres.js keeps them on `options` (parsers, serializers and
 * `shared.typeArrayMap`, by oid); the Workers tests prove arrays still come back as arrays.
 */
export interface ArrayTypes {
  typeArrayMap: Record<number, number>;
  parsers: Record<number, unknown>;
  serializers: Record<number, unknown>;
}

type ClientOptions = Sql["options"] & { shared: { typeArrayMap: Record<number, number> } };

/** What `client` learned, or null while it has not connected yet. */
export function arrayTypesOf(client: Sql): ArrayTypes | null {
  const options = client.options as ClientOptions;
  const typeArrayMap = { ...options.shared.typeArrayMap };
  const arrays = Object.values(typeArrayMap);
  if (!arrays.length) return null;
  const pick = (table: Record<number, unknown>) => Object.fromEntries(arrays.map((oid) => [oid, table[oid]]));
  return { typeArrayMap, parsers: pick(options.parsers), serializers: pick(options.serializers) };
}

/** Gives `client` (opened with `fetch_types: false`) the array types another client learned. */
export function lendArrayTypes(client: Sql, types: ArrayTypes): void {
  const options = client.options as ClientOptions;
  Object.assign(options.shared.typeArrayMap, types.typeArrayMap);
  Object.assign(options.parsers, types.parsers);
  Object.assign(options.serializers, types.serializers);
}
