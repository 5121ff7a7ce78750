/**
 * The street dashboard route: parses, calls the dashboard service (src/services/dashboard.ts),
 * and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import type { AppRouteHandler } from "../../openapi.js";
import { streetDashboard } from "../../services/dashboard.js";
import { dashboardJson } from "./dashboard.presenters.js";
import type * as routes from "./dashboard.routes.js";

export const getDashboard: AppRouteHandler<typeof routes.getDashboard> = async (c) => {
  return c.json(dashboardJson(await streetDashboard(serviceContext(c), c.req.valid("param").id)), 200);
};
