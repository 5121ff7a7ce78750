import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import { loadConfig } from "../../src/config.js";

/** The database under test: the real PostgreSQL at DATABASE_URL, or a fresh in-memory PGlite. */
export async function openTestDatabase(): Promise<DatabaseHandle> {
  const { DATABASE_URL } = loadConfig(process.env);
  if (DATABASE_URL) return openDatabase({ url: DATABASE_URL, max: 4 });
  const database = await openDatabase({ dataDir: "memory://" });
  await database.migrate();
  return database;
}
