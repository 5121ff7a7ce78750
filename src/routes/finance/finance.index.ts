import { createRouter } from "../../openapi.js";
import * as handlers from "./finance.handlers.js";
import * as routes from "./finance.routes.js";

export const financeRouter = createRouter()
  .openapi(routes.putAssumptions, handlers.putAssumptions)
  .openapi(routes.getAssumptions, handlers.getAssumptions)
  .openapi(routes.getModel, handlers.getModel)
  .openapi(routes.createDisbursement, handlers.createDisbursement)
  .openapi(routes.listDisbursements, handlers.listDisbursements)
  .openapi(routes.getDisbursement, handlers.getDisbursement);
