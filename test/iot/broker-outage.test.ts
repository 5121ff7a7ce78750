/**
 * What the broker itself must not lose, through a real Mosquitto with the shipped config and the
 * real ingest runtime (as `npm start` wires it with MQTT_URL): a backlog far beyond Mosquitto's
 * default queue of 1,000 messages per client while the ingest is down, and a broker restart, from
 * which the consumer comes back by itself while /readyz says the broker is gone.
 */
import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { consumerClientId } from "../../iot/consumer.js";
import { eventsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, type IngestRuntimeConfig, startIngestRuntime } from "../../iot/runtime.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import {
  countEvents,
  createIotWorld,
  createSensor,
  device,
  discardSessions,
  event,
  INGEST_USER,
  type Mosquitto,
  RATE_LIMIT_OUT_OF_THE_WAY,
  startMosquitto,
  waitFor,
} from "./support.js";

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
let world: World;
let broker: Mosquitto;
let backlogSensor: Awaited<ReturnType<typeof createSensor>>;
let restartSensor: Awaited<ReturnType<typeof createSensor>>;
let plainSensor: Awaited<ReturnType<typeof createSensor>>;
let shrinkSensor: Awaited<ReturnType<typeof createSensor>>;
const runtimes: IngestRuntime[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  backlogSensor = await createSensor(database.db, world);
  restartSensor = await createSensor(database.db, world);
  plainSensor = await createSensor(database.db, world);
  shrinkSensor = await createSensor(database.db, world);
  broker = await startMosquitto(database.db); // its logins include the sensors above
});

afterAll(async () => {
  for (const r of runtimes) await r.close();
  await broker?.stop();
  await database?.close();
});

/** The ingest runtime as src/node.ts starts it with MQTT_URL, on a session of its own. */
async function startIngest(
  config: Pick<IngestRuntimeConfig, "MQTT_CLIENT_ID" | "MQTT_CONSUMERS" | "MQTT_SHARED">,
) {
  const runtime = await startIngestRuntime({
    config: {
      MQTT_URL: broker.url,
      MQTT_PORT: 0,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      // Several connections share the events (and the shrink test needs the share group).
      MQTT_SHARED: true,
      ...RATE_LIMIT_OUT_OF_THE_WAY,
      ...config,
    },
    db: database.db,
    logger,
    sweeper: { scope: { communityId: world.community.id } },
  });
  runtimes.push(runtime);
  await waitFor(
    async () => {
      const { mqtt, brokerAdmin } = await runtime.readiness();
      return mqtt?.ok && brokerAdmin?.ok;
    },
    10_000,
    "the consumer subscribed and the broker admin connected",
  );
  return runtime;
}

async function stopIngest(runtime: IngestRuntime) {
  await runtime.close();
  runtimes.splice(runtimes.indexOf(runtime), 1);
}

/** The client ids of an instance's consumer connections. */
const clientIds = (config: Pick<IngestRuntimeConfig, "MQTT_CLIENT_ID" | "MQTT_CONSUMERS">) =>
  Array.from({ length: config.MQTT_CONSUMERS }, (_, i) => consumerClientId(config.MQTT_CLIENT_ID, i));

describe("the broker's limits and outages", () => {
  it("keeps a backlog of 5,000 events for the ingest's session while it is down (Mosquitto's default drops past 1,000)", async () => {
    const sensor = backlogSensor;
    const session = { MQTT_CLIENT_ID: `backlog-${randomUUID().slice(0, 8)}`, MQTT_CONSUMERS: 1 };
    // The session exists (subscribed), then the ingest goes away.
    await stopIngest(await startIngest(session));

    const publisher = await device(broker.url, sensor.id, sensor.key, { protocolVersion: 5 });
    const topic = eventsTopic(sensor.id);
    for (let sent = 0; sent < 5_000; sent += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          // half a second apart, all in the past hour
          publisher.publishAsync(topic, JSON.stringify(event("heartbeat", (sent + i) / 2)), { qos: 1 }),
        ),
      );
    }
    await publisher.endAsync();
    expect(await countEvents(database.db, sensor.id)).toBe(0);

    // The same session comes back: every message the broker acknowledged to the device arrives.
    const back = await startIngest(session);
    await waitFor(
      async () => (await countEvents(database.db, sensor.id)) === 5_000,
      20_000,
      "the 5,000 queued events",
    );
    await stopIngest(back);
    await discardSessions(broker.url, clientIds(session)); // see discardSessions
  });

  it("with one connection (a plain subscription, the default), loses nothing published after a broker restart before the ingest is back", async () => {
    const sensor = plainSensor;
    const session = {
      MQTT_CLIENT_ID: `plain-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: 1,
      MQTT_SHARED: false,
    };
    const topic = eventsTopic(sensor.id);
    const publish = async (from: number) => {
      const publisher = await device(broker.url, sensor.id, sensor.key, { protocolVersion: 5 });
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          publisher.publishAsync(topic, JSON.stringify(event("heartbeat", from + i)), { qos: 1 }),
        ),
      );
      await publisher.endAsync();
    };
    // The ingest is connected when the broker goes down, and not yet back when it returns (a crash
    // of both, a host reboot). With MQTT_SHARED=true, Mosquitto 2.0.11 acknowledges the second 50
    // to the device and drops them: its restored shared subscription delivers to no one.
    const runtime = await startIngest(session);
    await publish(0);
    await broker.down();
    await stopIngest(runtime);
    await broker.up();
    await publish(100);

    const back = await startIngest(session);
    await waitFor(async () => (await countEvents(database.db, sensor.id)) === 100, 20_000, "all 100 events");
    await stopIngest(back);
    await discardSessions(broker.url, clientIds(session));
  });

  it("reconnects by itself when the broker restarts, and /readyz reports the broker down meanwhile", async () => {
    const sensor = restartSensor;
    const session = { MQTT_CLIENT_ID: `restart-${randomUUID().slice(0, 8)}`, MQTT_CONSUMERS: 2 };
    const runtime = await startIngest(session);
    const app = createTestApp(database.db, { readiness: runtime.readiness });
    const ready = await client(app).get("/readyz");
    expect(ready).toMatchObject({
      status: 200,
      body: {
        status: "ready",
        checks: { database: true, mqtt: true, brokerAdmin: true, ingest: true },
        reasons: {},
      },
    });

    await broker.down();
    const down = await waitFor(
      async () => {
        const res = await client(app).get("/readyz");
        // The consumer's connections and the app's broker-admin connection notice it each.
        return res.status === 503 && !res.body.checks.mqtt && !res.body.checks.brokerAdmin ? res : null;
      },
      10_000,
      "/readyz to report the broker down",
    );
    expect(down.body).toEqual({
      status: "not_ready",
      checks: { database: true, mqtt: false, brokerAdmin: false, ingest: true },
      reasons: {
        mqtt: expect.stringMatching(/^not connected to the broker: /),
        brokerAdmin: expect.stringMatching(/^the broker's device admin is not connected/),
      },
    });

    await broker.up();
    await waitFor(async () => (await client(app).get("/readyz")).status === 200, 20_000, "the consumer back");
    const publisher = await device(broker.url, sensor.id, sensor.key, { protocolVersion: 5 });
    await publisher.publishAsync(eventsTopic(sensor.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
    await publisher.endAsync();
    await waitFor(
      async () => (await countEvents(database.db, sensor.id)) === 1,
      10_000,
      "the event after the restart",
    );
    await stopIngest(runtime);
    await discardSessions(broker.url, clientIds(session));
  });

  it("loses nothing when MQTT_CONSUMERS is lowered: the sessions above the new count are still served", async () => {
    const sensor = shrinkSensor;
    const wide = { MQTT_CLIENT_ID: `shrink-${randomUUID().slice(0, 8)}`, MQTT_CONSUMERS: 3 };
    await stopIngest(await startIngest(wide));
    // While the ingest is down, the broker deals the events among the three sessions.
    const publisher = await device(broker.url, sensor.id, sensor.key, { protocolVersion: 5 });
    const publish = (from: number, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          publisher.publishAsync(eventsTopic(sensor.id), JSON.stringify(event("heartbeat", from + i)), {
            qos: 1,
          }),
        ),
      );
    await publish(0, 300);

    // The instance comes back with one connection: sessions -1 and -2 hold about 200 of them.
    const narrow = await startIngest({ ...wide, MQTT_CONSUMERS: 1 });
    await waitFor(async () => (await countEvents(database.db, sensor.id)) === 300, 20_000, "all 300 events");
    // And they stay served: what the broker goes on dealing to them arrives too.
    await publish(300, 30);
    await waitFor(async () => (await countEvents(database.db, sensor.id)) === 330, 10_000, "30 more");
    await publisher.endAsync();
    await stopIngest(narrow);
    await discardSessions(broker.url, clientIds(wide));
  });
});
