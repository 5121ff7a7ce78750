import { createRouter } from "../../openapi.js";
import * as handlers from "./facilities.handlers.js";
import * as routes from "./facilities.routes.js";

export const facilitiesRouter = createRouter()
  .openapi(routes.createFacility, handlers.createFacility)
  .openapi(routes.listFacilities, handlers.listFacilities)
  .openapi(routes.getFacility, handlers.getFacility)
  .openapi(routes.updateFacility, handlers.updateFacility)
  .openapi(routes.decommissionFacility, handlers.decommissionFacility);
