import { createMiddleware } from "hono/factory";
import { refuseSlowly } from "../../auth/authenticate.js";
import type { AppEnv } from "../../context.js";
import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { authenticateSensor, ingestSensorEvents } from "../../services/sensors/ingest.js";
import type * as routes from "./sensor-ingest.routes.js";
import { ingestAnswerJson } from "./sensors.presenters.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The sensor's key, checked before anything of the body is read: a client without it is answered
 * 401 at once, however slowly it sends. A path id that is not a sensor id goes on to the route's
 * validator, which names it (400).
 */
export const requireSensorKey = createMiddleware<AppEnv>(async (c, next) => {
  const key = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
  if (!key) throw ApiError.unauthorized("Send the sensor's key as `Authorization: Bearer <key>`.");
  const sensorId = c.req.param("id") ?? "";
  const refusal = await authenticateSensor(c.var.db, { sensorId, key }).then(
    () => null,
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) return err;
      throw err;
    },
  );
  if (refusal) return refuseSlowly(c, refusal, sensorId);
  await next();
});

/**
 * HTTP ingest: the caller is a sensor, named by the path and proved by its own key (not an
 * organization's; `requireSensorKey` checked it); the batch goes through the same ingestBatch as
 * the MQTT path.
 */
export const postEvents: AppRouteHandler<typeof routes.postEvents> = async (c) => {
  const { id: sensorId } = c.req.valid("param");
  const body = c.req.valid("json");
  const result = await ingestSensorEvents(
    { db: c.var.db, clock: c.var.deps.clock, sensorId },
    Array.isArray(body) ? body : [body],
    c.var.deps.ingest,
  );
  return c.json(ingestAnswerJson(result), 200);
};
