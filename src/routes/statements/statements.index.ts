import { createRouter } from "../../openapi.js";
import * as handlers from "./statements.handlers.js";
import * as routes from "./statements.routes.js";

export const statementsRouter = createRouter()
  .openapi(routes.householdStatement, handlers.householdStatement)
  .openapi(routes.subscriberStatement, handlers.subscriberStatement)
  .openapi(routes.receivables, handlers.receivables);
