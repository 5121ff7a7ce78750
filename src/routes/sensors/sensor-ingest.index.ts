import { emptyJsonAsObject } from "../../empty-json-body.js";
import { createRouter } from "../../openapi.js";
import * as handlers from "./sensor-ingest.handlers.js";
import * as routes from "./sensor-ingest.routes.js";

/**
 * Mounted outside the organization-authenticated /v1 router: sensors use their own keys, checked
 * before the body is read.
 */
export const sensorIngestRouter = createRouter();
sensorIngestRouter.use("/sensors/:sensorId/events", handlers.requireSensorKey, emptyJsonAsObject);
sensorIngestRouter.openapi(routes.postEvents, handlers.postEvents);
