/**
 * Incident statistics (GET /v1/incidents/stats): a hand-made set of incidents, made by the real
 * ingest from events with known occurredAt times, gives exact counts, halt seconds, p95,
 * false-alarm rates and sensor uptime per elevator, community and Shanghai day.
 */
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createIngest } from "../../iot/ingest.js";
import { statusTopic } from "../../iot/protocol.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { createElevator, createIotWorld, createSensor, event } from "./support.js";

/** The clock of the suite: 2025-03-12 12:00 in Shanghai, after the window studied. */
const NOW = new Date("2025-03-12T12:00:00+08:00");

let database: DatabaseHandle;
let app: TestApp;
let world: World;
let e1: string;
let e2: string;

type Sensor = { id: string; key: string };

/** An event at a Shanghai wall-clock time, e.g. `at("ebike_detected", "2025-03-10T00:30")`. */
const at = (type: string, time: string, extra: Record<string, unknown> = {}) =>
  event(type, 0, extra, Date.parse(`${time}:00+08:00`));

async function send(sensor: Sensor, events: Record<string, unknown>[]) {
  const res = await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, events);
  expect(res.status).toBe(200);
  expect(res.body.stored).toHaveLength(events.length);
}

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
  world = await createIotWorld(database.db);
  e1 = world.elevator.id;
  e2 = (await createElevator(database.db, world)).id;
  const s1 = await createSensor(database.db, world, e1);
  const s2 = await createSensor(database.db, world, e2);

  // Elevator 1: one incident before the window, four in it (the third never halted the car;
  // the fourth did only from its repeated detection).
  await send(s1, [at("ebike_detected", "2025-03-09T23:00"), at("ebike_cleared", "2025-03-09T23:01")]);
  await send(s1, [at("ebike_detected", "2025-03-10T00:30"), at("ebike_cleared", "2025-03-10T00:32")]);
  await send(s1, [at("ebike_detected", "2025-03-10T23:59"), at("ebike_cleared", "2025-03-11T00:04")]);
  await send(s1, [
    at("ebike_detected", "2025-03-11T10:00", { carHalted: false }),
    at("ebike_cleared", "2025-03-11T10:01"),
  ]);
  await send(s1, [
    at("ebike_detected", "2025-03-11T12:00", { carHalted: false }),
    at("ebike_detected", "2025-03-11T12:00", { carHalted: true, occurredAt: "2025-03-11T12:00:30+08:00" }),
    at("ebike_cleared", "2025-03-11T12:10"),
  ]);
  // Elevator 2: 07:00 in Shanghai is still the 10th in UTC; one halt still open.
  await send(s2, [at("ebike_detected", "2025-03-11T07:00"), at("ebike_cleared", "2025-03-11T07:15")]);
  await send(s2, [at("ebike_detected", "2025-03-11T20:00")]);

  // Sensor health through the status topic (the last-will): sensor 1 offline 22:00 → 02:00 across
  // the window's start; sensor 2 offline from 23:00 on the 11th, still offline now.
  const ingest = createIngest({ db: database.db, logger: pino({ level: "silent" }), clock: () => NOW });
  const status = (sensor: Sensor, payload: string, time: string) =>
    ingest.ingestBatch([
      {
        topic: statusTopic(sensor.id),
        payload: Buffer.from(payload),
        receivedAt: new Date(`${time}:00+08:00`),
      },
    ]);
  await status(s1, "offline", "2025-03-09T22:00");
  await status(s1, "online", "2025-03-10T02:00");
  await status(s2, "offline", "2025-03-11T23:00");

  // The property company classifies three incidents of elevator 1.
  const pc = client(app, world.propertyCompany.key);
  const list = await pc.get(`/v1/incidents?facilityId=${e1}&kind=ebike&limit=10`);
  const opened = (time: string) => {
    const found = (list.body.items as { id: string; openedAt: string }[]).find(
      (i) => i.openedAt === new Date(`${time}:00+08:00`).toISOString(),
    );
    if (!found) throw new Error(`no incident opened at ${time}`);
    return found.id;
  };
  const classify = [
    [opened("2025-03-10T00:30"), { classification: "confirmed" }],
    [opened("2025-03-10T23:59"), { classification: "false_alarm", reason: "stroller" }],
    [opened("2025-03-11T10:00"), { classification: "false_alarm", reason: "bicycle" }],
  ] as const;
  for (const [id, body] of classify) {
    expect((await pc.post(`/v1/incidents/${id}/acknowledge`, body)).status).toBe(200);
  }
});

const stats = (query: string, key = world.ownersCommittee.key) =>
  client(app, key).get(`/v1/incidents/stats?${query}`);

describe("incident statistics", () => {
  it("per elevator: incidents, halts, halt seconds, p95, false-alarm rate and uptime", async () => {
    const res = await stats("groupBy=elevator&from=2025-03-10&to=2025-03-12");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      groupBy: "elevator",
      from: "2025-03-10",
      to: "2025-03-12",
      timeZone: "Asia/Shanghai",
    });
    const byElevator = new Map(res.body.items.map((i: { key: string }) => [i.key, i]));
    expect(byElevator.size).toBe(2);
    expect(byElevator.get(e1)).toEqual({
      key: e1,
      facilityId: e1,
      communityId: world.community.id,
      day: null,
      elevators: 1,
      incidents: 4,
      halts: 3,
      // 120 + 300 + 600 s; p95 of [120, 300, 600] s = 300 + 0.9 × 300 = 570 s.
      totalHaltSeconds: 1020,
      p95HaltSeconds: 570,
      falseAlarms: 2,
      classified: 3,
      falseAlarmRate: "0.6667",
      // 2 h offline of 48 h.
      sensorUptime: "0.9583",
    });
    expect(byElevator.get(e2)).toMatchObject({
      incidents: 2,
      halts: 2,
      // The open halt has no duration yet.
      totalHaltSeconds: 900,
      p95HaltSeconds: 900,
      classified: 0,
      falseAlarmRate: null,
      // 1 h offline (23:00 to the window's end) of 48 h.
      sensorUptime: "0.9792",
    });
  });

  it("per community: the elevators pooled", async () => {
    const res = await stats("groupBy=community&from=2025-03-10&to=2025-03-12");
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      {
        key: world.community.id,
        facilityId: null,
        communityId: world.community.id,
        day: null,
        elevators: 2,
        incidents: 6,
        halts: 5,
        // p95 of [120, 300, 600, 900] s = 600 + 0.85 × 300 = 855 s.
        totalHaltSeconds: 1920,
        p95HaltSeconds: 855,
        falseAlarms: 2,
        classified: 3,
        falseAlarmRate: "0.6667",
        // 3 h offline of 2 × 48 h = 0.96875, rounded half up.
        sensorUptime: "0.9688",
      },
    ]);
  });

  it("per Shanghai day of opening, up to the current time", async () => {
    const res = await stats("groupBy=day&from=2025-03-10&to=2025-03-14");
    expect(res.status).toBe(200);
    const pick = (i: Record<string, unknown>) => ({
      day: i.day,
      incidents: i.incidents,
      halts: i.halts,
      totalHaltSeconds: i.totalHaltSeconds,
      p95HaltSeconds: i.p95HaltSeconds,
      falseAlarmRate: i.falseAlarmRate,
      sensorUptime: i.sensorUptime,
    });
    expect(res.body.items.map(pick)).toEqual([
      // 120 + 300 s; p95 of [120, 300] = 291 s. 2 h of 2 × 24 h offline.
      {
        day: "2025-03-10",
        incidents: 2,
        halts: 2,
        totalHaltSeconds: 420,
        p95HaltSeconds: 291,
        falseAlarmRate: "0.5000",
        sensorUptime: "0.9583",
      },
      // Elevator 2's 07:00 incident counts here (it is the 10th in UTC). p95 of [600, 900] = 885 s.
      {
        day: "2025-03-11",
        incidents: 4,
        halts: 3,
        totalHaltSeconds: 1500,
        p95HaltSeconds: 885,
        falseAlarmRate: "1.0000",
        sensorUptime: "0.9792",
      },
      // Today until noon: elevator 2 offline all 12 h, elevator 1 up.
      {
        day: "2025-03-12",
        incidents: 0,
        halts: 0,
        totalHaltSeconds: 0,
        p95HaltSeconds: null,
        falseAlarmRate: null,
        sensorUptime: "0.5000",
      },
      // Tomorrow has not begun.
      {
        day: "2025-03-13",
        incidents: 0,
        halts: 0,
        totalHaltSeconds: 0,
        p95HaltSeconds: null,
        falseAlarmRate: null,
        sensorUptime: null,
      },
    ]);
  });

  it("takes from (included) to (excluded) in Shanghai days, as every range of the API", async () => {
    // One day: the 10th's incidents up to 23:59 in Shanghai, none of the 11th (07:00 in Shanghai
    // is still the 10th in UTC).
    const day = await stats("groupBy=community&from=2025-03-10&to=2025-03-11");
    expect(day.status).toBe(200);
    expect(day.body).toMatchObject({ from: "2025-03-10", to: "2025-03-11" });
    expect(day.body.items.map((i: { incidents: number }) => i.incidents)).toEqual([2]);
    // A whole month is from its first day to the first day of the next: every day of March, once.
    const march = await stats("groupBy=day&from=2025-03-01&to=2025-04-01");
    expect(march.status).toBe(200);
    const days = march.body.items.map((i: { day: string }) => i.day);
    expect(days).toHaveLength(31);
    expect([days[0], days[30]]).toEqual(["2025-03-01", "2025-03-31"]);
    // The six of the 10th and 11th, and the one of the 9th at 23:00.
    expect(march.body.items.reduce((n: number, i: { incidents: number }) => n + i.incidents, 0)).toBe(7);
    // The 9th alone: its 23:00 incident, not the 10th's at 00:30.
    const ninth = await stats("groupBy=community&from=2025-03-09&to=2025-03-10");
    expect(ninth.body.items.map((i: { incidents: number }) => i.incidents)).toEqual([1]);
  });

  it("is scoped like the incident list", async () => {
    const query = "groupBy=community&from=2025-03-10&to=2025-03-12";
    for (const key of [world.propertyCompany.key, world.streetOffice.key, world.enterprise.key]) {
      const res = await stats(query, key);
      expect(res.body.items.map((i: { incidents: number }) => i.incidents)).toEqual([6]);
    }
    const elsewhere = await createIotWorld(database.db);
    for (const key of [elsewhere.ownersCommittee.key, elsewhere.streetOffice.key, elsewhere.enterprise.key]) {
      expect((await stats(query, key)).body.items).toEqual([]);
    }
    // Days are listed whoever asks; another community's days count nothing of this one.
    const days = await stats("groupBy=day&from=2025-03-10&to=2025-03-12", elsewhere.ownersCommittee.key);
    expect(days.body.items).toMatchObject([
      { day: "2025-03-10", incidents: 0, elevators: 0, sensorUptime: null },
      { day: "2025-03-11", incidents: 0, elevators: 0, sensorUptime: null },
    ]);
  });

  it("answers 400 naming the field for a bad group, date or window", async () => {
    const cases: [string, string][] = [
      ["groupBy=week&from=2025-03-10&to=2025-03-12", "query.groupBy"],
      ["groupBy=day&from=2025-02-30&to=2025-03-12", "query.from"],
      ["groupBy=day&from=2025-03-10", "query.to"],
      ["groupBy=day&from=2025-03-12&to=2025-03-11", "query.from"],
      // `to` is excluded: from a day to the same day is no day at all.
      ["groupBy=day&from=2025-03-11&to=2025-03-11", "query.from"],
      // 367 days.
      ["groupBy=day&from=2024-03-01&to=2025-03-03", "query.to"],
    ];
    for (const [query, field] of cases) {
      const res = await stats(query);
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(
        res.body.errors.map((e: { field: string }) => e.field),
        query,
      ).toContain(field);
    }
    // 366 days (a leap year) is the longest window.
    expect((await stats("groupBy=community&from=2024-01-01&to=2025-01-01")).status).toBe(200);
  });
});
