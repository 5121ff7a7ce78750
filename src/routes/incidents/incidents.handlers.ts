/**
 * The incidents routes: each parses, calls one function of the incidents service
 * (src/services/incidents), and presents what it returns.
 */
import type { Context } from "hono";
import { shanghaiDate } from "../../../contracts/index.js";
import { type AppEnv, serviceContext } from "../../context.js";
import { csvResponse, csvWindow, wantsCsv } from "../../csv.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as incidents from "../../services/incidents/incidents.js";
import { incidentReleases } from "../../services/sensors/commands.js";
import { incidentJson } from "./incidents.presenters.js";
import type * as routes from "./incidents.routes.js";
import { incidentCsv } from "./incidents.routes.js";

export const listIncidents: AppRouteHandler<typeof routes.listIncidents> = async (c) => {
  const q = c.req.valid("query");
  if (wantsCsv(c)) return incidentsCsv(c, q);
  const page = await incidents.listIncidents(serviceContext(c), {
    ...q,
    acknowledged: q.acknowledged === undefined ? undefined : q.acknowledged === "true",
  });
  const releases = await incidentReleases(
    serviceContext(c),
    page.items.map((i) => i.id),
  );
  const items = page.items.map((i) => incidentJson(i, releases.get(i.id) ?? []));
  return c.json(pageJson(c.req.url, items, page.total, q), 200);
};

export const getIncident: AppRouteHandler<typeof routes.getIncident> = async (c) => {
  const row = await incidents.getIncident(serviceContext(c), c.req.valid("param").id);
  const releases = await incidentReleases(serviceContext(c), [row.id]);
  return c.json(incidentJson(row, releases.get(row.id) ?? []), 200);
};

export const acknowledgeIncident: AppRouteHandler<typeof routes.acknowledgeIncident> = async (c) => {
  const row = await incidents.acknowledgeIncident(
    serviceContext(c),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  const releases = await incidentReleases(serviceContext(c), [row.id]);
  return c.json(incidentJson(row, releases.get(row.id) ?? []), 200);
};

/** The incidents as CSV: every page's (or the one page limit/offset name), streamed. */
function incidentsCsv(
  c: Context<AppEnv>,
  q: Omit<incidents.IncidentFilter, "acknowledged"> & { acknowledged?: "true" | "false" | undefined },
) {
  return csvResponse(c, {
    filename: `incidents-${shanghaiDate(c.var.deps.clock())}.csv`,
    format: incidentCsv,
    rows: incidents.exportIncidents(
      serviceContext(c),
      { ...q, acknowledged: q.acknowledged === undefined ? undefined : q.acknowledged === "true" },
      csvWindow(c, q),
    ),
    present: (i) => incidentJson(i, []),
  });
}
