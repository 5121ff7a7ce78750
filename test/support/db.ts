import type { Sql } from "postgres";
import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import type { Database } from "../../db/database.js";
import { openPostgres } from "../../db/postgres.js";
import { loadConfig } from "../../src/config.js";

/** The database under test: the real PostgreSQL at DATABASE_URL, or a fresh in-memory PGlite. */
export async function openTestDatabase(): Promise<DatabaseHandle> {
  const { DATABASE_URL } = loadConfig(process.env);
  if (DATABASE_URL) return openDatabase({ url: DATABASE_URL, max: 4 });
  const database = await openDatabase({ dataDir: "memory://" });
  await database.migrate();
  return database;
}

export interface ScratchDatabase {
  name: string;
  url: string;
  handle: DatabaseHandle;
  db: Database;
  /** Closes the pool and drops the database (forcing out any other connection). */
  drop(): Promise<void>;
}

/**
 * A migrated database of its own on the PostgreSQL server at `serverUrl`, for work that must
 * not see or touch other tests' rows (jobs that sweep every row, benchmarks).
 */
export async function createScratchDatabase(
  serverUrl: string,
  name: string,
  {
    max = 4,
    keep = false,
    statementTimeoutMs,
  }: { max?: number; keep?: boolean; statementTimeoutMs?: number } = {},
): Promise<ScratchDatabase> {
  const onServer = (run: (sql: Sql) => Promise<unknown>) => {
    const admin = openPostgres(serverUrl, { max: 1 });
    return run(admin).finally(() => admin.end({ timeout: 5 }));
  };
  await onServer((sql) => sql.unsafe(`create database "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({
    url: url.toString(),
    max,
    ...(statementTimeoutMs === undefined ? {} : { statementTimeoutMs }),
  });
  await handle.migrate();
  let dropped = false;
  return {
    name,
    url: url.toString(),
    handle,
    db: handle.db,
    async drop() {
      if (dropped) return;
      dropped = true;
      await handle.close().catch(() => {});
      if (keep) {
        console.error(`kept database ${name}`);
        return;
      }
      await onServer((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
    },
  };
}
