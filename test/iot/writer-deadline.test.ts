/**
 * A commit the driver never settles must not hold its batch (and every PUBACK behind it) for
 * ever: the writer gives the attempt up after its deadline and commits the batch again
 * (iot/writer.ts attemptTimeoutMs). The first attempt here is made to hang as a wedged driver
 * query does; the retry goes through the real ingest to the real database.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createIngest, type IngestItem, type IngestResult } from "../../iot/ingest.js";
import { createWriter } from "../../iot/writer.js";
import { openTestDatabase } from "../support/db.js";
import { countEvents, createIotWorld, createSensor, event, eventItem } from "./support.js";

let database: DatabaseHandle;
let sensorId: string;

beforeAll(async () => {
  database = await openTestDatabase();
  const world = await createIotWorld(database.db);
  sensorId = (await createSensor(database.db, world)).id;
});
afterAll(() => database?.close());

describe("the writer's deadline on a commit", () => {
  it("gives up an attempt that never settles and commits the batch on the next one", async () => {
    const ingest = createIngest({
      db: database.db,
      logger: pino({ level: "silent" }),
      clock: () => new Date(),
    });
    let attempts = 0;
    const wedgedOnce = (items: readonly IngestItem[]): Promise<IngestResult> => {
      attempts += 1;
      return attempts === 1 ? new Promise<never>(() => {}) : ingest.ingestBatch(items);
    };
    const writer = createWriter({
      ingestBatch: wedgedOnce,
      logger: pino({ level: "silent" }),
      attemptTimeoutMs: 300,
      minBackoffMs: 10,
    });
    const heartbeat = event("heartbeat", 0);

    const started = Date.now();
    const outcome = await writer.push(eventItem(sensorId, heartbeat));

    expect(outcome).toEqual({ status: "stored", eventId: heartbeat.eventId });
    expect(attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await countEvents(database.db, sensorId)).toBe(1);
    expect(writer.healthy).toBe(true);
    await writer.close();
  });

  it("without a deadline (PGlite, in-process), an attempt is awaited as long as it takes", async () => {
    let settle: (r: IngestResult) => void = () => {};
    const writer = createWriter({
      ingestBatch: () => new Promise<IngestResult>((resolve) => (settle = resolve)),
      logger: pino({ level: "silent" }),
      slowCommitMs: 50,
    });
    const pushed = writer.push(eventItem(sensorId, event("heartbeat", 1)));
    await new Promise((r) => setTimeout(r, 400));
    expect(writer.pending).toBe(1);
    expect(writer.healthy).toBe(false); // reported slow meanwhile
    settle({ stored: 1, duplicates: 0, rejected: [], outcomes: [{ status: "stored", eventId: "x" }] });
    expect(await pushed).toEqual({ status: "stored", eventId: "x" });
    await writer.close();
  });
});
