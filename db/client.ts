import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { assertDrizzleInternals, type Database, queryRows } from "./database.js";
import { drizzleOverPostgres, openPostgres } from "./postgres.js";
import * as schema from "./schema.js";
import { watchedSocket } from "./socket-watchdog.js";

export interface DatabaseHandle {
  db: Database;
  kind: "postgres" | "pglite";
  /** Runs `select 1`; throws when the database is unreachable. */
  ping(): Promise<void>;
  /** Applies the committed migrations under db/migrations. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

export interface DatabaseOptions {
  /** postgres://… — a real PostgreSQL through postgres.js. */
  url?: string;
  /** Without a URL: the PGlite data directory, or "memory://" for a throw-away database. */
  dataDir?: string;
  /** Connection pool size for postgres.js. */
  max?: number;
  /**
   * postgres.js: the server's statement_timeout, and (+5 s) how long a connection that owes an
   * answer may stay silent before it is dropped (db/socket-watchdog.ts). 0: neither (migrations).
   * Default 30 s.
   */
  statementTimeoutMs?: number;
}

/**
 * How long a connection that owes an answer may stay silent before it is dropped: the statement
 * timeout and a margin of 5 s (at most the timeout itself).
 */
export const watchdogTimeoutMs = (statementTimeoutMs: number) =>
  statementTimeoutMs + Math.min(5_000, statementTimeoutMs);

/** Connections a process keeps to PostgreSQL unless told otherwise (`max`). */
export const DEFAULT_POOL_MAX = 10;

export async function openDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  if (opts.url) {
    const statementTimeoutMs = opts.statementTimeoutMs ?? 30_000;
    const client = openPostgres(opts.url, {
      max: opts.max ?? DEFAULT_POOL_MAX,
      connection: {
        application_name: "bot-platform",
        TimeZone: "UTC",
        // No JIT: the app's statements are short, and at a city's size the planner's estimates
        // pass jit_above_cost, so a statement paid 50–500 ms compiling to save a few (BENCHMARKS.md).
        jit: "off",
        ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
      },
      ...(statementTimeoutMs > 0 ? { socket: watchedSocket(watchdogTimeoutMs(statementTimeoutMs)) } : {}),
    });
    const db = drizzleOverPostgres(client);
    return {
      db,
      kind: "postgres",
      ping: async () => {
        await db.execute(sql`select 1`);
      },
      migrate: async () => {
        await migratePostgres(drizzlePostgres(client, { casing: "snake_case" }), {
          migrationsFolder: MIGRATIONS_FOLDER,
        });
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  // Loaded only here: the Workers bundle and production processes never pull in the WASM build.
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }, template] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
    import("./pglite-template.js"),
  ]);
  const dataDir = opts.dataDir ?? "memory://";
  // A new database starts from the template (db/pglite-template.ts) when there is one.
  const fresh = dataDir.startsWith("memory://") || !existsSync(join(dataDir, "PG_VERSION"));
  const loadDataDir = fresh ? await template.readPgliteTemplate(MIGRATIONS_FOLDER) : null;
  const client = await PGlite.create(dataDir, loadDataDir ? { loadDataDir } : {});
  const pglite = drizzlePglite(client, { schema, casing: "snake_case" });
  const db = pglite as unknown as Database;
  assertDrizzleInternals(db);
  return {
    db,
    kind: "pglite",
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    migrate: async () => {
      await migratePglite(pglite, { migrationsFolder: MIGRATIONS_FOLDER });
    },
    close: () => client.close(),
  };
}

/** How many committed migrations the database has not applied yet. */
export async function pendingMigrations(database: DatabaseHandle): Promise<number> {
  const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
    entries: unknown[];
  };
  const applied = await queryRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  ).then(
    (rows) => rows[0]?.n ?? 0,
    () => 0,
  );
  return journal.entries.length - applied;
}
