/**
 * Two app instances on one broker, as a city runs them: two `npm start` processes (src/node.ts)
 * with distinct MQTT_CLIENT_IDs on the shared subscription of a real Mosquitto (the shipped
 * iot/mosquitto.conf), on one PostgreSQL database. Sensors stream QoS 1 events (e-bike halts and
 * heartbeats, with device retries); one instance or the other is SIGKILLed mid-stream and
 * restarted, several times. Then:
 *   - every event the broker acknowledged to a device is stored, exactly once;
 *   - the e-bike incidents are those of the same stream run through one instance alone (on other
 *     sensors of the same database, before the second instance starts), ids aside;
 *   - what both instances run on timers happens once: one offline incident per silent sensor (both
 *     sweep) and per last-will (both read it), each notification cause fanned out once and each
 *     notification sent once (beyond a send a kill cut short, which goes out again under its own
 *     delivery id once its lease ends, from a restarted instance), each device command published and
 *     then answered or expired once, old dead letters deleted.
 * The database is PostgreSQL in both runs: a scratch database on DATABASE_URL's server, or in the
 * PGlite run a private server (test/support/private-postgres.ts), as for the Workers tests. Two
 * processes cannot open one embedded PGlite, and pglite-socket serves one session at a time; and
 * `npm start` runs its jobs over every row of its database, so it must not share the suite's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, queryRows } from "../../db/database.js";
import { deadLetters, sensors } from "../../db/schema.js";
import { commandResultsTopic, commandsTopic, eventsTopic, statusTopic } from "../../iot/protocol.js";
import { loadConfig } from "../../src/config.js";
import { DELIVERY_BATCH } from "../../src/services/notifications/delivery.js";
import { createEndpoint, type Receiver, startReceiver } from "../notifications/support.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";
import { cleanup, createSensors, keyOf, publishPaced, type Sensor, storedIds, stream } from "./streams.js";
import {
  createCommand,
  createElevator,
  createIotWorld,
  createSensor,
  device,
  event,
  freePort,
  INGEST_USER,
  type Mosquitto,
  RATE_LIMIT_OUT_OF_THE_WAY,
  startMosquitto,
  waitFor,
} from "./support.js";

const { DATABASE_URL } = loadConfig(process.env);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The SIGKILL, this many times, alternating between the instances: a flaky fault test fails. */
const KILLS = 3;
/** Elevators of the stream, each with two sensors whose halts overlap (their events interleave). */
const ELEVATORS = 3;
/** Blocks of 10 events (one e-bike halt each) per sensor: 1,000 events a sensor. */
const BLOCKS = 100;
const t0 = Date.now();
const trace = (what: string) => {
  if (process.env.TWO_TRACE) console.info(`[${((Date.now() - t0) / 1000).toFixed(2)}] ${what}`);
};

/** `npm start`'s command line (package.json), run directly so that a SIGKILL reaches the app itself. */
function npmStartArgs(): string[] {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    scripts: { start: string };
  };
  const [node, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (node !== "node") throw new Error(`npm start does not run node: ${pkg.scripts.start}`);
  return args;
}

/** One app instance as `npm start` runs it; restarted with the same environment (and client id). */
class AppInstance {
  proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = "";
  readonly base: string;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
  ) {
    this.base = `http://127.0.0.1:${env.PORT}`;
  }

  async start() {
    const proc = spawn(process.execPath, npmStartArgs(), {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-6000);
      if (process.env.TWO_TRACE)
        for (const line of d.toString().trim().split("\n")) trace(`${this.name}: ${line}`);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => proc.once("exit", () => resolve()));
    await waitFor(
      async () => {
        if (proc.exitCode !== null || proc.signalCode !== null)
          throw new Error(`${this.name} exited at start:\n${this.output}`);
        const res = await fetch(`${this.base}/readyz`).catch(() => null);
        return res?.status === 200;
      },
      30_000,
      `${this.name} ready`,
    );
  }

  /** Events this life of the process stored (its /metrics). */
  async stored(): Promise<number> {
    const text = await (await fetch(`${this.base}/metrics`)).text();
    return Number(/^bot_ingest_events_stored_total (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  async kill() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGKILL");
    await this.exited;
    expect(proc.signalCode).toBe("SIGKILL");
  }

  /** SIGTERM: the clean stop; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    proc.kill("SIGTERM");
    await this.exited;
    return proc.exitCode;
  }
}

/** A sensor's e-bike incidents, as comparable values (no ids; the opening sensor by its role). */
async function ebikeIncidentsByElevator(
  db: Database,
  facilityIds: readonly string[],
  roleOf: Map<string, string>,
) {
  const rows = await queryRows<{
    facility_id: string;
    sensor_id: string;
    opened_at: Date | string;
    closed_at: Date | string | null;
    detections: number;
    halt_seconds: number | null;
  }>(
    db,
    sql`select facility_id, sensor_id, opened_at, closed_at, detections, halt_seconds from incidents
        where kind = 'ebike' and facility_id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(facilityIds)}::jsonb) x)
        order by opened_at`,
  );
  const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
  return facilityIds.map((f) =>
    rows
      .filter((r) => r.facility_id === f)
      .map((r) => ({
        sensor: roleOf.get(r.sensor_id),
        openedAt: iso(r.opened_at),
        closedAt: iso(r.closed_at),
        detections: r.detections,
        haltSeconds: r.halt_seconds,
      })),
  );
}

const inList = (ids: readonly string[]) =>
  sql`(select x::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) x)`;

describe("two app instances on one broker", () => {
  let server: PrivatePostgres | null = null;
  let database: ScratchDatabase | null = null;
  let broker: Mosquitto | null = null;
  let receiver: Receiver | null = null;
  const apps: AppInstance[] = [];
  const devices: MqttClient[] = [];
  let world: World;
  /** Per elevator, its two sensors: the two-instance run's and the single-instance reference's. */
  const main: Sensor[][] = [];
  const reference: Sensor[][] = [];
  /** Sensors that stop sending (heartbeat every 5 s): the offline sweepers of both instances race. */
  let silent: Sensor[] = [];
  /** A sensor whose connection drops: its last-will reaches both instances. */
  let willing: Sensor;

  beforeAll(async () => {
    receiver = await startReceiver();
    if (!DATABASE_URL) server = await startPrivatePostgres();
    const serverUrl = DATABASE_URL ?? server?.url;
    if (!serverUrl) throw new Error("no PostgreSQL server");
    database = await createScratchDatabase(
      serverUrl,
      `two_instances_${process.pid}_${randomUUID().slice(0, 8)}`,
    );
    const { db } = database;
    world = await createIotWorld(db);
    for (const set of [main, reference]) {
      for (let e = 0; e < ELEVATORS; e++) {
        const elevator = await createElevator(db, world);
        set.push([await createSensor(db, world, elevator.id), await createSensor(db, world, elevator.id)]);
      }
    }
    silent = await createSensors(db, world, 2);
    [willing] = (await createSensors(db, world, 1)) as [Sensor];
    // Out of the sweepers' way: the stream's events happened in the past hour.
    await db
      .update(sensors)
      .set({ heartbeatIntervalS: 3600 })
      .where(sql`id in ${inList([...main, ...reference].flat().map((s) => s.id))}`);
    // Dead letters past the 30 days' retention, and one within it: both instances sweep at start.
    const old = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    await db.insert(deadLetters).values(
      [old, old, old, new Date()].map((receivedAt, i) => ({
        topic: eventsTopic(willing.id),
        sensorId: willing.id,
        payload: `{"bad":${i}}`,
        payloadBytes: 9,
        reason: "malformed_json",
        receivedAt,
      })),
    );
    // Sensors exist before the broker, whose logins mqtt:setup writes from the sensors table.
    broker = await startMosquitto(db);
  }, 90_000);

  afterAll(() =>
    cleanup([
      ...apps.map((a) => () => a.kill()),
      ...devices.map((d) => () => d.endAsync(true)),
      () => broker?.stop(),
      () => receiver?.close(),
      () => database?.drop(),
      () => server?.destroy(),
    ]),
  );

  it(`stores each acknowledged event once and runs each job once, across ${KILLS} SIGKILLs`, {
    timeout: 120_000,
  }, async () => {
    if (!database || !broker || !receiver) throw new Error("not set up");
    const { db } = database;
    const started = Date.now();
    const endpoint = await createEndpoint(db, {
      organizationId: world.enterprise.org.id,
      url: `${receiver.url}/hook`,
      rules: [{ type: "ebike_halt_opened" }, { type: "sensor_offline" }, { type: "command_failed" }],
    });
    const prefix = randomUUID().slice(0, 8);
    const instance = async (name: string) =>
      new AppInstance(name, {
        DATABASE_URL: database?.url ?? "",
        MQTT_URL: broker?.url ?? "",
        MQTT_USERNAME: INGEST_USER.username,
        MQTT_PASSWORD: INGEST_USER.password,
        // Distinct per instance, the same across its restarts: its broker session and queue.
        MQTT_CLIENT_ID: `two-${prefix}-${name}`,
        MQTT_SHARED: "true",
        MQTT_CONSUMERS: "2",
        PORT: String(await freePort()),
        LOG_LEVEL: process.env.TWO_TRACE ? "info" : "warn",
        ...Object.fromEntries(Object.entries(RATE_LIMIT_OUT_OF_THE_WAY).map(([k, v]) => [k, String(v)])),
      });
    const a = await instance("a");
    const b = await instance("b");
    apps.push(a, b);

    // The same stream for both sets: an elevator's second sensor 2 s after its first, so their
    // halts overlap and an elevator's incidents depend on the order of both sensors' events.
    const base = Date.now() - 3_600_000;
    const streams = Array.from({ length: 2 }, (_, k) => stream(BLOCKS, base + 2_000 * k));
    const keysOf = (set: Sensor[][]) =>
      set.flatMap((pair) => pair.flatMap((s, k) => (streams[k] ?? []).map((e) => keyOf(s.id, e.eventId))));
    const idsOf = (set: Sensor[][]) => set.flat().map((s) => s.id);
    const count = async (ids: readonly string[]) => {
      const [row] = await queryRows<{ n: number }>(
        db,
        sql`select count(*)::int as n from sensor_events where sensor_id in ${inList(ids)}`,
      );
      return row?.n ?? 0;
    };
    // One connection per sensor (its login is bound to the client id = sensor id: a second one
    // would take over the first's session).
    const clients = new Map<string, MqttClient>();
    const connect = async (s: Sensor) => {
      const known = clients.get(s.id);
      if (known) return known;
      const client = await device(broker?.url ?? "", s.id, s.key, { protocolVersion: 5 });
      devices.push(client);
      clients.set(s.id, client);
      return client;
    };
    const publish = async (set: Sensor[][], chunk: number, gate?: (index: number) => Promise<void>) => {
      const publishers = [];
      for (const pair of set) {
        for (const [k, s] of pair.entries()) {
          publishers.push(publishPaced(await connect(s), s.id, streams[k] ?? [], chunk, gate));
        }
      }
      return publishers;
    };

    // 1. The reference: the stream through instance a alone.
    await a.start();
    trace("a ready (alone)");
    const referenceKeys = keysOf(reference);
    await Promise.all((await publish(reference, 25)).map((p) => p.done));
    await waitFor(
      async () => (await count(idsOf(reference))) === referenceKeys.length,
      30_000,
      "the reference stream stored",
    );
    trace("reference stored");

    // 2. Both instances; the stream, the silent sensors, a last-will, commands; kills.
    await b.start();
    trace("b ready");
    await db
      .update(sensors)
      .set({ online: true, heartbeatIntervalS: 5, lastSeenAt: new Date(Date.now() - 10_000) })
      .where(sql`id in ${inList(silent.map((s) => s.id))}`);
    const will = await device(broker.url, willing.id, willing.key, {
      protocolVersion: 5,
      will: { topic: statusTopic(willing.id), payload: Buffer.from("offline"), qos: 1, retain: true },
    });
    devices.push(will);
    await will.publishAsync(eventsTopic(willing.id), JSON.stringify(event("heartbeat", 0, {}, Date.now())), {
      qos: 1,
    });
    // The devices that receive the commands (each answers "applied" or never answers).
    const commanded = main.map((pair) => pair[0] as Sensor).slice(0, 2);
    const received = new Map<string, number>();
    for (const [i, s] of commanded.entries()) {
      const client = await connect(s);
      client.on("message", (_topic, payload) => {
        const { commandId } = JSON.parse(payload.toString()) as { commandId: string };
        received.set(commandId, (received.get(commandId) ?? 0) + 1);
        trace(`command ${commandId} received by ${s.id}`);
        if (i === 0) {
          void client.publishAsync(
            commandResultsTopic(s.id),
            JSON.stringify({ commandId, result: "applied" }),
            { qos: 1 },
          );
        }
      });
      await client.subscribeAsync(commandsTopic(s.id), { qos: 1 });
    }

    const mainKeys = keysOf(main);
    const mainIds = idsOf(main);
    const kills: { at: number; instance: string; storedBefore: number; acked: number }[] = [];
    // Kill k falls once (k + 1) / (KILLS + 2) of the stream is stored; on a slow machine (a restart
    // takes seconds) the devices wait for it a fifth of the stream ahead, so that every kill, the
    // last one too, falls while the stream flows.
    const perSensor = streams[0]?.length ?? 0;
    const gate = async (index: number) => {
      const due = Math.min(KILLS, Math.floor((index / perSensor) * (KILLS + 2)) - 1);
      while (kills.length < due) await new Promise((r) => setTimeout(r, 20));
    };
    const publishers = await publish(main, 3, gate);
    const acked = () => publishers.reduce((n, p) => n + p.acked, 0);
    let commands: { id: string }[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim = k % 2 === 0 ? a : b;
      // Part of the stream stored since the last restart, by this life of the victim too.
      const floor = ((k + 1) * mainKeys.length) / (KILLS + 2);
      await waitFor(async () => (await count(mainIds)) >= floor, 30_000, `${floor} events stored`);
      await waitFor(async () => (await victim.stored()) > 0, 10_000, `${victim.name} storing`);
      const storedBefore = await victim.stored();
      kills.push({ at: Date.now(), instance: victim.name, storedBefore, acked: acked() });
      await victim.kill();
      trace(`killed ${victim.name} (it had stored ${storedBefore}); ${acked()} acknowledged to devices`);
      if (k === 0) {
        // Commands while an instance is down: one answered, one that expires.
        const now = Date.now();
        commands = await Promise.all(
          commanded.map((s, i) =>
            createCommand(db, world, s, {
              issuedAt: new Date(now),
              expiresAt: new Date(now + (i === 0 ? 600_000 : 6_000)),
            }),
          ),
        );
      }
      if (k === 1) will.stream.destroy(); // the last-will goes out, to both instances
      await victim.start();
      trace(`${victim.name} restarted`);
    }
    await Promise.all(publishers.map((p) => p.done));
    trace(`published: ${acked()} messages acknowledged`);
    expect(kills.every((kill) => kill.acked < acked())).toBe(true);

    // Everything settles: the stream stored, the silent sensors and the last-will offline, the
    // commands answered or expired, every notification cause fanned out and sent.
    await waitFor(async () => (await count(mainIds)) === mainKeys.length, 30_000, "the stream stored");
    const offlineIds = [...silent, willing].map((s) => s.id);
    await waitFor(
      async () => {
        const [row] = await queryRows<{ n: number }>(
          db,
          sql`select count(distinct sensor_id)::int as n from incidents where kind = 'sensor_offline' and sensor_id in ${inList(offlineIds)}`,
        );
        return row?.n === offlineIds.length;
      },
      30_000,
      "the offline incidents",
    );
    const commandIds = commands.map((c) => c.id);
    await waitFor(
      async () => {
        const rows = await queryRows<{ state: string }>(
          db,
          sql`select state from device_commands where id in ${inList(commandIds)} order by expires_at desc`,
        );
        const states = rows.map((r) => r.state).join();
        return states === "applied,expired";
      },
      30_000,
      "the commands answered and expired",
    );
    // Every cause fanned out, every notification delivered, but for those a kill cut short: claimed
    // (attempts counted) with no attempt logged, leased to the dead process until the lease ends
    // and another instance sends them again (test/notifications/durability.test.ts). They are the
    // undelivered ones that stay the same for 3 s, three delivery runs of each instance.
    const notices = () =>
      queryRows<{ id: string; state: string; attempts: number; logged: number }>(
        db,
        sql`select n.id, n.state, n.attempts,
              (select count(*)::int from notification_attempts t where t.notification_id = n.id) as logged
            from notifications n where n.endpoint_id = ${endpoint.id} order by n.id`,
      );
    let cut = "";
    let cutSince = Date.now();
    await waitFor(
      async () => {
        const [waiting] = await queryRows<{ n: number }>(
          db,
          sql`select count(*)::int as n from notification_events where fanned_out_at is null`,
        );
        const undelivered = (await notices()).filter((n) => n.state !== "delivered");
        const now = undelivered.every((n) => n.attempts > n.logged) ? JSON.stringify(undelivered) : "no";
        if (now !== cut) [cut, cutSince] = [now, Date.now()];
        return waiting?.n === 0 && now !== "no" && Date.now() - cutSince >= 3_000;
      },
      30_000,
      "every notification delivered but those a kill cut short",
    );
    trace("settled");
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);

    // Every acknowledged event stored, once: publishPaced's `done` resolved only when the broker
    // had acknowledged every message (each 7th sent twice, as a device's retry).
    const rows = await storedIds(db, mainIds);
    const keys = rows.map((r) => keyOf(r.sensor_id, r.event_id));
    expect(rows).toHaveLength(mainKeys.length);
    expect(new Set(keys).size).toBe(mainKeys.length);
    expect([...keys].sort()).toEqual([...mainKeys].sort());
    const [dead] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from dead_letters where sensor_id::uuid in ${inList([...mainIds, ...idsOf(reference)])}`,
    );
    expect(dead?.n).toBe(0);

    // The incidents of the single-instance run, elevator by elevator, sensor by its role.
    const roles = (set: Sensor[][]) =>
      new Map(set.flatMap((pair) => pair.map((s, k) => [s.id, `sensor ${k}`] as const)));
    const facilities = (set: Sensor[][]) => set.map((pair) => (pair[0] as Sensor).facilityId);
    const twoInstances = await ebikeIncidentsByElevator(db, facilities(main), roles(main));
    const oneInstance = await ebikeIncidentsByElevator(db, facilities(reference), roles(reference));
    expect(oneInstance.every((list) => list.length === BLOCKS)).toBe(true);
    expect(twoInstances).toEqual(oneInstance);

    // One offline incident per silent sensor (both instances sweep) and for the last-will (both read it).
    const offline = await queryRows<{ sensor_id: string; n: number }>(
      db,
      sql`select sensor_id, count(*)::int as n from incidents where kind = 'sensor_offline' group by sensor_id`,
    );
    expect(offline.sort((x, y) => x.sensor_id.localeCompare(y.sensor_id))).toEqual(
      offlineIds
        .map((id) => ({ sensor_id: id, n: 1 }))
        .sort((x, y) => x.sensor_id.localeCompare(y.sensor_id)),
    );

    // Each command published to its device (at least once), answered or expired once: one
    // command_failed cause, for the one that expired.
    for (const id of commandIds) expect(received.get(id)).toBeGreaterThanOrEqual(1);
    const failed = await queryRows<{ subject_id: string }>(
      db,
      sql`select subject_id from notification_events where type = 'command_failed'`,
    );
    expect(failed.map((f) => f.subject_id)).toEqual([commandIds[1]]);

    // Each cause announced once, as the single-instance run announced its own; each sent once.
    const causes = await queryRows<{ type: string; facility_id: string; n: number }>(
      db,
      sql`select type, facility_id, count(*)::int as n from notification_events group by type, facility_id`,
    );
    const causesOf = (list: readonly string[]) =>
      list.map((f) => causes.find((c) => c.type === "ebike_halt_opened" && c.facility_id === f)?.n ?? 0);
    expect(causesOf(facilities(main))).toEqual(causesOf(facilities(reference)));
    expect(causesOf(facilities(reference))).toEqual(facilities(reference).map(() => BLOCKS));
    // Nothing else was announced: no second opening, offline or failure anywhere.
    const byType = Object.fromEntries(
      ["ebike_halt_opened", "sensor_offline", "command_failed"].map((type) => [
        type,
        causes.filter((c) => c.type === type).reduce((n, c) => n + c.n, 0),
      ]),
    );
    expect(byType).toEqual({
      ebike_halt_opened: 2 * ELEVATORS * BLOCKS,
      sensor_offline: offlineIds.length,
      command_failed: 1,
    });
    const sent = await notices();
    const [allCauses] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from notification_events`,
    );
    expect(sent).toHaveLength(allCauses?.n ?? -1);
    const sends = new Map<string, number>();
    for (const r of receiver.received) {
      const { id } = JSON.parse(r.body) as { id: string };
      sends.set(id, (sends.get(id) ?? 0) + 1);
    }
    // Sent once, delivered at its one logged attempt (the receiver answers 200); sent again only
    // where a kill cut a claim short. The cut ones are few: at most a claim's batch per kill.
    const sentWrong = sent.filter((n) => {
      const times = sends.get(n.id) ?? 0;
      const claimsCut = n.attempts - n.logged;
      const delivered = n.state === "delivered" && n.logged === 1;
      return (
        !(delivered || (n.logged === 0 && claimsCut >= 1)) || times < n.logged || times > n.logged + claimsCut
      );
    });
    expect(sentWrong.map((n) => ({ ...n, sends: sends.get(n.id) ?? 0 }))).toEqual([]);
    const cutShort = sent.filter((n) => n.state !== "delivered");
    expect(cutShort.length).toBeLessThanOrEqual(KILLS * DELIVERY_BATCH);
    // Those go out once their lease ends, from an instance started again, under their own delivery
    // ids. The lease is moved to its end here, as time would move it (a minute).
    await queryRows(
      db,
      sql`update notifications set lease_until = now() - interval '1 second'
          where endpoint_id = ${endpoint.id} and state = 'pending' returning id`,
    );
    await a.start();
    await waitFor(
      async () => (await notices()).every((n) => n.state === "delivered"),
      30_000,
      "the notifications a kill cut short, delivered after their lease",
    );
    expect(await a.stop()).toBe(0);
    for (const n of cutShort) {
      const resent = receiver.received.filter((r) => (JSON.parse(r.body) as { id: string }).id === n.id);
      expect(resent.length).toBeGreaterThanOrEqual(1);
      expect(resent.every((r) => r.headers["webhook-id"] === n.id)).toBe(true);
    }

    // Dead letters past their retention deleted, the recent one kept.
    const kept = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from dead_letters where sensor_id = ${willing.id}`,
    );
    expect(kept[0]?.n).toBe(1);

    console.info(
      `[two instances] ${DATABASE_URL ? "PostgreSQL" : "a private PostgreSQL (PGlite run)"}: ` +
        `${mainKeys.length} events (${acked()} messages acknowledged), ${KILLS} kills (${kills
          .map((kill) => `${kill.instance} after storing ${kill.storedBefore}`)
          .join(", ")}); ${twoInstances.flat().length} incidents as one instance made them; ` +
        `${sent.length} notifications (${cutShort.length} cut short by a kill), ${receiver.received.length} sends; ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
