/**
 * Snapshots on the Workers entry under workerd (wrangler's dev server over wrangler.toml) with a
 * local R2 bucket bound as SNAPSHOTS: the upload lands in R2 (the row names the object, holds no
 * bytes), the property company reads it back byte for byte through the Worker, and the limits
 * hold there too. Against a real PostgreSQL of this file's own (a Worker cannot run PGlite).
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventSnapshots } from "../../db/schema.js";
import { loadConfig } from "../../src/config.js";
import { createIotWorld, createSensor, event } from "../iot/support.js";
import type { Fetcher } from "../support/app.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";
import { startTestWorker, type TestWorker, workerClient } from "../support/worker.js";
import { CAR_JPEG, getJpeg, jpegOfSize, PNG_BYTES, putSnapshot } from "./support.js";

const { DATABASE_URL } = loadConfig(process.env);

let server: PrivatePostgres | null = null;
let database: ScratchDatabase;
let worker: TestWorker;
let world: World;
let onWorker: Fetcher;

beforeAll(async () => {
  if (!DATABASE_URL) server = await startPrivatePostgres();
  const serverUrl = DATABASE_URL ?? server?.url;
  if (!serverUrl) throw new Error("no PostgreSQL server");
  database = await createScratchDatabase(
    serverUrl,
    `snapshots_worker_${process.pid}_${randomUUID().slice(0, 8)}`,
  );
  world = await createIotWorld(database.db);
  worker = await startTestWorker(
    database.url,
    {},
    { SNAPSHOTS: { type: "r2_bucket", bucket_name: "bot-snapshots" } },
  );
  onWorker = async (path, init) =>
    (await worker.fetch(`http://worker.test${path}`, init as never)) as unknown as Response;
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await database?.drop();
  await server?.destroy();
});

describe("snapshots on Workers with an R2 binding", () => {
  it("stores the JPEG in R2 (the row names the object) and the property company reads it back byte for byte", async () => {
    const sensor = await createSensor(database.db, world);
    const detected = event("ebike_detected", 0);
    const posted = await workerClient(worker, sensor.key).post(`/v1/sensors/${sensor.id}/events`, detected);
    expect(posted.status).toBe(200);
    const res = await putSnapshot(onWorker, sensor, detected.eventId, CAR_JPEG);
    expect(res.status).toBe(201);
    expect((await putSnapshot(onWorker, sensor, detected.eventId, CAR_JPEG)).status).toBe(200);

    const [row] = await database.db
      .select()
      .from(eventSnapshots)
      .where(and(eq(eventSnapshots.sensorId, sensor.id), eq(eventSnapshots.eventId, detected.eventId)));
    expect(row?.bytes).toBeNull();
    expect(row?.objectKey).toMatch(/^snapshots\/\d{4}-\d{2}-\d{2}\//);

    const incidents = await workerClient(worker, world.propertyCompany.key).get("/v1/incidents?kind=ebike");
    const incidentId = incidents.body.items.find((i: { sensorId: string }) => i.sensorId === sensor.id)?.id;
    const list = await workerClient(worker, world.propertyCompany.key).get(
      `/v1/incidents/${incidentId}/snapshots`,
    );
    expect(list.body.items).toHaveLength(1);
    const jpeg = await getJpeg(onWorker, list.body.items[0].url, world.propertyCompany.key);
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(jpeg.bytes).equals(Buffer.from(CAR_JPEG))).toBe(true);
    const denied = await workerClient(worker, world.streetOffice.key).get(list.body.items[0].url);
    expect(denied.status).toBe(403);
  });

  it("refuses over 512 KiB (413) and bytes that are not a JPEG (422) there too, storing nothing", async () => {
    const sensor = await createSensor(database.db, world);
    const big = await putSnapshot(onWorker, sensor, "big", jpegOfSize(512 * 1024 + 1));
    expect(big.status).toBe(413);
    expect(big.body.code).toBe("payload_too_large");
    const png = await putSnapshot(onWorker, sensor, "png", PNG_BYTES);
    expect(png.status).toBe(422);
    expect(png.body.code).toBe("not_a_jpeg");
    const rows = await database.db
      .select()
      .from(eventSnapshots)
      .where(eq(eventSnapshots.sensorId, sensor.id));
    expect(rows).toEqual([]);
  });
});
