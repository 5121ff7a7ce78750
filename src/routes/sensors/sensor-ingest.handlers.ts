import { and, eq, isNull } from "drizzle-orm";
import { hashKey, sameHash } from "../../../db/keys.js";
import { sensors } from "../../../db/schema.js";
import { eventsTopic } from "../../../iot/protocol.js";
import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import type * as routes from "./sensor-ingest.routes.js";
import { ingestAnswerJson } from "./sensors.presenters.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * HTTP ingest: the sensor's own key, then the same ingestBatch as the MQTT path (one
 * transaction; exactly once per (sensor, eventId); invalid events dead-lettered, the rest stored).
 */
export const postEvents: AppRouteHandler<typeof routes.postEvents> = async (c) => {
  const { sensorId } = c.req.valid("param");
  const key = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
  if (!key) throw ApiError.unauthorized("Send the sensor's key as `Authorization: Bearer <key>`.");
  const [sensor] = await c.var.db
    .select({ keyHash: sensors.keyHash })
    .from(sensors)
    .where(and(eq(sensors.id, sensorId), isNull(sensors.revokedAt)));
  if (!sensor || !sameHash(hashKey(key), sensor.keyHash)) {
    throw ApiError.unauthorized("The sensor key is wrong, or the sensor is unknown or revoked.");
  }
  const body = c.req.valid("json");
  const events = Array.isArray(body) ? body : [body];
  const receivedAt = c.var.deps.clock();
  const topic = eventsTopic(sensorId);
  const result = await c.var.deps.ingest.ingestBatch(
    events.map((event) => ({ topic, payload: Buffer.from(JSON.stringify(event)), receivedAt })),
    c.var.db,
  );
  return c.json(ingestAnswerJson(result), 200);
};
