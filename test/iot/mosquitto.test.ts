/**
 * Ingest through a real Mosquitto started with the shipped iot/mosquitto.conf and ACL: the
 * MQTT.js consumer (shared subscription, persistent sessions) and the group-commit writer.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { sensors } from "../../db/schema.js";
import { type Consumer, startConsumer } from "../../iot/consumer.js";
import { createIngest } from "../../iot/ingest.js";
import { eventsTopic, statusTopic } from "../../iot/protocol.js";
import { createWriter, type Writer } from "../../iot/writer.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import {
  countEvents,
  createElevator,
  createIotWorld,
  createSensor,
  deadLetterReasons,
  device,
  event,
  INGEST_USER,
  incidentsOf,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
let world: World;
let broker: Mosquitto;
let writer: Writer;
let consumer: Consumer;
let a: Awaited<ReturnType<typeof createSensor>>;
let b: Awaited<ReturnType<typeof createSensor>>;
let c: Awaited<ReturnType<typeof createSensor>>;
let revoked: Awaited<ReturnType<typeof createSensor>>;
const clientIdPrefix = `bot-ingest-${randomUUID().slice(0, 8)}`;

const startIngest = () =>
  startConsumer({
    url: broker.url,
    writer,
    logger,
    ...INGEST_USER,
    clientIdPrefix,
    connections: 4,
    shared: true,
  });

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  a = await createSensor(database.db, world);
  b = await createSensor(database.db, world);
  c = await createSensor(database.db, world, (await createElevator(database.db, world)).id);
  revoked = await createSensor(database.db, world);
  broker = await startMosquitto(database.db);
  const ingest = createIngest({ db: database.db, logger, clock: () => new Date() });
  writer = createWriter({ ingestBatch: ingest.ingestBatch, logger });
  consumer = startIngest();
  await consumer.ready();
});

afterAll(async () => {
  await consumer?.close();
  await writer?.close();
  await broker?.stop();
  await database?.close();
});

describe("sensor events through Mosquitto", () => {
  it("stores N events exactly once despite device retries and broker redeliveries", async () => {
    const sensor = await device(broker.url, a.id, a.key, { protocolVersion: 5 });
    const events = Array.from({ length: 300 }, (_, i) => event("heartbeat", i));
    const topic = eventsTopic(a.id);
    // The first half, each sent twice (a device retrying after a lost PUBACK).
    await Promise.all(
      events
        .slice(0, 150)
        .flatMap((e) => [
          sensor.publishAsync(topic, JSON.stringify(e), { qos: 1 }),
          sensor.publishAsync(topic, JSON.stringify(e), { qos: 1 }),
        ]),
    );
    // The consumer goes away mid-stream (unacknowledged messages stay with the broker)…
    await consumer.close();
    await Promise.all(
      events.slice(150).map((e) => sensor.publishAsync(topic, JSON.stringify(e), { qos: 1 })),
    );
    // …and the same client ids come back: the broker delivers what queued meanwhile.
    consumer = startIngest();
    await consumer.ready();
    await waitFor(async () => (await countEvents(database.db, a.id)) >= 300, 15_000, "300 events");
    // Once more, everything again: nothing new.
    await Promise.all(
      events.slice(0, 20).map((e) => sensor.publishAsync(topic, JSON.stringify(e), { qos: 1 })),
    );
    const marker = event("heartbeat", 1000);
    await sensor.publishAsync(topic, JSON.stringify(marker), { qos: 1 });
    await waitFor(async () => (await countEvents(database.db, a.id)) === 301, 10_000, "the marker");
    expect(await countEvents(database.db, a.id)).toBe(301);
    const [row] = await database.db.select().from(sensors).where(eq(sensors.id, a.id));
    expect(row?.lastHeartbeatAt).not.toBeNull();
    expect(row?.online).toBe(true);
    await sensor.endAsync();
  });

  it("turns detections and clears into incidents, ordered by occurredAt, not arrival", async () => {
    const sensor = await device(broker.url, c.id, c.key);
    const topic = eventsTopic(c.id);
    const base = Date.now() - 600_000;
    // The clear arrives first, then the detection and a repeat of it, then a new detection.
    for (const e of [
      event("ebike_cleared", 45, {}, base),
      event("ebike_detected", 0, {}, base),
      event("ebike_detected", 5, {}, base),
      event("ebike_detected", 120, { carHalted: false }, base),
    ]) {
      await sensor.publishAsync(topic, JSON.stringify(e), { qos: 1 });
    }
    const rows = await waitFor(
      async () => {
        const list = await incidentsOf(database.db, c.facilityId);
        return list.length === 2 && list[0]?.detections === 2 ? list : null;
      },
      10_000,
      "two incidents",
    );
    expect(rows[0]).toMatchObject({ kind: "ebike", detections: 2, halt_seconds: 45 });
    expect(new Date(rows[0]?.opened_at ?? 0).getTime()).toBe(base);
    expect(rows[1]).toMatchObject({ kind: "ebike", detections: 1, closed_at: null, halt_seconds: null });
    await sensor.endAsync();
  });

  it("dead-letters each kind of bad input and goes on with the stream", async () => {
    const sensor = await device(broker.url, b.id, b.key);
    const topic = eventsTopic(b.id);
    const bad: (string | Buffer)[] = [
      "{not json",
      JSON.stringify({ ...event("ebike_detected", 0), confidence: 1.5 }),
      JSON.stringify({ ...event("heartbeat", 0), padding: "x".repeat(9000) }),
      JSON.stringify(event("heartbeat", 0, {}, Date.now() + 10 * 60_000)),
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      JSON.stringify({ ...event("fault", 0), extra: true }),
    ];
    for (const payload of bad) await sensor.publishAsync(topic, payload, { qos: 1 });
    const good = event("heartbeat", 1);
    await sensor.publishAsync(topic, JSON.stringify(good), { qos: 1 });
    await waitFor(async () => (await countEvents(database.db, b.id)) === 1, 10_000, "the good event");
    expect(await deadLetterReasons(database.db, b.id)).toEqual([
      "malformed_json",
      "schema_violation: confidence must be a number from 0 to 1",
      "payload_too_large",
      "future_timestamp",
      "malformed_json",
      "schema_violation: extra is not a known field",
    ]);
    await sensor.endAsync();
  });

  it("dead-letters the events of a sensor revoked while it is still connected", async () => {
    const sensor = await device(broker.url, revoked.id, revoked.key);
    await database.db.update(sensors).set({ revokedAt: new Date() }).where(eq(sensors.id, revoked.id));
    await sensor.publishAsync(eventsTopic(revoked.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
    await waitFor(async () => (await deadLetterReasons(database.db, revoked.id)).length === 1);
    expect(await deadLetterReasons(database.db, revoked.id)).toEqual(["revoked_sensor"]);
    expect(await countEvents(database.db, revoked.id)).toBe(0);
    await sensor.endAsync();
  });

  it("refuses a sensor publishing on another sensor's topic (the ACL), and drops its connection", async () => {
    const before = await countEvents(database.db, c.id);
    for (const protocolVersion of [5, 4] as const) {
      const intruder = await device(broker.url, a.id, a.key, { protocolVersion });
      const closed = new Promise<void>((resolve) => intruder.once("close", () => resolve()));
      const answer = await intruder
        .publishAsync(eventsTopic(c.id), JSON.stringify(event("ebike_detected", 0)), { qos: 1 })
        .then(
          () => "puback",
          (err: Error) => err.message,
        );
      // Mosquitto 2.0 answers PUBACK 0x87 (v5: an error; v3.1.1 can not tell it from success) and
      // then closes the connection, for both protocol versions.
      expect(answer).toBe(protocolVersion === 5 ? "Publish error: Not authorized" : "puback");
      await closed;
      await intruder.endAsync(true);
    }
    // The sensor's own events still go through; nothing reached the other sensor.
    const sensor = await device(broker.url, a.id, a.key);
    await sensor.publishAsync(eventsTopic(a.id), JSON.stringify(event("heartbeat", 2000)), { qos: 1 });
    await waitFor(async () => (await countEvents(database.db, a.id)) === 302, 10_000, "own event");
    expect(await countEvents(database.db, c.id)).toBe(before);
    await sensor.endAsync();
  });

  it("opens a sensor_offline incident on the last-will and closes it when the sensor is back", async () => {
    const will = { topic: statusTopic(b.id), payload: Buffer.from("offline"), qos: 1 as const, retain: true };
    const sensor = await device(broker.url, b.id, b.key, { will, keepalive: 5 });
    await sensor.publishAsync(statusTopic(b.id), "online", { qos: 1, retain: true });
    await waitFor(
      async () => (await database.db.select().from(sensors).where(eq(sensors.id, b.id)))[0]?.online,
    );
    // The connection dies without DISCONNECT: the broker publishes the will.
    sensor.stream.destroy();
    const offline = await waitFor(async () => {
      const list = await incidentsOf(database.db, b.facilityId);
      return list.find((i) => i.kind === "sensor_offline" && i.closed_at === null);
    });
    expect(offline).toBeTruthy();
    const back = await device(broker.url, b.id, b.key);
    await back.publishAsync(statusTopic(b.id), "online", { qos: 1, retain: true });
    await waitFor(async () => {
      const list = await incidentsOf(database.db, b.facilityId);
      return (
        list.some((i) => i.kind === "sensor_offline") &&
        !list.some((i) => i.kind === "sensor_offline" && !i.closed_at)
      );
    });
    await back.endAsync();
  });
});
