/**
 * Sensors: registering one on an elevator, its key (issued, rotated), revoking it, reading them and
 * their dead letters. Who may do which, and in which state of the sensor, is the permission table
 * (contracts/permissions.ts); a change of a sensor's login is told to the broker inside its
 * transaction.
 */
import { and, asc, count, desc, eq, getTableColumns, isNotNull, isNull, like, lt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Queryable } from "../../../db/database.js";
import { generateKey } from "../../../db/keys.js";
import { deadLetters, facilities, sensorDays, sensors } from "../../../db/schema.js";
import { mosquittoPasswordHash } from "../../../iot/credentials.js";
import {
  BrokerNotReachableError,
  BrokerUnavailableError,
  type DeviceBroker,
} from "../../../iot/device-broker.js";
import { shanghaiDate } from "../../../iot/event-partitions.js";
import type { Ingest } from "../../../iot/ingest.js";
import type { Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import { exportBatches, type Window } from "../batches.js";
import type { ServiceContext } from "../context.js";
import { pageOf } from "../pages.js";
import { authorize, authorizeOrg } from "../permissions.js";
import { deadLetterScope, sensorScope } from "./scope.js";

export type SensorRow = typeof sensors.$inferSelect;
export type DeadLetterRow = typeof deadLetters.$inferSelect;

/** Heartbeat interval of a sensor registered without one when the deployment sets none. */
const DEFAULT_HEARTBEAT_S = 30;

/** What a change of a sensor's login needs besides the database and the clock. */
export interface SensorPorts {
  /** The broker's side of sensors' logins, told inside the transaction; unset: nothing to tell. */
  devices?: DeviceBroker;
  /** The ingest's cache of sensors, told when a key changes or a sensor is revoked. */
  ingest: Pick<Ingest, "invalidateSensor">;
  logger: Logger;
  /** Heartbeat interval of a sensor registered without one (SENSOR_HEARTBEAT_S). */
  defaultHeartbeatS?: number;
}

export interface NewSensor {
  facilityId: string;
  name: string;
  heartbeatIntervalSeconds?: number;
}

export interface SensorFilter {
  facilityId?: string;
  communityId?: string;
  online?: boolean;
  revoked?: boolean;
  limit: number;
  offset: number;
}

export interface DeadLetterFilter {
  sensorId?: string;
  /** Reasons starting with this. */
  reason?: string;
  /** An RFC 3339 instant: received at or after it. */
  from?: string | undefined;
  /** An RFC 3339 instant: received before it. */
  to?: string | undefined;
  limit: number;
  offset: number;
}

/** A sensor with its key, which is shown this once (when issued or rotated). */
export interface SensorWithKey {
  sensor: SensorRow;
  key: string;
}

async function findSensor(db: Queryable, p: Principal, id: string): Promise<SensorRow> {
  const [row] = await db
    .select()
    .from(sensors)
    .where(and(eq(sensors.id, id), sensorScope(p)));
  if (!row) throw ApiError.notFound("The sensor");
  return row;
}

function issueKey() {
  const issued = generateKey("sensor");
  return {
    key: issued.key,
    values: {
      keyHash: issued.hash,
      keyPrefix: issued.prefix,
      brokerPasswordHash: mosquittoPasswordHash(issued.key),
    },
  };
}

/**
 * Writes a change of a sensor's login and tells the broker inside the same transaction: when the
 * broker can not be told, the change is rolled back and the answer is 503 with Retry-After (the
 * database is never ahead of the broker). A commit failing after the broker took the change leaves
 * the broker ahead: a retry of the request puts them in step again.
 */
async function withBroker<T>(
  ctx: ServiceContext,
  ports: SensorPorts,
  write: (tx: Queryable) => Promise<T>,
  tell: (devices: DeviceBroker, row: T) => Promise<void>,
): Promise<T> {
  try {
    return await ctx.db.transaction(async (tx) => {
      const row = await write(tx);
      if (ports.devices && row) await tell(ports.devices, row);
      return row;
    });
  } catch (err) {
    if (err instanceof BrokerNotReachableError) {
      throw new ApiError(
        501,
        "needs_node_process",
        "Not available on Workers",
        "This deployment's sensors log in to Mosquitto, which only the Node process can tell of a sensor's login: register, rotate or revoke the sensor through the Node API. Nothing was changed.",
      );
    }
    if (!(err instanceof BrokerUnavailableError)) throw err;
    ports.logger.warn({ err: err.message }, "sensor change rolled back: the broker could not be told");
    throw ApiError.unavailable(
      "broker_unavailable",
      "Broker unavailable",
      "The MQTT broker could not be told of the change, so nothing was changed. Retry shortly.",
    );
  }
}

/**
 * The sensor was revoked between the read and the write (a concurrent revoke): the table's answer
 * for a revoked sensor.
 */
function revokedMeanwhile(p: Principal, type: "rotate_sensor_key" | "revoke_sensor"): never {
  authorize(p, { type, sensor: { revoked: true } });
  throw new Error(`the permission table allowed ${type} on a revoked sensor`);
}

/** Registers a sensor on an elevator the caller's enterprise operates; its key is issued once. */
export async function registerSensor(
  ctx: ServiceContext,
  input: NewSensor,
  ports: SensorPorts,
): Promise<SensorWithKey> {
  const [facility] = await ctx.db
    .select({
      id: facilities.id,
      kind: facilities.kind,
      operatorOrgId: facilities.operatorOrgId,
      streetId: facilities.streetId,
      communityId: facilities.communityId,
    })
    .from(facilities)
    .where(eq(facilities.id, input.facilityId));
  const orgId = ctx.principal.orgId;
  const p = authorizeOrg(ctx.principal, {
    type: "register_sensor",
    facility: facility
      ? {
          isElevator: facility.kind === "elevator",
          operatedByActor: orgId !== null && facility.operatorOrgId === orgId,
        }
      : null,
  });
  if (!facility) throw new Error("the permission table let a sensor be registered on no facility");
  const { key, values } = issueKey();
  const [row] = await withBroker(
    ctx,
    ports,
    (tx) =>
      tx
        .insert(sensors)
        .values({
          facilityId: facility.id,
          streetId: facility.streetId,
          communityId: facility.communityId,
          enterpriseOrgId: p.orgId,
          name: input.name,
          heartbeatIntervalS:
            input.heartbeatIntervalSeconds ?? ports.defaultHeartbeatS ?? DEFAULT_HEARTBEAT_S,
          createdAt: ctx.clock(),
          ...values,
        })
        .returning(),
    (devices, [inserted]) => (inserted ? devices.addSensor(inserted.id, key) : Promise.resolve()),
  );
  if (!row) throw new Error("insert returned nothing");
  ports.logger.info({ sensorId: row.id, facilityId: facility.id }, "sensor registered");
  return { sensor: row, key };
}

/** A page of the sensors in the caller's scope, oldest first, and how many match in all. */
export async function listSensors(
  ctx: ServiceContext,
  filter: SensorFilter,
): Promise<{ items: SensorRow[]; total: number }> {
  authorize(ctx.principal, { type: "read_sensors" });
  const where = and(
    sensorScope(ctx.principal),
    filter.facilityId ? eq(sensors.facilityId, filter.facilityId) : undefined,
    filter.communityId ? eq(sensors.communityId, filter.communityId) : undefined,
    filter.online !== undefined ? eq(sensors.online, filter.online) : undefined,
    filter.revoked === true
      ? isNotNull(sensors.revokedAt)
      : filter.revoked === false
        ? isNull(sensors.revokedAt)
        : undefined,
  );
  const [items, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(sensors)
      .where(where)
      .orderBy(asc(sensors.createdAt), asc(sensors.id))
      .limit(filter.limit)
      .offset(filter.offset),
    ctx.db.select({ n: count() }).from(sensors).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

export type SensorDayRow = typeof sensorDays.$inferSelect;

/** Days of heartbeat figures the sensor's read shows: today and the week before it. */
export const SENSOR_DAYS_SHOWN = 8;

export async function getSensor(ctx: ServiceContext, id: string): Promise<SensorRow> {
  const row = await findSensor(ctx.db, ctx.principal, id);
  authorize(ctx.principal, { type: "read_sensors" });
  return row;
}

/** The sensor, with its heartbeat figures of its last SENSOR_DAYS_SHOWN Asia/Shanghai days that have any. */
export async function getSensorWithDays(
  ctx: ServiceContext,
  id: string,
): Promise<{ sensor: SensorRow; days: SensorDayRow[] }> {
  const sensor = await getSensor(ctx, id);
  const since = shanghaiDate(ctx.clock().getTime() - (SENSOR_DAYS_SHOWN - 1) * 24 * 60 * 60 * 1000);
  const days = await ctx.db
    .select()
    .from(sensorDays)
    .where(and(eq(sensorDays.sensorId, sensor.id), sql`${sensorDays.day} >= ${since}::date`))
    .orderBy(desc(sensorDays.day));
  return { sensor, days };
}

/** Issues a new key; the old one stops working at once (the broker and the ingest's cache are told). */
export async function rotateSensorKey(
  ctx: ServiceContext,
  id: string,
  ports: SensorPorts,
): Promise<SensorWithKey> {
  const sensor = await findSensor(ctx.db, ctx.principal, id);
  authorize(ctx.principal, { type: "rotate_sensor_key", sensor: { revoked: sensor.revokedAt !== null } });
  const { key, values } = issueKey();
  const [row] = await withBroker(
    ctx,
    ports,
    (tx) =>
      tx
        .update(sensors)
        .set(values)
        .where(and(eq(sensors.id, sensor.id), isNull(sensors.revokedAt)))
        .returning(),
    (devices, [updated]) => (updated ? devices.setSensorKey(updated.id, key) : Promise.resolve()),
  );
  if (!row) revokedMeanwhile(ctx.principal, "rotate_sensor_key");
  ports.ingest.invalidateSensor(row.id);
  return { sensor: row, key };
}

/** Revokes a sensor: its broker connection is dropped and refused; any message becomes a dead letter. */
export async function revokeSensor(ctx: ServiceContext, id: string, ports: SensorPorts): Promise<SensorRow> {
  const sensor = await findSensor(ctx.db, ctx.principal, id);
  authorize(ctx.principal, { type: "revoke_sensor", sensor: { revoked: sensor.revokedAt !== null } });
  const [row] = await withBroker(
    ctx,
    ports,
    (tx) =>
      tx
        .update(sensors)
        .set({ revokedAt: ctx.clock(), online: false })
        .where(and(eq(sensors.id, sensor.id), isNull(sensors.revokedAt)))
        .returning(),
    (devices, [updated]) => (updated ? devices.disableSensor(updated.id) : Promise.resolve()),
  );
  if (!row) revokedMeanwhile(ctx.principal, "revoke_sensor");
  ports.ingest.invalidateSensor(row.id);
  ports.logger.info({ sensorId: row.id }, "sensor revoked");
  return row;
}

/** Messages that could not be stored, newest first, of the sensors the caller may read them for. */
export async function listDeadLetters(
  ctx: ServiceContext,
  filter: DeadLetterFilter,
): Promise<{ items: DeadLetterRow[]; total: number }> {
  authorize(ctx.principal, { type: "read_dead_letters" });
  const where = deadLettersWhere(ctx.principal, filter);
  const query = ctx.db
    .select(getTableColumns(deadLetters))
    .from(deadLetters)
    .where(where)
    .orderBy(desc(deadLetters.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(deadLetters, where), filter);
}

/** The dead letters in the principal's scope that match the filter: the one WHERE of the page and the export. */
function deadLettersWhere(p: Principal, filter: Omit<DeadLetterFilter, "limit" | "offset">) {
  return and(
    deadLetterScope(p),
    filter.sensorId ? eq(deadLetters.sensorId, filter.sensorId) : undefined,
    filter.reason ? like(deadLetters.reason, `${filter.reason.replace(/[\\%_]/g, "\\$&")}%`) : undefined,
    filter.from ? sql`${deadLetters.receivedAt} >= ${filter.from}` : undefined,
    filter.to ? sql`${deadLetters.receivedAt} < ${filter.to}` : undefined,
  );
}

/**
 * Every dead letter `listDeadLetters` would list on all its pages (or on the one page `window`
 * names), newest first, read in batches with the same filters and scope.
 */
export function exportDeadLetters(
  ctx: ServiceContext,
  filter: Omit<DeadLetterFilter, "limit" | "offset">,
  window?: Window,
): AsyncGenerator<DeadLetterRow[]> {
  authorize(ctx.principal, { type: "read_dead_letters" });
  const where = deadLettersWhere(ctx.principal, filter);
  return exportBatches<DeadLetterRow>(
    (after, limit, offset) =>
      ctx.db
        .select(getTableColumns(deadLetters))
        .from(deadLetters)
        .where(and(where, after ? lt(deadLetters.id, after.id) : undefined))
        .orderBy(desc(deadLetters.id))
        .limit(limit)
        .offset(offset),
    window,
  );
}
