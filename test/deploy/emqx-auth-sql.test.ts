/**
 * EMQX logs devices in and authorises them straight from the sensors table (deploy/emqx/emqx.conf):
 * the authenticator's and the authorizer's queries, exactly as shipped, run here against the real
 * schema the way EMQX runs them (a prepared statement, one parameter per placeholder), for a
 * registered sensor, a revoked one, an unknown one, a wrong client id and usernames that are not
 * sensor ids. For the registered sensor, PBKDF2 of its real key with the salt and iterations the
 * query hands EMQX gives exactly the hash it hands EMQX, in EMQX's encoding (lower-case hex of the
 * derived key; the salt as raw bytes): emqx_passwd:check_pass/3.
 */
import { pbkdf2Sync, randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { sensors } from "../../db/schema.js";
import { mosquittoPasswordHash } from "../../iot/credentials.js";
import { sensorRole } from "../../iot/dynsec.js";
import { createIotWorld, createSensor } from "../iot/support.js";
import { openTestDatabase } from "../support/db.js";
import { at, type ClientInfo, emqxQueries, emqxStatement, text } from "./support.js";

const { authn, authz, authnConfig } = emqxQueries();
const hashing = at(authnConfig, "password_hash_algorithm");
const ITERATIONS = Number(text(at(hashing, "iterations")));
const DK_LENGTH = Number(text(at(hashing, "dk_length")));

interface AuthnRow {
  password_hash: string;
  salt: Uint8Array;
  is_superuser: boolean;
}
interface AuthzRow {
  permission: string;
  action: string;
  topic: string;
}

let database: DatabaseHandle;
let registered: { id: string; key: string };
let revoked: { id: string; key: string };

const login = (id: string, clientid = id): ClientInfo => ({ username: id, clientid });
const authenticate = (client: ClientInfo) => queryRows<AuthnRow>(database.db, emqxStatement(authn, client));
const authorize = (client: ClientInfo) => queryRows<AuthzRow>(database.db, emqxStatement(authz, client));

/** What emqx_passwd:check_pass({pbkdf2, sha512, Salt, Iterations, DKLength}, Hash, Password) does. */
const emqxAccepts = (row: AuthnRow, password: string) =>
  pbkdf2Sync(password, Buffer.from(row.salt), ITERATIONS, DK_LENGTH, "sha512").toString("hex") ===
  row.password_hash;

beforeAll(async () => {
  database = await openTestDatabase();
  const world = await createIotWorld(database.db);
  registered = await createSensor(database.db, world);
  revoked = await createSensor(database.db, world);
  await database.db.update(sensors).set({ revokedAt: sql`now()` }).where(eq(sensors.id, revoked.id));
});

afterAll(async () => {
  await database?.close();
});

describe("EMQX's PostgreSQL authenticator (deploy/emqx/emqx.conf)", () => {
  it("offers a registered sensor's hash and salt, and PBKDF2-SHA512 of its key matches them as EMQX compares", async () => {
    const rows = await authenticate(login(registered.id));
    expect(rows).toHaveLength(1);
    const row = rows[0] as AuthnRow;
    expect(row.password_hash).toMatch(new RegExp(`^[0-9a-f]{${DK_LENGTH * 2}}$`));
    expect(Buffer.from(row.salt)).toHaveLength(12);
    expect(row.is_superuser).toBe(false);
    expect(emqxAccepts(row, registered.key)).toBe(true);
    expect(emqxAccepts(row, `${registered.key}x`)).toBe(false);
    expect(emqxAccepts(row, revoked.key)).toBe(false);
  });

  it("takes the iterations and key length it is configured with from the same hash function the app stores", () => {
    // iot/credentials.ts writes $7$<iterations>$<salt>$<hash>; the config must name the same figures.
    const [, , iterations, , hash] = mosquittoPasswordHash("any key").split("$");
    expect(Number(iterations)).toBe(ITERATIONS);
    expect(Buffer.from(hash ?? "", "base64")).toHaveLength(DK_LENGTH);
    expect(text(at(hashing, "name"))).toBe("pbkdf2");
    expect(text(at(hashing, "mac_fun"))).toBe("sha512");
  });

  it("offers nothing for a revoked sensor, an unknown id, another client id, or a username that is not a sensor id", async () => {
    expect(await authenticate(login(revoked.id))).toEqual([]);
    expect(await authenticate(login(randomUUID()))).toEqual([]);
    // Logged in under another sensor's client id (or any other): a device can not take over a session.
    expect(await authenticate(login(registered.id, revoked.id))).toEqual([]);
    expect(await authenticate(login(registered.id, `${registered.id}-2`))).toEqual([]);
    for (const username of [
      "bot-ingest",
      "",
      registered.id.toUpperCase(),
      "' or true --",
      `${registered.id} `,
    ]) {
      expect(await authenticate(login(username))).toEqual([]);
    }
  });

  it("offers nothing for a sensor whose stored hash used other iterations than the configured ones", async () => {
    const world = await createIotWorld(database.db);
    const other = await createSensor(database.db, world);
    const [, , , salt, hash] = mosquittoPasswordHash(other.key).split("$");
    await database.db
      .update(sensors)
      .set({ brokerPasswordHash: `$7$${ITERATIONS + 1}$${salt}$${hash}` })
      .where(eq(sensors.id, other.id));
    expect(await authenticate(login(other.id))).toEqual([]);
  });
});

describe("EMQX's PostgreSQL authorizer (deploy/emqx/emqx.conf)", () => {
  it("lets a registered sensor publish its own events, status and command results and subscribe to its own commands, as on Mosquitto", async () => {
    const rows = await authorize(login(registered.id));
    // Mosquitto's role for the same sensor (iot/dynsec.ts): what the client sends and subscribes
    // to. EMQX does not authorise deliveries, so publishClientReceive has no counterpart.
    const mosquitto = sensorRole(registered.id).acls.flatMap((acl) =>
      acl.acltype === "publishClientSend"
        ? [{ permission: "allow", action: "publish", topic: acl.topic }]
        : acl.acltype === "subscribePattern"
          ? [{ permission: "allow", action: "subscribe", topic: acl.topic }]
          : [],
    );
    const order = (a: AuthzRow, b: AuthzRow) =>
      `${a.action} ${a.topic}`.localeCompare(`${b.action} ${b.topic}`);
    expect(rows.map((r) => ({ ...r })).sort(order)).toEqual(mosquitto.sort(order));
    expect(rows).toHaveLength(4);
  });

  it("gives a revoked sensor, an unknown one, another client id and a non-sensor username no rule (no_match = deny)", async () => {
    expect(await authorize(login(revoked.id))).toEqual([]);
    expect(await authorize(login(randomUUID()))).toEqual([]);
    expect(await authorize(login(registered.id, revoked.id))).toEqual([]);
    expect(await authorize(login("bot-ingest"))).toEqual([]);
  });
});
