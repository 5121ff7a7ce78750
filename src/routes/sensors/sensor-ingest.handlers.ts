import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { ingestSensorEvents } from "../../services/sensors/ingest.js";
import type * as routes from "./sensor-ingest.routes.js";
import { ingestAnswerJson } from "./sensors.presenters.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * HTTP ingest: the caller is a sensor, named by the path and proved by its own key (not an
 * organization's); the sensors service checks the key and runs the same ingestBatch as the MQTT path.
 */
export const postEvents: AppRouteHandler<typeof routes.postEvents> = async (c) => {
  const { sensorId } = c.req.valid("param");
  const key = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
  if (!key) throw ApiError.unauthorized("Send the sensor's key as `Authorization: Bearer <key>`.");
  const body = c.req.valid("json");
  const result = await ingestSensorEvents(
    { db: c.var.db, clock: c.var.deps.clock, sensor: { sensorId, key } },
    Array.isArray(body) ? body : [body],
    c.var.deps.ingest,
  );
  return c.json(ingestAnswerJson(result), 200);
};
