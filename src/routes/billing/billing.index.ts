import { createRouter } from "../../openapi.js";
import * as handlers from "./billing.handlers.js";
import * as routes from "./billing.routes.js";

export const billingRouter = createRouter()
  .openapi(routes.createRun, handlers.createRun)
  .openapi(routes.listRuns, handlers.listRuns)
  .openapi(routes.getRun, handlers.getRun)
  .openapi(routes.listInvoices, handlers.listInvoices)
  .openapi(routes.getInvoice, handlers.getInvoice)
  .openapi(routes.postUsage, handlers.postUsage);
