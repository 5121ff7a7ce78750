/**
 * Escalation of an unacknowledged halt (runEscalation) with an injected clock: one cause per step
 * of the `halt_unacknowledged` rules (their distinct `afterMinutes`), at its minute and not before,
 * once however often or on however many instances the job runs, never for a halt acknowledged or
 * closed before the step. A database of the file's own: the job reads every rule and incident.
 */
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/database.js";
import { incidents, notificationEndpoints, notificationRules } from "../../db/schema.js";
import { runScheduled } from "../../src/scheduled.js";
import { runNotificationCauses } from "../../src/services/notifications/causes.js";
import { runEscalation } from "../../src/services/notifications/escalation.js";
import { createElevator, createIotWorld, createSensor } from "../iot/support.js";
import { client, createTestApp } from "../support/app.js";
import type { World } from "../support/factories.js";
import { causesOf } from "./causes-support.js";
import { ownDatabase } from "./support.js";

let own: Awaited<ReturnType<typeof ownDatabase>>;
let db: Database;
let world: World;
const T0 = new Date("2026-12-04T23:50:00Z");
const at = (minutes: number, seconds = 0) => new Date(T0.getTime() + minutes * 60_000 + seconds * 1000);
const escalate = (now: Date) => runEscalation({ db, clock: () => now });

/** An endpoint of `orgId` subscribed to `type` (with `afterMinutes` for an escalation step). */
async function subscribe(
  orgId: string,
  type: "halt_unacknowledged" | "daily_digest",
  afterMinutes: number | null,
) {
  const [endpoint] = await db
    .insert(notificationEndpoints)
    .values({
      organizationId: orgId,
      name: `hook ${type} ${afterMinutes}`,
      channel: "webhook",
      url: "http://127.0.0.1:9/hook",
    })
    .returning();
  if (!endpoint) throw new Error("no endpoint");
  await db.insert(notificationRules).values({ endpointId: endpoint.id, type, afterMinutes });
}

/** An open e-bike halt opened at T0 (+ `offsetMinutes`) on an elevator of its own. */
async function openHalt(offsetMinutes = 0) {
  const sensor = await createSensor(db, world, (await createElevator(db, world)).id);
  const [row] = await db
    .insert(incidents)
    .values({
      kind: "ebike",
      sensorId: sensor.id,
      facilityId: sensor.facilityId,
      communityId: world.community.id,
      streetId: world.street.id,
      openedAt: at(offsetMinutes),
      detections: 1,
    })
    .returning();
  if (!row) throw new Error("no incident");
  return row;
}

async function steps(incidentId: string) {
  return (await causesOf(db, "halt_unacknowledged", incidentId)).map((c) => c.payload.afterMinutes);
}

beforeAll(async () => {
  own = await ownDatabase("escalation");
  db = own.db;
  world = await createIotWorld(db);
  // Property company after 5 minutes, committee after 15, street office after 30 (twice: one step).
  await subscribe(world.propertyCompany.org.id, "halt_unacknowledged", 5);
  await subscribe(world.ownersCommittee.org.id, "halt_unacknowledged", 15);
  await subscribe(world.streetOffice.org.id, "halt_unacknowledged", 30);
  await subscribe(world.enterprise.org.id, "halt_unacknowledged", 30);
  await subscribe(world.enterprise.org.id, "daily_digest", null);
}, 60_000);
afterAll(async () => {
  await own?.close();
});

describe("halt_unacknowledged", () => {
  it("is recorded at each step's minute, not before, and once per step", async () => {
    const halt = await openHalt();
    await escalate(at(4, 59));
    expect(await steps(halt.id)).toEqual([]);
    await escalate(at(5));
    expect(await steps(halt.id)).toEqual([5]);
    const [first] = await causesOf(db, "halt_unacknowledged", halt.id);
    expect(first).toMatchObject({
      dedupe_key: `halt_unacknowledged:${halt.id}:5`,
      facility_id: halt.facilityId,
      community_id: world.community.id,
      street_id: world.street.id,
      payload: {
        incidentId: halt.id,
        facilityId: halt.facilityId,
        facilityName: expect.any(String),
        communityName: world.community.name,
        openedAt: T0.toISOString(),
        afterMinutes: 5,
      },
    });
    expect(first?.occurred_at).toEqual(at(5));
    await escalate(at(14, 59));
    await escalate(at(15));
    expect(await steps(halt.id)).toEqual([5, 15]);
    await escalate(at(25));
    expect(await steps(halt.id)).toEqual([5, 15]);
    // Several instances at once: each step still once.
    await Promise.all([at(30), at(30), at(31), at(40)].map(escalate));
    expect(await steps(halt.id)).toEqual([5, 15, 30]);
    await escalate(at(90));
    expect(await steps(halt.id)).toEqual([5, 15, 30]);
  });

  it("stops at the acknowledgement: nothing for a halt acknowledged before the step, nothing after it", async () => {
    const early = await openHalt();
    const late = await openHalt();
    const acknowledge = async (id: string, minute: number) => {
      const pc = client(createTestApp(db, { now: () => at(minute) }), world.propertyCompany.key);
      const ack = await pc.post(`/v1/incidents/${id}/acknowledge`, { classification: "confirmed" });
      expect(ack.status).toBe(200);
    };
    await escalate(at(3));
    await acknowledge(early.id, 3);
    await escalate(at(5));
    expect(await steps(early.id)).toEqual([]);
    expect(await steps(late.id)).toEqual([5]);
    await acknowledge(late.id, 10);
    for (const m of [15, 30, 60]) await escalate(at(m));
    expect(await steps(early.id)).toEqual([]);
    expect(await steps(late.id)).toEqual([5]);
  });

  it("is recorded by the Workers cron's every-minute job and by the Node timer's run alike", async () => {
    const byCron = await openHalt(100);
    await runScheduled("* * * * *", { db, clock: () => at(105), logger: pino({ level: "silent" }) });
    expect(await steps(byCron.id)).toEqual([5]);
    const found = await runNotificationCauses({ db, clock: () => at(115) });
    expect(found.escalations).toBeGreaterThanOrEqual(1);
    expect(await steps(byCron.id)).toEqual([5, 15]);
  });

  it("is never recorded for a halt closed before its time, nor for one not yet due", async () => {
    const closed = await openHalt();
    await db.execute(
      sql`update incidents set closed_at = ${at(2).toISOString()}::timestamptz, halt_seconds = 120 where id = ${closed.id}`,
    );
    const later = await openHalt(20);
    await escalate(at(24));
    expect(await steps(closed.id)).toEqual([]);
    expect(await steps(later.id)).toEqual([]);
    await escalate(at(25));
    expect(await steps(later.id)).toEqual([5]);
    await escalate(at(60));
    expect(await steps(closed.id)).toEqual([]);
    expect(await steps(later.id)).toEqual([5, 15, 30]);
  });
});
