/**
 * What one sensor may cost the ingest: its rate limit (MQTT through the embedded broker, and
 * HTTP), the bounded payload a dead letter keeps, oversize payloads refused unread, the per-sensor
 * dead-letter quota, and the retention sweep. The ingest's clock is fixed, so a bucket never
 * refills during a test: what is stored is exact, not a matter of timing.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../iot/broker.js";
import { type Consumer, startConsumer } from "../../iot/consumer.js";
import { runDeadLetterRetention } from "../../iot/dead-letter-retention.js";
import { createIngest, type IngestOptions } from "../../iot/ingest.js";
import { eventsTopic, MAX_PAYLOAD_BYTES } from "../../iot/protocol.js";
import { createSensorRateLimiter } from "../../iot/rate-limit.js";
import { createWriter, type Writer } from "../../iot/writer.js";
import { loadConfig } from "../../src/config.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import {
  countEvents,
  createElevator,
  createIotWorld,
  createSensor,
  device,
  event,
  eventItem,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

type Sensor = Awaited<ReturnType<typeof createSensor>>;

const logger = pino({ level: "silent" });
const NOW = new Date();
const clock = () => NOW;
const ROUNDS = 5;
/** What a dead letter keeps of a payload at most. */
const PREFIX_BYTES = 1024;

let database: DatabaseHandle;
let world: World;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
});
afterAll(() => database?.close());

/** A sensor on an elevator of its own (its incidents are its own). */
async function newSensor() {
  return createSensor(database.db, world, (await createElevator(database.db, world)).id);
}

interface DeadLetterRow {
  reason: string;
  payload: string;
  payload_base64: boolean;
  payload_bytes: number;
  message_count: number;
}

async function deadLettersOf(sensorId: string): Promise<DeadLetterRow[]> {
  return queryRows<DeadLetterRow>(
    database.db,
    sql`select reason, payload, payload_base64, payload_bytes, message_count
        from dead_letters where sensor_id = ${sensorId} order by id`,
  );
}

const ingestWith = (limits: IngestOptions["limits"], now: () => Date = clock) =>
  createIngest({ db: database.db, logger, clock: now, limits });

describe("the per-sensor rate limit", () => {
  describe("over MQTT (the embedded broker)", () => {
    const BURST = 20;
    let broker: EmbeddedBroker;
    let writer: Writer;
    let ingest: ReturnType<typeof createIngest>;
    let url: string;

    beforeAll(async () => {
      ingest = ingestWith({ sensorRate: { perSecond: 1, burst: BURST } });
      writer = createWriter({ ingestBatch: ingest.ingestBatch, logger, lingerMs: 1 });
      broker = await startEmbeddedBroker({
        db: database.db,
        writer,
        logger,
        port: 0,
        host: "127.0.0.1",
        clock,
      });
      url = `mqtt://127.0.0.1:${broker.port}`;
    });
    afterAll(async () => {
      await broker?.close();
      await writer?.close();
    });

    it(`stores a flooding sensor's burst only and dead-letters the rest unread, while another sensor loses nothing, ${ROUNDS} times`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const flooder = await newSensor();
        const neighbour = await newSensor();
        const limitedBefore = ingest.counters.byReason.rate_limited ?? 0;
        const flood = Array.from({ length: 200 }, (_, i) => JSON.stringify(event("heartbeat", i)));
        // The neighbour sends each event twice (a device re-sending after a lost PUBACK): its
        // burst exactly.
        const own = Array.from({ length: BURST / 2 }, (_, i) => JSON.stringify(event("heartbeat", i)));
        const [a, b] = [
          await device(url, flooder.id, flooder.key),
          await device(url, neighbour.id, neighbour.key),
        ];
        await Promise.all([
          ...flood.map((p) => a.publishAsync(eventsTopic(flooder.id), p, { qos: 1 })),
          ...own.flatMap((p) => [
            b.publishAsync(eventsTopic(neighbour.id), p, { qos: 1 }),
            b.publishAsync(eventsTopic(neighbour.id), p, { qos: 1 }),
          ]),
        ]);
        await Promise.all([a.endAsync(), b.endAsync()]);

        // Every PUBACK came after its commit.
        expect(await countEvents(database.db, flooder.id)).toBe(BURST);
        const limited = await deadLettersOf(flooder.id);
        expect(limited.length).toBeGreaterThan(0);
        for (const row of limited) expect(row).toMatchObject({ reason: "rate_limited", payload: "" });
        const over = flood.length - BURST;
        expect(limited.reduce((n, r) => n + r.message_count, 0)).toBe(over);
        // payload_bytes: the size of what was refused, though none of it is kept.
        expect(limited.reduce((n, r) => n + r.payload_bytes, 0)).toBeGreaterThan(over * 100);
        expect((ingest.counters.byReason.rate_limited ?? 0) - limitedBefore).toBe(over);

        expect(await countEvents(database.db, neighbour.id)).toBe(own.length);
        expect(await deadLettersOf(neighbour.id)).toEqual([]);
      }
    });
  });

  describe("over MQTT (Mosquitto and the ingest consumer)", () => {
    const BURST = 20;
    let broker: Mosquitto;
    let writer: Writer;
    let consumer: Consumer;
    let ingest: ReturnType<typeof createIngest>;
    const pairs: { flooder: Sensor; neighbour: Sensor }[] = [];

    beforeAll(async () => {
      // Mosquitto learns the logins of the sensors that exist when it starts.
      for (let round = 0; round < ROUNDS; round++) {
        pairs.push({ flooder: await newSensor(), neighbour: await newSensor() });
      }
      broker = await startMosquitto(database.db);
      ingest = ingestWith({ sensorRate: { perSecond: 1, burst: BURST } });
      writer = createWriter({ ingestBatch: ingest.ingestBatch, logger, lingerMs: 1 });
      consumer = startConsumer({
        url: broker.url,
        writer,
        logger,
        ...INGEST_USER,
        clientIdPrefix: `limits-${randomUUID().slice(0, 8)}`,
        clock,
      });
      await consumer.ready();
    });
    afterAll(async () => {
      await consumer?.close();
      await writer?.close();
      await broker?.stop();
    });

    it(`stores a flooding sensor's burst only, while another sensor loses nothing, ${ROUNDS} times`, async () => {
      for (const { flooder, neighbour } of pairs) {
        const flood = Array.from({ length: 200 }, (_, i) => JSON.stringify(event("heartbeat", i)));
        const own = Array.from({ length: BURST / 2 }, (_, i) => JSON.stringify(event("heartbeat", i)));
        const a = await device(broker.url, flooder.id, flooder.key, { protocolVersion: 5 });
        const b = await device(broker.url, neighbour.id, neighbour.key, { protocolVersion: 5 });
        await Promise.all([
          ...flood.map((p) => a.publishAsync(eventsTopic(flooder.id), p, { qos: 1 })),
          ...own.flatMap((p) => [
            b.publishAsync(eventsTopic(neighbour.id), p, { qos: 1 }),
            b.publishAsync(eventsTopic(neighbour.id), p, { qos: 1 }),
          ]),
        ]);
        await Promise.all([a.endAsync(), b.endAsync()]);
        // Mosquitto acknowledges the device before the ingest commits: wait for every message.
        const over = flood.length - BURST;
        const limitedCount = async () =>
          (await deadLettersOf(flooder.id)).reduce((n, r) => n + r.message_count, 0);
        await waitFor(async () => (await limitedCount()) === over, 15_000, "the flood dead-lettered");
        await waitFor(
          async () => (await countEvents(database.db, neighbour.id)) === own.length,
          15_000,
          "theirs",
        );
        await waitFor(async () => writer.pending === 0, 15_000, "the writer idle");
        expect(await countEvents(database.db, flooder.id)).toBe(BURST);
        for (const row of await deadLettersOf(flooder.id)) {
          expect(row).toMatchObject({ reason: "rate_limited", payload: "" });
        }
        expect(await countEvents(database.db, neighbour.id)).toBe(own.length);
        expect(await deadLettersOf(neighbour.id)).toEqual([]);
      }
    });
  });

  describe("over HTTP, with the shipped defaults", () => {
    it(`answers the requests past a sensor's burst rate_limited, item by item, and stores another sensor's events once, ${ROUNDS} times`, async () => {
      const app = createTestApp(database.db, { now: clock });
      for (let round = 0; round < ROUNDS; round++) {
        const flooder = await newSensor();
        const neighbour = await newSensor();
        const path = (id: string) => `/v1/sensors/${id}/events`;
        const batch = () => Array.from({ length: 500 }, (_, i) => event("heartbeat", i));
        const neighbours = Array.from({ length: 10 }, (_, i) => event("heartbeat", i));
        const [first, second, theirs, again] = await Promise.all([
          client(app, flooder.key).post(path(flooder.id), batch()),
          client(app, flooder.key).post(path(flooder.id), batch()),
          client(app, neighbour.key).post(path(neighbour.id), neighbours),
          client(app, neighbour.key).post(path(neighbour.id), neighbours),
        ]);
        for (const res of [first, second, theirs, again]) expect(res.status).toBe(200);

        // The default burst is one full request: one of the two is stored, the other refused.
        const answers = [first.body, second.body];
        expect(answers.map((b) => b.stored.length).sort((x: number, y: number) => x - y)).toEqual([0, 500]);
        const refused = answers.find((b) => b.stored.length === 0);
        expect(refused.rejected).toHaveLength(500);
        for (const r of refused.rejected)
          expect(r).toEqual({ index: expect.any(Number), reason: "rate_limited" });
        expect(await countEvents(database.db, flooder.id)).toBe(500);
        const limited = await deadLettersOf(flooder.id);
        expect(limited).toEqual([
          expect.objectContaining({ reason: "rate_limited", payload: "", message_count: 500 }),
        ]);

        // The other sensor, at the same moment: stored once, the retry answered as duplicates.
        expect([theirs.body.stored.length, again.body.stored.length].sort()).toEqual([0, 10]);
        expect(theirs.body.rejected).toEqual([]);
        expect(again.body.rejected).toEqual([]);
        expect(await countEvents(database.db, neighbour.id)).toBe(10);
      }
    });
  });

  it(`does not count an attempt that did not commit against the sensor (the writer retries it), ${ROUNDS} times`, async () => {
    // A database that fails every statement, as one gone away does: the batch fails transient.
    const gone = await openDatabase({ dataDir: "memory://" });
    await gone.close();
    for (let round = 0; round < ROUNDS; round++) {
      const ingest = ingestWith({ sensorRate: { perSecond: 1, burst: 10 } });
      const sensor = await newSensor();
      // The first batch caches the sensor, so the next attempt gets as far as its transaction.
      expect((await ingest.ingestBatch([eventItem(sensor.id, event("heartbeat", 0), NOW)])).stored).toBe(1);
      const items = Array.from({ length: 9 }, (_, i) => eventItem(sensor.id, event("heartbeat", i + 1), NOW));
      await expect(ingest.ingestBatch(items, gone.db)).rejects.toThrow();
      const retried = await ingest.ingestBatch(items);
      expect(retried.rejected).toEqual([]);
      expect(retried.stored).toBe(9);
      expect(await countEvents(database.db, sensor.id)).toBe(10);
      // The burst is spent now, by what was stored.
      const extra = await ingest.ingestBatch([eventItem(sensor.id, event("heartbeat", 99), NOW)]);
      expect(extra.rejected).toEqual([{ index: 0, reason: "rate_limited" }]);
    }
  });

  it("holds a bucket only for sensors seen within its refill time", () => {
    const limiter = createSensorRateLimiter({ perSecond: 5, burst: 500 });
    for (let i = 0; i < 10_000; i++) expect(limiter.take(`sensor-${i}`, 1, 0)).toBe(1);
    expect(limiter.size).toBe(10_000);
    // 500 tokens at 5 a second: every bucket is full again after 100 s, the same as none.
    expect(limiter.take("sensor-0", 1, 100_000)).toBe(1);
    expect(limiter.size).toBe(1);
  });
});

describe("dead letters", () => {
  it("keep the start of a payload and its whole size; a cut never splits a character", async () => {
    const ingest = ingestWith({});
    const sensor = await newSensor();
    const ascii = `{"eventId":"x",${"a".repeat(5_000)}`; // malformed JSON, under the protocol's limit
    const text = "电梯".repeat(1_000); // three bytes a character: 1024 falls inside one
    await ingest.ingestBatch(
      [ascii, text].map((p) => ({ topic: eventsTopic(sensor.id), payload: Buffer.from(p), receivedAt: NOW })),
    );
    const rows = await deadLettersOf(sensor.id);
    expect(rows.map((r) => r.reason)).toEqual(["malformed_json", "malformed_json"]);
    const [first, second] = rows as [DeadLetterRow, DeadLetterRow];
    expect(first).toMatchObject({ payload_base64: false, payload_bytes: Buffer.byteLength(ascii) });
    expect(first.payload).toBe(ascii.slice(0, PREFIX_BYTES));
    expect(second).toMatchObject({ payload_base64: false, payload_bytes: Buffer.byteLength(text) });
    expect(Buffer.byteLength(second.payload)).toBeLessThanOrEqual(PREFIX_BYTES);
    expect(text.startsWith(second.payload)).toBe(true);
    expect(second.payload.length).toBe(Math.floor(PREFIX_BYTES / 3));
  });

  it("refuse a payload over the protocol's limit without reading it: no eventId in the answer", async () => {
    const app = createTestApp(database.db, { now: clock });
    const sensor = await newSensor();
    // A valid event in every field but its size.
    const big = event("fault", 0, { message: "x".repeat(MAX_PAYLOAD_BYTES) });
    const res = await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, [big]);
    expect(res.status).toBe(200);
    expect(res.body.rejected).toEqual([{ index: 0, reason: "payload_too_large" }]);
    const [row] = await deadLettersOf(sensor.id);
    expect(row).toMatchObject({
      reason: "payload_too_large",
      payload_bytes: Buffer.byteLength(JSON.stringify(big)),
    });
    expect(row?.payload.length).toBe(PREFIX_BYTES);
  });

  it(`are stored up to a sensor's quota a day, and beyond only counted, on every instance, ${ROUNDS} times`, async () => {
    const QUOTA = 5;
    for (let round = 0; round < ROUNDS; round++) {
      let now = NOW;
      const ingest = ingestWith({ deadLettersPerSensor: QUOTA }, () => now);
      const sensor = await newSensor();
      const other = await newSensor();
      const bad = (id: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          topic: eventsTopic(id),
          payload: Buffer.from(`not json ${i}`),
          receivedAt: now,
        }));
      const before = { ...ingest.counters };
      for (let batch = 0; batch < 3; batch++) {
        const result = await ingest.ingestBatch([...bad(sensor.id, 4), ...bad(other.id, 1)]);
        // The sender's answer is the same whether the dead letter was stored or only counted.
        expect(result.rejected.map((r) => r.reason)).toEqual(Array(5).fill("malformed_json"));
      }
      expect(await deadLettersOf(sensor.id)).toHaveLength(QUOTA);
      expect(await deadLettersOf(other.id)).toHaveLength(3);
      expect(ingest.counters.deadLetters - before.deadLetters).toBe(15);
      expect(ingest.counters.deadLettersNotStored - before.deadLettersNotStored).toBe(12 - QUOTA);

      // Another instance (nothing in memory) finds the quota in the database.
      const elsewhere = ingestWith({ deadLettersPerSensor: QUOTA }, () => now);
      await elsewhere.ingestBatch(bad(sensor.id, 2));
      expect(await deadLettersOf(sensor.id)).toHaveLength(QUOTA);
      expect(elsewhere.counters.deadLettersNotStored).toBe(2);

      // A day later the window has moved on.
      now = new Date(NOW.getTime() + 25 * 3_600_000);
      await ingest.ingestBatch(bad(sensor.id, 1));
      await elsewhere.ingestBatch(bad(sensor.id, 1));
      expect(await deadLettersOf(sensor.id)).toHaveLength(QUOTA + 2);
    }
  });

  it("past their retention are deleted in batches by sweeps running at once; recent ones stay", async () => {
    // Far in the past, so that no other suite's dead letters (on a shared PostgreSQL) are in reach.
    const sweepAt = new Date("2001-03-01T00:00:00Z");
    const sensor = await newSensor();
    const day = 24 * 3_600_000;
    const insert = (count: number, receivedAt: Date) =>
      database.db.execute(
        sql`insert into dead_letters (topic, sensor_id, payload, payload_bytes, reason, received_at)
            select ${eventsTopic(sensor.id)}, ${sensor.id}, 'x', 1, 'malformed_json', ${receivedAt.toISOString()}::timestamptz
            from generate_series(1, ${count})`,
      );
    await insert(12_001, new Date(sweepAt.getTime() - 31 * day));
    await insert(7, new Date(sweepAt.getTime() - 29 * day));
    const retentionDays = loadConfig({}).DEAD_LETTER_RETENTION_DAYS;
    expect(retentionDays).toBe(30);
    const sweep = () =>
      runDeadLetterRetention({ db: database.db, logger, clock: () => sweepAt, retentionDays });
    const deleted = await Promise.all([sweep(), sweep(), sweep()]);
    expect(deleted.reduce((n, d) => n + d, 0)).toBe(12_001);
    expect(await deadLettersOf(sensor.id)).toHaveLength(7);
    expect(await sweep()).toBe(0);
  });
});
