/**
 * Mosquitto with the shipped configuration against hostile sensors. A packet over 64 KiB closes
 * the connection (`max_packet_size`). A sensor's login is bound to its own client
 * id (the dynamic-security plugin's `clientid`): in the file `mqtt:setup` generates, for a sensor
 * the app registers later (iot/dynsec-admin.ts), and, when the app's admin connects, for the logins of a file
 * generated before the binding existed. So sensor B can not take over sensor A's session by
 * connecting with A's id.
 */
import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { DYNSEC_FILE, type DynsecConfig } from "../../iot/dynsec.js";
import { eventsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, startIngestRuntime } from "../../iot/runtime.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import {
  createElevator,
  createIotWorld,
  createSensor,
  deadLetterReasons,
  device,
  event,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

let database: DatabaseHandle;
let world: World;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
});

afterAll(async () => {
  await database?.close();
});

async function startAdmin(broker: Mosquitto): Promise<IngestRuntime> {
  const runtime = await startIngestRuntime({
    config: {
      MQTT_URL: broker.url,
      MQTT_PORT: 0,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `client-id-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
    },
    db: database.db,
    logger: pino({ level: "silent" }),
    sweeper: { scope: { communityId: world.community.id } },
  });
  await waitFor(async () => (await runtime.readiness()).brokerAdmin?.ok, 10_000, "the broker admin");
  return runtime;
}

/** Connects as `username` under `clientId`: "connected" (and disconnects), or the refusal. */
const tryConnect = (broker: Mosquitto, username: string, password: string, clientId: string, v: 4 | 5) =>
  device(broker.url, username, password, { clientId, protocolVersion: v }).then(
    async (c) => {
      await c.endAsync();
      return "connected";
    },
    (err: Error) => err.message,
  );

/** The victim is still connected and its events still get their PUBACK. */
async function stillServed(victim: MqttClient, sensorId: string, closed: () => boolean) {
  expect(closed()).toBe(false);
  await victim.publishAsync(eventsTopic(sensorId), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
}

function watchClose(c: MqttClient) {
  let closed = false;
  c.on("close", () => {
    closed = true;
  });
  return () => closed;
}

describe("the shipped Mosquitto against hostile sensors", () => {
  let broker: Mosquitto;
  let runtime: IngestRuntime;
  let a: Awaited<ReturnType<typeof createSensor>>;
  let b: Awaited<ReturnType<typeof createSensor>>;

  beforeAll(async () => {
    a = await createSensor(database.db, world);
    b = await createSensor(database.db, world, (await createElevator(database.db, world)).id);
    broker = await startMosquitto(database.db);
    runtime = await startAdmin(broker);
  });

  afterAll(async () => {
    await runtime?.close();
    await broker?.stop();
  });

  it("refuses sensor B under sensor A's client id (generated file); A stays connected", async () => {
    const victim = await device(broker.url, a.id, a.key, { protocolVersion: 5 });
    const closed = watchClose(victim);
    for (let i = 0; i < 5; i++) {
      const v = i % 2 ? 4 : 5;
      expect(await tryConnect(broker, b.id, b.key, a.id, v)).toMatch(/not authori[sz]ed/i);
    }
    expect(await tryConnect(broker, b.id, b.key, `b-${randomUUID()}`, 4)).toMatch(/not authori[sz]ed/i);
    await stillServed(victim, a.id, closed);
    expect(await tryConnect(broker, b.id, b.key, b.id, 4)).toBe("connected");
    await victim.endAsync();
  });

  it("closes a sensor's connection at a packet over 64 KiB; a smaller oversized event is a dead letter", async () => {
    const sensor = await device(broker.url, a.id, a.key);
    const padded = (bytes: number) =>
      JSON.stringify({ ...event("heartbeat", 0), padding: "x".repeat(bytes) });
    await sensor.publishAsync(eventsTopic(a.id), padded(40_000), { qos: 1 });
    await waitFor(async () => (await deadLetterReasons(database.db, a.id)).includes("payload_too_large"));
    await sensor.endAsync();
    for (let i = 0; i < 3; i++) {
      const big = await device(broker.url, a.id, a.key);
      const closed = new Promise<void>((resolve) => big.once("close", () => resolve()));
      void big.publishAsync(eventsTopic(a.id), padded(100_000), { qos: 1 }).catch(() => {});
      await closed;
      await big.endAsync(true);
    }
    expect(await deadLetterReasons(database.db, a.id)).toEqual(["payload_too_large"]);
  });

  it("binds a sensor registered after the file was written to its own id", async () => {
    // What registering does on the broker's side (the route calls AppDeps.devices inside its
    // transaction): the plugin's createClient, here with the sensor's own id as client id.
    const register = async () => {
      const sensor = await createSensor(database.db, world, (await createElevator(database.db, world)).id);
      await runtime.devices.addSensor(sensor.id, sensor.key);
      return sensor;
    };
    const c = await register();
    const d = await register();
    const victim = await device(broker.url, c.id, c.key, { protocolVersion: 5 });
    const closed = watchClose(victim);
    for (let i = 0; i < 5; i++) {
      expect(await tryConnect(broker, d.id, d.key, c.id, 5)).toMatch(/not authori[sz]ed/i);
    }
    await stillServed(victim, c.id, closed);
    await victim.endAsync();
  });
});

describe("a broker file generated before the binding", () => {
  let broker: Mosquitto;
  let runtime: IngestRuntime | undefined;

  afterAll(async () => {
    await runtime?.close();
    await broker?.stop();
  });

  it("is bound when the app's admin connects", async () => {
    const a = await createSensor(database.db, world);
    const b = await createSensor(database.db, world, (await createElevator(database.db, world)).id);
    broker = await startMosquitto(database.db);
    // The file as the earlier mqtt:setup wrote it: no client ids.
    await broker.down();
    const file = join(broker.dir, DYNSEC_FILE);
    const config = JSON.parse(await readFile(file, "utf8")) as DynsecConfig;
    for (const c of config.clients) delete c.clientid;
    await writeFile(file, JSON.stringify(config, null, "\t"));
    await broker.up();
    expect(await tryConnect(broker, b.id, b.key, a.id, 4)).toBe("connected");

    runtime = await startAdmin(broker);
    await waitFor(
      async () => (await tryConnect(broker, b.id, b.key, a.id, 4)) !== "connected",
      10_000,
      "the logins bound",
    );
    const victim = await device(broker.url, a.id, a.key, { protocolVersion: 5 });
    const closed = watchClose(victim);
    for (let i = 0; i < 5; i++) {
      expect(await tryConnect(broker, b.id, b.key, a.id, 5)).toMatch(/not authori[sz]ed/i);
    }
    await stillServed(victim, a.id, closed);
    expect(await tryConnect(broker, b.id, b.key, b.id, 5)).toBe("connected");
    await victim.endAsync();
  });
});
