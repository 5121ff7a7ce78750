/**
 * A broker outage while commands wait: nothing is marked sent that the broker did not confirm,
 * and once Mosquitto is back every command reaches its device once. Repeated.
 */
import { randomUUID } from "node:crypto";
import mqtt from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { commandsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, startIngestRuntime } from "../../iot/runtime.js";
import { commandStore } from "../../src/services/sensors/command-delivery.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import {
  commandRow,
  createCommand,
  createIotWorld,
  createSensor,
  device,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

let database: DatabaseHandle;
let world: World;
let broker: Mosquitto;
let runtime: IngestRuntime;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  broker = await startMosquitto(database.db);
  runtime = await startIngestRuntime({
    config: {
      MQTT_URL: broker.url,
      MQTT_PORT: 0,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `outage-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
    },
    db: database.db,
    logger: pino({ level: "silent" }),
    sweeper: { scope: { communityId: world.community.id } },
    commandStore: commandStore(database.db, () => new Date()),
    commandIntervalMs: 100,
  });
  await waitFor(async () => (await runtime.readiness()).brokerAdmin?.ok, 10_000, "the broker admin");
});

afterAll(async () => {
  await runtime?.close();
  await broker?.stop();
  await database?.close();
});

describe("commands across a broker outage", () => {
  it.each([1, 2, 3])(
    "stay pending while Mosquitto is down and arrive once when it is back (round %i)",
    async () => {
      // After the previous round's outage the app reconnects on its own back-off: wait for it.
      await waitFor(
        async () => {
          const ready = await runtime.readiness();
          return ready.brokerAdmin?.ok && ready.mqtt?.ok;
        },
        20_000,
        "the app connected to the broker again",
      );
      const sensor = await createSensor(database.db, world);
      await runtime.devices.addSensor(sensor.id, sensor.key);
      // A persistent session, so that the device's subscription outlives the outage.
      const options = {
        protocolVersion: 5 as const,
        clean: false,
        properties: { sessionExpiryInterval: 600 },
      };
      const first = await device(broker.url, sensor.id, sensor.key, options);
      await first.subscribeAsync(commandsTopic(sensor.id), { qos: 1 });
      await first.endAsync();

      await broker.down();
      const commands = [
        await createCommand(database.db, world, sensor),
        await createCommand(database.db, world, sensor, { type: "set_heartbeat", params: { intervalS: 60 } }),
      ];
      runtime.commands?.kick();
      await new Promise((r) => setTimeout(r, 1_000));
      for (const c of commands) expect((await commandRow(database.db, c.id)).state).toBe("pending");

      await broker.up();
      await waitFor(
        async () => {
          const rows = await Promise.all(commands.map((c) => commandRow(database.db, c.id)));
          return rows.every((r) => r.state === "sent");
        },
        30_000,
        "the commands sent after the outage",
      );
      const received: string[] = [];
      // The queued commands come right after the CONNACK: listen before connecting.
      const back = mqtt.connect(broker.url, {
        ...options,
        clientId: sensor.id,
        username: sensor.id,
        password: sensor.key,
        reconnectPeriod: 0,
      });
      back.on("message", (_t, p) => received.push(String(JSON.parse(p.toString()).commandId)));
      await new Promise<void>((resolve, reject) => {
        back.once("connect", () => resolve());
        back.once("error", reject);
      });
      await waitFor(async () => received.length >= 2, 10_000, "the queued commands");
      await new Promise((r) => setTimeout(r, 300));
      expect(received.sort()).toEqual(commands.map((c) => c.id).sort());
      await back.endAsync();
    },
    60_000,
  );
});
