/**
 * SENSOR_LOGINS=database on a Node process with MQTT_URL (deploy/docker-compose.yml's app
 * instances on EMQX): the broker reads the sensors table itself, so the app tells it nothing.
 * Registering, rotating and revoking a sensor answer without a broker call, /readyz waits for no
 * broker admin, and each change is at once what EMQX's shipped authenticator query sees: the new
 * key accepted, the old one not, a revoked sensor not at all. The consumer still reads events from
 * a real broker (Mosquitto here: EMQX is not installed on this machine).
 */
import { pbkdf2Sync, randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { eventsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, startIngestRuntime } from "../../iot/runtime.js";
import {
  countEvents,
  createIotWorld,
  createSensor,
  device,
  event,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "../iot/support.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { at, emqxQueries, emqxStatement, text } from "./support.js";

const { authn, authnConfig } = emqxQueries();
const hashing = at(authnConfig, "password_hash_algorithm");

let database: DatabaseHandle;
let world: World;
let broker: Mosquitto;
let runtime: IngestRuntime;
let api: ReturnType<typeof client>;
/** A sensor registered before Mosquitto started, so in its login file. */
let existing: { id: string; key: string };

/** Whether EMQX, running the shipped query, would let `sensorId` log in with `key`. */
async function emqxAccepts(sensorId: string, key: string): Promise<boolean> {
  const rows = await queryRows<{ password_hash: string; salt: Uint8Array }>(
    database.db,
    emqxStatement(authn, { username: sensorId, clientid: sensorId }),
  );
  const row = rows[0];
  if (!row) return false;
  const derived = pbkdf2Sync(
    key,
    Buffer.from(row.salt),
    Number(text(at(hashing, "iterations"))),
    Number(text(at(hashing, "dk_length"))),
    "sha512",
  );
  return derived.toString("hex") === row.password_hash;
}

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  existing = await createSensor(database.db, world);
  broker = await startMosquitto(database.db);
  runtime = await startIngestRuntime({
    config: {
      MQTT_URL: broker.url,
      MQTT_PORT: 0,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `logins-db-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
      SENSOR_LOGINS: "database",
    },
    db: database.db,
    logger: pino({ level: "silent" }),
    sweeper: { scope: { communityId: world.community.id } },
  });
  await waitFor(async () => (await runtime.readiness()).mqtt?.ok, 10_000, "the consumer");
  const app = createTestApp(database.db, {
    ingest: runtime.ingest,
    devices: runtime.devices,
    readiness: runtime.readiness,
  });
  api = client(app, world.enterprise.key);
});

afterAll(async () => {
  await runtime?.close();
  await broker?.stop();
  await database?.close();
});

describe("SENSOR_LOGINS=database with MQTT_URL (EMQX reads the sensors table)", () => {
  it("is ready without a broker admin: there is none to wait for", async () => {
    const res = await api.get("/readyz");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.checks).sort()).toEqual(["database", "ingest", "mqtt"]);
  });

  it("registers, rotates and revokes a sensor at once, each change what EMQX's login query sees next", async () => {
    const registered = await api.post("/v1/sensors", { facilityId: world.elevator.id, name: "car 1" });
    expect(registered.status).toBe(201);
    const id = registered.body.id as string;
    const first = registered.body.key as string;
    expect(await emqxAccepts(id, first)).toBe(true);

    const rotated = await api.post(`/v1/sensors/${id}/rotate-key`);
    expect(rotated.status).toBe(200);
    expect(await emqxAccepts(id, rotated.body.key)).toBe(true);
    expect(await emqxAccepts(id, first)).toBe(false);

    expect((await api.post(`/v1/sensors/${id}/revoke`)).status).toBe(200);
    expect(await emqxAccepts(id, rotated.body.key)).toBe(false);
  });

  it("still ingests what devices publish on the broker", async () => {
    const sensor = await device(broker.url, existing.id, existing.key, { protocolVersion: 5 });
    await sensor.publishAsync(eventsTopic(existing.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
    await waitFor(async () => (await countEvents(database.db, existing.id)) === 1, 10_000, "the event");
    await sensor.endAsync();
  });
});
