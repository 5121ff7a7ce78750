import { MIGRATIONS_FOLDER, openDatabase } from "../../db/client.js";
import { makePgliteTemplate } from "../../db/pglite-template.js";
import { loadConfig } from "../../src/config.js";

/**
 * With DATABASE_URL the whole suite shares one real PostgreSQL: migrate it once here. Each test
 * file then writes its own uniquely named rows, so files never see each other's data. Without
 * it, every test file opens its own in-memory PGlite (test/support/db.ts), from the template.
 */
export default async function setup() {
  const config = loadConfig(process.env);
  // Each PGlite test file starts from the template (db/pglite-template.ts); npm install made it.
  if (!config.DATABASE_URL) {
    await makePgliteTemplate(MIGRATIONS_FOLDER);
    return;
  }
  const database = await openDatabase({ url: config.DATABASE_URL, max: 1 });
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
}
