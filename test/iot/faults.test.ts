/**
 * The ingest under an operator's ordinary faults. A device publishes a stream of QoS 1 events to a
 * real Mosquitto (iot/mosquitto.conf) while the ingest runs as its own process (as `npm start`
 * wires it), reaching PostgreSQL and the broker through TCP proxies under the test's control.
 * Each fault strikes mid-stream, ten times, and ten more times with the ingest SIGKILLed during
 * it (and started again once it is over). After each run: every event the broker acknowledged
 * to the device is stored exactly once, nothing is dead-lettered, and the incidents are those of
 * a fault-free run.
 *
 * On PostgreSQL (DATABASE_URL set) the database is a private server of this file's own, so that
 * closing it to connections, crashing and restarting it disturbs no other test. On the embedded
 * defaults (no DATABASE_URL: PGlite and the embedded broker in the ingest's own process) the
 * faults that apply are the process's own: SIGKILL mid-stream, ten times.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { MqttClient } from "mqtt";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import { type Database, queryRows } from "../../db/database.js";
import { loadConfig } from "../../src/config.js";
import type { World } from "../support/factories.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";
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
  discardSessions,
  freePort,
  INGEST_USER,
  type Mosquitto,
  startMosquitto,
  waitFor,
} from "./support.js";

const { DATABASE_URL } = loadConfig(process.env);
/** Each fault, and each fault with a SIGKILL, this many times: a fault test that is flaky fails. */
const REPEATS = 10;
/** Halts per run (10 events each: 2 detections, a clear, 7 heartbeats). */
const BLOCKS = 12;
/** The device publishes 5 events (and a retry of every 7th) every 100 ms: ~2.6 s a run. */
const PACE = 5;
/** The default: one consumer connection on a plain subscription (iot/consumer.ts says why). */
const CONSUMERS = 1;
const STATEMENT_TIMEOUT_MS = 1_000;
const KEEPALIVE_S = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const trace = (what: string) => {
  if (process.env.FAULT_TRACE) console.info(`[${((Date.now() - t0) / 1000).toFixed(2)}] ${what}`);
};

/** One fault: what starts it and what ends it, and how long it lasts. */
interface Fault {
  name: string;
  holdMs: number;
  inject(): Promise<void>;
  heal(): Promise<void>;
}

/** What a run checks once the stream is over: all stored once, no dead letters, incidents whole. */
async function expectWhole(db: Database, sensor: Sensor, events: readonly Record<string, unknown>[]) {
  const rows = await storedIds(db, [sensor.id]);
  const keys = rows.map((r) => keyOf(r.sensor_id, r.event_id));
  expect(rows).toHaveLength(events.length);
  expect(new Set(keys)).toEqual(new Set(events.map((e) => keyOf(sensor.id, e.eventId))));
  const [dead] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from dead_letters where sensor_id = ${sensor.id}`,
  );
  expect(dead?.n).toBe(0);
  const incidents = await ebikeIncidents(db, [sensor.id]);
  expect(incidents).toEqual([
    {
      facility_id: sensor.facilityId,
      n: BLOCKS,
      closed: BLOCKS,
      detections: 2 * BLOCKS,
      halts: 3 * BLOCKS,
    },
  ]);
}

// Registered for the database under test only (not skipped): each run has its own faults.
if (DATABASE_URL)
  describe("faults between the ingest, PostgreSQL and the broker", () => {
    let pg: PrivatePostgres | null = null;
    let admin: postgres.Sql | null = null;
    let check: DatabaseHandle | null = null;
    let broker: Mosquitto | null = null;
    let dbProxy: TcpProxy | null = null;
    let brokerProxy: TcpProxy | null = null;
    let world: World;
    const pool: Sensor[] = [];
    const children: IngestChild[] = [];
    const devices: MqttClient[] = [];
    const clientIds = new Set<string>();

    beforeAll(async () => {
      pg = await startPrivatePostgres();
      admin = postgres(pg.url, { max: 1, onnotice: () => {} });
      await admin.unsafe("create database faults");
      const url = new URL(pg.url);
      url.pathname = "/faults";
      check = await openDatabase({ url: url.href, max: 2 });
      await check.migrate();
      world = await createIotWorld(check.db);
      // Every run's sensor, made before the broker starts so that it knows them all.
      pool.push(...(await createSensors(check.db, world, faults.length * 2 * REPEATS)));
      broker = await startMosquitto(check.db);
      dbProxy = await startTcpProxy({ host: "127.0.0.1", port: pg.port });
      brokerProxy = await startTcpProxy({ host: "127.0.0.1", port: broker.port });
    });

    afterAll(() =>
      cleanup([
        ...children.map((c) => () => c.kill()),
        ...devices.map((d) => () => d.endAsync(true)),
        () => (broker ? discardSessions(broker.url, clientIds) : undefined),
        () => brokerProxy?.close(),
        () => dbProxy?.close(),
        () => broker?.stop(),
        () => check?.close(),
        () => admin?.end({ timeout: 1 }),
        () => pg?.destroy(),
      ]),
    );

    /** A new ingest process on the proxies; `clientId` names its broker sessions (kept across a kill). */
    function spawnIngest(clientId: string) {
      if (!dbProxy || !brokerProxy) throw new Error("not set up");
      for (let i = 0; i < CONSUMERS; i++) clientIds.add(`${clientId}-${i}`);
      const child = new IngestChild({
        CHILD_DATABASE_URL: `postgres://postgres@127.0.0.1:${dbProxy.port}/faults`,
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        MQTT_URL: `mqtt://127.0.0.1:${brokerProxy.port}`,
        MQTT_USERNAME: INGEST_USER.username,
        MQTT_PASSWORD: INGEST_USER.password,
        MQTT_CLIENT_ID: clientId,
        MQTT_CONSUMERS: String(CONSUMERS),
        MQTT_KEEPALIVE_S: String(KEEPALIVE_S),
        CHILD_COMMUNITY_ID: world.community.id,
      });
      children.push(child);
      return child;
    }

    /** The app's sessions on the faults database (not the test's own), ended by the server. */
    const terminateAppSessions = async () => {
      await admin?.unsafe(
        `select pg_terminate_backend(pid) from pg_stat_activity
       where datname = 'faults' and pid <> pg_backend_pid() and client_port is not null`,
      );
    };

    const faults: Fault[] = [
      {
        name: "PostgreSQL refusing connections",
        holdMs: 1_500,
        inject: async () => dbProxy?.refuse(),
        heal: async () => dbProxy?.restore(),
      },
      {
        name: "the database not accepting connections (55000)",
        holdMs: 1_500,
        inject: async () => {
          await admin?.unsafe("alter database faults allow_connections false");
          await terminateAppSessions();
        },
        heal: async () => {
          await admin?.unsafe("alter database faults allow_connections true");
        },
      },
      {
        name: "the app's sessions terminated again and again",
        holdMs: 1_500,
        inject: async () => {
          await terminateAppSessions();
          killer = setInterval(() => void terminateAppSessions().catch(() => undefined), 200);
        },
        heal: async () => {
          if (killer) clearInterval(killer);
          killer = null;
        },
      },
      {
        name: "the way to PostgreSQL stalled (no reset) past the statement timeout",
        holdMs: 2 * STATEMENT_TIMEOUT_MS + 1_000,
        inject: async () => dbProxy?.stall(),
        heal: async () => dbProxy?.restore(),
      },
      {
        name: "PostgreSQL crashed and restarted (a failover's outage)",
        holdMs: 1_000,
        inject: async () => pg?.stop("immediate"),
        heal: async () => pg?.start(),
      },
      {
        name: "the broker refusing the consumer's login",
        holdMs: 3_000,
        inject: async () => {
          // Not authorized, then Server unavailable on the next run: both must be retried.
          refusals += 1;
          brokerProxy?.refuseMqttLogins(refusals % 2 ? 0x87 : 0x88);
        },
        heal: async () => brokerProxy?.restore(),
      },
      {
        name: "the broker restarted",
        holdMs: 1_000,
        // On a shared subscription (MQTT_SHARED=true) Mosquitto 2.0.11 would drop what devices
        // publish before the restarted ingest subscribes again (test/iot/broker-outage.test.ts);
        // the default plain subscription keeps it.
        inject: async () => broker?.down(),
        heal: async () => broker?.up(),
      },
      {
        name: "the network between the app and the broker partitioned (no reset)",
        holdMs: 1.5 * KEEPALIVE_S * 1000 + 1_500,
        inject: async () => brokerProxy?.stall(),
        heal: async () => brokerProxy?.restore(),
      },
    ];
    let killer: NodeJS.Timeout | null = null;
    let refusals = 0;

    /**
     * One run: a fresh sensor streams its events; once part is stored the fault strikes, lasts
     * `holdMs` (the ingest SIGKILLed halfway when `kill`, and started again when the fault is over),
     * then the stream must be whole. Returns the ingest process that runs on.
     */
    async function run(fault: Fault, ingest: IngestChild, clientId: string, kill: boolean) {
      if (!check || !broker) throw new Error("not set up");
      const { db } = check;
      const sensor = pool.shift();
      if (!sensor) throw new Error("no sensor left");
      const events = stream(BLOCKS, Date.now() - 3_600_000);
      // A device like the simulator: a clean session that resends what was not acknowledged.
      const client = await device(broker.url, sensor.id, sensor.key, {
        protocolVersion: 5,
        reconnectPeriod: 200,
      });
      devices.push(client);
      const publisher = publishPaced(client, sensor.id, events, PACE);
      const stored = async () => (await storedIds(db, [sensor.id])).length;
      await waitFor(async () => (await stored()) >= 20, 20_000, "the stream to be committed").catch(
        (err: Error) => {
          throw new Error(`${err.message}\nthe ingest's last log lines:\n${ingest.recentLog()}`);
        },
      );
      trace(`${fault.name}: inject${kill ? " (kill)" : ""}`);
      await fault.inject();
      let next = ingest;
      if (kill) {
        await sleep(fault.holdMs / 2);
        await ingest.kill();
        await sleep(fault.holdMs / 2);
      } else {
        await sleep(fault.holdMs);
      }
      await fault.heal();
      trace(`${fault.name}: healed`);
      if (kill) {
        next = spawnIngest(clientId);
        await next.ready;
      }
      await publisher.done;
      let count = 0;
      await waitFor(
        async () => {
          count = await stored();
          return count >= events.length;
        },
        30_000,
        "every event stored",
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}: ${count} of ${events.length} (${fault.name}${kill ? ", killed" : ""})\n` +
            `the ingest's last log lines:\n${next.recentLog()}`,
        );
      });
      await client.endAsync();
      await expectWhole(db, sensor, events);
      return next;
    }

    for (const fault of faults) {
      describe(fault.name, () => {
        const clientId = `faults-${randomUUID().slice(0, 8)}`;
        let ingest: IngestChild | null = null;

        beforeAll(async () => {
          ingest = spawnIngest(clientId);
          await ingest.ready;
        });
        afterAll(async () => {
          if (ingest?.alive) {
            ingest.proc.kill("SIGTERM");
            await ingest.exited;
          }
          // Mosquitto deals a shared subscription's messages to disconnected persistent sessions
          // too: left behind, these would take a share of the next fault's events.
          if (broker) {
            await discardSessions(
              broker.url,
              Array.from({ length: CONSUMERS }, (_, i) => `${clientId}-${i}`),
            );
          }
        });

        it(`loses nothing, ${REPEATS} times`, { timeout: REPEATS * 60_000 }, async () => {
          const attemptsBefore = brokerProxy?.accepted ?? 0;
          for (let i = 0; i < REPEATS; i++) {
            if (!ingest) throw new Error("no ingest");
            ingest = await run(fault, ingest, clientId, false);
          }
          // The same process came back by itself every time; a refused login was retried.
          expect(ingest?.alive).toBe(true);
          if (fault.name.includes("login")) {
            expect((brokerProxy?.accepted ?? 0) - attemptsBefore).toBeGreaterThan(REPEATS * CONSUMERS);
            // Its state is logged once per change, not once per attempt.
            expect(
              ingest?.logged("ingest consumer not connected to the broker; retrying with back-off"),
            ).toBeLessThanOrEqual(2 * REPEATS);
            // The broker admin (sensor logins) comes back too, within its capped back-off.
            const current = ingest;
            await waitFor(
              async () => (await current?.readiness())?.brokerAdmin?.ok,
              40_000,
              "the broker admin connected again",
            );
          }
        });

        it(`loses nothing with the ingest SIGKILLed during it, ${REPEATS} times`, {
          timeout: REPEATS * 60_000,
        }, async () => {
          for (let i = 0; i < REPEATS; i++) {
            if (!ingest) throw new Error("no ingest");
            ingest = await run(fault, ingest, clientId, true);
          }
        });
      });
    }
  });

if (!DATABASE_URL)
  describe("the ingest on its embedded defaults (PGlite, embedded broker) SIGKILLed mid-stream", () => {
    let dir = "";
    let port = 0;
    const pool: Sensor[] = [];
    const used: { sensor: Sensor; events: Record<string, unknown>[] }[] = [];
    const children: IngestChild[] = [];
    const devices: MqttClient[] = [];
    let env: Record<string, string> = {};

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "bot-faults-"));
      const database = await openDatabase({ dataDir: join(dir, "pglite") });
      await database.migrate();
      const world = await createIotWorld(database.db);
      pool.push(...(await createSensors(database.db, world, REPEATS)));
      await database.close();
      port = await freePort();
      env = {
        CHILD_PGLITE_DIR: join(dir, "pglite"),
        MQTT_PORT: String(port),
        CHILD_COMMUNITY_ID: world.community.id,
      };
    });

    afterAll(() =>
      cleanup([
        ...children.map((c) => () => c.kill()),
        ...devices.map((d) => () => d.endAsync(true)),
        () => (dir ? rm(dir, { recursive: true, force: true }) : undefined),
      ]),
    );

    it(`stores every event the broker acknowledged, exactly once, ${REPEATS} times`, {
      timeout: REPEATS * 60_000,
    }, async () => {
      let ingest = new IngestChild(env);
      children.push(ingest);
      await ingest.ready;
      for (let i = 0; i < REPEATS; i++) {
        const sensor = pool.shift();
        if (!sensor) throw new Error("no sensor left");
        const events = stream(BLOCKS, Date.now() - 3_600_000);
        used.push({ sensor, events });
        // The embedded broker acknowledges a publish only once it is committed (iot/broker.ts).
        const client = await device(`mqtt://127.0.0.1:${port}`, sensor.id, sensor.key, {
          reconnectPeriod: 200,
        });
        devices.push(client);
        const publisher = publishPaced(client, sensor.id, events, PACE);
        const current = ingest;
        await waitFor(
          async () => (await current.count([sensor.id])) >= 20,
          20_000,
          "the stream to be committed",
        );
        await current.kill();
        ingest = new IngestChild(env);
        children.push(ingest);
        await ingest.ready;
        await publisher.done;
        const restarted = ingest;
        await waitFor(
          async () => (await restarted.count([sensor.id])) >= events.length,
          30_000,
          "every event stored",
        );
        await client.endAsync();
      }
      ingest.proc.kill("SIGTERM");
      expect(await ingest.exited).toBe(0);
      const database = await openDatabase({ dataDir: join(dir, "pglite") });
      try {
        for (const { sensor, events } of used) await expectWhole(database.db, sensor, events);
      } finally {
        await database.close();
      }
    });
  });
