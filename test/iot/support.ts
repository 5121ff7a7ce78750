/** Helpers of the IoT suites: sensors, a private Mosquitto per test file, waiting for conditions. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Database } from "../../db/database.js";
import { queryRows } from "../../db/database.js";
import { generateKey } from "../../db/keys.js";
import { deviceCommands, facilities, sensors } from "../../db/schema.js";
import { mosquittoPasswordHash } from "../../iot/credentials.js";
import { writeBrokerDir } from "../../iot/dynsec.js";
import { eventsTopic } from "../../iot/protocol.js";
import { createFacility, createWorld, type World } from "../support/factories.js";

export const MOSQUITTO = "/usr/sbin/mosquitto";
export const INGEST_USER = { username: "bot-ingest", password: "ingest-password-0123456789" };

/**
 * The ingest's per-sensor rate limit set out of the way, for the suites that replay hours of a
 * sensor's events in seconds (one sensor standing for a fleet): far over what a device may send.
 */
export const RATE_LIMIT_OUT_OF_THE_WAY = {
  INGEST_SENSOR_RATE_PER_S: 100_000,
  INGEST_SENSOR_BURST: 1_000_000,
};

/** A world whose enterprise operates the elevator (sensors can be registered on it). */
export async function createIotWorld(db: Database) {
  const world = await createWorld(db);
  await db
    .update(facilities)
    .set({ operatorOrgId: world.enterprise.org.id, status: "operating" })
    .where(eq(facilities.id, world.elevator.id));
  return world;
}

/** Another elevator of the same community, operated by the world's enterprise. */
export async function createElevator(db: Database, world: World) {
  return createFacility(db, {
    kind: "elevator",
    streetId: world.street.id,
    communityId: world.community.id,
    buildingId: world.building.id,
    operatorOrgId: world.enterprise.org.id,
  });
}

export async function createSensor(db: Database, world: World, facilityId = world.elevator.id) {
  const issued = generateKey("sensor");
  const [row] = await db
    .insert(sensors)
    .values({
      facilityId,
      streetId: world.street.id,
      communityId: world.community.id,
      enterpriseOrgId: world.enterprise.org.id,
      name: `sensor ${issued.prefix}`,
      keyHash: issued.hash,
      keyPrefix: issued.prefix,
      brokerPasswordHash: mosquittoPasswordHash(issued.key),
    })
    .returning();
  if (!row) throw new Error("no sensor");
  return { id: row.id, key: issued.key, facilityId };
}

/** Polls `check` until it returns a truthy value (or throws after timeoutMs with the last value). */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false | 0 | "">,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | null | undefined | false | 0 | "";
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function countEvents(db: Database, sensorId: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from sensor_events where sensor_id = ${sensorId}`,
  );
  return row?.n ?? 0;
}

export async function deadLetterReasons(db: Database, sensorId: string): Promise<string[]> {
  const rows = await queryRows<{ reason: string }>(
    db,
    sql`select reason from dead_letters where sensor_id = ${sensorId} order by id`,
  );
  return rows.map((r) => r.reason);
}

export async function incidentsOf(db: Database, facilityId: string) {
  return queryRows<{
    kind: string;
    opened_at: Date;
    closed_at: Date | null;
    detections: number;
    halt_seconds: number | null;
  }>(
    db,
    sql`select kind, opened_at, closed_at, detections, halt_seconds from incidents where facility_id = ${facilityId} order by opened_at`,
  );
}

/** An event as the ingest receives it from the sensor's topic. */
export function eventItem(sensorId: string, ev: Record<string, unknown>, receivedAt = new Date()) {
  return { topic: eventsTopic(sensorId), payload: Buffer.from(JSON.stringify(ev)), receivedAt };
}

let seq = 0;
/** An event as a device sends it (`at` = seconds after a fixed base instant in the recent past). */
export function event(
  type: string,
  at: number,
  extra: Record<string, unknown> = {},
  base = Date.now() - 3_600_000,
) {
  seq += 1;
  const fields: Record<string, unknown> =
    type === "ebike_detected"
      ? { carHalted: true, floor: 1, confidence: 0.97 }
      : type === "ebike_cleared"
        ? { floor: 1 }
        : type === "heartbeat"
          ? { uptimeS: 100, firmware: "1.2.3" }
          : { code: "E42", message: "lens dirty" };
  return {
    eventId: `e-${process.pid}-${seq}`,
    type,
    occurredAt: new Date(base + at * 1000).toISOString(),
    ...fields,
    ...extra,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Mosquitto {
  url: string;
  port: number;
  dir: string;
  readonly pid: number;
  /** Stops the broker process (a broker outage); `up()` starts it again on the same port and state. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private Mosquitto set up as `npm run mqtt:setup` does (iot/dynsec.ts: the shipped
 * iot/mosquitto.conf and the dynamic-security plugin's logins from the sensors table, in a temp
 * dir), listening on 127.0.0.1 on a free port and logging to stderr. Run as root, it switches to
 * the user `mosquitto`, who owns the dir: the deployment's own path. Fails loudly when Mosquitto is
 * not installed: these tests are the proof that the shipped config works. `extraIngestReads`: more
 * filters the ingest's login may read (the benchmark's own share group).
 */
export async function startMosquitto(
  db: Database,
  opts: { extraIngestReads?: readonly string[] } = {},
): Promise<Mosquitto> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing: install the mosquitto package`);
  const parent = await mkdtemp(join(tmpdir(), "bot-mosquitto-"));
  await chmod(parent, 0o755); // the way to the broker's dir, for the user `mosquitto`
  const dir = join(parent, "broker");
  const port = await freePort();
  const { conf } = await writeBrokerDir(db, dir, INGEST_USER, {
    port,
    host: "127.0.0.1",
    logTo: "stderr",
    ...(opts.extraIngestReads ? { extraIngestReads: opts.extraIngestReads } : {}),
  });
  const url = `mqtt://127.0.0.1:${port}`;
  const launch = async () => {
    const child: ChildProcess = spawn(MOSQUITTO, ["-c", conf], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
        return canConnect(port);
      },
      10_000,
      "mosquitto to listen",
    );
    return { child, exited };
  };
  let running: Awaited<ReturnType<typeof launch>> | null = await launch();
  const terminate = async () => {
    if (!running) return;
    running.child.kill("SIGTERM"); // Mosquitto writes its persistence file on the way out
    await running.exited;
    running = null;
  };
  return {
    url,
    port,
    dir,
    get pid() {
      return running?.child.pid ?? 0;
    },
    down: terminate,
    async up() {
      running ??= await launch();
    },
    async stop() {
      await terminate();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

async function canConnect(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Ends the ingest sessions `clientIds` on the broker (a clean start replaces a session). Mosquitto
 * deals shared-subscription messages to a persistent session even while it is disconnected, so a
 * test's sessions left behind would take a share of the next test's messages.
 */
export async function discardSessions(url: string, clientIds: Iterable<string>) {
  for (const clientId of clientIds) {
    const client = await mqtt.connectAsync(url, {
      ...INGEST_USER,
      clientId,
      clean: true,
      protocolVersion: 5,
    });
    await client.endAsync();
  }
}

/** A device: connects as the sensor (or any user), with its user name as client id by default. */
export async function device(
  url: string,
  username: string,
  password: string,
  opts: Partial<IClientOptions> = {},
) {
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: username,
    username,
    password,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...opts,
  });
  return client;
}

/**
 * A device command as the people's API stores it (`pending`, the device-facing fields in `params`):
 * the interface between issuing a command and sending it. Expires in 10 minutes unless told.
 */
export async function createCommand(
  db: Database,
  world: World,
  sensor: { id: string; facilityId: string },
  overrides: Partial<typeof deviceCommands.$inferInsert> = {},
) {
  const now = new Date();
  const [row] = await db
    .insert(deviceCommands)
    .values({
      sensorId: sensor.id,
      facilityId: sensor.facilityId,
      communityId: world.community.id,
      streetId: world.street.id,
      type: "release",
      params: {},
      reason: "false alarm: a stroller",
      issuedAt: now,
      expiresAt: new Date(now.getTime() + 600_000),
      issuedByOrgId: world.propertyCompany.org.id,
      issuedByName: "物业值班",
      ...overrides,
    })
    .returning();
  if (!row) throw new Error("no command");
  return row;
}

export async function commandRow(db: Database, id: string) {
  const [row] = await db.select().from(deviceCommands).where(eq(deviceCommands.id, id));
  if (!row) throw new Error(`no command ${id}`);
  return row;
}
