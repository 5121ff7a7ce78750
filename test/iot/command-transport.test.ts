/**
 * Device commands over both brokers: the embedded aedes and a real Mosquitto set up as
 * `npm run mqtt:setup` does (the shipped config, dynamic-security logins). A stored `pending`
 * command reaches its device, the device's answer is stored, a second app instance does not
 * publish a command again, and no sensor reads or forges another's commands or answers.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import mqtt, { type MqttClient } from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { notificationEvents, sensors } from "../../db/schema.js";
import {
  type CommandDispatcher,
  type CommandPublisher,
  mqttCommandPublisher,
  startCommandDispatcher,
} from "../../iot/command-dispatcher.js";
import { commandResultsTopic, commandsTopic, eventsTopic } from "../../iot/protocol.js";
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
  event,
  freePort,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
let world: World;
let mosquitto: Mosquitto;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  mosquitto = await startMosquitto(database.db);
});

afterAll(async () => {
  await mosquitto?.stop();
  await database?.close();
});

type Sensor = Awaited<ReturnType<typeof createSensor>>;

/** A device subscribed to its commands, keeping every message it gets. */
async function listeningDevice(url: string, sensor: Sensor, protocolVersion: 4 | 5) {
  const client = await device(url, sensor.id, sensor.key, { protocolVersion });
  const received: Record<string, unknown>[] = [];
  client.on("message", (topic, payload) => {
    if (topic === commandsTopic(sensor.id)) received.push(JSON.parse(payload.toString()));
  });
  const granted = await client.subscribeAsync(commandsTopic(sensor.id), { qos: 1 });
  expect(granted[0]?.qos).toBe(1);
  return { client, received };
}

const answer = (client: MqttClient, sensorId: string, body: unknown) =>
  client.publishAsync(commandResultsTopic(sensorId), JSON.stringify(body), { qos: 1 });

interface Setup {
  /** A sensor with its login on the broker (Mosquitto learns it from the app's admin). */
  sensor(): Promise<Sensor>;
  url: string;
  protocolVersion: 4 | 5;
  runtime: IngestRuntime;
  commands: CommandDispatcher;
}

function suite(name: string, start: () => Promise<Setup>, publishRefusal: string) {
  describe(`device commands over ${name}`, () => {
    let s: Setup;
    beforeAll(async () => {
      s = await start();
    });
    afterAll(async () => {
      await s?.runtime.close();
    });

    it("publishes a stored command to its device, marks it sent, and stores the device's answer", async () => {
      const sensor = await s.sensor();
      const dev = await listeningDevice(s.url, sensor, s.protocolVersion);
      const command = await createCommand(database.db, world, sensor);
      s.commands.kick();
      const message = await waitFor(async () => dev.received[0], 10_000, "the command");
      expect(message).toEqual({
        commandId: command.id,
        type: "release",
        issuedAt: command.issuedAt.toISOString(),
        expiresAt: command.expiresAt.toISOString(),
      });
      const sent = await waitFor(async () => {
        const row = await commandRow(database.db, command.id);
        return row.state === "sent" && row;
      });
      expect(sent.sentAt).toBeInstanceOf(Date);

      // On aedes the PUBACK of the answer follows its commit; Mosquitto acknowledges on its own.
      await answer(dev.client, sensor.id, { commandId: command.id, result: "applied" });
      const done = await waitFor(async () => {
        const row = await commandRow(database.db, command.id);
        return row.state === "applied" && row;
      });
      expect(done).toMatchObject({ state: "applied", resultReason: null });
      expect(done.resultAt).toBeInstanceOf(Date);
      // The same answer again (a device's retry) changes nothing.
      await answer(dev.client, sensor.id, { commandId: command.id, result: "refused", reason: "late" });
      await new Promise((r) => setTimeout(r, 300));
      expect(await commandRow(database.db, command.id)).toMatchObject({
        state: "applied",
        resultReason: null,
      });
      expect(dev.received).toHaveLength(1);
      await dev.client.endAsync();
    });

    it("records a refusal with its reason and a command_failed cause in the same transaction", async () => {
      const sensor = await s.sensor();
      const dev = await listeningDevice(s.url, sensor, s.protocolVersion);
      const until = new Date(Date.now() + 3_600_000).toISOString();
      const command = await createCommand(database.db, world, sensor, {
        type: "set_blocking",
        params: { enabled: false, until },
      });
      s.commands.kick();
      const message = await waitFor(async () => dev.received[0], 10_000, "the command");
      expect(message).toMatchObject({ commandId: command.id, type: "set_blocking", enabled: false, until });
      await answer(dev.client, sensor.id, {
        commandId: command.id,
        result: "refused",
        reason: "firmware 1.2 cannot switch blocking off",
      });
      await waitFor(async () => (await commandRow(database.db, command.id)).state !== "sent");
      expect(await commandRow(database.db, command.id)).toMatchObject({
        state: "refused",
        resultReason: "firmware 1.2 cannot switch blocking off",
      });
      const causes = await database.db
        .select()
        .from(notificationEvents)
        .where(
          and(eq(notificationEvents.subjectId, command.id), eq(notificationEvents.type, "command_failed")),
        );
      expect(causes).toHaveLength(1);
      expect(causes[0]).toMatchObject({
        streetId: world.street.id,
        communityId: world.community.id,
        facilityId: sensor.facilityId,
        enterpriseOrgId: world.enterprise.org.id,
        payload: {
          commandId: command.id,
          commandType: "set_blocking",
          sensorId: sensor.id,
          result: "refused",
          reason: "firmware 1.2 cannot switch blocking off",
        },
      });
      await dev.client.endAsync();
    });

    it("an applied set_heartbeat changes the interval the offline sweeper expects", async () => {
      const sensor = await s.sensor();
      const dev = await listeningDevice(s.url, sensor, s.protocolVersion);
      const command = await createCommand(database.db, world, sensor, {
        type: "set_heartbeat",
        params: { intervalS: 120 },
      });
      s.commands.kick();
      await waitFor(async () => dev.received[0], 10_000, "the command");
      await answer(dev.client, sensor.id, { commandId: command.id, result: "applied" });
      await waitFor(async () => (await commandRow(database.db, command.id)).state === "applied");
      const [row] = await database.db.select().from(sensors).where(eq(sensors.id, sensor.id));
      expect(row?.heartbeatIntervalS).toBe(120);
      await dev.client.endAsync();
    });

    it("a sensor can not read another sensor's commands (SUBACK refused, nothing received)", async () => {
      const a = await s.sensor();
      const b = await s.sensor();
      const spy = await device(s.url, a.id, a.key, { protocolVersion: s.protocolVersion });
      const got: string[] = [];
      spy.on("message", (topic) => got.push(topic));
      for (const filter of [commandsTopic(b.id), "bot/v1/sensors/+/commands", "bot/v1/sensors/#", "#"]) {
        // A SUBACK whose every code is a refusal: MQTT.js rejects (3.1.1 0x80, v5 0x87 Not authorized).
        const granted = await spy.subscribeAsync(filter, { qos: 1 }).then(
          (g) => g[0]?.qos,
          (err: Error) => err.message,
        );
        expect(String(granted), filter).toMatch(/^(128|135)$|Subscribe error/);
      }
      const owner = await listeningDevice(s.url, b, s.protocolVersion);
      const command = await createCommand(database.db, world, b);
      s.commands.kick();
      await waitFor(async () => owner.received[0], 10_000, "the owner's command");
      // The owner's PUBACK path has run; give a stray delivery a moment to show up.
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toEqual([]);
      expect(owner.received.map((m) => m.commandId)).toEqual([command.id]);
      await spy.endAsync();
      await owner.client.endAsync();
    });

    it("a sensor can publish neither a command nor another sensor's answer", async () => {
      for (let round = 0; round < 3; round++) {
        const a = await s.sensor();
        const b = await s.sensor();
        const owner = await listeningDevice(s.url, b, s.protocolVersion);
        const command = await createCommand(database.db, world, b);
        s.commands.kick();
        await waitFor(async () => owner.received[0], 10_000, "the owner's command");
        const forged = [
          { topic: commandsTopic(b.id), body: { commandId: randomUUID(), type: "release" } },
          { topic: commandsTopic(a.id), body: { commandId: randomUUID(), type: "release" } },
          { topic: commandResultsTopic(b.id), body: { commandId: command.id, result: "refused" } },
        ];
        for (const { topic, body } of forged) {
          const intruder = await device(s.url, a.id, a.key, { protocolVersion: s.protocolVersion });
          const closed = new Promise<void>((resolve) => intruder.once("close", () => resolve()));
          const outcome = intruder.publishAsync(topic, JSON.stringify(body), { qos: 1 }).then(
            () => "puback",
            (err: Error) => err.message,
          );
          // Both brokers drop a connection that publishes where it may not (aedes without a PUBACK).
          await closed;
          if (publishRefusal !== "any") expect(await outcome, topic).toBe(publishRefusal);
          await intruder.endAsync(true);
        }
        await new Promise((r) => setTimeout(r, 200));
        expect(owner.received.map((m) => m.commandId)).toEqual([command.id]);
        expect((await commandRow(database.db, command.id)).state).toBe("sent");
        await owner.client.endAsync();
      }
    });

    it("refuses an invalid answer with its reason and ignores one to another sensor's command", async () => {
      const a = await s.sensor();
      const b = await s.sensor();
      const dev = await listeningDevice(s.url, a, s.protocolVersion);
      const mine = await createCommand(database.db, world, a);
      const theirs = await createCommand(database.db, world, b);
      s.commands.kick();
      await waitFor(async () => dev.received[0], 10_000, "the command");
      const invalid = { ...s.commands.counters.invalid };
      const unknown = s.commands.counters.unknown;
      await dev.client.publishAsync(commandResultsTopic(a.id), "{not json", { qos: 1 });
      await answer(dev.client, a.id, { commandId: mine.id, result: "done" });
      await answer(dev.client, a.id, { commandId: mine.id, result: "applied", extra: 1 });
      await answer(dev.client, a.id, { commandId: theirs.id, result: "applied" });
      await answer(dev.client, a.id, { commandId: randomUUID(), result: "applied" });
      await waitFor(async () => s.commands.counters.unknown === unknown + 2, 5_000, "the answers handled");
      expect(s.commands.counters.invalid.malformed_json).toBe((invalid.malformed_json ?? 0) + 1);
      expect(s.commands.counters.invalid.schema_violation).toBe((invalid.schema_violation ?? 0) + 2);
      expect(s.commands.counters.unknown).toBe(unknown + 2);
      expect((await commandRow(database.db, mine.id)).state).toBe("sent");
      expect((await commandRow(database.db, theirs.id)).state).not.toBe("applied");
      // Events still flow on the same connection.
      await dev.client.publishAsync(eventsTopic(a.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
      await dev.client.endAsync();
    });

    it("two app instances publish each command once", async () => {
      const sensor = await s.sensor();
      const dev = await listeningDevice(s.url, sensor, s.protocolVersion);
      // A second instance: its own dispatcher (and on Mosquitto its own connection), same database.
      const second = startCommandDispatcher({
        store: commandStore(database.db, () => new Date()),
        publisher:
          name === "Mosquitto"
            ? mqttCommandPublisher({
                url: s.url,
                ...INGEST_USER,
                clientId: `second-${randomUUID().slice(0, 8)}`,
                logger,
              })
            : await appConnection(s.url),
        logger,
        intervalMs: 50,
      });
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        ids.push(
          (await createCommand(database.db, world, sensor, { issuedAt: new Date(Date.now() + i) })).id,
        );
        if (i % 5 === 0) {
          s.commands.kick();
          second.kick();
        }
      }
      s.commands.kick();
      second.kick();
      await waitFor(async () => dev.received.length >= 30 && dev.received, 15_000, "30 commands");
      await new Promise((r) => setTimeout(r, 500));
      const got = dev.received.map((m) => String(m.commandId)).sort();
      expect(got).toEqual([...ids].sort());
      await second.close();
      await dev.client.endAsync();
    });
  });
}

const sensorOn = (runtime: IngestRuntime) => async () => {
  const sensor = await createSensor(database.db, world);
  await runtime.devices.addSensor(sensor.id, sensor.key);
  return sensor;
};

/** A publisher over an MQTT 3.1.1 connection of the app's login (aedes speaks 3.1.1). */
async function appConnection(url: string): Promise<CommandPublisher> {
  const client = await mqtt.connectAsync(url, {
    ...INGEST_USER,
    clientId: `second-${randomUUID().slice(0, 8)}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  return {
    get connected() {
      return client.connected;
    },
    publish: (topic, payload) => client.publishAsync(topic, payload, { qos: 1 }).then(() => undefined),
    close: () => client.endAsync(),
  };
}

/** The app's runtime as src/node.ts starts it, with the command store. */
async function runtimeOn(config: { MQTT_URL?: string; MQTT_PORT: number }) {
  return startIngestRuntime({
    config: {
      ...config,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `commands-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
    },
    db: database.db,
    logger,
    sweeper: { scope: { communityId: world.community.id } },
    commandStore: commandStore(database.db, () => new Date()),
  });
}

suite(
  "aedes (embedded)",
  async () => {
    const port = await freePort();
    const runtime = await runtimeOn({ MQTT_PORT: port });
    if (!runtime.commands) throw new Error("no dispatcher");
    return {
      sensor: sensorOn(runtime),
      url: `mqtt://127.0.0.1:${port}`,
      protocolVersion: 4,
      runtime,
      commands: runtime.commands,
    };
  },
  // MQTT 3.1.1 has no refusal of one message: aedes drops the connection.
  "any",
);

suite(
  "Mosquitto",
  async () => {
    const runtime = await runtimeOn({ MQTT_URL: mosquitto.url, MQTT_PORT: 0 });
    if (!runtime.commands) throw new Error("no dispatcher");
    await waitFor(
      async () => {
        const ready = await runtime.readiness();
        return ready.mqtt?.ok && ready.brokerAdmin?.ok;
      },
      10_000,
      "the consumer and the broker admin",
    );
    return {
      sensor: sensorOn(runtime),
      url: mosquitto.url,
      protocolVersion: 5,
      runtime,
      commands: runtime.commands,
    };
  },
  "Publish error: Not authorized",
);
