/**
 * The embedded broker (aedes): device authentication against the sensors table, the topic ACL,
 * and events committed (through the group-commit writer) before the device gets its PUBACK.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../iot/broker.js";
import { createIngest } from "../../iot/ingest.js";
import { eventsTopic } from "../../iot/protocol.js";
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
} from "./support.js";

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
let world: World;
let broker: EmbeddedBroker;
let writer: Writer;
let url: string;
let a: Awaited<ReturnType<typeof createSensor>>;
let b: Awaited<ReturnType<typeof createSensor>>;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  a = await createSensor(database.db, world);
  b = await createSensor(database.db, world, (await createElevator(database.db, world)).id);
  const ingest = createIngest({ db: database.db, logger, clock: () => new Date() });
  writer = createWriter({ ingestBatch: ingest.ingestBatch, logger });
  broker = await startEmbeddedBroker({
    db: database.db,
    writer,
    logger,
    port: 0,
    host: "127.0.0.1",
    internal: INGEST_USER,
  });
  url = `mqtt://127.0.0.1:${broker.port}`;
});

afterAll(async () => {
  await broker?.close();
  await writer?.close();
  await database?.close();
});

describe("the embedded broker", () => {
  it("commits each event before the PUBACK, exactly once despite retries", async () => {
    const sensor = await device(url, a.id, a.key);
    const topic = eventsTopic(a.id);
    const events = Array.from({ length: 200 }, (_, i) => event("heartbeat", i));
    await Promise.all(
      events.flatMap((e, i) => {
        const once = sensor.publishAsync(topic, JSON.stringify(e), { qos: 1 });
        return i % 2 ? [once, sensor.publishAsync(topic, JSON.stringify(e), { qos: 1 })] : [once];
      }),
    );
    // Every PUBACK came after the commit: no waiting needed.
    expect(await countEvents(database.db, a.id)).toBe(200);
    // A device that lost its connection sends the same events again on a new one.
    await sensor.endAsync();
    const again = await device(url, a.id, a.key);
    await Promise.all(
      events.slice(0, 50).map((e) => again.publishAsync(topic, JSON.stringify(e), { qos: 1 })),
    );
    expect(await countEvents(database.db, a.id)).toBe(200);
    await again.endAsync();
  });

  it("builds one correct incident when the clear arrives before its detection", async () => {
    const sensor = await device(url, b.id, b.key);
    const topic = eventsTopic(b.id);
    const base = Date.now() - 600_000;
    await sensor.publishAsync(topic, JSON.stringify(event("ebike_cleared", 30, {}, base)), { qos: 1 });
    expect(await incidentsOf(database.db, b.facilityId)).toEqual([]);
    await sensor.publishAsync(topic, JSON.stringify(event("ebike_detected", 0, {}, base)), { qos: 1 });
    const detectedAgain = event("ebike_detected", 10, {}, base);
    await sensor.publishAsync(topic, JSON.stringify(detectedAgain), { qos: 1 });
    await sensor.publishAsync(topic, JSON.stringify(detectedAgain), { qos: 1 });
    const incidents = await incidentsOf(database.db, b.facilityId);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ kind: "ebike", detections: 2, halt_seconds: 30 });
    await sensor.endAsync();
  });

  it("names the sensor of the earliest detection as the incident's opener when it arrives last", async () => {
    const elevator = await createElevator(database.db, world);
    const first = await createSensor(database.db, world, elevator.id);
    const second = await createSensor(database.db, world, elevator.id);
    const base = Date.now() - 600_000;
    const later = await device(url, second.id, second.key);
    for (const e of [event("ebike_detected", 12, {}, base), event("ebike_cleared", 13, {}, base)]) {
      await later.publishAsync(eventsTopic(second.id), JSON.stringify(e), { qos: 1 });
    }
    const earlier = await device(url, first.id, first.key);
    await earlier.publishAsync(eventsTopic(first.id), JSON.stringify(event("ebike_detected", 10, {}, base)), {
      qos: 1,
    });
    const rows = await queryRows<{ sensor_id: string; detections: number; halt_seconds: number }>(
      database.db,
      sql`select sensor_id, detections, halt_seconds from incidents where facility_id = ${elevator.id}`,
    );
    expect(rows).toEqual([{ sensor_id: first.id, detections: 2, halt_seconds: 3 }]);
    await later.endAsync();
    await earlier.endAsync();
  });

  it("dead-letters bad input and unknown sensors, and the stream goes on", async () => {
    const sensor = await device(url, a.id, a.key);
    await sensor.publishAsync(eventsTopic(a.id), "[1,2", { qos: 1 });
    await sensor.publishAsync(eventsTopic(a.id), JSON.stringify({ type: "heartbeat" }), { qos: 1 });
    const good = event("fault", 0);
    await sensor.publishAsync(eventsTopic(a.id), JSON.stringify(good), { qos: 1 });
    expect(await deadLetterReasons(database.db, a.id)).toEqual([
      "malformed_json",
      expect.stringMatching(/^schema_violation: eventId /),
    ]);
    expect(await countEvents(database.db, a.id)).toBe(201);
    // The ingest user may publish for any sensor id: an unknown one is a dead letter.
    const tool = await device(url, INGEST_USER.username, INGEST_USER.password);
    const ghost = randomUUID();
    await tool.publishAsync(eventsTopic(ghost), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
    expect(await deadLetterReasons(database.db, ghost)).toEqual(["unknown_sensor"]);
    await sensor.endAsync();
    await tool.endAsync();
  });

  it("refuses wrong keys, and a sensor publishing on another sensor's topic", async () => {
    const wrong = await device(url, a.id, "bot_s_wrong").then(
      () => "connected",
      (err: Error) => err.message,
    );
    expect(wrong).toMatch(/Bad username or password/i);
    const intruder = await device(url, a.id, a.key);
    const closed = new Promise<void>((resolve) => intruder.once("close", () => resolve()));
    void intruder
      .publishAsync(eventsTopic(b.id), JSON.stringify(event("ebike_detected", 0)), { qos: 1 })
      .catch(() => {});
    await closed;
    await intruder.endAsync(true);
    const [row] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from sensor_events where sensor_id = ${b.id} and type = 'ebike_detected' and occurred_at > now() - interval '1 hour'`,
    );
    expect(row?.n).toBe(2);
  });

  it("says in one line when the port is taken", async () => {
    const error = await startEmbeddedBroker({
      db: database.db,
      writer,
      logger,
      port: broker.port,
      host: "127.0.0.1",
    }).then(
      () => "started",
      (err: Error) => err.message,
    );
    expect(error).toBe(
      `MQTT port ${broker.port} is taken: set MQTT_PORT to a free port, or MQTT_URL=mqtt://host:port to use an existing broker`,
    );
  });

  it("reports whether it listens (the /readyz mqtt check)", async () => {
    const other = await startEmbeddedBroker({ db: database.db, writer, logger, port: 0, host: "127.0.0.1" });
    expect(other.listening).toBe(true);
    await other.close();
    expect(other.listening).toBe(false);
  });
});
