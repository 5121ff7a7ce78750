/**
 * The embedded broker (aedes) against hostile clients, over raw TCP where a well-behaved MQTT
 * client would not do what an attacker does: declared sizes far over the limits, connections
 * that never log in, too many connections, another sensor's client id, guessed passwords. Each
 * broker here gets small limits of its own, so that every case runs in a second or two.
 */
import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import mqttPacket from "mqtt-packet";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LoginThrottleOptions } from "../../contracts/login-throttle.js";
import type { DatabaseHandle } from "../../db/client.js";
import {
  type BrokerLimits,
  DEFAULT_BROKER_LIMITS,
  type EmbeddedBroker,
  startEmbeddedBroker,
} from "../../iot/broker.js";
import { createIngest } from "../../iot/ingest.js";
import { eventsTopic } from "../../iot/protocol.js";
import { createWriter, type Writer } from "../../iot/writer.js";
import { loadConfig } from "../../src/config.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import {
  createElevator,
  createIotWorld,
  createSensor,
  deadLetterReasons,
  device,
  event,
  INGEST_USER,
  waitFor,
} from "./support.js";

const logger = pino({ level: "silent" });
const MiB = 1024 * 1024;
let database: DatabaseHandle;
let world: World;
let writer: Writer;
const brokers: EmbeddedBroker[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  const ingest = createIngest({ db: database.db, logger, clock: () => new Date() });
  writer = createWriter({ ingestBatch: ingest.ingestBatch, logger });
});

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

afterAll(async () => {
  await writer?.close();
  await database?.close();
});

async function startBroker(limits: Partial<BrokerLimits>, loginThrottle?: Partial<LoginThrottleOptions>) {
  const broker = await startEmbeddedBroker({
    db: database.db,
    writer,
    logger,
    port: 0,
    host: "127.0.0.1",
    internal: INGEST_USER,
    limits,
    ...(loginThrottle ? { loginThrottle } : {}),
  });
  brokers.push(broker);
  return broker;
}

/** A TCP connection from `localAddress` (any 127.x address on Linux), with its CONNACK if one comes. */
interface Raw {
  socket: Socket;
  /** Resolves when the broker (or we) closed the connection. */
  closed: Promise<void>;
  /** The CONNACK's return code; null when the connection closed without one. */
  connack: Promise<number | null>;
}

async function openRaw(port: number, localAddress = "127.0.0.1"): Promise<Raw> {
  const socket = connect({ port, host: "127.0.0.1", localAddress });
  socket.on("error", () => {}); // writes after the broker closed the connection
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const parser = mqttPacket.parser();
  const connack = new Promise<number | null>((resolve) => {
    parser.on("packet", (packet) => {
      if (packet.cmd === "connack") resolve(packet.returnCode ?? null);
    });
    void closed.then(() => resolve(null));
  });
  socket.on("data", (chunk) => parser.parse(chunk));
  return { socket, closed, connack };
}

/** Logs in over a raw connection; the CONNACK's code (null: closed without one) and the time it took. */
async function rawLogin(
  port: number,
  login: { username: string; password: string; clientId?: string },
  localAddress = "127.0.0.1",
) {
  const raw = await openRaw(port, localAddress);
  const started = performance.now();
  raw.socket.write(
    mqttPacket.generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      clientId: login.clientId ?? login.username,
      username: login.username,
      password: Buffer.from(login.password),
    }),
  );
  const code = await raw.connack;
  return { ...raw, code, ms: performance.now() - started };
}

/** MQTT's remaining-length varint. */
function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** Writes `head`, then up to `bytes` zeros a mebibyte at a time, until done or the connection closes. */
async function pump(raw: Raw, head: Buffer, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(MiB);
  let sent = 0;
  let open = true;
  void raw.closed.then(() => {
    open = false;
  });
  raw.socket.write(head);
  while (sent < bytes && open && !raw.socket.destroyed) {
    const n = Math.min(chunk.length, bytes - sent);
    const more = raw.socket.write(chunk.subarray(0, n));
    sent += n;
    if (!more) {
      await Promise.race([new Promise((resolve) => raw.socket.once("drain", resolve)), raw.closed]);
    }
  }
  return sent;
}

/** Resolves with `promise`, or rejects when it takes longer than `ms` (a liveness bound). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);
}

/** How far this process's memory rose above where it was, at its highest while `run` ran. */
async function memoryGrowth(run: () => Promise<void>) {
  const before = process.memoryUsage();
  const peak = { rss: before.rss, arrayBuffers: before.arrayBuffers };
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
  }, 10);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  const after = process.memoryUsage();
  return {
    rss: Math.max(peak.rss, after.rss) - before.rss,
    arrayBuffers: Math.max(peak.arrayBuffers, after.arrayBuffers) - before.arrayBuffers,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the embedded broker against hostile clients", () => {
  it("has the documented limits by default", () => {
    const config = loadConfig({});
    expect({
      maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
      maxConnectBytes: config.MQTT_MAX_CONNECT_BYTES,
      maxConnections: config.MQTT_MAX_CONNECTIONS,
      maxConnectionsPerAddress: config.MQTT_MAX_CONNECTIONS_PER_ADDRESS,
      connectTimeoutMs: config.MQTT_CONNECT_TIMEOUT_S * 1000,
    }).toEqual(DEFAULT_BROKER_LIMITS);
  });

  it("closes 4 never-finished 200 MB CONNECTs at their headers: memory stays flat", async () => {
    // A long CONNECT time-out: what closes these connections must be their declared size.
    const broker = await startBroker({ connectTimeoutMs: 60_000 });
    const connects = await Promise.all(
      [10, 11, 12, 13].map((host) => openRaw(broker.port, `127.0.0.${host}`)),
    );
    const head = Buffer.concat([Buffer.from([0x10]), remainingLength(200 * MiB)]);
    const grown = await memoryGrowth(async () => {
      // Each never logged in, declaring 200 MB and sending 4 MB of it.
      await Promise.all(connects.map((raw) => pump(raw, head, 4 * MiB)));
      await within(Promise.all(connects.map((raw) => raw.closed)), 5_000, "the CONNECTs closed");
    });
    expect(grown.arrayBuffers).toBeLessThan(32 * MiB);
    expect(grown.rss).toBeLessThan(96 * MiB);
    expect(broker.refusedConnects.connect_too_large).toBe(4);
  });

  it("closes a sensor's 150 MB publish at its header, unread: memory stays flat", async () => {
    const broker = await startBroker({ connectTimeoutMs: 60_000 });
    const sensor = await createSensor(database.db, world);
    const publisher = await rawLogin(broker.port, { username: sensor.id, password: sensor.key });
    expect(publisher.code).toBe(0);
    const topic = Buffer.from(eventsTopic(sensor.id));
    const payloadBytes = 150 * MiB;
    const variableHeader = Buffer.concat([
      Buffer.from([topic.length >> 8, topic.length & 0xff]),
      topic,
      Buffer.from([0, 1]), // packet id
    ]);
    const head = Buffer.concat([
      Buffer.from([0x32]), // PUBLISH, QoS 1
      remainingLength(variableHeader.length + payloadBytes),
      variableHeader,
    ]);
    let sent = 0;
    const grown = await memoryGrowth(async () => {
      sent = await pump(publisher, head, payloadBytes);
      await within(publisher.closed, 5_000, "the publisher's connection closed");
    });
    expect(sent).toBeLessThan(payloadBytes);
    expect(grown.arrayBuffers).toBeLessThan(32 * MiB);
    expect(grown.rss).toBeLessThan(96 * MiB);
    expect(broker.droppedConnections.packet_too_large).toBe(1);
  });

  it("refuses connections over the cap per address and overall, and takes them again once freed", async () => {
    const broker = await startBroker({ maxConnections: 5, maxConnectionsPerAddress: 3 });
    const login = (host: string) =>
      rawLogin(broker.port, { ...INGEST_USER, clientId: `tool-${randomUUID()}` }, host);
    const first = [await login("127.0.0.21"), await login("127.0.0.21"), await login("127.0.0.21")];
    expect(first.map((c) => c.code)).toEqual([0, 0, 0]);
    for (let i = 0; i < 10; i++) expect((await login("127.0.0.21")).code).toBeNull();
    const second = [await login("127.0.0.22"), await login("127.0.0.22")];
    expect(second.map((c) => c.code)).toEqual([0, 0]);
    for (let i = 0; i < 10; i++) expect((await login("127.0.0.23")).code).toBeNull();
    expect(broker.refusedConnects.connection_limit).toBe(20);

    first[0]?.socket.destroy();
    const again = await waitFor(
      async () => {
        const c = await login("127.0.0.23");
        return c.code === 0 ? c : null;
      },
      5_000,
      "a freed slot",
    );
    for (const c of [...first, ...second, again]) c.socket.destroy();
  });

  it("closes connections whose CONNECT has not arrived within the time-out", async () => {
    const broker = await startBroker({ connectTimeoutMs: 300 });
    const silent = await Promise.all(Array.from({ length: 10 }, () => openRaw(broker.port)));
    const slow = await openRaw(broker.port);
    const connect = mqttPacket.generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      clientId: "slow",
      username: INGEST_USER.username,
      password: Buffer.from(INGEST_USER.password),
    });
    slow.socket.write(connect.subarray(0, 10)); // and the rest never
    await within(
      Promise.all([...silent, slow].map((raw) => raw.closed)),
      5_000,
      "the idle connections closed",
    );
    expect(broker.refusedConnects.connect_timeout).toBe(11);

    // A client that logged in in time is not touched by the time-out.
    const client = await rawLogin(broker.port, { ...INGEST_USER, clientId: "in-time" });
    expect(client.code).toBe(0);
    await sleep(600);
    expect(client.socket.destroyed).toBe(false);
    client.socket.destroy();
  });

  it("refuses a sensor logging in with another sensor's client id; the other stays connected", async () => {
    const broker = await startBroker({});
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const a = await createSensor(database.db, world);
    const b = await createSensor(database.db, world, (await createElevator(database.db, world)).id);
    const victim = await device(url, a.id, a.key);
    let victimClosed = false;
    victim.on("close", () => {
      victimClosed = true;
    });
    for (let i = 0; i < 5; i++) {
      const takeover = await device(url, b.id, b.key, { clientId: a.id }).then(
        async (c) => {
          await c.endAsync();
          return "connected";
        },
        (err: Error) => err.message,
      );
      expect(takeover).toMatch(/identifier rejected/i);
    }
    const random = await device(url, b.id, b.key, { clientId: `b-${randomUUID()}` }).then(
      () => "connected",
      (err: Error) => err.message,
    );
    expect(random).toMatch(/identifier rejected/i);
    expect(victimClosed).toBe(false);
    await victim.publishAsync(eventsTopic(a.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
    // An event over 8 KiB but within the packet limit still reaches the ingest (a dead letter).
    const padded = JSON.stringify({ ...event("heartbeat", 1), padding: "x".repeat(40_000) });
    await victim.publishAsync(eventsTopic(a.id), padded, { qos: 1 });
    expect(await deadLetterReasons(database.db, a.id)).toEqual(["payload_too_large"]);
    expect(broker.refusedConnects.client_id_mismatch).toBe(6);
    // B under its own id is fine, and the ingest's user keeps client ids of its own.
    const own = await device(url, b.id, b.key);
    const tool = await device(url, INGEST_USER.username, INGEST_USER.password, { clientId: "any-tool" });
    await Promise.all([victim.endAsync(), own.endAsync(), tool.endAsync()]);
  });

  it("slows failed logins per address and per user name, without locking the real sensor out", async () => {
    const maxDelayMs = 800;
    const broker = await startBroker({}, { baseDelayMs: 50, maxDelayMs, halfLifeMs: 1_000 });
    const sensor = await createSensor(database.db, world);

    // Per address: made-up sensor ids from one address, the 20th waits the longest.
    const guess = () => ({ username: randomUUID(), password: "bot_s_guess" });
    const firstGuess = await rawLogin(broker.port, guess(), "127.0.0.31");
    expect(firstGuess.code).toBe(4);
    const burst = await Promise.all(
      Array.from({ length: 18 }, () => rawLogin(broker.port, guess(), "127.0.0.31")),
    );
    expect(burst.every((c) => c.code === 4)).toBe(true);
    const twentieth = await rawLogin(broker.port, guess(), "127.0.0.31");
    expect(twentieth.code).toBe(4);
    expect(twentieth.ms).toBeGreaterThanOrEqual(maxDelayMs * 0.9);

    // Per user name: wrong keys for the sensor from 19 addresses; the 20th, from another, waits too.
    const wrong = { username: sensor.id, password: "bot_s_wrong" };
    const spread = await Promise.all(
      Array.from({ length: 19 }, (_, i) => rawLogin(broker.port, wrong, `127.0.1.${i + 1}`)),
    );
    expect(spread.every((c) => c.code === 4)).toBe(true);
    const next = await rawLogin(broker.port, wrong, "127.0.1.100");
    expect(next.code).toBe(4);
    expect(next.ms).toBeGreaterThanOrEqual(maxDelayMs * 0.9);

    // The real sensor, right now: delayed at most the cap (a generous bound here), never refused.
    const real = await rawLogin(broker.port, { username: sensor.id, password: sensor.key }, "127.0.1.101");
    expect(real.code).toBe(0);
    expect(real.ms).toBeLessThan(maxDelayMs + 5_000);
    real.socket.destroy();
    // And once the failures have faded.
    await sleep(3_000);
    const later = await rawLogin(broker.port, { username: sensor.id, password: sensor.key }, "127.0.1.1");
    expect(later.code).toBe(0);
    later.socket.destroy();
    for (const c of [firstGuess, ...burst, twentieth, ...spread, next]) c.socket.destroy();
  });
});
