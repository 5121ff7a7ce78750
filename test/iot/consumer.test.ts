/**
 * The MQTT.js consumer against a real Mosquitto (shipped config): many messages in flight on one
 * connection, and a PUBACK only for what is committed. The consumer relies on an MQTT.js detail
 * (an error passed to handleMessage's callback means "read on, send no PUBACK"); these tests
 * fail if that changes.
 */
import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { type Consumer, consumerClientId, startConsumer } from "../../iot/consumer.js";
import { createIngest } from "../../iot/ingest.js";
import { eventsTopic } from "../../iot/protocol.js";
import { createWriter, type Writer, type WriterOptions } from "../../iot/writer.js";
import { openTestDatabase } from "../support/db.js";
import {
  countEvents,
  createIotWorld,
  createSensor,
  device,
  discardSessions,
  event,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
let broker: Mosquitto;
let sensor: Awaited<ReturnType<typeof createSensor>>;
const consumers: Consumer[] = [];
const writers: Writer[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  const world = await createIotWorld(database.db);
  sensor = await createSensor(database.db, world);
  broker = await startMosquitto(database.db);
});

const sessions = new Set<string>();

// Each test ends its consumers and discards their sessions (see discardSessions).
afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  for (const w of writers.splice(0)) await w.close();
  await discardSessions(broker.url, sessions);
  sessions.clear();
});

afterAll(async () => {
  await broker?.stop();
  await database?.close();
});

/** One consumer connection on a fixed session, feeding `ingestBatch` through a writer. */
function consume(clientIdPrefix: string, ingestBatch: WriterOptions["ingestBatch"], drainTimeoutMs?: number) {
  const writer = createWriter({ ingestBatch, logger, lingerMs: 1 });
  const consumer = startConsumer({
    url: broker.url,
    writer,
    logger,
    ...INGEST_USER,
    clientIdPrefix,
    connections: 1,
    ...(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }),
  });
  consumers.push(consumer);
  sessions.add(consumerClientId(clientIdPrefix, 0));
  return { writer, consumer };
}

/**
 * What the broker sends a new consumer on `session` up to a marker published behind it: 1 (the
 * marker alone) when every earlier message of the session was acknowledged. Waits until the
 * sensor has `stored` events, the marker included.
 */
async function deliveredOnReturn(
  session: string,
  ingest: ReturnType<typeof createIngest>,
  publisher: Awaited<ReturnType<typeof device>>,
  stored: number,
) {
  let delivered = 0;
  const after = consume(session, async (items) => {
    delivered += items.length;
    return ingest.ingestBatch(items);
  });
  writers.push(after.writer);
  await after.consumer.ready();
  await publisher.publishAsync(eventsTopic(sensor.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
  await waitFor(async () => (await countEvents(database.db, sensor.id)) === stored, 10_000, "the marker");
  return delivered;
}

describe("the MQTT ingest consumer", () => {
  it("reads on while a commit is pending, acknowledges nothing uncommitted, and each committed message once", async () => {
    const session = `consumer-test-${randomUUID().slice(0, 8)}`;
    const ingest = createIngest({ db: database.db, logger, clock: () => new Date() });
    const publisher = await device(broker.url, sensor.id, sensor.key, { protocolVersion: 5 });
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await publisher.publishAsync(eventsTopic(sensor.id), JSON.stringify(event("heartbeat", i)), {
          qos: 1,
        });
      }
    };

    // 1. A database that never answers: the one connection still takes all 50 messages (they
    //    wait in the writer), so messages do not wait for each other's commit.
    const stuck = consume(session, () => new Promise(() => {}), 100);
    await stuck.consumer.ready();
    await publish(50);
    await waitFor(
      async () => stuck.writer.pending === 50,
      10_000,
      "50 messages taken while none is committed",
    );
    expect(await countEvents(database.db, sensor.id)).toBe(0);

    // 2. That consumer dies. Had it acknowledged anything, the broker would not redeliver it and it
    //    would be lost: the next consumer on the same session gets all 50 again and stores them.
    await stuck.consumer.close();
    consumers.splice(consumers.indexOf(stuck.consumer), 1);
    const live = consume(session, ingest.ingestBatch);
    writers.push(live.writer);
    await live.consumer.ready();
    await waitFor(
      async () => (await countEvents(database.db, sensor.id)) === 50,
      10_000,
      "the 50 redelivered",
    );
    await publish(50);
    await waitFor(async () => (await countEvents(database.db, sensor.id)) === 100, 10_000, "50 more stored");
    await waitFor(async () => live.writer.pending === 0, 5_000, "the writer idle");
    expect(ingest.counters.stored).toBe(100);

    // 3. And what was committed was acknowledged: a consumer on the same session after this one
    //    is sent nothing again (an unacknowledged message would come back as a duplicate).
    await live.consumer.close();
    consumers.splice(consumers.indexOf(live.consumer), 1);
    expect(await deliveredOnReturn(session, ingest, publisher, 101)).toBe(1);
    expect(ingest.counters.duplicates).toBe(0);
    await publisher.endAsync();
  });

  it("on close, waits for the commit in progress and acknowledges it before disconnecting", async () => {
    const session = `consumer-drain-${randomUUID().slice(0, 8)}`;
    const ingest = createIngest({ db: database.db, logger, clock: () => new Date() });
    const publisher = await device(broker.url, sensor.id, sensor.key, { protocolVersion: 5 });
    const before = await countEvents(database.db, sensor.id);
    // A slow database: the commit is still running when close() is called.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = consume(session, async (items) => {
      await held;
      return ingest.ingestBatch(items);
    });
    const releaseLater = setTimeout(release, 5_000); // however the test ends, the writer can close
    writers.push(slow.writer);
    await slow.consumer.ready();
    for (let i = 0; i < 20; i++) {
      await publisher.publishAsync(eventsTopic(sensor.id), JSON.stringify(event("heartbeat", i)), { qos: 1 });
    }
    await waitFor(async () => slow.writer.pending === 20, 10_000, "20 messages taken");
    const closed = slow.consumer.close();
    setTimeout(release, 200);
    await closed;
    clearTimeout(releaseLater);
    consumers.splice(consumers.indexOf(slow.consumer), 1);
    expect(await countEvents(database.db, sensor.id)).toBe(before + 20);

    // Nothing comes back on the same session: all 20 were acknowledged before the DISCONNECT.
    expect(await deliveredOnReturn(session, ingest, publisher, before + 21)).toBe(1);
    expect(ingest.counters.duplicates).toBe(0);
    await publisher.endAsync();
  });
});
