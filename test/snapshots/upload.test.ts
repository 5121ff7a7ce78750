/**
 * A sensor attaches a JPEG to its e-bike detection (issue 14): upload with the sensor's own key,
 * refusals as problem+json (size, bytes, media type, another sensor, a non-e-bike event), in any
 * order with the event, idempotent; read back byte for byte by the property company and the
 * owners committee of the incident's community, and by nobody else.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { eventSnapshots } from "../../db/schema.js";
import { createElevator, createIotWorld, createSensor, event } from "../iot/support.js";
import { client, createTestApp, TEST_ADMIN_TOKEN } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createCommunity, createOrg, createWorld, type World } from "../support/factories.js";
import { CAR_JPEG, getJpeg, jpegOfSize, otherJpeg, PNG_BYTES, putSnapshot } from "./support.js";

let database: DatabaseHandle;
let world: World;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  app = createTestApp(database.db);
});
afterAll(() => database.close());

const api = (key?: string) => client(app, key);

/** A sensor on an elevator of its own (its incidents are its own). */
async function newSensor() {
  const elevator = await createElevator(database.db, world);
  return createSensor(database.db, world, elevator.id);
}

async function postEvents(sensor: { id: string; key: string }, events: object[]) {
  const res = await api(sensor.key).post(`/v1/sensors/${sensor.id}/events`, events);
  expect(res.status).toBe(200);
  expect(res.body.stored).toHaveLength(events.length);
}

async function storedRow(sensorId: string, eventId: string) {
  const [row] = await database.db
    .select()
    .from(eventSnapshots)
    .where(and(eq(eventSnapshots.sensorId, sensorId), eq(eventSnapshots.eventId, eventId)));
  return row;
}

async function incidentOf(sensor: { id: string }) {
  const list = await api(world.propertyCompany.key).get(`/v1/incidents?kind=ebike`);
  const found = list.body.items.find((i: { sensorId: string }) => i.sensorId === sensor.id);
  if (!found) throw new Error("no incident for the sensor");
  return found.id as string;
}

function expectProblem(
  res: { status: number; body: { code?: string }; headers: Headers },
  status: number,
  code: string,
) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.body.code).toBe(code);
}

describe("uploading a snapshot", () => {
  it("after its event: 201, then the property company and the owners committee read it back byte for byte", async () => {
    const sensor = await newSensor();
    const detected = event("ebike_detected", 0);
    await postEvents(sensor, [detected]);
    const res = await putSnapshot(app, sensor, detected.eventId, CAR_JPEG);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      sensorId: sensor.id,
      eventId: detected.eventId,
      byteSize: CAR_JPEG.length,
    });
    expect(res.body.sha256).toMatch(/^[0-9a-f]{64}$/);

    const incidentId = await incidentOf(sensor);
    for (const key of [world.propertyCompany.key, world.ownersCommittee.key]) {
      const list = await api(key).get(`/v1/incidents/${incidentId}/snapshots`);
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([
        {
          sensorId: sensor.id,
          eventId: detected.eventId,
          occurredAt: detected.occurredAt,
          byteSize: CAR_JPEG.length,
          url: `/v1/incidents/${incidentId}/snapshots/${detected.eventId}`,
        },
      ]);
      const jpeg = await getJpeg(app, list.body.items[0].url, key);
      expect(jpeg.status).toBe(200);
      expect(jpeg.headers.get("content-type")).toBe("image/jpeg");
      expect(jpeg.headers.get("cache-control")).toMatch(/^private/);
      expect(jpeg.headers.get("x-content-type-options")).toBe("nosniff");
      expect(Buffer.from(jpeg.bytes).equals(Buffer.from(CAR_JPEG))).toBe(true);
    }
    const row = await storedRow(sensor.id, detected.eventId);
    expect(row?.objectKey).toBeNull();
    expect(row?.bytes && Buffer.from(row.bytes).equals(Buffer.from(CAR_JPEG))).toBe(true);
  });

  it("before its event: stored at once, shown with the incident once the event arrives", async () => {
    const sensor = await newSensor();
    const detected = event("ebike_detected", 0);
    expect((await putSnapshot(app, sensor, detected.eventId, CAR_JPEG)).status).toBe(201);
    await postEvents(sensor, [detected, event("ebike_cleared", 40)]);
    const incidentId = await incidentOf(sensor);
    const list = await api(world.propertyCompany.key).get(`/v1/incidents/${incidentId}/snapshots`);
    expect(list.body.items.map((i: { eventId: string }) => i.eventId)).toEqual([detected.eventId]);
  });

  it("belongs to its own detection: a restarted counter's detection under the same id shows none, and its upload is refused 409", async () => {
    let now = Date.now() - 2 * 3_600_000;
    const timed = createTestApp(database.db, { now: () => new Date(now) });
    const sensor = await newSensor();
    const send = async (events: object[]) => {
      const res = await client(timed, sensor.key).post(`/v1/sensors/${sensor.id}/events`, events);
      expect(res.body.stored).toHaveLength(events.length);
    };
    const first = {
      ...event("ebike_detected", 0),
      eventId: "cam-1",
      occurredAt: new Date(now).toISOString(),
    };
    await send([first, { ...event("ebike_cleared", 0), occurredAt: new Date(now + 40_000).toISOString() }]);
    expect((await putSnapshot(timed, sensor, "cam-1", CAR_JPEG)).status).toBe(201);

    // An hour on, the device rebooted and its counter started again.
    now += 3_600_000;
    await send([{ ...first, occurredAt: new Date(now).toISOString() }]);
    const list = await api(world.propertyCompany.key).get(`/v1/incidents?kind=ebike`);
    const ids = list.body.items
      .filter((i: { sensorId: string }) => i.sensorId === sensor.id)
      .sort((a: { openedAt: string }, b: { openedAt: string }) => a.openedAt.localeCompare(b.openedAt))
      .map((i: { id: string }) => i.id);
    expect(ids).toHaveLength(2);
    const shown = async (id: string) =>
      (await api(world.propertyCompany.key).get(`/v1/incidents/${id}/snapshots`)).body.items.map(
        (i: { occurredAt: string }) => i.occurredAt,
      );
    expect(await shown(ids[0])).toEqual([first.occurredAt]);
    expect(await shown(ids[1])).toEqual([]);
    expect((await api(world.propertyCompany.key).get(`/v1/incidents/${ids[1]}/snapshots/cam-1`)).status).toBe(
      404,
    );
    expectProblem(await putSnapshot(timed, sensor, "cam-1", otherJpeg()), 409, "snapshot_exists");
  });

  it("is idempotent: the same bytes again answer 200; other bytes answer 409 and the evidence stays", async () => {
    const sensor = await newSensor();
    const detected = event("ebike_detected", 0);
    await postEvents(sensor, [detected]);
    const first = await putSnapshot(app, sensor, detected.eventId, CAR_JPEG);
    expect(first.status).toBe(201);
    const again = await putSnapshot(app, sensor, detected.eventId, CAR_JPEG);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const other = await putSnapshot(app, sensor, detected.eventId, otherJpeg());
    expectProblem(other, 409, "snapshot_exists");
    const row = await storedRow(sensor.id, detected.eventId);
    expect(row?.sha256).toBe(first.body.sha256);
  });

  it("refuses an event that is not an e-bike detection (409), storing nothing", async () => {
    const sensor = await newSensor();
    const heartbeat = event("heartbeat", 0);
    await postEvents(sensor, [heartbeat]);
    const res = await putSnapshot(app, sensor, heartbeat.eventId, CAR_JPEG);
    expectProblem(res, 409, "snapshot_not_ebike");
    expect(res.body.detail).toContain("heartbeat");
    expect(await storedRow(sensor.id, heartbeat.eventId)).toBeUndefined();
  });

  it("refuses bytes that are not a JPEG (422) whatever the Content-Type says, and a Content-Type that is not image/jpeg (415)", async () => {
    const sensor = await newSensor();
    const cases: [Uint8Array, string][] = [
      [PNG_BYTES, "a PNG"],
      [CAR_JPEG.slice(0, CAR_JPEG.length - 2), "a JPEG cut short (no EOI)"],
      [new TextEncoder().encode("hello"), "text"],
      [new Uint8Array(0), "nothing"],
    ];
    for (const [bytes, what] of cases) {
      const res = await putSnapshot(app, sensor, `not-jpeg-${what}`, bytes);
      expectProblem(res, 422, "not_a_jpeg");
      expect(res.body.detail, what).toContain("FF D8 FF");
    }
    const typed = await putSnapshot(app, sensor, "png-typed", CAR_JPEG, { "content-type": "image/png" });
    expectProblem(typed, 415, "unsupported_media_type");
    const [row] = await database.db
      .select()
      .from(eventSnapshots)
      .where(eq(eventSnapshots.sensorId, sensor.id));
    expect(row).toBeUndefined();
  });

  it("refuses another sensor's key, no key and a revoked sensor with 401, as the event ingest does", async () => {
    const sensor = await newSensor();
    const other = await newSensor();
    const detected = event("ebike_detected", 0);
    await postEvents(sensor, [detected]);
    const wrong = await putSnapshot(app, { id: sensor.id, key: other.key }, detected.eventId, CAR_JPEG);
    expectProblem(wrong, 401, "unauthorized");
    const none = await app.request(`/v1/sensors/${sensor.id}/events/${detected.eventId}/snapshot`, {
      method: "PUT",
      headers: { "content-type": "image/jpeg" },
      body: CAR_JPEG,
    });
    expect(none.status).toBe(401);
    expect(await storedRow(sensor.id, detected.eventId)).toBeUndefined();
    // The other sensor's own path: its key is good there, but the event is not its own (nothing links them).
    const own = await putSnapshot(app, other, detected.eventId, CAR_JPEG);
    expect(own.status).toBe(201);
    expect(await storedRow(sensor.id, detected.eventId)).toBeUndefined();
  });

  it("takes exactly 512 KiB and refuses one byte more with 413 (Content-Length), storing nothing", async () => {
    const sensor = await newSensor();
    expect((await putSnapshot(app, sensor, "at-limit", jpegOfSize(512 * 1024))).status).toBe(201);
    const res = await putSnapshot(app, sensor, "over-limit", jpegOfSize(512 * 1024 + 1));
    expectProblem(res, 413, "payload_too_large");
    expect(res.body.detail).toContain("512 KiB");
    expect(await storedRow(sensor.id, "over-limit")).toBeUndefined();
  });

  it("refuses a body over 512 KiB without Content-Length (streamed) with 413, storing nothing", async () => {
    const sensor = await newSensor();
    const big = jpegOfSize(600 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= big.length) return controller.close();
        controller.enqueue(big.subarray(sent, sent + 64 * 1024));
        sent += 64 * 1024;
      },
    });
    const res = await app.request(`/v1/sensors/${sensor.id}/events/streamed/snapshot`, {
      method: "PUT",
      headers: { authorization: `Bearer ${sensor.key}`, "content-type": "image/jpeg" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe("payload_too_large");
    // Read no further than the chunk that passed the limit.
    expect(sent).toBeLessThanOrEqual(512 * 1024 + 2 * 64 * 1024);
    expect(await storedRow(sensor.id, "streamed")).toBeUndefined();
  });

  it("counts what it stored and refused in /metrics", async () => {
    const sensor = await newSensor();
    await putSnapshot(app, sensor, "metrics-ok", CAR_JPEG);
    await putSnapshot(app, sensor, "metrics-png", PNG_BYTES);
    const res = await app.request("/metrics");
    const text = await res.text();
    expect(Number(/^bot_snapshots_stored_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(
      Number(/^bot_snapshots_refused_total\{reason="not_jpeg"\} (\d+)$/m.exec(text)?.[1]),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^bot_snapshots_refused_total\{reason="too_large"\} \d+$/m);
  });
});

describe("who sees a snapshot", () => {
  let incidentId: string;
  let eventId: string;
  beforeAll(async () => {
    const sensor = await newSensor();
    const detected = event("ebike_detected", 0);
    eventId = detected.eventId;
    await postEvents(sensor, [detected]);
    expect((await putSnapshot(app, sensor, detected.eventId, CAR_JPEG)).status).toBe(201);
    incidentId = await incidentOf(sensor);
  });

  it("the street office, the enterprise and the platform admin: 403 (they may never see the evidence)", async () => {
    for (const key of [world.streetOffice.key, world.enterprise.key, TEST_ADMIN_TOKEN]) {
      for (const path of [
        `/v1/incidents/${incidentId}/snapshots`,
        `/v1/incidents/${incidentId}/snapshots/${eventId}`,
      ]) {
        const res = await api(key).get(path);
        expect(res.status, path).toBe(403);
        expect(res.body.code).toBe("forbidden");
      }
    }
  });

  it("a property company or owners committee of another community, or of another street: 404", async () => {
    const community = await createCommunity(database.db, world.street.id);
    const elsewhere = await createWorld(database.db);
    const others = [
      await createOrg(database.db, {
        kind: "property_company",
        streetId: world.street.id,
        communityIds: [community.id],
      }),
      await createOrg(database.db, {
        kind: "owners_committee",
        streetId: world.street.id,
        communityIds: [community.id],
      }),
      elsewhere.propertyCompany,
      elsewhere.ownersCommittee,
    ];
    for (const other of others) {
      for (const path of [
        `/v1/incidents/${incidentId}/snapshots`,
        `/v1/incidents/${incidentId}/snapshots/${eventId}`,
      ]) {
        const res = await api(other.key).get(path);
        expect(res.status, path).toBe(404);
        expect(res.body.code).toBe("not_found");
      }
    }
  });

  it("nobody without a key or session (a resident's household link is no credential here): 401", async () => {
    const res = await api().get(`/v1/incidents/${incidentId}/snapshots/${eventId}`);
    expect(res.status).toBe(401);
  });

  it("an event that is not one of the incident's detections: 404", async () => {
    const res = await api(world.propertyCompany.key).get(
      `/v1/incidents/${incidentId}/snapshots/no-such-event`,
    );
    expect(res.status).toBe(404);
  });
});

describe("uploads of one event at the same moment (5 rounds)", () => {
  it("the same bytes twice: one 201 and one 200; other bytes: one stored, the other 409; one row each time", async () => {
    const sensor = await newSensor();
    for (let round = 0; round < 5; round++) {
      const same = `race-same-${round}`;
      const twins = await Promise.all([
        putSnapshot(app, sensor, same, CAR_JPEG),
        putSnapshot(app, sensor, same, CAR_JPEG),
      ]);
      expect(twins.map((r) => r.status).sort()).toEqual([200, 201]);
      const differ = `race-differ-${round}`;
      const rivals = await Promise.all([
        putSnapshot(app, sensor, differ, CAR_JPEG),
        putSnapshot(app, sensor, differ, otherJpeg()),
      ]);
      expect(rivals.map((r) => r.status).sort()).toEqual([201, 409]);
      const winner = rivals.find((r) => r.status === 201);
      expect((await storedRow(sensor.id, differ))?.sha256).toBe(winner?.body.sha256);
    }
  });
});
