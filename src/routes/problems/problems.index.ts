import { createRouter } from "../../openapi.js";
import * as handlers from "./problems.handlers.js";
import * as routes from "./problems.routes.js";

/** The pages problems' `type` URIs point at: public, outside /v1 (no key needed to read them). */
export const problemsRouter = createRouter()
  .openapi(routes.listProblemTypes, handlers.listProblemTypes)
  .openapi(routes.getProblemType, handlers.getProblemType);
