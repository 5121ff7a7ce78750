/**
 * Mosquitto 2's dynamic-security plugin, as this platform uses it: who may log in and what each
 * login may touch. `npm run mqtt:setup -- <dir>` (src/cli/mqtt-setup.ts) writes the plugin's
 * `<dir>/dynamic-security.json` from the sensors table and `<dir>/mosquitto.conf` (the shipped
 * iot/mosquitto.conf pointed at that dir); from then on the app changes the broker's state live
 * through the plugin's `$CONTROL` topic (iot/dynsec-admin.ts), and Mosquitto rewrites the file.
 *
 * Facts of Mosquitto 2.0.11 this relies on (checked against the Debian 12 package):
 * - ACL topics are matched literally: `%u` / `%c` are NOT substituted (a role with
 *   `bot/v1/sensors/%u/#` lets no sensor publish). Each sensor therefore has a role of its own,
 *   `sensor:<id>`, naming its own topics (sensorRole).
 * - A client's password is PBKDF2-HMAC-SHA512 with a base64 `salt` (12 bytes) and `iterations`
 *   (101): the same as the `$7$101$<salt>$<hash>` line Mosquitto's password files use, which is
 *   what sensors.broker_password_hash holds (iot/credentials.ts). So a sensor's login is carried
 *   over without its key.
 * - A client with a `clientid` may log in only under that client id (CONNACK "not authorised"
 *   otherwise): each sensor's is its own id, so that no sensor can take over another's session.
 * - The plugin reads the file while Mosquitto is still root, but writes it (a `.new` file, then a
 *   rename) as the user Mosquitto switched to: the directory and the file must belong to that user.
 */
import { execFileSync } from "node:child_process";
import { chmod, chown, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { asc } from "drizzle-orm";
import type { Database } from "../db/database.js";
import { sensors } from "../db/schema.js";
import { mosquittoPasswordHash } from "./credentials.js";
import {
  COMMAND_RESULTS_FILTER,
  COMMANDS_FILTER,
  commandResultsTopic,
  commandsTopic,
  EVENTS_FILTER,
  eventsTopic,
  SHARED_GROUP,
  STATUS_FILTER,
  statusTopic,
} from "./protocol.js";

export const DYNSEC_FILE = "dynamic-security.json";
/** The plugin's command topic and the topic of its answers. */
export const DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1";
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;
/** Mosquitto's notice-level log lines (`log_dest topic`), where refused logins are reported. */
export const BROKER_NOTICES_TOPIC = "$SYS/broker/log/N";
export const INGEST_ROLE = "bot-ingest";

export type AclType =
  | "publishClientSend"
  | "publishClientReceive"
  | "subscribeLiteral"
  | "subscribePattern"
  | "unsubscribeLiteral"
  | "unsubscribePattern";
export interface Acl {
  acltype: AclType;
  topic: string;
  allow: boolean;
}
export interface Role {
  rolename: string;
  acls: Acl[];
}
export interface Client {
  username: string;
  /** Set: the login is refused under any other client id (a sensor's is its own id). */
  clientid?: string;
  password: string;
  salt: string;
  iterations: number;
  disabled?: boolean;
  roles: { rolename: string }[];
}
export interface DynsecConfig {
  clients: Client[];
  roles: Role[];
  defaultACLAccess: Record<
    "publishClientSend" | "publishClientReceive" | "subscribe" | "unsubscribe",
    boolean
  >;
}

/** A `$7$<iterations>$<salt>$<hash>` password line → the plugin's password fields (null if not one). */
export function dynsecPassword(hash: string): Pick<Client, "password" | "salt" | "iterations"> | null {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  return m?.[1] && m[2] && m[3] ? { password: m[3], salt: m[2], iterations: Number(m[1]) } : null;
}

export const sensorRoleName = (sensorId: string) => `sensor:${sensorId}`;

/**
 * Publish its own events, status (and last-will) and answers to commands; read only its own
 * commands. Not `bot/v1/sensors/<id>/#`: a sensor must not publish a command to itself (a fake
 * release), nor read anything but its commands.
 */
export function sensorRole(sensorId: string): Role {
  return {
    rolename: sensorRoleName(sensorId),
    acls: [
      { acltype: "publishClientSend", topic: eventsTopic(sensorId), allow: true },
      { acltype: "publishClientSend", topic: statusTopic(sensorId), allow: true },
      { acltype: "publishClientSend", topic: commandResultsTopic(sensorId), allow: true },
      { acltype: "publishClientReceive", topic: commandsTopic(sensorId), allow: true },
      { acltype: "subscribePattern", topic: commandsTopic(sensorId), allow: true },
    ],
  };
}

/**
 * The app's own login (MQTT_USERNAME): the ingest reads every sensor's events through the shared
 * subscription and the retained status messages, reads the devices' answers to commands (plain and
 * shared) and publishes the commands, reads Mosquitto's notices (refused logins), and administers
 * the plugin. `extraReads`: more filters it may subscribe to (the benchmark's group).
 */
export function ingestRole(extraReads: readonly string[] = []): Role {
  const reads = [
    EVENTS_FILTER,
    STATUS_FILTER,
    `$share/${SHARED_GROUP}/${EVENTS_FILTER}`,
    COMMAND_RESULTS_FILTER,
    `$share/${SHARED_GROUP}/${COMMAND_RESULTS_FILTER}`,
    BROKER_NOTICES_TOPIC,
    ...extraReads,
  ];
  return {
    rolename: INGEST_ROLE,
    acls: [
      ...reads.flatMap((topic): Acl[] => [
        { acltype: "subscribePattern", topic, allow: true },
        { acltype: "publishClientReceive", topic, allow: true },
      ]),
      { acltype: "publishClientSend", topic: COMMANDS_FILTER, allow: true },
      { acltype: "publishClientSend", topic: "$CONTROL/dynamic-security/#", allow: true },
      { acltype: "publishClientReceive", topic: "$CONTROL/dynamic-security/#", allow: true },
      { acltype: "subscribePattern", topic: "$CONTROL/dynamic-security/#", allow: true },
    ],
  };
}

/**
 * The plugin's whole state from the database: the ingest's login, every sensor with its current
 * key and its own id as client id (revoked ones disabled), nothing else allowed (unsubscribing is harmless and stays allowed).
 */
export async function dynsecConfig(
  db: Database,
  ingest: { username: string; password: string },
  opts: { extraIngestReads?: readonly string[] } = {},
): Promise<{ config: DynsecConfig; skipped: string[] }> {
  const rows = await db
    .select({ id: sensors.id, hash: sensors.brokerPasswordHash, revokedAt: sensors.revokedAt })
    .from(sensors)
    .orderBy(asc(sensors.id));
  const ingestPassword = dynsecPassword(mosquittoPasswordHash(ingest.password));
  if (!ingestPassword) throw new Error("mosquittoPasswordHash made no $7$ hash");
  // A sensor whose stored hash is not a $7$ line can not be carried over: it gets its login on
  // its next rotate-key (iot/dynsec-admin.ts creates a missing client then).
  const skipped: string[] = [];
  const carried = rows.flatMap((r) => {
    const password = dynsecPassword(r.hash);
    if (!password) skipped.push(r.id);
    return password ? [{ ...r, password }] : [];
  });
  const config: DynsecConfig = {
    clients: [
      { username: ingest.username, ...ingestPassword, roles: [{ rolename: INGEST_ROLE }] },
      ...carried.map((r) => ({
        username: r.id,
        clientid: r.id,
        ...r.password,
        ...(r.revokedAt ? { disabled: true } : {}),
        roles: [{ rolename: sensorRoleName(r.id) }],
      })),
    ],
    roles: [ingestRole(opts.extraIngestReads), ...carried.map((r) => sensorRole(r.id))],
    defaultACLAccess: {
      publishClientSend: false,
      publishClientReceive: false,
      subscribe: false,
      unsubscribe: true,
    },
  };
  return { config, skipped };
}

/** Where Debian, Fedora and source builds put the plugin; the first that exists is used. */
const PLUGIN_PATHS = [
  "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
  "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
  "/usr/lib64/mosquitto_dynamic_security.so",
  "/usr/lib/mosquitto_dynamic_security.so",
  "/usr/local/lib/mosquitto_dynamic_security.so",
];

async function exists(path: string) {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

/**
 * Who Mosquitto will run as, so who must own its files: as root, Mosquitto switches to the user
 * `mosquitto` (unless `user` says otherwise), so that one when it exists; else the current user.
 */
export function brokerOwner(): { name: string; uid: number; gid: number } {
  const me = userInfo();
  if (me.uid === 0) {
    const id = (flag: string) =>
      Number(
        execFileSync("id", [flag, "mosquitto"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        }).trim(),
      );
    try {
      return { name: "mosquitto", uid: id("-u"), gid: id("-g") };
    } catch {
      // no such user: Mosquitto stays root (the written config says `user root`)
    }
  }
  return { name: me.username, uid: me.uid, gid: me.gid };
}

export interface BrokerDirOptions {
  /** The listener's port (default 1883) and address (default: all interfaces). */
  port?: number;
  host?: string;
  /** Mosquitto logs to `<dir>/mosquitto.log` (default) or to its stderr. */
  logTo?: "file" | "stderr";
  extraIngestReads?: readonly string[];
}

/**
 * Writes `<dir>/dynamic-security.json` (from the database) and `<dir>/mosquitto.conf` (the shipped
 * config with the plugin, persistence, pid file, log and `user` set for this dir), both mode 0600 in a
 * 0700 dir, owned by the user Mosquitto will run as. Idempotent: re-running rewrites both; a
 * running Mosquitto keeps its own state in memory and rewrites the file on its next change, so
 * restart it to load a re-run (the app keeps it in step meanwhile).
 */
export async function writeBrokerDir(
  db: Database,
  dir: string,
  ingest: { username: string; password: string },
  opts: BrokerDirOptions = {},
): Promise<{ dir: string; conf: string; owner: string; sensors: number; skipped: string[] }> {
  dir = resolve(dir);
  const owner = brokerOwner();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const plugin = (await Promise.all(PLUGIN_PATHS.map(exists))).findIndex(Boolean);
  const shipped = await readFile(fileURLToPath(new URL("./mosquitto.conf", import.meta.url)), "utf8");
  const conf = shipped
    .replace(/^listener .*$/m, `listener ${opts.port ?? 1883}${opts.host ? ` ${opts.host}` : ""}`)
    .replace(/^plugin .*$/m, (line) => (plugin >= 0 ? `plugin ${PLUGIN_PATHS[plugin]}` : line))
    .replace(/^plugin_opt_config_file .*$/m, `plugin_opt_config_file ${join(dir, DYNSEC_FILE)}`)
    .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`)
    .replace(/^pid_file .*$/m, `pid_file ${join(dir, "mosquitto.pid")}`)
    .replace(
      /^log_dest stderr$/m,
      opts.logTo === "stderr" ? "log_dest stderr" : `log_dest file ${join(dir, "mosquitto.log")}`,
    )
    .replace(/^user .*$/m, `user ${owner.name}`);
  const { config, skipped } = await dynsecConfig(db, ingest, opts);
  const files: [string, string][] = [
    [DYNSEC_FILE, `${JSON.stringify(config, null, "\t")}\n`],
    ["mosquitto.conf", conf],
  ];
  for (const [name, text] of files) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, text, { mode: 0o600 });
    await chown(tmp, owner.uid, owner.gid);
    await rename(tmp, join(dir, name));
  }
  await chmod(dir, 0o700);
  await chown(dir, owner.uid, owner.gid);
  return {
    dir,
    conf: join(dir, "mosquitto.conf"),
    owner: owner.name,
    sensors: config.clients.length - 1,
    skipped,
  };
}
