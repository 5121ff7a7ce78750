/**
 * The simulator obeys commands through the real runtime (the embedded aedes, the ingest and the
 * command dispatcher): a release ends its halt with an `ebike_cleared` event (the incident
 * closes) and is answered `applied`; set_blocking and set_heartbeat change what it does; a
 * command past its expiresAt is answered `expired` and not applied.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { sensorEvents, sensors } from "../../db/schema.js";
import { commandMessage, eventsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, startIngestRuntime } from "../../iot/runtime.js";
import { commandStore } from "../../src/services/sensors/command-delivery.js";
import { publishTraffic, SimulatedDevice, type TrafficPlan } from "../../tools/simulator.js";
import {
  commandRow,
  createCommand,
  createElevator,
  createIotWorld,
  createSensor,
  freePort,
  INGEST_USER,
  incidentsOf,
  waitFor,
} from "../iot/support.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";

let database: DatabaseHandle;
let world: World;
let runtime: IngestRuntime;
let url: string;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  const port = await freePort();
  runtime = await startIngestRuntime({
    config: {
      MQTT_PORT: port,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `sim-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
    },
    db: database.db,
    logger: pino({ level: "silent" }),
    sweeper: { scope: { communityId: world.community.id } },
    commandStore: commandStore(database.db, () => new Date()),
  });
  url = `mqtt://127.0.0.1:${port}`;
});

afterAll(async () => {
  await runtime?.close();
  await database?.close();
});

const applied = (id: string) =>
  waitFor(async () => {
    const row = await commandRow(database.db, id);
    return row.state !== "pending" && row.state !== "sent" && row;
  });

describe("the simulator obeys commands", () => {
  it("a release ends its halt with ebike_cleared: the incident closes, the command is applied", async () => {
    const sensor = await createSensor(database.db, world);
    const device = await SimulatedDevice.connect({ url, sensor });
    await device.detect(3);
    const incident = await waitFor(async () => (await incidentsOf(database.db, sensor.facilityId))[0]);
    expect(incident).toMatchObject({ kind: "ebike", closed_at: null });
    const release = await createCommand(database.db, world, sensor);
    runtime.commands?.kick();
    expect(await applied(release.id)).toMatchObject({ state: "applied" });
    const closed = await waitFor(async () => {
      const [i] = await incidentsOf(database.db, sensor.facilityId);
      return i?.closed_at && i;
    });
    expect(closed.closed_at).toBeTruthy();
    expect(device.state.halted).toBeNull();
    // No car halted any more: a second release is refused with the device's reason.
    const again = await createCommand(database.db, world, sensor);
    runtime.commands?.kick();
    expect(await applied(again.id)).toMatchObject({ state: "refused", resultReason: "no car is halted" });
    await device.close();
  });

  it("set_blocking off: a detection no longer halts the car; set_heartbeat changes its interval", async () => {
    const sensor = await createSensor(database.db, world);
    const device = await SimulatedDevice.connect({ url, sensor });
    const off = await createCommand(database.db, world, sensor, {
      type: "set_blocking",
      params: { enabled: false, until: new Date(Date.now() + 3_600_000).toISOString() },
    });
    runtime.commands?.kick();
    expect(await applied(off.id)).toMatchObject({ state: "applied" });
    await device.detect(1);
    const [detected] = await waitFor(async () => {
      const rows = await database.db
        .select()
        .from(sensorEvents)
        .where(and(eq(sensorEvents.sensorId, sensor.id), eq(sensorEvents.type, "ebike_detected")));
      return rows.length && rows;
    });
    expect((detected?.payload as { carHalted?: boolean } | undefined)?.carHalted).toBe(false);
    expect(device.state.halted).toBeNull();

    const pace = await createCommand(database.db, world, sensor, {
      type: "set_heartbeat",
      params: { intervalS: 90 },
    });
    runtime.commands?.kick();
    expect(await applied(pace.id)).toMatchObject({ state: "applied" });
    expect(device.state.heartbeatIntervalS).toBe(90);
    const [row] = await database.db.select().from(sensors).where(eq(sensors.id, sensor.id));
    expect(row?.heartbeatIntervalS).toBe(90);
    await device.close();
  });

  it("a command received past its expiresAt is answered expired and not applied", async () => {
    const sensor = await createSensor(database.db, world);
    const device = await SimulatedDevice.connect({ url, sensor });
    await device.detect(2);
    // Delivered late (a device that was offline): the platform had sent it in time.
    const late = await createCommand(database.db, world, sensor, {
      state: "sent",
      sentAt: new Date(Date.now() - 120_000),
      issuedAt: new Date(Date.now() - 130_000),
      expiresAt: new Date(Date.now() - 10_000),
    });
    for (let i = 0; i < 2; i++) await device.handle(JSON.stringify(commandMessage(late)));
    expect(await applied(late.id)).toMatchObject({
      state: "expired",
      resultReason: "received after expiresAt",
    });
    expect(device.state.halted).toBe(2);
    expect([...device.answered.values()]).toEqual([
      { result: "expired", reason: "received after expiresAt" },
    ]);
    await device.close();
  });

  it("npm run simulate's sensors obey too: a release during the planned traffic ends the halt it follows", async () => {
    const elevator = await createElevator(database.db, world);
    const sensor = await createSensor(database.db, world, elevator.id);
    const base = Date.now() - 60_000;
    const message = (seq: number, type: "ebike_detected" | "heartbeat", body: Record<string, unknown>) => {
      const eventId = `plan-${sensor.id.slice(0, 8)}-${seq}`;
      return {
        seq,
        sensorId: sensor.id,
        topic: eventsTopic(sensor.id),
        payload: JSON.stringify({
          eventId,
          type,
          occurredAt: new Date(base + seq * 1000).toISOString(),
          ...body,
        }),
        kind: "valid" as const,
        eventId,
        type,
        expectedReason: null,
        outOfOrder: false,
      };
    };
    // A halted detection, then heartbeats that keep the connection busy while the release runs.
    const messages = [
      message(0, "ebike_detected", { carHalted: true, floor: 4, confidence: 0.9 }),
      ...Array.from({ length: 60 }, (_, i) =>
        message(i + 1, "heartbeat", { uptimeS: i, firmware: "sim-1.0" }),
      ),
    ];
    const plan = Object.assign(messages, {
      total: messages.length,
      expected: { perSensor: { [sensor.id]: { messages: messages.length } } },
      from: new Date(base),
      to: new Date(base + messages.length * 1000),
    }) as unknown as TrafficPlan;
    const stop = new AbortController();
    const publishing = publishTraffic({ url, sensors: [sensor], plan, rate: 4, signal: stop.signal });
    const incident = await waitFor(async () => (await incidentsOf(database.db, sensor.facilityId))[0]);
    expect(incident).toMatchObject({ kind: "ebike", closed_at: null });
    const release = await createCommand(database.db, world, sensor);
    runtime.commands?.kick();
    expect(await applied(release.id)).toMatchObject({ state: "applied" });
    const closed = await waitFor(async () => {
      const [i] = await incidentsOf(database.db, sensor.facilityId);
      return i?.closed_at && i;
    });
    expect(closed.closed_at).toBeTruthy();
    stop.abort();
    const summary = await publishing;
    expect(summary.failed).toBe(0);
  });
});
