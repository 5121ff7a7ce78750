/**
 * The whole loop on one e-bike halt, as the people and the device live it, with every part real:
 * a device's detection over MQTT (the embedded aedes, and Mosquitto with the shipped config) opens an incident; the property company's
 * webhook is told, signed; nobody acknowledges, so the escalation step reaches the owners
 * committee's endpoint after its 15 minutes and not before; the property company releases the car
 * through the API with a reason; the device gets the command, sends its clear and answers
 * `applied`; the incident closes, names who released it and why, and escalates no further.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/database.js";
import { incidents } from "../../db/schema.js";
import { commandResultsTopic, commandsTopic, eventsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, startIngestRuntime } from "../../iot/runtime.js";
import { runNotificationCauses } from "../../src/services/notifications/causes.js";
import { runNotifications } from "../../src/services/notifications/jobs.js";
import { verifyWebhook } from "../../src/services/notifications/signing.js";
import { commandStore } from "../../src/services/sensors/command-delivery.js";
import {
  createElevator,
  createIotWorld,
  createSensor,
  device,
  event,
  freePort,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "../iot/support.js";
import { client, createTestApp } from "../support/app.js";
import type { World } from "../support/factories.js";
import { createEndpoint, ownDatabase, type Receiver, startReceiver } from "./support.js";

const logger = pino({ level: "silent" });
const MINUTE = 60_000;
let db: Database;
let close: () => Promise<void>;
let propertyReceiver: Receiver;
let committeeReceiver: Receiver;
let world: World;

let mosquitto: Mosquitto;
let property: Awaited<ReturnType<typeof createEndpoint>>;

beforeAll(async () => {
  ({ db, close } = await ownDatabase("loop"));
  world = await createIotWorld(db);
  propertyReceiver = await startReceiver();
  committeeReceiver = await startReceiver();
  mosquitto = await startMosquitto(db);
  property = await createEndpoint(db, {
    organizationId: world.propertyCompany.org.id,
    url: propertyReceiver.url,
    rules: [{ type: "ebike_halt_opened" }],
  });
  await createEndpoint(db, {
    organizationId: world.ownersCommittee.org.id,
    url: committeeReceiver.url,
    rules: [{ type: "halt_unacknowledged", afterMinutes: 15 }],
  });
});

afterAll(async () => {
  await propertyReceiver?.close();
  await committeeReceiver?.close();
  await mosquitto?.stop();
  await close?.();
});

/** The app's runtime as src/node.ts starts it: the ingest, the broker (or its admin), the command dispatcher. */
async function startRuntime(config: { MQTT_URL?: string; MQTT_PORT: number }) {
  const started = await startIngestRuntime({
    config: {
      ...config,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `loop-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
    },
    db,
    logger,
    sweeper: { scope: { communityId: world.community.id } },
    commandStore: commandStore(db, () => new Date()),
  });
  await waitFor(async () => {
    const ready = await started.readiness();
    return Object.values(ready).every((check) => check.ok);
  });
  return started;
}

const brokers: [string, () => Promise<{ runtime: IngestRuntime; url: string }>][] = [
  [
    "the embedded aedes",
    async () => {
      const port = await freePort();
      return { runtime: await startRuntime({ MQTT_PORT: port }), url: `mqtt://127.0.0.1:${port}` };
    },
  ],
  [
    "Mosquitto (the shipped config)",
    async () => ({
      runtime: await startRuntime({ MQTT_URL: mosquitto.url, MQTT_PORT: 0 }),
      url: mosquitto.url,
    }),
  ],
];

describe.each(brokers)("an e-bike halt over %s, from the sensor to the people and back", (_name, start) => {
  let runtime: IngestRuntime;
  let brokerUrl: string;
  beforeAll(async () => {
    ({ runtime, url: brokerUrl } = await start());
  });
  afterAll(async () => {
    await runtime?.close();
  });

  it("is announced, escalated once when nobody acts, released remotely, and closed with who and why", async () => {
    propertyReceiver.received.length = 0;
    committeeReceiver.received.length = 0;
    // An elevator of its own, so that the other broker's run leaves it nothing.
    const elevator = await createElevator(db, world);
    const sensor = await createSensor(db, world, elevator.id);
    await runtime.devices.addSensor(sensor.id, sensor.key);
    const incidentsOfElevator = () =>
      db.select().from(incidents).where(eq(incidents.facilityId, elevator.id));
    const app = createTestApp(db, { ...(runtime.commands ? { commandDispatcher: runtime.commands } : {}) });

    // The device: halts the car on a detection; on a release, lets it go (its clear), then answers.
    const dev = await device(brokerUrl, sensor.id, sensor.key);
    const commandsSeen: { commandId: string; type: string }[] = [];
    // Kept so the device is ended only after its answer was acknowledged: ending it with a publish
    // in flight rejects that publish after the test.
    let answered: Promise<unknown> = Promise.resolve();
    dev.on("message", (topic, payload) => {
      if (topic !== commandsTopic(sensor.id)) return;
      const command = JSON.parse(payload.toString()) as { commandId: string; type: string };
      commandsSeen.push(command);
      if (command.type !== "release") return;
      answered = (async () => {
        await dev.publishAsync(
          eventsTopic(sensor.id),
          JSON.stringify(event("ebike_cleared", 0, {}, Date.now())),
          {
            qos: 1,
          },
        );
        await dev.publishAsync(
          commandResultsTopic(sensor.id),
          JSON.stringify({ commandId: command.commandId, result: "applied" }),
          { qos: 1 },
        );
      })();
    });
    await dev.subscribeAsync(commandsTopic(sensor.id), { qos: 1 });
    const detectedAt = Date.now();
    await dev.publishAsync(
      eventsTopic(sensor.id),
      JSON.stringify(event("ebike_detected", 0, {}, detectedAt)),
      {
        qos: 1,
      },
    );
    const incident = await waitFor(async () =>
      (await incidentsOfElevator()).find((i) => i.closedAt === null),
    );

    // Told at once: the property company's webhook, signed, naming the incident.
    const now = () => new Date();
    await runNotifications({ db, clock: now, logger });
    expect(propertyReceiver.received).toHaveLength(1);
    const told = propertyReceiver.received[0];
    if (!told || !property.secret) throw new Error("nothing received");
    expect(
      await verifyWebhook(property.secret, told.headers, told.body, { toleranceS: 300, now: new Date() }),
    ).toMatchObject({ ok: true });
    const announcement = JSON.parse(told.body) as { id: string; type: string; data: { incidentId: string } };
    expect(announcement).toMatchObject({ type: "ebike_halt_opened", data: { incidentId: incident.id } });
    expect(told.headers["webhook-id"]).toBe(announcement.id);

    // Nobody acknowledges: nothing for the committee at 14 minutes, one escalation at 15.
    const at = (minutes: number) => () => new Date(detectedAt + minutes * MINUTE);
    await runNotificationCauses({ db, clock: at(14), logger });
    await runNotifications({ db, clock: at(14), logger });
    expect(committeeReceiver.received).toHaveLength(0);
    await runNotificationCauses({ db, clock: at(15), logger });
    await runNotifications({ db, clock: at(15), logger });
    expect(committeeReceiver.received).toHaveLength(1);
    const escalation = JSON.parse(committeeReceiver.received[0]?.body ?? "{}");
    expect(escalation).toMatchObject({
      type: "halt_unacknowledged",
      data: { incidentId: incident.id, afterMinutes: 15 },
    });
    expect(committeeReceiver.received[0]?.headers["webhook-id"]).not.toBe(announcement.id);

    // The property company releases the car remotely, with a reason.
    const issued = await client(app, world.propertyCompany.key).post(`/v1/sensors/${sensor.id}/commands`, {
      type: "release",
      reason: "误报：婴儿车",
    });
    expect(issued.status).toBe(201);
    const commandId = (issued.body as { id: string }).id;
    const closed = await waitFor(async () => {
      const row = (await incidentsOfElevator()).find((i) => i.id === incident.id);
      return row?.closedAt ? row : null;
    });
    expect(closed.closedAt).toBeInstanceOf(Date);
    expect(commandsSeen).toEqual([expect.objectContaining({ commandId, type: "release" })]);
    const command = await waitFor(async () => {
      const read = await client(app, world.propertyCompany.key).get(
        `/v1/sensors/${sensor.id}/commands/${commandId}`,
      );
      const body = read.body as { state: string };
      return body.state === "applied" ? body : null;
    });
    expect(command).toMatchObject({ state: "applied", reason: "误报：婴儿车" });
    const read = await client(app, world.ownersCommittee.key).get(`/v1/incidents/${incident.id}`);
    expect(read.status).toBe(200);
    expect((read.body as { releases: unknown[] }).releases).toEqual([
      expect.objectContaining({
        commandId,
        state: "applied",
        reason: "误报：婴儿车",
        issuedByOrgId: world.propertyCompany.org.id,
      }),
    ]);

    // Closed: no further step, not even at 30 minutes.
    await runNotificationCauses({ db, clock: at(30), logger });
    await runNotifications({ db, clock: at(30), logger });
    expect(committeeReceiver.received).toHaveLength(1);
    expect(propertyReceiver.received).toHaveLength(1);
    await answered;
    await dev.endAsync();
  });
});
