/**
 * The daily digest (runDailyDigest): at or after 08:00 Asia/Shanghai, once a day, for each
 * organization with a `daily_digest` rule, yesterday's (Shanghai day's) figures of its own scope,
 * equal to the incidents created here in and out of scope and on either side of Shanghai midnight.
 * A database of the file's own: the job reads every organization's rules.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/database.js";
import { incidents, notificationEndpoints, notificationRules, sensorEvents } from "../../db/schema.js";
import { runDailyDigest } from "../../src/services/notifications/digest.js";
import { createSensorRow } from "../reports/support.js";
import { createFacility, createWorld, type World } from "../support/factories.js";
import { causesOf } from "./causes-support.js";
import { ownDatabase } from "./support.js";

let own: Awaited<ReturnType<typeof ownDatabase>>;
let db: Database;
let world: World;
let elsewhere: World;
const digest = (now: Date) => runDailyDigest({ db, clock: () => now });

async function subscribe(orgId: string) {
  const [endpoint] = await db
    .insert(notificationEndpoints)
    .values({ organizationId: orgId, name: "digest", channel: "wecom", url: "http://127.0.0.1:9/robot" })
    .returning();
  if (!endpoint) throw new Error("no endpoint");
  await db.insert(notificationRules).values({ endpointId: endpoint.id, type: "daily_digest" });
}

type Sensor = Awaited<ReturnType<typeof createSensorRow>>;

/** An e-bike incident of `sensor` opened at `openedAt` (closed a minute later); `halted` as the ingest keeps it, with its detection. */
async function halt(sensor: Sensor, openedAt: string, opts: { halted?: boolean; falseAlarm?: boolean } = {}) {
  const opened = new Date(openedAt);
  await db.insert(incidents).values({
    kind: "ebike",
    sensorId: sensor.id,
    facilityId: sensor.facilityId,
    communityId: sensor.communityId,
    streetId: sensor.streetId,
    openedAt: opened,
    closedAt: new Date(opened.getTime() + 60_000),
    haltSeconds: 60,
    detections: 1,
    halted: opts.halted ?? false,
    ...(opts.falseAlarm
      ? { classification: "false_alarm" as const, falseAlarmReason: "stroller" as const }
      : {}),
  });
  if (opts.halted) {
    await db.insert(sensorEvents).values({
      sensorId: sensor.id,
      eventId: `halt-${sensor.id}-${openedAt}`,
      facilityId: sensor.facilityId,
      type: "ebike_detected",
      occurredAt: opened,
      receivedAt: opened,
      payload: { carHalted: true },
    });
  }
}

async function offline(sensor: Sensor, since: string, closedAt: string | null = null) {
  await db.insert(incidents).values({
    kind: "sensor_offline",
    sensorId: sensor.id,
    facilityId: sensor.facilityId,
    communityId: sensor.communityId,
    streetId: sensor.streetId,
    openedAt: new Date(since),
    closedAt: closedAt ? new Date(closedAt) : null,
  });
}

async function digestsOf(orgId: string) {
  return (await causesOf(db, "daily_digest")).filter((c) => c.organization_id === orgId);
}

let offlineNames: { sensorName: string; facilityName: string }[];

beforeAll(async () => {
  own = await ownDatabase("digest");
  db = own.db;
  world = await createWorld(db);
  elsewhere = await createWorld(db);
  const second = await createFacility(db, {
    kind: "elevator",
    streetId: world.street.id,
    communityId: world.community.id,
    buildingId: world.building.id,
  });
  const s1 = await createSensorRow(db, world, world.elevator.id);
  const s2 = await createSensorRow(db, world, second.id);
  const out = await createSensorRow(db, elsewhere, elsewhere.elevator.id);

  // Yesterday is 2026-12-04 in Shanghai: 2026-12-03T16:00Z to 2026-12-04T16:00Z.
  await halt(s1, "2026-12-03T16:00:00Z", { halted: true }); // 00:00:00 on the 4th: in
  await halt(s1, "2026-12-04T04:00:00Z", { halted: true }); // same elevator, in
  await halt(s2, "2026-12-04T15:59:59Z", { falseAlarm: true }); // 23:59:59 on the 4th: in
  await halt(s2, "2026-12-03T15:59:59Z", { halted: true }); // 23:59:59 on the 3rd: out
  await halt(s2, "2026-12-04T16:05:00Z", { halted: true }); // 00:05 on the 5th: out
  await halt(out, "2026-12-04T04:00:00Z", { halted: true, falseAlarm: true }); // another street: out
  // Offline now: s2 (since yesterday); s1's outage is over; `out` is another street's.
  await offline(s2, "2026-12-04T10:00:00Z");
  await offline(s1, "2026-12-04T08:00:00Z", "2026-12-04T09:00:00Z");
  await offline(out, "2026-12-04T08:00:00Z");
  offlineNames = [{ sensorName: s2.name, facilityName: second.name }];

  await subscribe(world.propertyCompany.org.id);
  await subscribe(world.streetOffice.org.id);
  await subscribe(elsewhere.ownersCommittee.org.id);
  // The enterprise has no digest rule: it gets none.
}, 60_000);
afterAll(async () => {
  await own?.close();
});

describe("daily_digest", () => {
  it("is recorded at 08:00 Shanghai with yesterday's figures of each organization's scope, once", async () => {
    await digest(new Date("2026-12-04T23:59:00Z")); // 07:59 on the 5th in Shanghai
    expect(await digestsOf(world.propertyCompany.org.id)).toEqual([]);

    const eight = new Date("2026-12-05T00:00:00Z");
    await Promise.all([digest(eight), digest(eight), digest(new Date("2026-12-05T01:30:00Z"))]);
    const expected = {
      date: "2026-12-04",
      elevatorsWithEntries: 2,
      halts: 2,
      falseAlarms: 1,
      sensorsOffline: offlineNames,
    };
    for (const org of [world.propertyCompany.org, world.streetOffice.org]) {
      const sent = await digestsOf(org.id);
      expect(sent).toEqual([
        expect.objectContaining({
          subject_id: "2026-12-04",
          organization_id: org.id,
          dedupe_key: `daily_digest:2026-12-04:${org.id}`,
          payload: expected,
        }),
      ]);
    }
    expect(await digestsOf(elsewhere.ownersCommittee.org.id)).toEqual([
      expect.objectContaining({
        payload: {
          date: "2026-12-04",
          elevatorsWithEntries: 1,
          halts: 1,
          falseAlarms: 1,
          sensorsOffline: [expect.any(Object)],
        },
      }),
    ]);
    expect(await digestsOf(world.enterprise.org.id)).toEqual([]);

    // Later the same day, nothing more.
    await digest(new Date("2026-12-05T15:59:59Z"));
    expect(await digestsOf(world.propertyCompany.org.id)).toHaveLength(1);
  });

  it("is still recorded by the first run after 08:00 (a restart at 09:30), and not by one at 07:59", async () => {
    await digest(new Date("2026-12-05T23:59:59Z")); // 07:59:59 on the 6th
    expect((await digestsOf(world.propertyCompany.org.id)).map((c) => c.payload.date)).toEqual([
      "2026-12-04",
    ]);
    await digest(new Date("2026-12-06T01:30:00Z")); // 09:30 on the 6th: the digest of the 5th
    const sent = await digestsOf(world.propertyCompany.org.id);
    expect(sent.map((c) => c.payload.date)).toEqual(["2026-12-04", "2026-12-05"]);
    // The 5th: one halt at 00:05 (s2), no false alarm; s2 still offline.
    expect(sent[1]?.payload).toEqual({
      date: "2026-12-05",
      elevatorsWithEntries: 1,
      halts: 1,
      falseAlarms: 0,
      sensorsOffline: offlineNames,
    });
  });
});
