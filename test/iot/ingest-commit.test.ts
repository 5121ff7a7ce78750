/**
 * The ingest's last statements (sightings and incident writes) go out with the COMMIT, without
 * waiting for their answers (iot/ingest.ts). When one of them fails, PostgreSQL answers the
 * COMMIT with a ROLLBACK and no error: the batch must then fail whole, not be reported stored
 * (an event acknowledged but not in the table would be lost). A trigger makes the incident
 * insert fail for one elevator only, so other test files sharing the database are unaffected:
 * with a data error (a check violation) on one, with a passing condition (55000, "not accepting
 * connections") on another, which must be retried, never dead-lettered (db/pg-errors.ts).
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { sqlState } from "../../db/pg-errors.js";
import { createIngest, type Ingest } from "../../iot/ingest.js";
import { openTestDatabase } from "../support/db.js";
import {
  countEvents,
  createElevator,
  createIotWorld,
  createSensor,
  deadLetterReasons,
  event,
  eventItem,
  incidentsOf,
} from "./support.js";

const logger = pino({ level: "silent" });
/** This file's own trigger function (the PostgreSQL database is shared by the test files). */
const refuse = `test_refuse_incident_${randomUUID().replaceAll("-", "")}`;
let database: DatabaseHandle;
let ingest: Ingest;
let refusedSensor: string;
let otherSensor: string;
let otherFacility: string;
let slowSensor: string;
let passingSensor: string;

beforeAll(async () => {
  database = await openTestDatabase();
  const world = await createIotWorld(database.db);
  const refused = await createElevator(database.db, world);
  refusedSensor = (await createSensor(database.db, world, refused.id)).id;
  otherFacility = (await createElevator(database.db, world)).id;
  otherSensor = (await createSensor(database.db, world, otherFacility)).id;
  const slow = await createElevator(database.db, world);
  slowSensor = (await createSensor(database.db, world, slow.id)).id;
  const passing = await createElevator(database.db, world);
  passingSensor = (await createSensor(database.db, world, passing.id)).id;
  await database.db.execute(
    sql.raw(`create function ${refuse}() returns trigger language plpgsql as $$
      begin
        if new.facility_id = '${refused.id}' then
          raise exception using errcode = 'check_violation', message = 'incident refused by the test';
        end if;
        if new.facility_id = '${passing.id}' then
          raise exception using errcode = '55000', message = 'database is not currently accepting connections';
        end if;
        if new.facility_id = '${slow.id}' then perform pg_sleep(0.3); end if;
        return new;
      end $$`),
  );
  await database.db.execute(
    sql.raw(`create trigger ${refuse} before insert on incidents for each row execute function ${refuse}()`),
  );
  ingest = createIngest({ db: database.db, logger, clock: () => new Date(), sensorCacheTtlMs: 0 });
});

afterAll(async () => {
  await database?.db.execute(sql.raw(`drop trigger if exists ${refuse} on incidents`));
  await database?.db.execute(sql.raw(`drop function if exists ${refuse}()`));
  await database?.close();
});

/** The event ids stored for a sensor. */
async function storedEvents(sensorId: string) {
  return queryRows<{ event_id: string }>(
    database.db,
    sql`select event_id from sensor_events where sensor_id = ${sensorId} order by event_id`,
  );
}

describe("the ingest's last round, sent with the COMMIT", () => {
  it("is committed with the batch: a slow incident insert is there when the batch returns", async () => {
    const detected = event("ebike_detected", 0);
    const result = await ingest.ingestBatch([eventItem(slowSensor, detected)]);

    expect(result.stored).toBe(1);
    // Were the insert sent after the COMMIT, it would still be sleeping in its own transaction.
    const incidents = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from incidents where sensor_id = ${slowSensor} and kind = 'ebike'`,
    );
    expect(incidents).toEqual([{ n: 1 }]);
  });
});

describe("a statement that fails in the ingest's last round, sent with the COMMIT", () => {
  it("fails the batch whole: its event is not stored, not reported stored, and dead-lettered with the reason", async () => {
    const detected = event("ebike_detected", 0);
    const result = await ingest.ingestBatch([eventItem(refusedSensor, detected)]);

    expect(result.stored).toBe(0);
    expect(result.rejected).toEqual([{ index: 0, reason: "storage_rejected: 23514" }]);
    expect(await countEvents(database.db, refusedSensor)).toBe(0);
    expect(await deadLetterReasons(database.db, refusedSensor)).toEqual(["storage_rejected: 23514"]);
  });

  it("takes nothing else of the batch with it: the other messages are stored one by one, with their incident", async () => {
    const refused = event("ebike_detected", 0);
    const fine = event("ebike_detected", 0);
    const result = await ingest.ingestBatch([
      eventItem(refusedSensor, refused),
      eventItem(otherSensor, fine),
    ]);

    expect(result.outcomes).toEqual([
      { status: "rejected", reason: "storage_rejected: 23514" },
      { status: "stored", eventId: fine.eventId },
    ]);
    expect(await storedEvents(otherSensor)).toEqual([{ event_id: fine.eventId }]);
    const incidents = await incidentsOf(database.db, otherFacility);
    expect(incidents.filter((i) => i.kind === "ebike" && i.closed_at === null)).toHaveLength(1);
  });
});

describe("a passing condition met in the ingest's last round", () => {
  it("fails the batch for the writer to retry: nothing stored, nothing rejected, no dead letter", async () => {
    const detected = event("ebike_detected", 0);
    const fine = event("ebike_detected", 0);

    await expect(
      ingest.ingestBatch([eventItem(passingSensor, detected), eventItem(otherSensor, fine)]),
    ).rejects.toSatisfy((err) => sqlState(err) === "55000");

    expect(await countEvents(database.db, passingSensor)).toBe(0);
    expect(await deadLetterReasons(database.db, passingSensor)).toEqual([]);
    expect((await storedEvents(otherSensor)).map((r) => r.event_id)).not.toContain(fine.eventId);
    expect(ingest.counters.deadLetters).toBe(2);
  });
});
