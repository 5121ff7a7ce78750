import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { type Column, getTableName, type SQL, sql } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema.js";

/** The drizzle database, whichever driver is underneath (postgres.js or PGlite). */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle: everything a `Database` can do inside one transaction. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
/** Either: functions that write take this so they compose into a caller's transaction. */
export type Queryable = Database | Tx;

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
}

export async function openDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  if (opts.url) {
    const client = postgres(opts.url, {
      max: opts.max ?? 10,
      onnotice: () => {},
      connection: { application_name: "bot-platform", TimeZone: "UTC" },
    });
    const db = drizzlePostgres(client, { schema, casing: "snake_case" }) as unknown as Database;
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
  const client = await PGlite.create(opts.dataDir ?? "memory://");
  const pglite = drizzlePglite(client, { schema, casing: "snake_case" });
  const db = pglite as unknown as Database;
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

/** Runs raw SQL and returns its rows, whichever driver runs it (postgres.js and PGlite shape results differently). */
export async function queryRows<T>(db: Queryable, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
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

/**
 * A column written with its table's name, for correlated subqueries in raw SQL. Drizzle leaves
 * columns unqualified when a query reads one table, so `${facilities.id}` inside a subquery
 * over other tables would silently bind to the subquery's own `id`.
 */
export function outer(column: Column): SQL {
  const name = column.keyAsName ? toSnakeCase(column.name) : column.name;
  return sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(name)}`;
}
