/**
 * `npm run db:migrate`: applies the committed migrations to DATABASE_URL (or to the embedded
 * PGlite under DATA_DIR when it is unset). The one way migrations reach a real database.
 */
import { join } from "node:path";
import { openDatabase, pendingMigrations } from "../../db/client.js";
import { loadConfig } from "../config.js";

const config = loadConfig(process.env);
const database = await openDatabase(
  // A migration may rewrite a big table in one long, silent statement: no time limit here.
  config.DATABASE_URL
    ? { url: config.DATABASE_URL, max: 1, statementTimeoutMs: 0 }
    : { dataDir: join(config.DATA_DIR, "pglite") },
);
try {
  const pending = await pendingMigrations(database);
  await database.migrate();
  console.log(`${pending} migration(s) applied (${database.kind})`);
} catch (err) {
  console.error("migration failed:", err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await database.close();
}
