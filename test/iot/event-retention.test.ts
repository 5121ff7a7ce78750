/**
 * Bounded storage of sensor events (iot/event-partitions.ts): the exactly-once key (sensor,
 * eventId, occurredAt) within the window, a restarted counter's events stored, resends from
 * before the window dead-lettered, heartbeats rolled up per Shanghai day for good, and the
 * partition upkeep making partitions ahead (moving what the default partition took) and dropping
 * them behind, evidence only once no elevator in it still needs it.
 */
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { type Database, queryRows } from "../../db/database.js";
import { contracts } from "../../db/schema.js";
import {
  acceptedFrom,
  DEFAULT_EVENT_RETENTION,
  runEventPartitionUpkeep,
  shanghaiDate,
} from "../../iot/event-partitions.js";
import { createIngest } from "../../iot/ingest.js";
import { loadConfig } from "../../src/config.js";
import { client, createTestApp } from "../support/app.js";
import { createScratchDatabase, openTestDatabase } from "../support/db.js";
import { createContractRecord, type World } from "../support/factories.js";
import {
  countEvents,
  createElevator,
  createIotWorld,
  createSensor,
  deadLetterReasons,
  event,
  eventItem,
} from "./support.js";

const DAY = 24 * 60 * 60 * 1000;
const logger = pino({ level: "silent" });
const at = (ms: number) => new Date(ms).toISOString();

/** The partition each of a sensor's events is in, by eventId. */
async function partitionsOf(db: Database, sensorId: string) {
  return queryRows<{ event_id: string; part: string }>(
    db,
    sql`select event_id, tableoid::regclass::text as part from sensor_events where sensor_id = ${sensorId} order by occurred_at, event_id desc`,
  );
}

async function tableExists(db: Database, name: string) {
  const [row] = await queryRows<{ found: boolean }>(
    db,
    sql`select to_regclass(${name}) is not null as found`,
  );
  return row?.found ?? false;
}

describe("the exactly-once key and the window", () => {
  let database: DatabaseHandle;
  let world: World;
  beforeAll(async () => {
    database = await openTestDatabase();
    world = await createIotWorld(database.db);
  });
  afterAll(() => database.close());

  it("stores a resend once, however its occurredAt is written, and a restarted counter's reused eventId as a new event", async () => {
    const sensor = await createSensor(database.db, world);
    const api = client(createTestApp(database.db), sensor.key);
    const post = (events: unknown[]) => api.post(`/v1/sensors/${sensor.id}/events`, events);
    const t = Date.now() - 3_600_000;
    const heartbeat = { ...event("heartbeat", 0), eventId: "hb-1", occurredAt: at(t) };
    // The same instant at +08:00: the device's resend of the same event.
    const resend = {
      ...heartbeat,
      occurredAt: new Date(t + 8 * 3_600_000).toISOString().replace("Z", "+08:00"),
    };
    const first = await post([heartbeat, resend]);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ stored: ["hb-1"], duplicates: ["hb-1"], rejected: [] });
    expect((await post([heartbeat])).body).toMatchObject({ stored: [], duplicates: ["hb-1"] });

    // After a reboot the counter starts again: hb-1 and d-1 come back with later times.
    const detected = { ...event("ebike_detected", 0), eventId: "d-1", occurredAt: at(t + 60_000) };
    expect((await post([detected])).body.stored).toEqual(["d-1"]);
    const restarted = [
      { ...heartbeat, occurredAt: at(t + 1_800_000) },
      { ...detected, occurredAt: at(t + 1_900_000) },
    ];
    expect((await post(restarted)).body).toMatchObject({ stored: ["hb-1", "d-1"], duplicates: [] });
    expect((await post(restarted)).body).toMatchObject({ stored: [], duplicates: ["hb-1", "d-1"] });
    expect(await countEvents(database.db, sensor.id)).toBe(4);
  });

  it("dead-letters an event from before its type's window (outside_retention_window) and stores one just inside it", async () => {
    const sensor = await createSensor(database.db, world);
    const now = new Date();
    const ingest = createIngest({ db: database.db, logger, clock: () => now });
    const edge = (type: string) => acceptedFrom(type, now, DEFAULT_EVENT_RETENTION).getTime();
    // Raw heartbeats: 7 full Shanghai days before today; evidence: the month of 365 days ago on.
    expect(shanghaiDate(edge("heartbeat"))).toBe(shanghaiDate(now.getTime() - 7 * DAY));
    expect(shanghaiDate(edge("fault")).slice(0, 7)).toBe(shanghaiDate(now.getTime() - 365 * DAY).slice(0, 7));
    const items = [
      { ...event("heartbeat", 0), eventId: "hb-in", occurredAt: at(edge("heartbeat")) },
      { ...event("heartbeat", 0), eventId: "hb-out", occurredAt: at(edge("heartbeat") - 1) },
      { ...event("fault", 0), eventId: "f-in", occurredAt: at(edge("fault") + 60_000) },
      { ...event("ebike_detected", 0), eventId: "d-out", occurredAt: at(edge("ebike_detected") - 60_000) },
    ];
    const result = await ingest.ingestBatch(items.map((e) => eventItem(sensor.id, e, now)));
    expect(result.outcomes).toEqual([
      { status: "stored", eventId: "hb-in" },
      { status: "rejected", reason: "outside_retention_window", eventId: "hb-out" },
      { status: "stored", eventId: "f-in" },
      { status: "rejected", reason: "outside_retention_window", eventId: "d-out" },
    ]);
    expect(await deadLetterReasons(database.db, sensor.id)).toEqual([
      "outside_retention_window",
      "outside_retention_window",
    ]);
    expect(ingest.counters.byReason.outside_retention_window).toBe(2);
    // Over HTTP the device reads the same reason beside the eventId.
    const api = client(createTestApp(database.db, { now: () => now }), sensor.key);
    const res = await api.post(`/v1/sensors/${sensor.id}/events`, [items[1]]);
    expect(res.body.rejected).toEqual([{ index: 0, eventId: "hb-out", reason: "outside_retention_window" }]);
  });

  it("rolls a sensor's heartbeats up per Shanghai day, once each, across batches, resends and midnight", async () => {
    const sensor = await createSensor(database.db, world);
    const now = new Date();
    const ingest = createIngest({ db: database.db, logger, clock: () => now });
    const day = shanghaiDate(now.getTime() - DAY);
    const next = shanghaiDate(now.getTime());
    const wall = (date: string, time: string) => Date.parse(`${date}T${time}+08:00`);
    let n = 0;
    const beat = (ms: number) => ({ ...event("heartbeat", 0), eventId: `hb-${++n}`, occurredAt: at(ms) });
    // 23:50:00 … 23:54:30 every 30 s, silence, 23:58:00; then 00:00:30 and 00:01:00.
    const evening = Array.from({ length: 10 }, (_, k) => beat(wall(day, "23:50:00") + k * 30_000));
    const send = (events: Record<string, unknown>[]) =>
      ingest.ingestBatch(events.map((e) => eventItem(sensor.id, e, now)));
    await send(evening.slice(0, 5));
    await send([...evening.slice(4), beat(wall(day, "23:58:00"))]);
    await send([beat(wall(next, "00:00:30")), beat(wall(next, "00:01:00")), evening[0] ?? {}]);

    const days = () =>
      queryRows<{
        day: string;
        heartbeats: number;
        first_at: Date;
        last_at: Date;
        longest_gap_s: number;
        online_s: number;
        interval_s: number;
      }>(
        database.db,
        sql`select day::text, heartbeats, first_at, last_at, longest_gap_s, online_s, interval_s
            from sensor_days where sensor_id = ${sensor.id} order by day`,
      );
    const rows = await days();
    expect(rows.map((r) => ({ ...r, first_at: new Date(r.first_at), last_at: new Date(r.last_at) }))).toEqual(
      [
        {
          day,
          heartbeats: 11,
          first_at: new Date(wall(day, "23:50:00")),
          last_at: new Date(wall(day, "23:58:00")),
          // 23:54:30 → 23:58:00; it is past the offline threshold (3 × 30 s), so not uptime.
          longest_gap_s: 210,
          online_s: 9 * 30,
          interval_s: 30,
        },
        {
          day: next,
          heartbeats: 2,
          first_at: new Date(wall(next, "00:00:30")),
          last_at: new Date(wall(next, "00:01:00")),
          longest_gap_s: 30,
          online_s: 30,
          interval_s: 30,
        },
      ],
    );
    // A heartbeat that arrives after later ones of its day counts, but splits no measured gap.
    await send([beat(wall(day, "23:56:00"))]);
    const [late] = await days();
    expect(late).toMatchObject({ heartbeats: 12, longest_gap_s: 210, online_s: 270 });

    // The sensor's read shows its days, newest first.
    const read = await client(createTestApp(database.db), world.propertyCompany.key).get(
      `/v1/sensors/${sensor.id}`,
    );
    expect(read.status).toBe(200);
    expect(read.body.days).toEqual([
      {
        day: next,
        heartbeats: 2,
        firstAt: at(wall(next, "00:00:30")),
        lastAt: at(wall(next, "00:01:00")),
        longestGapSeconds: 30,
        uptimeSeconds: 30,
        heartbeatIntervalSeconds: 30,
      },
      {
        day,
        heartbeats: 12,
        firstAt: at(wall(day, "23:50:00")),
        lastAt: at(wall(day, "23:58:00")),
        longestGapSeconds: 210,
        uptimeSeconds: 270,
        heartbeatIntervalSeconds: 30,
      },
    ]);
  });
});

/**
 * The upkeep sweeps the whole table: on PostgreSQL a database of its own (other files' rows stay
 * out of it), on PGlite the file's own.
 */
async function privateDatabase(): Promise<{ db: Database; close: () => Promise<void> }> {
  const { DATABASE_URL } = loadConfig(process.env);
  if (DATABASE_URL) {
    const scratch = await createScratchDatabase(
      DATABASE_URL,
      `parts_${process.pid}_${randomUUID().slice(0, 8)}`,
    );
    return { db: scratch.db, close: () => scratch.drop() };
  }
  const handle = await openTestDatabase();
  return { db: handle.db, close: () => handle.close() };
}

describe("partition upkeep", () => {
  let database: { db: Database; close: () => Promise<void> };
  let world: World;
  beforeAll(async () => {
    database = await privateDatabase();
    world = await createIotWorld(database.db);
  });
  afterAll(() => database.close());

  const upkeep = (now: Date, retention = DEFAULT_EVENT_RETENTION) =>
    runEventPartitionUpkeep({ db: database.db, logger, clock: () => now, retention });

  it("drops the heartbeat days behind the window and keeps their daily figures", async () => {
    const sensor = await createSensor(database.db, world);
    const now = new Date();
    const ingest = createIngest({ db: database.db, logger, clock: () => now });
    const beat = { ...event("heartbeat", 0), eventId: "hb-old", occurredAt: at(now.getTime()) };
    expect((await ingest.ingestBatch([eventItem(sensor.id, beat, now)])).stored).toBe(1);
    const partition = `sensor_events_heartbeat_p${shanghaiDate(now).replaceAll("-", "")}`;
    expect(await tableExists(database.db, partition)).toBe(true);

    // Seven full days later the day is still kept; eight, and it is gone.
    expect((await upkeep(new Date(now.getTime() + 7 * DAY))).dropped).not.toContain(partition);
    expect(await countEvents(database.db, sensor.id)).toBe(1);
    expect((await upkeep(new Date(now.getTime() + 9 * DAY))).dropped).toContain(partition);
    expect(await tableExists(database.db, partition)).toBe(false);
    expect(await countEvents(database.db, sensor.id)).toBe(0);
    const [days] = await queryRows<{ heartbeats: number }>(
      database.db,
      sql`select heartbeats from sensor_days where sensor_id = ${sensor.id}`,
    );
    expect(days?.heartbeats).toBe(1);
  });

  it("drops an evidence month once every elevator in it is past its transfer by the margin, and keeps one with an elevator that has no transfer date", async () => {
    const now = new Date();
    const transferred = await createElevator(database.db, world);
    const uncontracted = await createElevator(database.db, world);
    const contract = await createContractRecord(database.db, {
      streetId: world.street.id,
      communityId: world.community.id,
      enterpriseOrgId: world.enterprise.org.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      facilityIds: [transferred.id],
    });
    await database.db
      .update(contracts)
      .set({ transferDate: shanghaiDate(now.getTime() + 30 * DAY), transferredOn: shanghaiDate(now) })
      .where(eq(contracts.id, contract.id));
    const a = await createSensor(database.db, world, transferred.id);
    const b = await createSensor(database.db, world, uncontracted.id);
    const ingest = createIngest({ db: database.db, logger, clock: () => now });
    // Two months apart, so that each is alone in its month.
    const aAt = now.getTime() - 60_000;
    const bAt = now.getTime() - 62 * DAY;
    await ingest.ingestBatch([
      eventItem(a.id, { ...event("ebike_detected", 0), eventId: "a-1", occurredAt: at(aAt) }, now),
      eventItem(b.id, { ...event("fault", 0), eventId: "b-1", occurredAt: at(bAt) }, now),
    ]);
    await upkeep(now);
    const month = (ms: number) => `sensor_events_evidence_p${shanghaiDate(ms).slice(0, 7).replace("-", "")}`;
    expect((await partitionsOf(database.db, b.id))[0]?.part).toBe(month(bAt));

    const margin = { ...DEFAULT_EVENT_RETENTION, evidenceMarginDays: 30 };
    // A month ahead of the transfer's margin: both months are kept.
    const early = await upkeep(new Date(now.getTime() + 20 * DAY), margin);
    expect(early.dropped).not.toContain(month(aAt));
    // Past it: the transferred elevator's month goes, the other elevator's stays.
    const late = await upkeep(new Date(now.getTime() + 100 * DAY), margin);
    expect(late.dropped).toContain(month(aAt));
    expect(late.dropped).not.toContain(month(bAt));
    expect(await countEvents(database.db, a.id)).toBe(0);
    expect(await countEvents(database.db, b.id)).toBe(1);
  });

  it("stores an event whose partition is not made yet, and the upkeep moves it into the partition it makes; a resend stays a duplicate", async () => {
    const sensor = await createSensor(database.db, world);
    // Far on, no upkeep having run for months: nothing is made that far ahead.
    const later = new Date(Date.now() + 400 * DAY);
    const ingest = createIngest({ db: database.db, logger, clock: () => later });
    const events = [
      { ...event("heartbeat", 0), eventId: "hb-ahead", occurredAt: at(later.getTime()) },
      { ...event("ebike_detected", 0), eventId: "d-ahead", occurredAt: at(later.getTime()) },
    ];
    const send = () => ingest.ingestBatch(events.map((e) => eventItem(sensor.id, e, later)));
    expect((await send()).stored).toBe(2);
    expect(await partitionsOf(database.db, sensor.id)).toEqual([
      { event_id: "hb-ahead", part: "sensor_events_heartbeat_default" },
      { event_id: "d-ahead", part: "sensor_events_evidence_default" },
    ]);

    const run = await upkeep(later);
    expect(run.ran).toBe(true);
    const day = shanghaiDate(later).replaceAll("-", "");
    expect(await partitionsOf(database.db, sensor.id)).toEqual([
      { event_id: "hb-ahead", part: `sensor_events_heartbeat_p${day}` },
      { event_id: "d-ahead", part: `sensor_events_evidence_p${day.slice(0, 6)}` },
    ]);
    expect(await send()).toMatchObject({ stored: 0, duplicates: 2 });
    expect(await countEvents(database.db, sensor.id)).toBe(2);
    // Made ahead of that day: a week of days, three months.
    const ahead = shanghaiDate(later.getTime() + 7 * DAY).replaceAll("-", "");
    expect(await tableExists(database.db, `sensor_events_heartbeat_p${ahead}`)).toBe(true);
  });

  // The tests above run the upkeep at later and later clocks, as time passes.
  it("runs whole when several instances run it at once, five times", async () => {
    for (let round = 1; round <= 5; round++) {
      const later = new Date(Date.now() + (500 + round * 3) * DAY);
      const runs = await Promise.all([upkeep(later), upkeep(later), upkeep(later)]);
      const made = runs.flatMap((r) => r.created);
      expect(new Set(made).size).toBe(made.length);
      const day = shanghaiDate(later.getTime() + 7 * DAY).replaceAll("-", "");
      expect(await tableExists(database.db, `sensor_events_heartbeat_p${day}`)).toBe(true);
    }
  });
});
