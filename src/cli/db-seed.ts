/** `npm run db:seed`: writes the demo data into an empty database (DATABASE_URL or the embedded one). */

import { join } from "node:path";
import { openDatabase } from "../../db/client.js";
import { loadConfig } from "../config.js";
import { preparePrivateDataDir } from "../data-dir.js";
import { describeDemo, seedDemoOnce } from "../demo/seed.js";
import { createLogger } from "../logger.js";

const config = loadConfig(process.env);
await preparePrivateDataDir(config.DATA_DIR);
const database = await openDatabase(
  config.DATABASE_URL ? { url: config.DATABASE_URL, max: 1 } : { dataDir: join(config.DATA_DIR, "pglite") },
);
try {
  const seed = await seedDemoOnce(database.db, {
    keysFile: join(config.DATA_DIR, "demo-keys.json"),
    logger: createLogger(config.LOG_LEVEL),
  });
  console.log(describeDemo(seed, config.DATA_DIR, config.PORT));
} catch (err) {
  console.error("seed failed:", err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await database.close();
}
