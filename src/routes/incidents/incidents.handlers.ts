/**
 * The incidents routes: each parses, calls one function of the incidents service
 * (src/services/incidents), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import type { AppRouteHandler } from "../../openapi.js";
import * as incidents from "../../services/incidents/incidents.js";
import { incidentJson } from "./incidents.presenters.js";
import type * as routes from "./incidents.routes.js";

export const listIncidents: AppRouteHandler<typeof routes.listIncidents> = async (c) => {
  const q = c.req.valid("query");
  const page = await incidents.listIncidents(serviceContext(c), {
    ...q,
    acknowledged: q.acknowledged === undefined ? undefined : q.acknowledged === "true",
  });
  return c.json({ items: page.items.map(incidentJson), total: page.total }, 200);
};

export const getIncident: AppRouteHandler<typeof routes.getIncident> = async (c) => {
  return c.json(incidentJson(await incidents.getIncident(serviceContext(c), c.req.valid("param").id)), 200);
};

export const acknowledgeIncident: AppRouteHandler<typeof routes.acknowledgeIncident> = async (c) => {
  const row = await incidents.acknowledgeIncident(
    serviceContext(c),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  return c.json(incidentJson(row), 200);
};
