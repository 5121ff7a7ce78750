import { createRouter } from "../../openapi.js";
import { limitBySensor } from "../../rate-limit.js";
import { requireSensorKey } from "../sensors/sensor-ingest.handlers.js";
import * as handlers from "./snapshots.handlers.js";
import * as routes from "./snapshots.routes.js";

/**
 * The sensor's upload, mounted before the app's own 1 MiB body limit (which would hold a chunked
 * body of up to 1 MiB) and outside the organization-authenticated /v1 router: the sensor's key
 * first, then the media type and the size, then the body.
 */
export const snapshotUploadRouter = createRouter();
snapshotUploadRouter.on(
  "PUT",
  "/sensors/:id/events/:eventId/snapshot",
  requireSensorKey,
  limitBySensor,
  handlers.snapshotBody,
);
snapshotUploadRouter.openapi(routes.uploadSnapshot, handlers.uploadSnapshot);

/** The incident's snapshots, for the property company and the owners committee. */
export const snapshotsRouter = createRouter()
  .openapi(routes.listSnapshots, handlers.listSnapshots)
  .openapi(routes.getSnapshot, handlers.getSnapshot);
