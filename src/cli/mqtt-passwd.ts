/**
 * `npm run mqtt:passwd -- <file> [--watch <seconds>] [--hup <mosquitto pid>]`: writes Mosquitto's
 * password file from the sensors table (see iot/mosquitto-passwd.ts), plus the ingest consumer's
 * user from MQTT_USERNAME/MQTT_PASSWORD. With --watch it rewrites the file whenever the sensors'
 * keys change and sends SIGHUP to Mosquitto (--hup) so it reloads.
 */
import { join } from "node:path";
import { openDatabase } from "../../db/client.js";
import { mosquittoPasswordLines, writeMosquittoPasswordFile } from "../../iot/mosquitto-passwd.js";
import { ConfigError, loadConfig } from "../config.js";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const file = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const watch = Number(option("--watch") ?? 0);
const hup = option("--hup");

try {
  if (!file) throw new ConfigError("usage: npm run mqtt:passwd -- <file> [--watch <seconds>] [--hup <pid>]");
  const config = loadConfig(process.env);
  const ingest =
    config.MQTT_USERNAME && config.MQTT_PASSWORD
      ? { username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD }
      : undefined;
  const database = await openDatabase(
    config.DATABASE_URL ? { url: config.DATABASE_URL, max: 1 } : { dataDir: join(config.DATA_DIR, "pglite") },
  );
  // Sensors only (the ingest line gets a fresh salt each time): what decides a rewrite.
  let last = "";
  const sync = async () => {
    const sensors = await mosquittoPasswordLines(database.db);
    if (sensors === last) return;
    last = sensors;
    await writeMosquittoPasswordFile(database.db, file, ingest);
    console.log(
      `${file}: ${sensors.trim().split("\n").filter(Boolean).length} sensor(s)${ingest ? " + ingest user" : ""}`,
    );
    if (hup) process.kill(Number(hup), "SIGHUP");
  };
  await sync();
  if (watch > 0) {
    setInterval(() => void sync().catch((err: unknown) => console.error("sync failed:", err)), watch * 1000);
  } else {
    await database.close();
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
