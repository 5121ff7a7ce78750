import { createRouter } from "../../openapi.js";
import * as handlers from "./sensor-ingest.handlers.js";
import * as routes from "./sensor-ingest.routes.js";

/** Mounted outside the organization-authenticated /v1 router: sensors use their own keys. */
export const sensorIngestRouter = createRouter().openapi(routes.postEvents, handlers.postEvents);
