/**
 * The halt rules as stored and summed (each incident's `halted`, kept by the ingest's replay, and
 * db/incidents.ts `haltFigures`, which the incident statistics run) agree with the rules stated on
 * their own (iot/incidents.ts: `haltedCar` over the elevator's detections, `haltFigures`) on any
 * events an elevator's sensors send, in any arrival order: detections that did or did not halt the
 * car, clears, ties at one instant, incidents across the window's edges, halts still open.
 */
import { Decimal } from "decimal.js";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { haltFigures as haltFiguresSql } from "../../db/incidents.js";
import {
  type DerivedIncident,
  deriveIncidents,
  type EbikeEvent,
  haltedCar,
  haltFigures,
  percentileCont,
} from "../../iot/incidents.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { createElevator, createIotWorld, createSensor, event } from "./support.js";

/** The suite's clock: 2025-03-12 12:00 in Shanghai. */
const NOW = new Date("2025-03-12T12:00:00+08:00");
/** The statistics' window: the 10th and the 11th (Shanghai), [start, end): `to` is excluded. */
const FROM = "2025-03-10";
const TO = "2025-03-12";
const START = Date.parse("2025-03-10T00:00:00+08:00");
const END = Date.parse("2025-03-12T00:00:00+08:00");
/** Events fall on an hourly grid from 4 h before the window to shortly before now, so ties are common. */
const FIRST_EVENT = START - 4 * 3_600_000;
const SLOT_MS = 3_600_000;
const SLOTS = Math.floor((NOW.getTime() - FIRST_EVENT) / SLOT_MS) - 1;

let database: DatabaseHandle;
let app: TestApp;
let world: World;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
  world = await createIotWorld(database.db);
});
afterAll(() => database.close());

const eventArb = fc.record({
  /** Which of the elevator's two sensors sends it: a detection of either counts. */
  sensor: fc.constantFrom(0, 1),
  detected: fc.boolean(),
  slot: fc.integer({ min: 0, max: SLOTS }),
  /** Mostly on the hour; sometimes a few minutes after it, for halts of other lengths. */
  minute: fc.constantFrom(0, 0, 0, 1, 37),
  /** Mostly on the slot; sometimes half a second or just under a second after it. */
  ms: fc.constantFrom(0, 0, 0, 500, 999),
  carHalted: fc.boolean(),
  /** A detection cleared at the same instant (the edge of the halt's span), now and then. */
  clearedAtOnce: fc.constantFrom(false, false, true),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

describe("halts: the stored incidents and the SQL of the statistics agree with iot/incidents.ts", () => {
  it("p95 interpolates between ranks as percentile_cont does", () => {
    expect(percentileCont([600, 120, 300], 0.95)).toBe(570);
    expect(percentileCont([900], 0.95)).toBe(900);
    expect(percentileCont([], 0.95)).toBeNull();
  });

  it("which incidents halted the car, and the group's halts, halt seconds and p95", async () => {
    await fc.assert(
      // Events arrive in the plan's order (random in time), `batch` at a time per sensor, the two
      // sensors taking turns: late detections and clears are common.
      fc.asyncProperty(
        fc.array(eventArb, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 1, max: 8 }),
        async (plan, batch) => {
          const elevator = await createElevator(database.db, world);
          const sensors = [
            await createSensor(database.db, world, elevator.id),
            await createSensor(database.db, world, elevator.id),
          ];
          const sent = plan.flatMap((p) => {
            const at = FIRST_EVENT + p.slot * SLOT_MS + p.minute * 60_000 + p.ms;
            const clear = {
              ...p,
              detected: false,
              at: new Date(at),
              body: event("ebike_cleared", 0, {}, at),
            };
            if (!p.detected) return [clear];
            const detection = {
              ...p,
              at: new Date(at),
              body: event("ebike_detected", 0, { carHalted: p.carHalted }, at),
            };
            return p.clearedAtOnce
              ? [detection, { ...clear, body: event("ebike_cleared", 0, {}, at) }]
              : [detection];
          });
          const queues = sensors.map((_, i) => sent.filter((s) => s.sensor === i).map((s) => s.body));
          while (queues.some((q) => q.length)) {
            for (const [i, sensor] of sensors.entries()) {
              const next = queues[i]?.splice(0, batch) ?? [];
              if (!next.length) continue;
              const res = await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, next);
              expect(res.status).toBe(200);
              expect(res.body.stored).toHaveLength(next.length);
            }
          }

          // The twin: incidents replayed from the events, each halted or not by the elevator's detections.
          const ebikeEvents: EbikeEvent[] = sent.map((s) => ({
            sensorId: sensors[s.sensor]?.id ?? "",
            eventId: String(s.body.eventId),
            type: s.detected ? "ebike_detected" : "ebike_cleared",
            occurredAt: s.at,
            carHalted: s.detected && s.carHalted,
          }));
          const detections = sent
            .filter((s) => s.detected)
            .map((s) => ({ occurredAt: s.at, carHalted: s.carHalted }));
          const derived = deriveIncidents(ebikeEvents).map((d: DerivedIncident) => ({
            ...d,
            halted: haltedCar(d, detections),
          }));

          // halted, incident by incident: the stored column against haltedCar over every detection.
          const stored = await queryRows<{
            opened_at: Date;
            closed_at: Date | null;
            halt_seconds: number | null;
            halted: boolean;
          }>(
            database.db,
            sql`select opened_at, closed_at, halt_seconds, halted
              from incidents where facility_id = ${elevator.id} and kind = 'ebike' order by opened_at`,
          );
          expect(
            stored.map((r) => [
              iso(new Date(r.opened_at)),
              iso(r.closed_at && new Date(r.closed_at)),
              r.halt_seconds,
              r.halted,
            ]),
          ).toEqual(derived.map((d) => [iso(d.openedAt), iso(d.closedAt), d.haltSeconds, d.halted]));

          // haltFigures over the incidents opened in the window, in SQL and in TypeScript.
          const inWindow = derived.filter((d) => d.openedAt.getTime() >= START && d.openedAt.getTime() < END);
          const twin = haltFigures(inWindow);
          const [sqlFigures] = await queryRows<{ halts: number; halt_s: string; p95_s: string | null }>(
            database.db,
            sql`select ${haltFiguresSql("x")} from (
                select incidents.halt_seconds, incidents.halted from incidents
                where facility_id = ${elevator.id} and kind = 'ebike'
                  and opened_at >= ${new Date(START).toISOString()}::timestamptz
                  and opened_at < ${new Date(END).toISOString()}::timestamptz
              ) x`,
          );
          expect(sqlFigures?.halts).toBe(twin.halts);
          expect(sqlFigures?.halt_s).toBe(String(twin.haltSeconds));
          // PostgreSQL's float8 → numeric keeps 15 significant digits.
          expect(sqlFigures?.p95_s === null ? null : new Decimal(sqlFigures?.p95_s ?? "").toString()).toBe(
            twin.p95Seconds === null ? null : new Decimal(twin.p95Seconds.toPrecision(15)).toString(),
          );

          // And what the statistics answer for the elevator.
          const res = await client(app, world.enterprise.key).get(
            `/v1/incidents/stats?groupBy=elevator&from=${FROM}&to=${TO}`,
          );
          expect(res.status).toBe(200);
          const group = res.body.items.find((g: { key: string }) => g.key === elevator.id);
          const whole = (seconds: Decimal.Value) =>
            new Decimal(seconds).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
          expect(group).toMatchObject({
            incidents: inWindow.length,
            halts: twin.halts,
            totalHaltSeconds: twin.haltSeconds,
            p95HaltSeconds: twin.p95Seconds === null ? null : whole(twin.p95Seconds.toPrecision(15)),
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
