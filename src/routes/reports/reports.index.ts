import { createRouter } from "../../openapi.js";
import * as handlers from "./reports.handlers.js";
import * as routes from "./reports.routes.js";

export const reportsRouter = createRouter()
  .openapi(routes.submitReport, handlers.submitReport)
  .openapi(routes.listReports, handlers.listReports)
  .openapi(routes.getReport, handlers.getReport)
  .openapi(routes.acceptReport, handlers.acceptReport)
  .openapi(routes.queryReport, handlers.queryReport)
  .openapi(routes.reviseReport, handlers.reviseReport)
  .openapi(routes.listReportComments, handlers.listReportComments);
