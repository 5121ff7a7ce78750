/**
 * The database as the application sees it, whichever driver is underneath (postgres.js or
 * PGlite), and the raw-SQL helpers. Free of drivers and of Node APIs, so the Workers bundle
 * can import it; opening a database is db/client.ts (Node) or src/worker.ts (Workers).
 */
import { type Column, getTableName, type SQL, sql } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema.js";

/** The drizzle database, whichever driver is underneath (postgres.js or PGlite). */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle: everything a `Database` can do inside one transaction. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
/** Either: functions that write take this so they compose into a caller's transaction. */
export type Queryable = Database | Tx;

/** Runs raw SQL and returns its rows, whichever driver runs it (postgres.js and PGlite shape results differently). */
export async function queryRows<T>(db: Queryable, query: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(query));
}

/** The rows of a raw result: postgres.js returns them as the result, PGlite under `rows`. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** Renders raw SQL as both drivers' databases do (db/client.ts opens them with this casing). */
const dialect = new PgDialect({ casing: "snake_case" });

/**
 * queryRows as a prepared statement: on postgres.js, each connection parses the text once and
 * PostgreSQL may keep one plan for it, instead of parsing and planning it on every call (on the
 * ingest's small batches that was about half of PostgreSQL's time). For hot statements whose
 * text never changes (every value a parameter); PGlite runs it as queryRows would.
 *
 * Statements sent through this helper without awaiting each are sent in call order, so
 * PostgreSQL runs them in that order on a transaction's connection, in one round trip. Mixing
 * helpers in such a group may not keep the order.
 */
/**
 * queryPrepared is the one user of drizzle's internal session API (`db._.session.prepareQuery`),
 * which drizzle does not document; drizzle-orm is pinned to an exact version in package.json. The
 * entries call this when they open a database, so a release that moved it stops start-up with this
 * message instead of failing the ingest's first batch.
 */
export function assertDrizzleInternals(db: Database): void {
  const session = (db as { _?: { session?: { prepareQuery?: unknown } } })._?.session;
  if (typeof session?.prepareQuery !== "function") {
    throw new Error(
      "drizzle-orm no longer has db._.session.prepareQuery, which db/database.ts queryPrepared uses: keep drizzle-orm at the version package.json pins, or port queryPrepared",
    );
  }
}

export async function queryPrepared<T>(db: Queryable, query: SQL): Promise<T[]> {
  // A name makes drizzle ask postgres.js to prepare; postgres.js keys statements by their text.
  return rowsOf<T>(
    await db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, "raw", false).execute(),
  );
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
