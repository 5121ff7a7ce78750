/**
 * The traffic simulator (tools/simulator.ts): the plan is deterministic and says exactly what it
 * holds; published through the embedded aedes and through Mosquitto into the real ingest, the
 * database ends up with exactly the valid distinct events (duplicates not doubled) and one dead
 * letter, with the right reason, per malformed message.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../iot/broker.js";
import { type Consumer, startConsumer } from "../../iot/consumer.js";
import { createIngest } from "../../iot/ingest.js";
import { parseEvent } from "../../iot/protocol.js";
import { createWriter, type Writer } from "../../iot/writer.js";
import {
  type ExpectedReason,
  planTraffic,
  publishTraffic,
  type ScheduledMessage,
  type TrafficOptions,
} from "../../tools/simulator.js";
import {
  createElevator,
  createIotWorld,
  createSensor,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "../iot/support.js";
import { openTestDatabase } from "../support/db.js";

const fakeSensors = Array.from({ length: 4 }, () => ({ id: randomUUID() }));
const options = (over: Partial<TrafficOptions> = {}): TrafficOptions => ({
  seed: 7,
  sensors: fakeSensors,
  messages: 3_000,
  endAt: new Date("2026-03-01T08:00:00+08:00"),
  duplicateRatio: 0.05,
  malformedRatio: 0.03,
  ...over,
});

describe("the traffic plan", () => {
  it("is deterministic for a seed, and another seed gives other traffic", () => {
    const a = [...planTraffic(options())];
    expect([...planTraffic(options())]).toEqual(a);
    const other = [...planTraffic(options({ seed: 8 }))];
    expect(other.map((m) => m.payload)).not.toEqual(a.map((m) => m.payload));
    // The plan can be iterated again (the publisher does, after counting).
    const plan = planTraffic(options());
    expect([...plan]).toEqual([...plan]);
  });

  it("holds exactly what it counts, and every message is what its kind says", () => {
    const plan = planTraffic(options());
    const messages = [...plan];
    const e = plan.expected;
    expect(messages).toHaveLength(3_000);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i));
    const count = (kind: ScheduledMessage["kind"]) => messages.filter((m) => m.kind === kind).length;
    expect([count("valid"), count("duplicate"), count("malformed")]).toEqual([
      e.valid,
      e.duplicates,
      e.malformed,
    ]);
    expect(e.valid + e.duplicates + e.malformed).toBe(3_000);
    // The ratios are what was asked, roughly; every kind of traffic is there.
    expect(e.duplicates / 3_000).toBeGreaterThan(0.03);
    expect(e.malformed / 3_000).toBeGreaterThan(0.015);
    for (const n of [...Object.values(e.byType), ...Object.values(e.byReason), e.outOfOrder, e.falseAlarms])
      expect(n).toBeGreaterThan(0);

    const seen = new Map<string, string>();
    const receivedAt = plan.to;
    for (const m of messages) {
      const parsed = parseEvent(m.topic, Buffer.from(m.payload), receivedAt);
      const key = `${m.sensorId}/${m.eventId}`;
      if (m.kind === "malformed") {
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(parsed.reason.startsWith(m.expectedReason ?? "?")).toBe(true);
      } else {
        expect(parsed).toMatchObject({
          ok: true,
          sensorId: m.sensorId,
          event: { eventId: m.eventId, type: m.type },
        });
      }
      if (m.kind === "valid") {
        expect(seen.has(key)).toBe(false);
        seen.set(key, m.payload);
      }
      // A duplicate is an exact re-send of an event already sent.
      if (m.kind === "duplicate") expect(seen.get(key)).toBe(m.payload);
    }

    // A clear published before its detection: that detection comes later, yet happened earlier.
    const early = messages.filter((m) => m.outOfOrder);
    expect(early.length).toBe(e.outOfOrder);
    for (const clear of early) {
      const detect = messages.find(
        (m) => m.seq > clear.seq && m.sensorId === clear.sensorId && m.kind === "valid",
      );
      expect(detect?.type).toBe("ebike_detected");
      const at = (m: ScheduledMessage | undefined) =>
        (JSON.parse(m?.payload ?? "{}") as { occurredAt: string }).occurredAt;
      expect(Date.parse(at(detect))).toBeLessThan(Date.parse(at(clear)));
    }
  });
});

// ---- through the brokers into the real ingest ------------------------------------------------

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
let writer: Writer;
let aedes: EmbeddedBroker;
let mosquitto: Mosquitto;
let consumer: Consumer;
type Sensor = Awaited<ReturnType<typeof createSensor>>;
let viaAedes: Sensor[];
let viaMosquitto: Sensor[];

beforeAll(async () => {
  database = await openTestDatabase();
  const world = await createIotWorld(database.db);
  const other = await createElevator(database.db, world);
  const five = () =>
    Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        createSensor(database.db, world, i % 2 ? other.id : world.elevator.id),
      ),
    );
  viaAedes = await five();
  viaMosquitto = await five();
  const ingest = createIngest({ db: database.db, logger, clock: () => new Date() });
  writer = createWriter({ ingestBatch: ingest.ingestBatch, logger });
  aedes = await startEmbeddedBroker({ db: database.db, writer, logger, port: 0, host: "127.0.0.1" });
  mosquitto = await startMosquitto(database.db);
  consumer = startConsumer({
    url: mosquitto.url,
    writer,
    logger,
    ...INGEST_USER,
    clientIdPrefix: `sim-test-${randomUUID().slice(0, 8)}`,
    connections: 2,
    shared: true,
  });
  await consumer.ready();
});

afterAll(async () => {
  await consumer?.close();
  await aedes?.close();
  await mosquitto?.stop();
  await writer?.close();
  await database?.close();
});

async function storedEventIds(sensorId: string): Promise<string[]> {
  const rows = await queryRows<{ event_id: string }>(
    database.db,
    sql`select event_id from sensor_events where sensor_id = ${sensorId} order by event_id`,
  );
  return rows.map((r) => r.event_id);
}

async function deadLetters(sensorId: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ reason: string }>(
    database.db,
    sql`select reason from dead_letters where sensor_id = ${sensorId}`,
  );
  const byReason: Record<string, number> = {};
  for (const { reason } of rows) {
    const kind = reason.split(":")[0] ?? reason;
    byReason[kind] = (byReason[kind] ?? 0) + 1;
  }
  return byReason;
}

/** ~3 s of traffic from five sensors; then the database must hold exactly the plan's events. */
async function simulate(url: string, sensors: Sensor[], protocolVersion: 4 | 5, waitForCommit: boolean) {
  const rate = 150;
  const durationS = 3;
  const plan = planTraffic({
    seed: 42,
    sensors,
    messages: rate * durationS,
    endAt: new Date(Date.now() + durationS * 1000),
    runId: `t${protocolVersion}`,
    duplicateRatio: 0.05,
    malformedRatio: 0.04,
  });
  const summary = await publishTraffic({ url, sensors, plan, rate, maxInFlight: 64, protocolVersion });
  const e = plan.expected;
  expect(summary).toMatchObject({
    published: e.messages,
    valid: e.valid,
    duplicates: e.duplicates,
    malformed: e.malformed,
    failed: 0,
    skipped: 0,
    statusPublished: sensors.length,
  });
  expect(summary.elapsedMs).toBeGreaterThanOrEqual(durationS * 1000 * 0.9);
  expect(summary.puback.count).toBe(e.messages);
  expect(e.duplicates).toBeGreaterThan(0);
  expect(e.malformed).toBeGreaterThan(0);

  const messages = [...plan];
  for (const sensor of sensors) {
    const mine = messages.filter((m) => m.sensorId === sensor.id);
    const valid = mine.filter((m) => m.kind === "valid").map((m) => m.eventId ?? "");
    const reasons: Partial<Record<ExpectedReason, number>> = {};
    for (const m of mine)
      if (m.expectedReason) reasons[m.expectedReason] = (reasons[m.expectedReason] ?? 0) + 1;
    if (waitForCommit) {
      // Mosquitto acknowledges the device on receipt; the ingest commits a moment later.
      await waitFor(
        async () => (await storedEventIds(sensor.id)).length >= valid.length,
        10_000,
        `the events of ${sensor.id}`,
      );
    }
    expect(await storedEventIds(sensor.id)).toEqual([...valid].sort());
    expect(await deadLetters(sensor.id)).toEqual(reasons);
    expect(summary.perSensor[sensor.id]).toMatchObject({ valid: valid.length, failed: 0 });
  }
  const online = await queryRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from sensors
        where id in (${sql.join(
          sensors.map((s) => sql`${s.id}`),
          sql`, `,
        )}) and online and last_heartbeat_at is not null`,
  );
  expect(online[0]?.n).toBe(sensors.length);
}

describe("simulated traffic into the real ingest", () => {
  it("through the embedded aedes (MQTT 3.1.1): exactly the valid events, every malformed one dead-lettered", async () => {
    // aedes acknowledges only after the commit: nothing to wait for.
    await simulate(`mqtt://127.0.0.1:${aedes.port}`, viaAedes, 4, false);
  });

  it("through Mosquitto with the shipped config (MQTT v5)", async () => {
    await simulate(mosquitto.url, viaMosquitto, 5, true);
  });
});
