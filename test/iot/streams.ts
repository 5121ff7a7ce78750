/**
 * Streams of sensor events for the durability and fault suites: sensors on their own elevators,
 * a realistic stream with a known outcome, a paced QoS 1 publisher, and what was stored.
 */
import { inArray, sql } from "drizzle-orm";
import type { MqttClient } from "mqtt";
import { type Database, queryRows } from "../../db/database.js";
import { sensors } from "../../db/schema.js";
import { eventsTopic } from "../../iot/protocol.js";
import type { World } from "../support/factories.js";
import { createElevator, createSensor, event } from "./support.js";

export type Sensor = Awaited<ReturnType<typeof createSensor>>;

/** Sensors on their own elevators, heartbeat interval 1 h (the sweeper stays out of these tests). */
export async function createSensors(db: Database, world: World, n: number): Promise<Sensor[]> {
  const list: Sensor[] = [];
  for (let i = 0; i < n; i++) list.push(await createSensor(db, world, (await createElevator(db, world)).id));
  await db
    .update(sensors)
    .set({ heartbeatIntervalS: 3600 })
    .where(
      inArray(
        sensors.id,
        list.map((s) => s.id),
      ),
    );
  return list;
}

/**
 * A sensor's stream: blocks of 10 events 10 s apart, each an e-bike halt (detected, a repeat
 * detection 1 s later, cleared 3 s after the first) and 7 heartbeats: one closed incident a block.
 */
export function stream(blocks: number, base: number) {
  const events: Record<string, unknown>[] = [];
  for (let b = 0; b < blocks; b++) {
    const t = b * 10;
    events.push(event("ebike_detected", t, {}, base), event("ebike_detected", t + 1, {}, base));
    events.push(event("ebike_cleared", t + 3, {}, base));
    for (let h = 0; h < 7; h++) events.push(event("heartbeat", t + 4 + h * 0.5, {}, base));
  }
  return events;
}

/**
 * A device publishing its events with QoS 1 at a steady pace, `chunk` at a time, each chunk
 * waiting for every PUBACK from the broker; every 7th event is sent twice (a device retry).
 * `gate`, when given, is awaited before each chunk (with the index of its first event): a test
 * holds the stream back there until its faults have caught up.
 */
export function publishPaced(
  client: MqttClient,
  sensorId: string,
  events: readonly Record<string, unknown>[],
  chunk = 25,
  gate?: (index: number) => Promise<void>,
) {
  let acked = 0;
  const done = (async () => {
    for (let i = 0; i < events.length; i += chunk) {
      await gate?.(i);
      const started = Date.now();
      const slice = events.slice(i, i + chunk).flatMap((e, j) => ((i + j) % 7 === 0 ? [e, e] : [e]));
      await Promise.all(
        slice.map((e) => client.publishAsync(eventsTopic(sensorId), JSON.stringify(e), { qos: 1 })),
      );
      acked += slice.length;
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
    }
  })();
  return {
    done,
    get acked() {
      return acked;
    },
  };
}

export async function storedIds(db: Database, ids: readonly string[]) {
  return queryRows<{ sensor_id: string; event_id: string; received_at: Date | string }>(
    db,
    sql`select sensor_id, event_id, received_at from sensor_events
        where sensor_id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) x)`,
  );
}

export async function ebikeIncidents(db: Database, ids: readonly string[]) {
  return queryRows<{ facility_id: string; n: number; closed: number; detections: number; halts: number }>(
    db,
    sql`select facility_id, count(*)::int as n, count(closed_at)::int as closed,
          sum(detections)::int as detections, sum(halt_seconds)::int as halts
        from incidents
        where kind = 'ebike'
          and sensor_id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) x)
        group by facility_id`,
  );
}

export const keyOf = (sensorId: string, eventId: unknown) => `${sensorId}/${String(eventId)}`;

/** Cleanup that runs every step even when one fails or hangs (brokers and children never leak). */
export async function cleanup(steps: readonly (() => Promise<unknown> | undefined)[]) {
  for (const step of steps) {
    await Promise.race([
      Promise.resolve()
        .then(step)
        .catch((err: unknown) => console.warn("cleanup step failed:", err)),
      new Promise((r) => setTimeout(r, 5_000).unref()),
    ]);
  }
}
