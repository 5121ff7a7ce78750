import { createRouter } from "../../openapi.js";
import * as handlers from "./incidents.handlers.js";
import * as routes from "./incidents.routes.js";

export const incidentsRouter = createRouter()
  .openapi(routes.listIncidents, handlers.listIncidents)
  .openapi(routes.getIncident, handlers.getIncident)
  .openapi(routes.acknowledgeIncident, handlers.acknowledgeIncident);
