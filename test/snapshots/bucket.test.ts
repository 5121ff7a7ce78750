/**
 * Snapshots in an S3-compatible bucket (SNAPSHOT_STORE=s3) against s3rver, a local S3 server on
 * 127.0.0.1: the object first, then the row naming it; read back byte for byte through the API;
 * every request signed with SigV4 (s3rver does not check signatures, so the test reads them off
 * the wire, and a wrong bucket or endpoint must fail: a 503 to the device, nothing stored);
 * and the retention deleting rows and objects with an injected clock.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import pino from "pino";
// @ts-expect-error s3rver ships no types; only its constructor, run() and close() are used.
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { eventSnapshots } from "../../db/schema.js";
import { SCHEDULED_JOBS } from "../../src/scheduled.js";
import { createSnapshots, runSnapshotRetention } from "../../src/services/snapshots/snapshots.js";
import {
  type Bucket,
  bucketSnapshotStore,
  type S3Settings,
  s3Bucket,
  snapshotStoreOf,
} from "../../src/services/snapshots/store.js";
import { createIotWorld, createSensor, event, freePort } from "../iot/support.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { CAR_JPEG, getJpeg, otherJpeg, putSnapshot } from "./support.js";

const BUCKET = "snapshots";
const KEY_ID = "S3RVER";
const SECRET = "S3RVER-secret-key-never-logged";

let database: DatabaseHandle;
let world: World;
let s3: { close(): Promise<void> };
let directory: string;
let settings: S3Settings;
/** The Authorization header of every request the bucket client sent. */
const authorizations: string[] = [];
let bucket: Bucket;

const recordingFetch: typeof fetch = async (input, init) => {
  const request = input instanceof Request ? input : new Request(input, init);
  authorizations.push(request.headers.get("authorization") ?? "");
  return fetch(request);
};

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  const address = (await server.run()) as { port: number };
  s3 = server;
  settings = {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: BUCKET,
    region: "auto",
    accessKeyId: KEY_ID,
    secretAccessKey: SECRET,
  };
  bucket = s3Bucket(settings, recordingFetch);
});
afterAll(async () => {
  await s3.close();
  await rm(directory, { recursive: true, force: true });
  await database.close();
});

function appOver(store: ReturnType<typeof bucketSnapshotStore>, now?: () => Date) {
  return createTestApp(database.db, {
    snapshots: createSnapshots(store),
    ...(now ? { now } : {}),
  });
}

async function rowOf(sensorId: string, eventId: string) {
  const [row] = await database.db
    .select()
    .from(eventSnapshots)
    .where(and(eq(eventSnapshots.sensorId, sensorId), eq(eventSnapshots.eventId, eventId)));
  return row;
}

async function incidentOf(app: ReturnType<typeof createTestApp>, sensorId: string) {
  const list = await client(app, world.propertyCompany.key).get("/v1/incidents?kind=ebike&limit=200");
  return list.body.items.find((i: { sensorId: string }) => i.sensorId === sensorId)?.id as string;
}

describe("snapshots in an S3-compatible bucket", () => {
  it("stores the object, then the row naming it; the API reads it back byte for byte; every request is SigV4-signed", async () => {
    const app = appOver(bucketSnapshotStore(bucket));
    const sensor = await createSensor(database.db, world);
    const detected = event("ebike_detected", 0);
    const posted = await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, detected);
    expect(posted.status).toBe(200);
    authorizations.length = 0;
    const res = await putSnapshot(app, sensor, detected.eventId, CAR_JPEG);
    expect(res.status).toBe(201);

    const row = await rowOf(sensor.id, detected.eventId);
    expect(row?.bytes).toBeNull();
    expect(row?.objectKey).toMatch(new RegExp(`^snapshots/\\d{4}-\\d{2}-\\d{2}/${sensor.id}/`));
    const object = await bucket.get(row?.objectKey ?? "");
    expect(object && Buffer.from(object).equals(Buffer.from(CAR_JPEG))).toBe(true);

    const incidentId = await incidentOf(app, sensor.id);
    const jpeg = await getJpeg(
      app,
      `/v1/incidents/${incidentId}/snapshots/${detected.eventId}`,
      world.ownersCommittee.key,
    );
    expect(jpeg.status).toBe(200);
    expect(Buffer.from(jpeg.bytes).equals(Buffer.from(CAR_JPEG))).toBe(true);

    // The same bytes again: nothing written to the bucket; other bytes: 409, the object unchanged.
    const before = authorizations.length;
    expect((await putSnapshot(app, sensor, detected.eventId, CAR_JPEG)).status).toBe(200);
    expect((await putSnapshot(app, sensor, detected.eventId, otherJpeg())).status).toBe(409);
    expect(authorizations.length).toBe(before);

    expect(authorizations.length).toBeGreaterThan(0);
    for (const auth of authorizations) {
      expect(auth).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${KEY_ID}/\\d{8}/auto/s3/aws4_request, SignedHeaders=[^,]*x-amz-date[^,]*, Signature=[0-9a-f]{64}$`,
        ),
      );
      expect(auth).not.toContain(SECRET);
    }
  });

  it("a wrong bucket or an endpoint that does not answer: 503 storage_unavailable with Retry-After, and no row (3 times each)", async () => {
    const port = await freePort();
    for (const wrong of [
      { ...settings, bucket: "no-such-bucket" },
      { ...settings, endpoint: `http://127.0.0.1:${port}` },
    ]) {
      const app = appOver(bucketSnapshotStore(s3Bucket(wrong)));
      const sensor = await createSensor(database.db, world);
      for (let round = 0; round < 3; round++) {
        const res = await putSnapshot(app, sensor, `unstored-${round}`, CAR_JPEG);
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toBeTruthy();
        expect(res.body.code).toBe("storage_unavailable");
        expect(JSON.stringify(res.body)).not.toContain(SECRET);
        expect(await rowOf(sensor.id, `unstored-${round}`)).toBeUndefined();
      }
    }
  });

  it("snapshotStoreOf builds the bucket store from the settings (SNAPSHOT_STORE=s3)", async () => {
    const store = snapshotStoreOf({
      SNAPSHOT_STORE: "s3",
      S3_ENDPOINT: settings.endpoint,
      S3_BUCKET: BUCKET,
      S3_REGION: "auto",
      S3_ACCESS_KEY_ID: KEY_ID,
      S3_SECRET_ACCESS_KEY: SECRET,
    });
    expect(store.kind).toBe("bucket");
    const app = appOver(store);
    const sensor = await createSensor(database.db, world);
    expect((await putSnapshot(app, sensor, "from-settings", CAR_JPEG)).status).toBe(201);
    expect((await rowOf(sensor.id, "from-settings"))?.objectKey).toBeTruthy();
  });
});

describe("the retention, with an injected clock", () => {
  it("deletes the rows and objects received more than SNAPSHOT_RETENTION_DAYS ago, and objects no row names; keeps the young", async () => {
    const store = bucketSnapshotStore(bucket);
    // Received far in the past, so that no other test's snapshot is as old.
    const old = new Date("2001-03-01T04:00:00Z");
    const young = new Date("2001-05-20T04:00:00Z");
    const sweepAt = new Date("2001-06-01T04:00:00Z"); // 92 days after `old`, 12 after `young`
    const sensor = await createSensor(database.db, world);
    expect(
      (
        await putSnapshot(
          appOver(store, () => old),
          sensor,
          "old",
          CAR_JPEG,
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await putSnapshot(
          appOver(store, () => young),
          sensor,
          "young",
          CAR_JPEG,
        )
      ).status,
    ).toBe(201);
    const oldKey = (await rowOf(sensor.id, "old"))?.objectKey ?? "";
    const youngKey = (await rowOf(sensor.id, "young"))?.objectKey ?? "";
    // An upload that stopped between its object and its row.
    const orphanKey = `snapshots/2001-02-27/${sensor.id}/never-written.0123456789abcdef.jpg`;
    await bucket.put(orphanKey, CAR_JPEG);

    const swept = await runSnapshotRetention({
      db: database.db,
      clock: () => sweepAt,
      store,
      retentionDays: 90,
    });
    expect(swept.rows).toBeGreaterThanOrEqual(1);
    expect(await rowOf(sensor.id, "old")).toBeUndefined();
    expect(await bucket.get(oldKey)).toBeNull();
    expect(await bucket.get(orphanKey)).toBeNull();
    expect(await rowOf(sensor.id, "young")).toBeDefined();
    expect(await bucket.get(youngKey)).not.toBeNull();

    // Run again: nothing more to do (idempotent).
    const again = await runSnapshotRetention({
      db: database.db,
      clock: () => sweepAt,
      store,
      retentionDays: 90,
    });
    expect(again).toEqual({ rows: 0, objects: 0 });
  });

  it('runs with the hourly work (the Workers cron\'s "0 * * * *" job), on the bucket it is given', async () => {
    const store = bucketSnapshotStore(bucket);
    const sensor = await createSensor(database.db, world);
    const uploadedAt = new Date("2003-01-10T04:00:00Z");
    expect(
      (
        await putSnapshot(
          appOver(store, () => uploadedAt),
          sensor,
          "hourly",
          CAR_JPEG,
        )
      ).status,
    ).toBe(201);
    const key = (await rowOf(sensor.id, "hourly"))?.objectKey ?? "";
    const hourly = SCHEDULED_JOBS["0 * * * *"];
    if (!hourly) throw new Error("no hourly job");
    await hourly({
      db: database.db,
      clock: () => new Date("2003-04-20T04:00:00Z"),
      logger: pino({ level: "silent" }),
      snapshotStore: store,
      snapshotRetentionDays: 90,
    });
    expect(await rowOf(sensor.id, "hourly")).toBeUndefined();
    expect(await bucket.get(key)).toBeNull();
  });

  it("in PostgreSQL: deletes the rows past the retention and keeps the rest", async () => {
    const sensor = await createSensor(database.db, world);
    const at = (iso: string) => () => new Date(iso);
    const app = createTestApp(database.db, { now: at("2002-01-01T00:00:00Z") });
    expect((await putSnapshot(app, sensor, "db-old", CAR_JPEG)).status).toBe(201);
    const fresh = createTestApp(database.db, { now: at("2002-03-25T00:00:00Z") });
    expect((await putSnapshot(fresh, sensor, "db-young", CAR_JPEG)).status).toBe(201);
    const { databaseSnapshotStore } = await import("../../src/services/snapshots/store.js");
    await runSnapshotRetention({
      db: database.db,
      clock: at("2002-04-15T00:00:00Z"),
      store: databaseSnapshotStore,
      retentionDays: 90,
    });
    expect(await rowOf(sensor.id, "db-old")).toBeUndefined();
    expect(await rowOf(sensor.id, "db-young")).toBeDefined();
  });
});
