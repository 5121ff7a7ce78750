/**
 * Device logins on a real Mosquitto take effect at once: the app, as the dynamic-security plugin's
 * admin (iot/dynsec-admin.ts), adds a registered sensor, changes its password on rotate-key and
 * disables it on revoke, while the ingest runs on the same broker. No file is rewritten, no signal
 * sent. Refused logins are counted on /metrics from Mosquitto's own notices.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { MqttClient } from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { sensors } from "../../db/schema.js";
import { eventsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, startIngestRuntime } from "../../iot/runtime.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import {
  countEvents,
  createIotWorld,
  createSensor,
  device,
  event,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

let database: DatabaseHandle;
let world: World;
let broker: Mosquitto;
let runtime: IngestRuntime;
let api: ReturnType<typeof client>;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  broker = await startMosquitto(database.db);
  runtime = await startIngestRuntime({
    config: {
      MQTT_URL: broker.url,
      MQTT_PORT: 0,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `dynsec-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
    },
    db: database.db,
    logger: pino({ level: "silent" }),
    sweeper: { scope: { communityId: world.community.id } },
  });
  await waitFor(async () => (await runtime.readiness()).brokerAdmin?.ok, 10_000, "the broker admin");
  app = createTestApp(database.db, { ingest: runtime.ingest, devices: runtime.devices });
  api = client(app, world.enterprise.key);
});

afterAll(async () => {
  await runtime?.close();
  await broker?.stop();
  await database?.close();
});

const register = async () => {
  const res = await api.post("/v1/sensors", { facilityId: world.elevator.id, name: "car 1" });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
};

/** Logins this broker has refused so far: the counter is checked against all of them, since a
 * refusal's notice may reach the app after the next test has begun. */
let refusals = 0;

/** Connects, or answers the broker's refusal. */
const tryConnect = (username: string, password: string) =>
  device(broker.url, username, password).then(
    async (c) => {
      await c.endAsync();
      return "connected";
    },
    (err: Error) => {
      if (err.message === "Connection refused: Not authorized") refusals += 1;
      return err.message;
    },
  );

const closed = (c: MqttClient) =>
  new Promise<number>((resolve) => c.once("close", () => resolve(Date.now())));

const refusedOnMetrics = async () => {
  const text = (await api.get("/metrics")).body as string;
  return Number(/^bot_broker_refused_connects_total\{reason="not_authorised"\} (\d+)$/m.exec(text)?.[1] ?? 0);
};

describe("sensor logins on Mosquitto (dynamic security)", () => {
  it("lets a sensor connect right after its registration, and stores its events", async () => {
    const sensor = await register();
    const registered = Date.now();
    const c = await device(broker.url, sensor.id, sensor.key, { protocolVersion: 5 });
    expect(Date.now() - registered).toBeLessThan(1_000);
    await c.publishAsync(eventsTopic(sensor.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
    await waitFor(async () => (await countEvents(database.db, sensor.id)) === 1, 10_000, "the event");
    await c.endAsync();
  });

  it("rotate-key drops the old key's connection and refuses it; the new key works at once", async () => {
    const sensor = await register();
    const old = await device(broker.url, sensor.id, sensor.key);
    const dropped = closed(old);
    const res = await api.post(`/v1/sensors/${sensor.id}/rotate-key`);
    expect(res.status).toBe(200);
    const answered = Date.now();
    expect((await dropped) - answered).toBeLessThan(1_000);
    expect(await tryConnect(sensor.id, sensor.key)).toBe("Connection refused: Not authorized");
    const fresh = await device(broker.url, sensor.id, res.body.key, { protocolVersion: 5 });
    await fresh.publishAsync(eventsTopic(sensor.id), JSON.stringify(event("heartbeat", 1)), { qos: 1 });
    await waitFor(async () => (await countEvents(database.db, sensor.id)) === 1, 10_000, "the event");
    await fresh.endAsync();
    await old.endAsync(true);
  });

  it("revoke kicks the sensor's live connection and refuses it from then on", async () => {
    const sensor = await register();
    const live = await device(broker.url, sensor.id, sensor.key);
    const dropped = closed(live);
    expect((await api.post(`/v1/sensors/${sensor.id}/revoke`)).status).toBe(200);
    const answered = Date.now();
    expect((await dropped) - answered).toBeLessThan(1_000);
    expect(await tryConnect(sensor.id, sensor.key)).toBe("Connection refused: Not authorized");
    await live.endAsync(true);
  });

  it("counts an unknown sensor's refused login on /metrics (from Mosquitto's notices)", async () => {
    expect(await tryConnect(randomUUID(), "not-a-key")).toBe("Connection refused: Not authorized");
    await waitFor(async () => (await refusedOnMetrics()) === refusals, 10_000, "the counter");
  });

  it("answers 503 and changes nothing while the broker can not be told; reconciles revokes when back", async () => {
    const known = await register();
    // Revoked in the database behind the broker's back (a revoke whose broker call was lost).
    const lost = await createSensor(database.db, world);
    await broker.down();
    await waitFor(async () => !(await runtime.readiness()).brokerAdmin?.ok, 5_000, "the admin to notice");
    const res = await api.post("/v1/sensors", { facilityId: world.elevator.id, name: "car 2" });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.body.code).toBe("broker_unavailable");
    const rotate = await api.post(`/v1/sensors/${known.id}/rotate-key`);
    expect(rotate.status).toBe(503);
    const [row] = await database.db.select().from(sensors).where(eq(sensors.id, known.id));
    expect(row?.revokedAt).toBeNull();
    expect(await database.db.$count(sensors, eq(sensors.name, "car 2"))).toBe(0);

    await database.db.update(sensors).set({ revokedAt: new Date() }).where(eq(sensors.id, lost.id));
    await broker.up();
    await waitFor(async () => (await runtime.readiness()).brokerAdmin?.ok, 10_000, "the admin back");
    // The old key still works (the failed rotation changed nothing); the revoked one is disabled.
    await waitFor(async () => (await tryConnect(lost.id, lost.key)) !== "connected", 5_000, "reconcile");
    expect(await tryConnect(known.id, known.key)).toBe("connected");
  });
});
