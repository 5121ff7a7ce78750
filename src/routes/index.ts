import { contractsRouter } from "./contracts/contracts.index.js";
import { facilitiesRouter } from "./facilities/facilities.index.js";
import { incidentsRouter } from "./incidents/incidents.index.js";
import { organizationsRouter } from "./organizations/organizations.index.js";
import { placesRouter } from "./places/places.index.js";
import { sensorsRouter } from "./sensors/sensors.index.js";

/** Every router under /v1, in the order they appear in the OpenAPI document. */
export const v1Routers = [
  placesRouter,
  organizationsRouter,
  facilitiesRouter,
  contractsRouter,
  sensorsRouter,
  incidentsRouter,
];
