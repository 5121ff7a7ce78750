/** The sensor registry, HTTP ingest with the sensor's own key, incidents and dead letters over the API. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createOrg, type World } from "../support/factories.js";
import { countEvents, createElevator, createIotWorld, deadLetterReasons, event } from "./support.js";

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

async function registerSensor() {
  const res = await api(world.enterprise.key).post("/v1/sensors", {
    facilityId: world.elevator.id,
    name: "1号楼电梯AI摄像头",
  });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
}

describe("sensor registry", () => {
  it("the operating enterprise registers a sensor and gets its key once; parties in scope read it", async () => {
    const res = await api(world.enterprise.key).post("/v1/sensors", {
      facilityId: world.elevator.id,
      name: "轿厢传感器",
      heartbeatIntervalSeconds: 60,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      facilityId: world.elevator.id,
      heartbeatIntervalSeconds: 60,
      online: false,
    });
    expect(res.body.key).toMatch(/^bot_s_/);
    expect(res.body).not.toHaveProperty("keyHash");
    for (const key of [world.propertyCompany.key, world.ownersCommittee.key, world.streetOffice.key]) {
      const read = await api(key).get(`/v1/sensors/${res.body.id}`);
      expect(read.status).toBe(200);
      expect(read.body).not.toHaveProperty("key");
    }
    const list = await api(world.propertyCompany.key).get(`/v1/sensors?facilityId=${world.elevator.id}`);
    expect(list.body.items.map((s: { id: string }) => s.id)).toContain(res.body.id);
  });

  it("refuses elevators the enterprise does not operate, and other roles", async () => {
    const other = await createOrg(database.db, { kind: "enterprise", streetId: world.street.id });
    const res = await api(other.key).post("/v1/sensors", { facilityId: world.elevator.id, name: "x" });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe("body.facilityId");
    expect((await api(other.key).get("/v1/sensors")).body.items).toEqual([]);
    const pc = await api(world.propertyCompany.key).post("/v1/sensors", {
      facilityId: world.elevator.id,
      name: "x",
    });
    expect(pc.status).toBe(403);
  });
});

describe("HTTP ingest", () => {
  it("stores new events, answers duplicates and rejects invalid ones, with the sensor's key", async () => {
    const sensor = await registerSensor();
    const device = api(sensor.key);
    const path = `/v1/sensors/${sensor.id}/events`;
    const first = event("heartbeat", 0);
    const one = await device.post(path, first);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ stored: [first.eventId], duplicates: [], rejected: [] });

    const base = Date.now() - 120_000;
    const detected = event("ebike_detected", 0, {}, base);
    const cleared = event("ebike_cleared", 42, {}, base);
    const tooLate = event("heartbeat", 0, {}, Date.now() + 3_600_000);
    const batch = await device.post(path, [
      first,
      cleared,
      { ...event("fault", 0), code: 7 },
      detected,
      tooLate,
      detected,
    ]);
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({
      stored: [cleared.eventId, detected.eventId],
      duplicates: [first.eventId, detected.eventId],
      rejected: [
        {
          index: 2,
          eventId: expect.any(String),
          reason: "schema_violation: code must be text, not a number",
        },
        { index: 4, eventId: tooLate.eventId, reason: "future_timestamp" },
      ],
    });
    expect(await countEvents(database.db, sensor.id)).toBe(3);

    // The incident: one, closed after 42 s, for the property company to classify.
    const pc = api(world.propertyCompany.key);
    const list = await pc.get(`/v1/incidents?facilityId=${world.elevator.id}&kind=ebike`);
    expect(list.body.items).toHaveLength(1);
    const incident = list.body.items[0];
    expect(incident).toMatchObject({ state: "closed", detections: 1, haltSeconds: 42, sensorId: sensor.id });
    const noReason = await pc.post(`/v1/incidents/${incident.id}/acknowledge`, {
      classification: "false_alarm",
    });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors[0].field).toBe("body.reason");
    const byOffice = await api(world.streetOffice.key).post(`/v1/incidents/${incident.id}/acknowledge`, {
      classification: "confirmed",
    });
    expect(byOffice.status).toBe(403);
    const ack = await pc.post(`/v1/incidents/${incident.id}/acknowledge`, {
      classification: "false_alarm",
      reason: "stroller",
      note: "婴儿车",
    });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({
      classification: "false_alarm",
      falseAlarmReason: "stroller",
      note: "婴儿车",
    });
    expect(ack.body.acknowledgedByOrgId).toBe(world.propertyCompany.org.id);
    const twice = await pc.post(`/v1/incidents/${incident.id}/acknowledge`, { classification: "confirmed" });
    expect(twice.status).toBe(409);

    // The dead letters: the street office and the enterprise see them, the property company does not.
    const dead = await api(world.streetOffice.key).get(`/v1/dead-letters?sensorId=${sensor.id}`);
    expect(dead.status).toBe(200);
    expect(dead.body.items.map((d: { reason: string }) => d.reason)).toEqual([
      "future_timestamp",
      "schema_violation: code must be text, not a number",
    ]);
    expect((await api(world.enterprise.key).get(`/v1/dead-letters?reason=future`)).body.items).toHaveLength(
      1,
    );
    expect((await pc.get("/v1/dead-letters")).status).toBe(403);
    // A range is from (included) to (excluded): the instant a letter was received, as `from`, finds
    // it; as `to`, it does not.
    const { receivedAt } = dead.body.items[0] as { receivedAt: string };
    const within = (q: string) =>
      api(world.streetOffice.key)
        .get(`/v1/dead-letters?sensorId=${sensor.id}&${q}`)
        .then((r) => r.body.items.map((d: { receivedAt: string }) => d.receivedAt));
    expect(await within(`from=${receivedAt}`)).toContain(receivedAt);
    expect(await within(`to=${receivedAt}`)).not.toContain(receivedAt);
  });

  it("answers 401 for a wrong, missing or organization key, and after revocation", async () => {
    const sensor = await registerSensor();
    const path = `/v1/sensors/${sensor.id}/events`;
    const body = event("heartbeat", 0);
    for (const key of ["bot_s_wrong", undefined, world.enterprise.key]) {
      const res = await api(key).post(path, body);
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    const rotated = await api(world.enterprise.key).post(`/v1/sensors/${sensor.id}/rotate-key`);
    expect(rotated.status).toBe(200);
    expect((await api(sensor.key).post(path, body)).status).toBe(401);
    expect((await api(rotated.body.key).post(path, body)).status).toBe(200);
    expect(
      (await api(world.enterprise.key).post(`/v1/sensors/${sensor.id}/revoke`)).body.revokedAt,
    ).not.toBeNull();
    expect((await api(rotated.body.key).post(path, body)).status).toBe(401);
    expect((await api(world.enterprise.key).post(`/v1/sensors/${sensor.id}/revoke`)).status).toBe(409);
  });

  it("validates the body as a whole only for its shape: not JSON, not an event or a list, empty or over 500 events", async () => {
    const sensor = await registerSensor();
    const device = api(sensor.key);
    const path = `/v1/sensors/${sensor.id}/events`;
    expect((await device.post(path, "{oops")).status).toBe(400);
    const notAList = "must be one event (a JSON object) or an array of 1 to 500 events";
    for (const [body, message] of [
      [[], "must hold at least one event"],
      [
        Array.from({ length: 501 }, (_, i) => event("heartbeat", i)),
        "must hold at most 500 events (send the rest in another request)",
      ],
      [42, notAList],
      ["heartbeat", notAList],
    ] as const) {
      const res = await device.post(path, typeof body === "string" ? JSON.stringify(body) : body);
      expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
      expect(res.body).toMatchObject({ code: "validation_failed", errors: [{ field: "body", message }] });
    }
    const literalNull = await device.post(path, "null"); // the JSON literal, as sent
    expect(literalNull.status).toBe(400);
    expect(literalNull.body.errors).toEqual([{ field: "body", message: notAList }]);
    expect(await countEvents(database.db, sensor.id)).toBe(0);
  });

  it("validates each item of a batch on its own: the valid ones are stored, each invalid one is rejected with its index", async () => {
    const sensor = await registerSensor();
    const device = api(sensor.key);
    const path = `/v1/sensors/${sensor.id}/events`;
    const first = event("heartbeat", 0);
    const last = event("fault", 1);
    const res = await device.post(path, [first, 42, null, "heartbeat", [event("heartbeat", 2)], last]);
    expect(res.status).toBe(200);
    const notAnObject = (received: string) => `schema_violation: event must be an object, not ${received}`;
    expect(res.body).toEqual({
      stored: [first.eventId, last.eventId],
      duplicates: [],
      rejected: [
        { index: 1, reason: notAnObject("a number") },
        { index: 2, reason: notAnObject("null") },
        { index: 3, reason: notAnObject("text") },
        { index: 4, reason: notAnObject("a list") },
      ],
    });
    expect(await countEvents(database.db, sensor.id)).toBe(2);
    // Dead-lettered like the same payloads on MQTT, so the operator sees what was sent.
    expect(await deadLetterReasons(database.db, sensor.id)).toHaveLength(4);
  });

  it("reports a halt of 95.5 s as 95 whole seconds", async () => {
    const facility = await createElevator(database.db, world);
    const other = await api(world.enterprise.key).post("/v1/sensors", { facilityId: facility.id, name: "x" });
    expect(other.status).toBe(201);
    const base = Date.now() - 600_000;
    const res = await api(other.body.key).post(`/v1/sensors/${other.body.id}/events`, [
      event("ebike_detected", 0, {}, base),
      event("ebike_cleared", 95.5, {}, base),
    ]);
    expect(res.body.stored).toHaveLength(2);
    const list = await api(world.propertyCompany.key).get(
      `/v1/incidents?facilityId=${facility.id}&kind=ebike`,
    );
    expect(list.body.items).toEqual([expect.objectContaining({ state: "closed", haltSeconds: 95 })]);
  });
});

describe("ingest counters", () => {
  it("GET /metrics counts stored events, duplicates and dead letters by reason", async () => {
    const sensor = await registerSensor();
    const post = (body: unknown) => client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, body);
    const before = await (await app.request("/metrics")).text();
    const metric = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    const beat = event("heartbeat", 1);
    expect((await post([beat, beat, { eventId: "x", type: "heartbeat" }])).status).toBe(200);
    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const after = await res.text();
    expect(
      metric(after, "bot_ingest_events_stored_total") - metric(before, "bot_ingest_events_stored_total"),
    ).toBe(1);
    expect(
      metric(after, "bot_ingest_events_duplicate_total") -
        metric(before, "bot_ingest_events_duplicate_total"),
    ).toBe(1);
    expect(
      metric(after, "bot_ingest_dead_letters_total") - metric(before, "bot_ingest_dead_letters_total"),
    ).toBe(1);
    expect(after).toMatch(/^bot_ingest_dead_letters_total\{reason="schema_violation"\} \d+$/m);
  });
});
