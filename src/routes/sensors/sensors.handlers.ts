/**
 * The sensors routes: each parses, calls one function of the sensors service
 * (src/services/sensors), and presents what it returns.
 */
import type { Context } from "hono";
import { shanghaiDate } from "../../../contracts/index.js";
import { type AppEnv, serviceContext } from "../../context.js";
import { csvResponse, csvWindow, wantsCsv } from "../../csv.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as sensors from "../../services/sensors/sensors.js";
import { deadLetterJson, sensorDetailJson, sensorJson, sensorWithKeyJson } from "./sensors.presenters.js";
import type * as routes from "./sensors.routes.js";
import { deadLetterCsv } from "./sensors.routes.js";

/** What a change of a sensor's login tells besides the database: the broker, the ingest's cache. */
function ports(c: Context<AppEnv>): sensors.SensorPorts {
  const { devices, ingest, sensorHeartbeatS } = c.var.deps;
  return { devices, ingest, logger: c.var.logger, defaultHeartbeatS: sensorHeartbeatS };
}

/** A `"true"` / `"false"` query flag; absent: no filter. */
const flag = (value: "true" | "false" | undefined) => (value === undefined ? undefined : value === "true");

export const createSensor: AppRouteHandler<typeof routes.createSensor> = async (c) => {
  const issued = await sensors.registerSensor(serviceContext(c), c.req.valid("json"), ports(c));
  return c.json(sensorWithKeyJson(issued), 201);
};

export const listSensors: AppRouteHandler<typeof routes.listSensors> = async (c) => {
  const q = c.req.valid("query");
  const page = await sensors.listSensors(serviceContext(c), {
    ...q,
    online: flag(q.online),
    revoked: flag(q.revoked),
  });
  return c.json(pageJson(c.req.url, page.items.map(sensorJson), page.total, q), 200);
};

export const getSensor: AppRouteHandler<typeof routes.getSensor> = async (c) => {
  return c.json(
    sensorDetailJson(await sensors.getSensorWithDays(serviceContext(c), c.req.valid("param").id)),
    200,
  );
};

export const rotateKey: AppRouteHandler<typeof routes.rotateKey> = async (c) => {
  const issued = await sensors.rotateSensorKey(serviceContext(c), c.req.valid("param").id, ports(c));
  return c.json(sensorWithKeyJson(issued), 200);
};

export const revokeSensor: AppRouteHandler<typeof routes.revokeSensor> = async (c) => {
  const row = await sensors.revokeSensor(serviceContext(c), c.req.valid("param").id, ports(c));
  return c.json(sensorJson(row), 200);
};

/** Street office: dead letters of its street's sensors; enterprise: of its own sensors; admin: all. */
export const listDeadLetters: AppRouteHandler<typeof routes.listDeadLetters> = async (c) => {
  if (wantsCsv(c)) return deadLettersCsv(c, c.req.valid("query"));
  const query = c.req.valid("query");
  const { items, total } = await sensors.listDeadLetters(serviceContext(c), query);
  return c.json(pageJson(c.req.url, items.map(deadLetterJson), total, query), 200);
};

/** The dead letters as CSV: every page's (or the one page limit/offset name), streamed. */
function deadLettersCsv(c: Context<AppEnv>, q: sensors.DeadLetterFilter) {
  return csvResponse(c, {
    filename: `dead-letters-${shanghaiDate(c.var.deps.clock())}.csv`,
    format: deadLetterCsv,
    rows: sensors.exportDeadLetters(serviceContext(c), q, csvWindow(c, q)),
    present: deadLetterJson,
  });
}
