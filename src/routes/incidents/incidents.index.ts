import { createRouter } from "../../openapi.js";
import * as feed from "./feed.handlers.js";
import * as handlers from "./incidents.handlers.js";
import * as routes from "./incidents.routes.js";
import * as stats from "./stats.handlers.js";

// The fixed paths (/incidents/stream, /incidents/stats) come before /incidents/{id}, which would
// otherwise take them and answer 400 for an id that is not a UUID.
export const incidentsRouter = createRouter()
  .openapi(routes.listIncidents, handlers.listIncidents)
  .openapi(routes.streamIncidents, feed.streamIncidents)
  .openapi(routes.incidentStats, stats.incidentStats)
  .openapi(routes.getIncident, handlers.getIncident)
  .openapi(routes.acknowledgeIncident, handlers.acknowledgeIncident);
