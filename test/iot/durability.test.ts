/**
 * Durability of the MQTT ingest against a real Mosquitto (iot/mosquitto.conf):
 *   - the ingest process is SIGKILLed in the middle of a stream of thousands of QoS 1 events and
 *     restarted with the same client ids: every event is stored exactly once, incidents not doubled;
 *   - the database becomes unreachable during a stream (a TCP proxy we cut) and comes back:
 *     nothing is lost, nothing was acknowledged meanwhile, the same process resumes on its own.
 * Both run on a real PostgreSQL (DATABASE_URL) or on PGlite: on disk, opened by the child process
 * only, for the kill; served over the wire protocol (@electric-sql/pglite-socket) for the outage.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import type { MqttClient } from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, MIGRATIONS_FOLDER, openDatabase } from "../../db/client.js";
import { type Database, queryRows } from "../../db/database.js";
import { type IngestRuntime, POSTGRES_WRITER_PARTITIONS, startIngestRuntime } from "../../iot/runtime.js";
import { loadConfig } from "../../src/config.js";
import type { World } from "../support/factories.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { IngestChild } from "./ingest-child-process.js";
import {
  cleanup,
  createSensors,
  ebikeIncidents,
  keyOf,
  publishPaced,
  type Sensor,
  storedIds,
  stream,
} from "./streams.js";
import {
  createIotWorld,
  device,
  INGEST_USER,
  type Mosquitto,
  RATE_LIMIT_OUT_OF_THE_WAY,
  startMosquitto,
  waitFor,
} from "./support.js";

const { DATABASE_URL } = loadConfig(process.env);
const logger = pino({ level: process.env.DUR_TRACE ? "info" : "silent" });
const t0 = Date.now();
const trace = (what: string) => {
  if (process.env.DUR_TRACE) console.info(`[${((Date.now() - t0) / 1000).toFixed(2)}] ${what}`);
};

// ---- 1. SIGKILL in the middle of the stream ------------------------------------------------

describe("the ingest process killed with SIGKILL mid-stream", () => {
  const pgliteMode = !DATABASE_URL;
  let dir = "";
  let database: DatabaseHandle | null = null;
  let broker: Mosquitto | null = null;
  const children: IngestChild[] = [];
  const devices: MqttClient[] = [];
  let world: World;
  let list: Sensor[] = [];
  let childEnv: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bot-durability-"));
    database = DATABASE_URL
      ? await openDatabase({ url: DATABASE_URL, max: 2 })
      : await openDatabase({ dataDir: join(dir, "pglite") });
    if (pgliteMode) await database.migrate();
    world = await createIotWorld(database.db);
    list = await createSensors(database.db, world, 4);
    broker = await startMosquitto(database.db);
    if (pgliteMode) {
      // From here on, only the child process opens the on-disk PGlite.
      await database.close();
      database = null;
    }
    childEnv = {
      ...(DATABASE_URL ? { CHILD_DATABASE_URL: DATABASE_URL } : { CHILD_PGLITE_DIR: join(dir, "pglite") }),
      MQTT_URL: broker.url,
      MQTT_USERNAME: INGEST_USER.username,
      MQTT_PASSWORD: INGEST_USER.password,
      MQTT_CLIENT_ID: `dur-${randomUUID().slice(0, 8)}`,
      MQTT_CONSUMERS: "16",
      MQTT_SHARED: "true",
      CHILD_COMMUNITY_ID: world.community.id,
    };
  });

  afterAll(() =>
    cleanup([
      ...children.map((c) => () => c.kill()),
      ...devices.map((d) => () => d.endAsync(true)),
      () => broker?.stop(),
      () => database?.close(),
      () => (dir ? rm(dir, { recursive: true, force: true }) : undefined),
    ]),
  );

  // Minutes of margin on a loaded 2-core CI machine; the waits inside bound each phase.
  it("stores every event acknowledged with QoS 1 exactly once after a restart", {
    timeout: 120_000,
  }, async () => {
    const started = Date.now();
    const blocks = 100;
    const base = Date.now() - blocks * 10_000;
    const perSensor = list.map(() => stream(blocks, base));
    const expected = new Set(list.flatMap((s, i) => (perSensor[i] ?? []).map((e) => keyOf(s.id, e.eventId))));
    const ids = list.map((s) => s.id);

    const first = new IngestChild(childEnv);
    children.push(first);
    await first.ready;
    trace("first child ready");
    for (const s of list) devices.push(await device(broker?.url ?? "", s.id, s.key, { protocolVersion: 5 }));
    const publishers = list.map((s, i) => publishPaced(devices[i] as MqttClient, s.id, perSensor[i] ?? []));

    // Kill once a quarter is committed: the stream is in full flow, commits are in progress.
    await waitFor(async () => first.stored >= expected.size / 4, 20_000, "a quarter of the events committed");
    const killedAt = Date.now();
    trace(`kill at ${first.stored}`);
    first.proc.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    expect(first.proc.signalCode).toBe("SIGKILL");
    const publishedAtKill = publishers.reduce((n, p) => n + p.acked, 0);
    const storedAtKill = first.stored;

    // Same client ids, persistent sessions: the broker delivers the backlog and redelivers what
    // the killed process had received but not acknowledged.
    const restartedAt = Date.now();
    const second = new IngestChild(childEnv);
    children.push(second);
    await second.ready;
    trace("second child ready");
    await Promise.all(publishers.map((p) => p.done));
    const published = publishers.reduce((n, p) => n + p.acked, 0);
    trace(`published all; second child stored ${second.stored}`);
    await waitFor(
      async () => {
        const n = await second.count(ids);
        trace(`count ${n}, stored ${second.stored}`);
        return n === expected.size;
      },
      30_000,
      "every event stored",
    );
    trace("all stored");

    // A clean stop, then read the database (in PGlite mode, now that no other process has it open).
    second.proc.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const check = database ?? (await openDatabase({ dataDir: join(dir, "pglite") }));
    try {
      const rows = await storedIds(check.db, ids);
      const keys = rows.map((r) => keyOf(r.sensor_id, r.event_id));
      expect(rows.length).toBe(expected.size);
      expect(new Set(keys).size).toBe(expected.size);
      expect([...keys].sort()).toEqual([...expected].sort());
      // The kill really fell mid-stream: part was committed by the first process, the rest by
      // the second one.
      const before = rows.filter((r) => new Date(r.received_at).getTime() < killedAt).length;
      const after = rows.filter((r) => new Date(r.received_at).getTime() >= restartedAt).length;
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan(expected.size);
      expect(before + after).toBe(expected.size);
      // One closed incident per block and elevator, two detections each, 3 s halts: not doubled.
      const incidents = await ebikeIncidents(check.db, ids);
      expect(incidents).toHaveLength(list.length);
      for (const i of incidents) {
        expect(i).toMatchObject({ n: blocks, closed: blocks, detections: 2 * blocks, halts: 3 * blocks });
      }
      const [dead] = await queryRows<{ n: number }>(
        check.db,
        sql`select count(*)::int as n from dead_letters where sensor_id in (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )})`,
      );
      expect(dead?.n).toBe(0);
      console.info(
        `[durability] ${pgliteMode ? "PGlite" : "PostgreSQL"}: ${published} messages (${expected.size} events) ` +
          `published; killed after ${storedAtKill} committed by the child (${before} in the database, ` +
          `${publishedAtKill} published by then); restarted, ${after} committed after; ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      if (!database) await check.close();
    }
  });
});

// ---- 2. The database unreachable during a stream ------------------------------------------

describe("the database unreachable during a stream", () => {
  let pglite: PGlite | null = null;
  let socketServer: PGLiteSocketServer | null = null;
  let direct: DatabaseHandle | null = null;
  let proxied: DatabaseHandle | null = null;
  let proxy: TcpProxy | null = null;
  let broker: Mosquitto | null = null;
  let runtime: IngestRuntime | null = null;
  let sensor: MqttClient | null = null;
  let world: World;
  let s: Sensor;

  beforeAll(async () => {
    let target: URL;
    if (DATABASE_URL) {
      target = new URL(DATABASE_URL);
    } else {
      // PGlite served over the PostgreSQL wire protocol: the ingest reaches it through
      // postgres.js and a real TCP connection, like a real server.
      pglite = await PGlite.create();
      await migrate(drizzle(pglite, { casing: "snake_case" }), { migrationsFolder: MIGRATIONS_FOLDER });
      socketServer = new PGLiteSocketServer({ db: pglite, port: 0, host: "127.0.0.1", maxConnections: 32 });
      await socketServer.start();
      target = new URL(`postgres://postgres@${socketServer.getServerConn()}/postgres`);
    }
    direct = await openDatabase({ url: target.href, max: 2 });
    world = await createIotWorld(direct.db);
    [s] = (await createSensors(direct.db, world, 1)) as [Sensor];
    broker = await startMosquitto(direct.db);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(target.href);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    // PGlite is one session: pglite-socket interleaves the protocol messages of concurrent
    // connections outside transactions, so its only client is the ingest's one connection.
    proxied = await openDatabase({ url: viaProxy.href, max: pglite ? 1 : 4 });
    runtime = await startIngestRuntime({
      config: {
        MQTT_URL: broker.url,
        MQTT_PORT: 0,
        MQTT_USERNAME: INGEST_USER.username,
        MQTT_PASSWORD: INGEST_USER.password,
        MQTT_CLIENT_ID: `outage-${randomUUID().slice(0, 8)}`,
        MQTT_CONSUMERS: 16,
        MQTT_SHARED: true,
        ...RATE_LIMIT_OUT_OF_THE_WAY,
      },
      db: proxied.db,
      logger,
      sweeper: { intervalMs: 200, scope: { communityId: world.community.id } },
      // As src/node.ts: two batches in flight on PostgreSQL (pglite-socket serves one connection).
      writerPartitions: pglite ? 1 : POSTGRES_WRITER_PARTITIONS,
    });
    await waitFor(async () => (await runtime?.readiness())?.mqtt?.ok, 10_000, "the consumer");
    trace("outage setup done");
  });

  afterAll(() =>
    cleanup([
      () => sensor?.endAsync(true),
      () => runtime?.close(),
      () => proxied?.close(),
      () => proxy?.close(),
      () => broker?.stop(),
      () => direct?.close(),
      () => socketServer?.stop(),
      () => pglite?.close(),
    ]),
  );

  // Minutes of margin on a loaded 2-core CI machine; the waits inside bound each phase.
  it("acknowledges nothing while it is down, keeps its connections, and loses nothing", {
    timeout: 120_000,
  }, async () => {
    const started = Date.now();
    if (!direct || !proxied || !proxy || !runtime || !broker) throw new Error("not set up");
    const { db: viaProxy } = proxied;
    let cut = false;
    /**
     * What is committed, read beside the ingest: with PostgreSQL on a connection of our own; with
     * PGlite through the ingest's own connection while the proxy is up, and in-process while it
     * is cut (no client is attached then, once the server has rolled back the cut connection).
     */
    const observe = async <T>(read: (db: Database) => Promise<T>): Promise<T> => {
      if (!pglite) return read(direct?.db ?? viaProxy);
      if (!cut) return read(viaProxy);
      const local = pglite;
      await waitFor(async () => !local.isInTransaction(), 5_000, "the cut connection rolled back");
      return read(drizzle(local, { casing: "snake_case" }) as unknown as Database);
    };
    const count = () => observe(async (db) => (await storedIds(db, [s.id])).length);
    const events = stream(300, Date.now() - 3_000_000);
    sensor = await device(broker.url, s.id, s.key, { protocolVersion: 5 });

    // Watch the consumer's broker connections for the whole test: they must never drop.
    const health: Awaited<ReturnType<IngestRuntime["readiness"]>>[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        health.push(await runtime.readiness());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const publisher = publishPaced(sensor, s.id, events, 50);
    trace("publishing");
    await waitFor(async () => (await count()) >= 400, 20_000, "400 events stored");
    trace("cutting");

    await proxy.refuse();
    cut = true;
    const cutAt = Date.now();
    // The writer notices (its next commit fails) and says so; the broker link stays up.
    // A commit in flight fails at once; one left waiting on a reconnect is reported after 3 s.
    await waitFor(
      async () => (await runtime?.readiness())?.ingest?.ok === false,
      10_000,
      "the writer to fail",
    );
    trace("writer failing");
    const frozen = await count();
    // The stream goes on meanwhile: the broker acknowledges the device and queues for us.
    const publishedBefore = publisher.acked;
    // Down for 1.5 s at least: several failed commits and backoffs, while the stream goes on.
    await waitFor(
      async () => publisher.acked >= publishedBefore + 200 && Date.now() - cutAt >= 1_500,
      10_000,
      "more events published",
    );
    expect(await count()).toBe(frozen);
    expect(await runtime.readiness()).toEqual({
      mqtt: { ok: true },
      brokerAdmin: { ok: true },
      ingest: { ok: false, reason: "commits are failing; nothing is acknowledged meanwhile" },
    });
    const outageMs = Date.now() - cutAt;
    const publishedDuringOutage = publisher.acked - publishedBefore;

    trace("restore");
    await proxy.restore();
    cut = false;
    await publisher.done;
    await waitFor(async () => (await count()) === events.length, 30_000, "every event stored");
    await waitFor(async () => (await runtime?.readiness())?.ingest?.ok, 10_000, "the writer healthy");
    watching = false;
    await watcher;

    const rows = await observe((db) => storedIds(db, [s.id]));
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(events.map((e) => e.eventId)));
    expect(rows).toHaveLength(events.length);
    const [incidents] = await observe((db) => ebikeIncidents(db, [s.id]));
    expect(incidents).toMatchObject({ n: 300, closed: 300, detections: 600, halts: 900 });
    // The consumer never lost the broker, and the outage was seen (and is over).
    expect(health.every((h) => h.mqtt?.ok)).toBe(true);
    expect(health.some((h) => h.ingest?.ok === false)).toBe(true);
    console.info(
      `[durability] ${DATABASE_URL ? "PostgreSQL" : "PGlite over pglite-socket"}: ${events.length} events, ` +
        `database cut after ${frozen} for ${outageMs} ms while ${publishedDuringOutage} more ` +
        `were published (acknowledged by the broker); all stored; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
