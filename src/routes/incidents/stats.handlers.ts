import { serviceContext } from "../../context.js";
import type { AppRouteHandler } from "../../openapi.js";
import { incidentStats as statsOf } from "../../services/incidents/stats.js";
import { incidentStatsJson } from "./incidents.presenters.js";
import type { incidentStats as statsRoute } from "./incidents.routes.js";

/** Incident statistics per elevator, community or Shanghai day (src/services/incidents/stats.ts). */
export const incidentStats: AppRouteHandler<typeof statsRoute> = async (c) => {
  return c.json(incidentStatsJson(await statsOf(serviceContext(c), c.req.valid("query"))), 200);
};
