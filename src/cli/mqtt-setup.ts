/**
 * `npm run mqtt:setup -- <dir> [--port <n>]`: prepares a Mosquitto 2 for the platform in <dir>:
 * `dynamic-security.json` (the dynamic-security plugin's logins and topic rights, from the sensors
 * table and MQTT_USERNAME/MQTT_PASSWORD) and `mosquitto.conf` (iot/mosquitto.conf pointed at
 * <dir>, listening on --port, default 1883). Run as root, <dir> and its files go to the user
 * `mosquitto`, which Mosquitto switches to; run as a service user, to that user. See iot/dynsec.ts.
 * Then: `mosquitto -d -c <dir>/mosquitto.conf`; the app keeps the logins in step from then on.
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { openDatabase } from "../../db/client.js";
import { writeBrokerDir } from "../../iot/dynsec.js";
import { ConfigError, loadConfig } from "../config.js";
import { preparePrivateDataDir } from "../data-dir.js";

const USAGE = "usage: npm run mqtt:setup -- <dir> [--port <n>]";

try {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { port: { type: "string" } },
  });
  const [dir] = positionals;
  const port = Number(values.port ?? 1883);
  if (!dir || positionals.length > 1) throw new ConfigError(USAGE);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError("--port must be 1-65535");
  const config = loadConfig(process.env);
  if (!config.MQTT_USERNAME || !config.MQTT_PASSWORD) {
    throw new ConfigError("MQTT_USERNAME and MQTT_PASSWORD must be set: the app's own broker login");
  }
  if (!config.DATABASE_URL) await preparePrivateDataDir(config.DATA_DIR);
  const database = await openDatabase(
    config.DATABASE_URL ? { url: config.DATABASE_URL, max: 1 } : { dataDir: join(config.DATA_DIR, "pglite") },
  );
  try {
    if (!config.DATABASE_URL) await database.migrate();
    const done = await writeBrokerDir(
      database.db,
      dir,
      { username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD },
      { port },
    );
    console.log(
      `${done.dir}: dynamic-security.json (${done.sensors} sensor(s) + ${config.MQTT_USERNAME}) and mosquitto.conf (port ${port}), owned by ${done.owner}`,
    );
    if (done.skipped.length) {
      console.warn(
        `${done.skipped.length} sensor(s) without a Mosquitto password hash left out (rotate their keys): ${done.skipped.join(", ")}`,
      );
    }
    console.log(`start it with: mosquitto -d -c ${done.conf}`);
  } finally {
    await database.close();
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
