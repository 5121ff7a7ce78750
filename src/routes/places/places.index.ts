import { createRouter } from "../../openapi.js";
import * as handlers from "./places.handlers.js";
import * as routes from "./places.routes.js";

export const placesRouter = createRouter()
  .openapi(routes.createDistrict, handlers.createDistrict)
  .openapi(routes.listDistricts, handlers.listDistricts)
  .openapi(routes.getDistrict, handlers.getDistrict)
  .openapi(routes.createStreet, handlers.createStreet)
  .openapi(routes.listStreets, handlers.listStreets)
  .openapi(routes.getStreet, handlers.getStreet)
  .openapi(routes.createCommunity, handlers.createCommunity)
  .openapi(routes.listCommunities, handlers.listCommunities)
  .openapi(routes.getCommunity, handlers.getCommunity)
  .openapi(routes.createBuilding, handlers.createBuilding)
  .openapi(routes.listBuildings, handlers.listBuildings)
  .openapi(routes.getBuilding, handlers.getBuilding)
  .openapi(routes.listHouseholds, handlers.listHouseholds)
  .openapi(routes.getHousehold, handlers.getHousehold)
  .openapi(routes.importHouseholds, handlers.importHouseholds);

// The import's JSON body is referenced, not validated by the router (the handler reports every
// bad row itself), so its schema is registered here for the OpenAPI document.
placesRouter.openAPIRegistry.register("HouseholdImportRows", routes.HouseholdImportRows);
