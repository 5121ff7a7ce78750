/**
 * The offline sweeper (iot/sweeper.ts): missed heartbeats → offline and one incident, however many
 * sweepers run at once; any later sign of life → online and the incident closed. The clock is
 * injected: no test waits for real heartbeat intervals.
 */
import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { sensors } from "../../db/schema.js";
import { createIngest, type Ingest } from "../../iot/ingest.js";
import { statusTopic } from "../../iot/protocol.js";
import { startSweeper, sweepOffline } from "../../iot/sweeper.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { createElevator, createIotWorld, createSensor, event, eventItem, waitFor } from "./support.js";

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
/** Extra connections: with a real PostgreSQL, concurrent sweepers really run in parallel. */
const others: DatabaseHandle[] = [];
let world: World;
let ingest: Ingest;
let scope: { communityId: string };

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  scope = { communityId: world.community.id };
  ingest = createIngest({ db: database.db, logger, clock: () => new Date(), sensorCacheTtlMs: 0 });
  if (database.kind === "postgres") for (let i = 0; i < 3; i++) others.push(await openTestDatabase());
});

afterAll(async () => {
  for (const other of others) await other.close();
  await database?.close();
});

/** A sensor on its own elevator (one open incident of a kind per elevator). */
async function newSensor(heartbeatIntervalS = 30) {
  const sensor = await createSensor(database.db, world, (await createElevator(database.db, world)).id);
  await database.db.update(sensors).set({ heartbeatIntervalS }).where(eq(sensors.id, sensor.id));
  return sensor;
}

async function send(sensorId: string, ev: Record<string, unknown>, receivedAt: Date) {
  const result = await ingest.ingestBatch([eventItem(sensorId, ev, receivedAt)]);
  expect(result.rejected).toEqual([]);
}

async function heartbeat(sensorId: string, at: Date) {
  await send(sensorId, event("heartbeat", 0, {}, at.getTime()), at);
}

async function state(sensorId: string) {
  const [row] = await database.db.select().from(sensors).where(eq(sensors.id, sensorId));
  const incidents = await queryRows<{ opened_at: Date | string; closed_at: Date | string | null }>(
    database.db,
    sql`select opened_at, closed_at from incidents where sensor_id = ${sensorId} and kind = 'sensor_offline' order by opened_at`,
  );
  return {
    online: row?.online,
    incidents: incidents.map((i) => ({
      openedAt: new Date(i.opened_at).getTime(),
      closedAt: i.closed_at === null ? null : new Date(i.closed_at).getTime(),
    })),
  };
}

const seconds = (t: Date, s: number) => new Date(t.getTime() + s * 1000);

describe("offline sweeper", () => {
  it("marks a sensor offline after 3 missed intervals of its own heartbeat, with one incident", async () => {
    const t0 = new Date(Date.now() - 1000);
    const every30 = await newSensor();
    const every10 = await newSensor(10);
    await heartbeat(every30.id, t0);
    await heartbeat(every10.id, t0);
    expect(await state(every30.id)).toEqual({ online: true, incidents: [] });

    // 29 s: the 10 s sensor has missed two beats only; 31 s: three.
    expect((await sweepOffline(database.db, seconds(t0, 29), scope)).offline).toEqual([]);
    const at31 = seconds(t0, 31);
    expect(await sweepOffline(database.db, at31, scope)).toEqual({ offline: [every10.id], incidents: 1 });
    expect(await state(every10.id)).toEqual({
      online: false,
      incidents: [{ openedAt: at31.getTime(), closedAt: null }],
    });
    expect((await state(every30.id)).online).toBe(true);

    const at91 = seconds(t0, 91);
    expect(await sweepOffline(database.db, at91, scope)).toEqual({ offline: [every30.id], incidents: 1 });
    // Sweeping again changes nothing: still one incident each.
    expect(await sweepOffline(database.db, seconds(t0, 200), scope)).toEqual({ offline: [], incidents: 0 });
    expect((await state(every30.id)).incidents).toEqual([{ openedAt: at91.getTime(), closedAt: null }]);
    expect((await state(every10.id)).incidents).toHaveLength(1);
  });

  it("opens one incident per sensor when several sweepers run at once", async () => {
    const t0 = new Date(Date.now() - 1000);
    const many = await Promise.all(Array.from({ length: 12 }, () => newSensor()));
    for (const s of many) await heartbeat(s.id, t0);
    const now = seconds(t0, 100);
    // With PostgreSQL, four connections sweep in parallel (row locks decide who flips a sensor);
    // PGlite is one connection, where they interleave as far as it lets them.
    const dbs = others.length ? [database.db, ...others.map((o) => o.db)] : [database.db, database.db];
    const results = await Promise.all(dbs.map((db) => sweepOffline(db, now, scope)));
    const flipped = results.flatMap((r) => r.offline).sort();
    expect(flipped).toEqual(many.map((s) => s.id).sort());
    expect(results.reduce((n, r) => n + r.incidents, 0)).toBe(many.length);
    for (const s of many) {
      expect(await state(s.id)).toEqual({
        online: false,
        incidents: [{ openedAt: now.getTime(), closedAt: null }],
      });
    }
  });

  it("brings a sensor back on a heartbeat or any event, but not on one older than its outage", async () => {
    const t0 = new Date(Date.now() - 200_000);
    const byHeartbeat = await newSensor();
    const byFault = await newSensor();
    for (const s of [byHeartbeat, byFault]) await heartbeat(s.id, t0);
    const down = seconds(t0, 95);
    await sweepOffline(database.db, down, scope);

    // A backlog event from before the outage (delivered late) proves nothing about now.
    await send(byHeartbeat.id, event("heartbeat", 0, {}, seconds(t0, 60).getTime()), seconds(t0, 120));
    expect(await state(byHeartbeat.id)).toEqual({
      online: false,
      incidents: [{ openedAt: down.getTime(), closedAt: null }],
    });

    const back = seconds(t0, 130);
    await heartbeat(byHeartbeat.id, back);
    await send(byFault.id, event("fault", 0, {}, back.getTime()), back);
    for (const s of [byHeartbeat, byFault]) {
      expect(await state(s.id)).toEqual({
        online: true,
        incidents: [{ openedAt: down.getTime(), closedAt: back.getTime() }],
      });
    }
    // Not flapping: the fault counts as a sign of life for the next sweep too.
    expect((await sweepOffline(database.db, seconds(back, 60), scope)).offline).toEqual([]);
  });

  it("does not double the last-will's incident, and an `online` status closes it", async () => {
    const t0 = new Date(Date.now() - 200_000);
    const s = await newSensor();
    await heartbeat(s.id, t0);
    const will = seconds(t0, 10);
    const status = (payload: string, receivedAt: Date) =>
      ingest.ingestBatch([{ topic: statusTopic(s.id), payload: Buffer.from(payload), receivedAt }]);
    await status("offline", will);
    expect(await sweepOffline(database.db, seconds(t0, 100), scope)).toEqual({ offline: [], incidents: 0 });
    const back = seconds(t0, 120);
    await status("online", back);
    expect(await state(s.id)).toEqual({
      online: true,
      incidents: [{ openedAt: will.getTime(), closedAt: back.getTime() }],
    });
  });

  it("a last-will delivered again when the consumer re-subscribes reopens nothing for a sensor alive since", async () => {
    const t0 = new Date(Date.now() - 200_000);
    const s = await newSensor();
    const retained = (payload: string, receivedAt: Date) =>
      ingest.ingestBatch([
        { topic: statusTopic(s.id), payload: Buffer.from(payload), receivedAt, retained: true },
      ]);
    // Went offline (last-will), came back by heartbeats only, without announcing `online`.
    await ingest.ingestBatch([{ topic: statusTopic(s.id), payload: Buffer.from("offline"), receivedAt: t0 }]);
    await heartbeat(s.id, seconds(t0, 60));
    await heartbeat(s.id, seconds(t0, 90));
    // The consumer reconnects and the broker hands it the retained `offline` again.
    await retained("offline", seconds(t0, 100));
    await retained("online", seconds(t0, 101));
    expect(await state(s.id)).toEqual({
      online: true,
      incidents: [{ openedAt: t0.getTime(), closedAt: seconds(t0, 60).getTime() }],
    });
    // Silent for 3 intervals since: the same retained last-will now agrees, and counts.
    await retained("offline", seconds(t0, 181));
    expect(await state(s.id)).toMatchObject({ online: false, incidents: [{}, { closedAt: null }] });
  });

  it("runs on a timer with the injected clock, and stops", async () => {
    const t0 = new Date(Date.now() - 1000);
    const s = await newSensor();
    await heartbeat(s.id, t0);
    let now = t0;
    const sweeper = startSweeper({ db: database.db, logger, scope, clock: () => now, intervalMs: 20 });
    try {
      now = seconds(t0, 95);
      await waitFor(async () => (await state(s.id)).online === false, 5_000, "the timer's sweep");
      expect((await state(s.id)).incidents).toHaveLength(1);
    } finally {
      await sweeper.stop();
    }
    const back = seconds(t0, 100);
    await heartbeat(s.id, back);
    now = seconds(t0, 1000);
    // Stopped: no tick runs any more (a tick would flip it offline at t0 + 1000 s).
    await new Promise((r) => setTimeout(r, 100));
    expect(await state(s.id)).toEqual({
      online: true,
      incidents: [{ openedAt: seconds(t0, 95).getTime(), closedAt: back.getTime() }],
    });
  });
});
