import { z } from "@hono/zod-openapi";
import { SensorEvent } from "../../../iot/protocol.js";
import { limitBody } from "../../body-limit.js";
import { emptyJsonAsObject } from "../../empty-json-body.js";
import { createRouter } from "../../openapi.js";
import { limitBySensor } from "../../rate-limit.js";
import * as commandHandlers from "./sensor-commands.handlers.js";
import * as commandRoutes from "./sensor-commands.routes.js";
import * as handlers from "./sensor-ingest.handlers.js";
import * as routes from "./sensor-ingest.routes.js";

/**
 * Mounted outside the organization-authenticated /v1 router and before the app's body limit:
 * sensors use their own keys, checked before anything of the body (its size included) is looked at;
 * a sensor's requests are counted under its key's rate limit.
 */
export const sensorIngestRouter = createRouter();
// The body's items are documented as the protocol's event union (see IngestBody). Registered
// through a lazy schema: iot/protocol.ts builds its schemas with plain zod, possibly before
// @hono/zod-openapi has added `.openapi` to zod's classes, which register() calls.
sensorIngestRouter.openAPIRegistry.register(
  "SensorEventInput",
  z.lazy(() => SensorEvent),
);
sensorIngestRouter.use(
  "/sensors/:id/events",
  handlers.requireSensorKey,
  limitBySensor,
  limitBody,
  emptyJsonAsObject,
);
sensorIngestRouter.openapi(routes.postEvents, handlers.postEvents);
sensorIngestRouter.use("/sensors/:id/commands/pending", handlers.requireSensorKey, limitBySensor);
sensorIngestRouter.use(
  "/sensors/:id/command-results",
  handlers.requireSensorKey,
  limitBySensor,
  limitBody,
  emptyJsonAsObject,
);
sensorIngestRouter.openapi(commandRoutes.getPendingCommands, commandHandlers.getPendingCommands);
sensorIngestRouter.openapi(commandRoutes.postCommandResult, commandHandlers.postCommandResult);
