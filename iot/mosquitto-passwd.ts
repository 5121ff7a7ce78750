/**
 * Writes Mosquitto's password file from the sensors table: `npm run mqtt:passwd -- <file> [--watch <s>] [--hup <pid>]`.
 *
 * The plain sensor key is never stored, so `mosquitto_passwd` can not be run later. Instead, when
 * a key is issued, the API stores it hashed in Mosquitto's own `$7$` format as well
 * (sensors.broker_password_hash, see iot/credentials.ts); this script only copies those lines,
 * plus the ingest consumer's user (MQTT_USERNAME/MQTT_PASSWORD). Revoked sensors are left out.
 *
 * Keeping it in sync: run it with `--watch 10 --hup <mosquitto pid>`: every 10 s it rewrites the
 * file when the set of keys changed (atomically, via rename) and sends SIGHUP, on which Mosquitto
 * reloads the password file and the ACL. A revoked or rotated key is refused within that time;
 * the embedded broker and the HTTP route check the database directly and need none of this.
 */
import { rename, writeFile } from "node:fs/promises";
import { asc, isNull } from "drizzle-orm";
import type { Database } from "../db/database.js";
import { sensors } from "../db/schema.js";
import { mosquittoPasswordHash } from "./credentials.js";

export async function mosquittoPasswordLines(
  db: Database,
  ingest?: { username: string; password: string },
): Promise<string> {
  const rows = await db
    .select({ id: sensors.id, hash: sensors.brokerPasswordHash })
    .from(sensors)
    .where(isNull(sensors.revokedAt))
    .orderBy(asc(sensors.id));
  const lines = rows.map((r) => `${r.id}:${r.hash}`);
  if (ingest) lines.unshift(`${ingest.username}:${mosquittoPasswordHash(ingest.password)}`);
  return `${lines.join("\n")}\n`;
}

export async function writeMosquittoPasswordFile(
  db: Database,
  file: string,
  ingest?: { username: string; password: string },
): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, await mosquittoPasswordLines(db, ingest), { mode: 0o600 });
  await rename(tmp, file);
}
