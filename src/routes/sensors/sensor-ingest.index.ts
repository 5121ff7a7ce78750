import { emptyJsonAsObject } from "../../empty-json-body.js";
import { createRouter } from "../../openapi.js";
import { limitBySensor } from "../../rate-limit.js";
import * as commandHandlers from "./sensor-commands.handlers.js";
import * as commandRoutes from "./sensor-commands.routes.js";
import * as handlers from "./sensor-ingest.handlers.js";
import * as routes from "./sensor-ingest.routes.js";

/**
 * Mounted outside the organization-authenticated /v1 router: sensors use their own keys, checked
 * before the body is read; a sensor's requests are counted under its key's rate limit.
 */
export const sensorIngestRouter = createRouter();
sensorIngestRouter.use(
  "/sensors/:sensorId/events",
  handlers.requireSensorKey,
  limitBySensor,
  emptyJsonAsObject,
);
sensorIngestRouter.openapi(routes.postEvents, handlers.postEvents);
sensorIngestRouter.use("/sensors/:sensorId/commands/pending", handlers.requireSensorKey, limitBySensor);
sensorIngestRouter.use(
  "/sensors/:sensorId/command-results",
  handlers.requireSensorKey,
  limitBySensor,
  emptyJsonAsObject,
);
sensorIngestRouter.openapi(commandRoutes.getPendingCommands, commandHandlers.getPendingCommands);
sensorIngestRouter.openapi(commandRoutes.postCommandResult, commandHandlers.postCommandResult);
