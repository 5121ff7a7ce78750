import { emptyJsonAsObject } from "../../empty-json-body.js";
import { createRouter } from "../../openapi.js";
import * as commandHandlers from "./sensor-commands.handlers.js";
import * as commandRoutes from "./sensor-commands.routes.js";
import * as handlers from "./sensor-ingest.handlers.js";
import * as routes from "./sensor-ingest.routes.js";

/**
 * Mounted outside the organization-authenticated /v1 router: sensors use their own keys, checked
 * before the body is read.
 */
export const sensorIngestRouter = createRouter();
sensorIngestRouter.use("/sensors/:id/events", handlers.requireSensorKey, emptyJsonAsObject);
sensorIngestRouter.openapi(routes.postEvents, handlers.postEvents);
sensorIngestRouter.use("/sensors/:id/commands/pending", handlers.requireSensorKey);
sensorIngestRouter.use("/sensors/:id/command-results", handlers.requireSensorKey, emptyJsonAsObject);
sensorIngestRouter.openapi(commandRoutes.getPendingCommands, commandHandlers.getPendingCommands);
sensorIngestRouter.openapi(commandRoutes.postCommandResult, commandHandlers.postCommandResult);
