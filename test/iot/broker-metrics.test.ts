/**
 * What the embedded broker refuses or closes for a hostile client reaches the operator: /metrics
 * counts a client-id takeover attempt and a packet over the limit, through the ingest runtime as
 * `npm start` runs it.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { eventsTopic } from "../../iot/protocol.js";
import { type IngestRuntime, startIngestRuntime } from "../../iot/runtime.js";
import { createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createIotWorld, createSensor, device, freePort, waitFor } from "./support.js";

let database: DatabaseHandle;
let runtime: IngestRuntime;
let url: string;

beforeAll(async () => {
  database = await openTestDatabase();
  const port = await freePort();
  url = `mqtt://127.0.0.1:${port}`;
  runtime = await startIngestRuntime({
    config: {
      MQTT_PORT: port,
      MQTT_CLIENT_ID: "bot-ingest",
      MQTT_CONSUMERS: 1,
      MQTT_MAX_PACKET_BYTES: 16_384,
    },
    db: database.db,
    logger: pino({ level: "silent" }),
  });
});

afterAll(async () => {
  await runtime?.close();
  await database?.close();
});

describe("/metrics of the embedded broker", () => {
  it("counts a login under another sensor's client id and a packet over the limit", async () => {
    const world = await createIotWorld(database.db);
    const a = await createSensor(database.db, world);
    const b = await createSensor(database.db, world);
    const app = createTestApp(database.db, { ingest: runtime.ingest, devices: runtime.devices });

    await expect(device(url, b.id, b.key, { clientId: a.id })).rejects.toThrow();
    const sender = await device(url, a.id, a.key);
    const closed = new Promise<void>((resolve) => sender.stream.once("close", () => resolve()));
    sender.publish(eventsTopic(a.id), Buffer.alloc(20_000, 0x20), { qos: 1 });
    await closed;
    sender.end(true);

    const text = await waitFor(
      async () => {
        const body = await (await app.request("/metrics")).text();
        return body.includes('bot_broker_dropped_connections_total{reason="packet_too_large"} 1') && body;
      },
      5_000,
      "the dropped connection on /metrics",
    );
    expect(text).toContain('bot_broker_refused_connects_total{reason="client_id_mismatch"} 1');
  });
});
