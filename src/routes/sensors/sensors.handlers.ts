import { and, count, desc, eq, getTableColumns, isNotNull, isNull, like, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { outer, type Queryable } from "../../../db/database.js";
import { generateKey } from "../../../db/keys.js";
import { deadLetters, facilities, sensors } from "../../../db/schema.js";
import { mosquittoPasswordHash } from "../../../iot/credentials.js";
import {
  BrokerNotReachableError,
  BrokerUnavailableError,
  type DeviceBroker,
} from "../../../iot/device-broker.js";
import type { Principal } from "../../auth/principal.js";
import { communityScope, requireOrg, requireRole } from "../../auth/scope.js";
import type { AppEnv } from "../../context.js";
import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { deadLetterJson, sensorJson, sensorWithKeyJson } from "./sensors.presenters.js";
import type * as routes from "./sensors.routes.js";

type SensorRow = typeof sensors.$inferSelect;

const FALSE = sql`false`;

/** Enterprise: its own sensors; OC/PC: their communities'; street office: its street's. */
export function sensorScope(p: Principal): SQL {
  switch (p.role) {
    case "enterprise":
      return eq(sensors.enterpriseOrgId, p.orgId ?? "");
    case "platform_admin":
    case "street_office":
    case "owners_committee":
    case "property_company":
      return communityScope(p, sensors.streetId, sensors.communityId);
  }
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
  c: Context<AppEnv>,
  write: (tx: Queryable) => Promise<T>,
  tell: (devices: DeviceBroker, row: T) => Promise<void>,
): Promise<T> {
  try {
    return await c.var.db.transaction(async (tx) => {
      const row = await write(tx);
      if (c.var.deps.devices && row) await tell(c.var.deps.devices, row);
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
    c.var.logger.warn({ err: err.message }, "sensor change rolled back: the broker could not be told");
    throw ApiError.unavailable(
      "broker_unavailable",
      "Broker unavailable",
      "The MQTT broker could not be told of the change, so nothing was changed. Retry shortly.",
    );
  }
}

export const createSensor: AppRouteHandler<typeof routes.createSensor> = async (c) => {
  const p = requireOrg(c.var.principal, ["enterprise"], "register sensors");
  const body = c.req.valid("json");
  const [facility] = await c.var.db
    .select()
    .from(facilities)
    .where(and(eq(facilities.id, body.facilityId), eq(facilities.operatorOrgId, p.orgId)));
  if (facility?.kind !== "elevator") {
    throw ApiError.validation([
      { field: "body.facilityId", message: "is not an elevator your enterprise operates" },
    ]);
  }
  const { key, values } = issueKey();
  const [row] = await withBroker(
    c,
    (tx) =>
      tx
        .insert(sensors)
        .values({
          facilityId: facility.id,
          streetId: facility.streetId,
          communityId: facility.communityId,
          enterpriseOrgId: p.orgId,
          name: body.name,
          heartbeatIntervalS: body.heartbeatIntervalS ?? c.var.deps.sensorHeartbeatS ?? 30,
          createdAt: c.var.deps.clock(),
          ...values,
        })
        .returning(),
    (devices, [inserted]) => (inserted ? devices.addSensor(inserted.id, key) : Promise.resolve()),
  );
  if (!row) throw new Error("insert returned nothing");
  c.var.logger.info({ sensorId: row.id, facilityId: facility.id }, "sensor registered");
  return c.json(sensorWithKeyJson(row, key), 201);
};

export const listSensors: AppRouteHandler<typeof routes.listSensors> = async (c) => {
  const p = c.var.principal;
  const q = c.req.valid("query");
  const where = and(
    sensorScope(p),
    q.facilityId ? eq(sensors.facilityId, q.facilityId) : undefined,
    q.communityId ? eq(sensors.communityId, q.communityId) : undefined,
    q.online ? eq(sensors.online, q.online === "true") : undefined,
    q.revoked === "true"
      ? isNotNull(sensors.revokedAt)
      : q.revoked === "false"
        ? isNull(sensors.revokedAt)
        : undefined,
  );
  const db = c.var.db;
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(sensors)
      .where(where)
      .orderBy(sensors.createdAt, sensors.id)
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(sensors).where(where),
  ]);
  return c.json({ items: rows.map(sensorJson), total: total?.n ?? 0 }, 200);
};

export const getSensor: AppRouteHandler<typeof routes.getSensor> = async (c) => {
  const row = await findSensor(c.var.db, c.var.principal, c.req.valid("param").id);
  return c.json(sensorJson(row), 200);
};

export const rotateKey: AppRouteHandler<typeof routes.rotateKey> = async (c) => {
  const p = c.var.principal;
  const sensor = await findSensor(c.var.db, p, c.req.valid("param").id);
  requireRole(p, ["enterprise"], "rotate sensor keys");
  if (sensor.revokedAt)
    throw ApiError.conflict("sensor_revoked", "The sensor is revoked; register a new one.");
  const { key, values } = issueKey();
  const [row] = await withBroker(
    c,
    (tx) =>
      tx
        .update(sensors)
        .set(values)
        .where(and(eq(sensors.id, sensor.id), isNull(sensors.revokedAt)))
        .returning(),
    (devices, [updated]) => (updated ? devices.setSensorKey(updated.id, key) : Promise.resolve()),
  );
  if (!row) throw ApiError.conflict("sensor_revoked", "The sensor is revoked; register a new one.");
  c.var.deps.ingest.invalidateSensor(row.id);
  return c.json(sensorWithKeyJson(row, key), 200);
};

export const revokeSensor: AppRouteHandler<typeof routes.revokeSensor> = async (c) => {
  const p = c.var.principal;
  const sensor = await findSensor(c.var.db, p, c.req.valid("param").id);
  requireRole(p, ["enterprise"], "revoke sensors");
  const [row] = await withBroker(
    c,
    (tx) =>
      tx
        .update(sensors)
        .set({ revokedAt: c.var.deps.clock(), online: false })
        .where(and(eq(sensors.id, sensor.id), isNull(sensors.revokedAt)))
        .returning(),
    (devices, [updated]) => (updated ? devices.disableSensor(updated.id) : Promise.resolve()),
  );
  if (!row) throw ApiError.conflict("sensor_revoked", "The sensor is already revoked.");
  c.var.deps.ingest.invalidateSensor(row.id);
  c.var.logger.info({ sensorId: row.id }, "sensor revoked");
  return c.json(sensorJson(row), 200);
};

/** Street office: dead letters of its street's sensors; enterprise: of its own sensors; admin: all. */
export const listDeadLetters: AppRouteHandler<typeof routes.listDeadLetters> = async (c) => {
  const p = c.var.principal;
  requireRole(p, ["platform_admin", "street_office", "enterprise"], "read dead letters");
  const q = c.req.valid("query");
  const scope =
    p.role === "platform_admin"
      ? undefined
      : sql`exists (select 1 from ${sensors} s where s.id::text = ${outer(deadLetters.sensorId)} and ${
          p.role === "enterprise"
            ? sql`s.enterprise_org_id = ${p.orgId ?? ""}`
            : p.streetId
              ? sql`s.street_id = ${p.streetId}`
              : FALSE
        })`;
  const rows = await c.var.db
    .select(getTableColumns(deadLetters))
    .from(deadLetters)
    .where(
      and(
        scope,
        q.sensorId ? eq(deadLetters.sensorId, q.sensorId) : undefined,
        q.reason ? like(deadLetters.reason, `${q.reason.replace(/[\\%_]/g, "\\$&")}%`) : undefined,
        q.since ? sql`${deadLetters.receivedAt} >= ${q.since}` : undefined,
      ),
    )
    .orderBy(desc(deadLetters.id))
    .limit(q.limit)
    .offset(q.offset);
  return c.json({ items: rows.map(deadLetterJson) }, 200);
};
