import { z } from "@hono/zod-openapi";
import {
  CalendarDate,
  conflictResponse,
  createRoute,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Name,
  Page,
  Pagination,
  security,
  Text,
  Timestamp,
  Uuid,
} from "../../openapi.js";

const tags = ["facilities"];
const Count = z.number().int().min(0).max(100_000);

export const FacilityKind = z.enum(["garage", "elevator"]);
export const FacilityState = z.enum([
  "planned",
  "under_construction",
  "operating",
  "transferred",
  "decommissioned",
]);
export const GarageSize = z.enum(["large", "mini"]);

export const Facility = z
  .object({
    id: Uuid,
    streetId: Uuid,
    communityId: Uuid,
    kind: FacilityKind,
    name: z.string(),
    state: FacilityState,
    garageSize: GarageSize.nullable().openapi({ description: "Garages only; null for an elevator" }),
    parkingCapacity: z.number().int().nullable().openapi({ description: "Garages only" }),
    chargingPoints: z.number().int().nullable().openapi({ description: "Garages only" }),
    buildingId: Uuid.nullable().openapi({ description: "Elevators only; null for a garage" }),
    floorsServed: z.number().int().nullable().openapi({ description: "Elevators only" }),
    stops: z.number().int().nullable().openapi({ description: "Elevators only" }),
    operatorOrgId: Uuid.nullable().openapi({
      description: "The operating enterprise; null before and after",
    }),
    transferredOn: CalendarDate.nullable().openapi({
      description: "The day the facility was handed to the owners",
    }),
    createdAt: Timestamp,
  })
  .openapi("Facility");

const NewGarage = z
  .strictObject({
    kind: z.literal("garage"),
    communityId: Uuid,
    name: Name.openapi({ example: "3号非机动车库" }),
    garageSize: GarageSize,
    parkingCapacity: Count.openapi({ description: "Parking slots" }),
    chargingPoints: Count.openapi({ description: "E-bike charging points" }),
  })
  .openapi("NewGarage");

const NewElevator = z
  .strictObject({
    kind: z.literal("elevator"),
    communityId: Uuid,
    name: Name.openapi({ example: "12号楼加装电梯" }),
    buildingId: Uuid.openapi({ description: "A building of the community" }),
    floorsServed: z.number().int().min(1).max(100).openapi({ description: "At most the building's storeys" }),
    stops: z.number().int().min(2).max(103).openapi({ description: "2 … floorsServed + 3" }),
  })
  .openapi("NewElevator");

export const NewFacility = z.discriminatedUnion("kind", [NewGarage, NewElevator]).openapi("NewFacility");

export const FacilityPatch = z
  .strictObject({
    name: Name.optional(),
    parkingCapacity: Count.optional().openapi({ description: "Garages only" }),
    chargingPoints: Count.optional().openapi({ description: "Garages only" }),
  })
  .openapi("FacilityPatch");

export const createFacility = createRoute({
  operationId: "createFacility",
  method: "post",
  path: "/facilities",
  tags,
  security,
  summary: "Register a planned garage or elevator (street office; an enterprise, which then operates it)",
  description:
    "A planned elevator (in a building) or e-bike garage of a community. The street office registers any; an enterprise registers the ones it will operate.",
  request: { body: jsonBody(NewFacility) },
  responses: { 201: jsonResponse(Facility, "Registered, state planned"), ...errorResponses },
});

export const listFacilities = createRoute({
  operationId: "listFacilities",
  method: "get",
  path: "/facilities",
  tags,
  security,
  summary: "Facilities the caller may see, by name",
  description: "Facilities in the caller's scope, by name; filter by kind, lifecycle state and community.",
  request: {
    query: Pagination.extend({
      kind: FacilityKind.optional(),
      state: FacilityState.optional(),
      communityId: Uuid.optional(),
    }),
  },
  responses: {
    200: jsonResponse(Page(Facility, "FacilityPage"), "Facilities by name (id breaks ties)"),
    ...errorResponses,
  },
});

export const getFacility = createRoute({
  operationId: "getFacility",
  method: "get",
  path: "/facilities/{id}",
  tags,
  security,
  summary: "One facility",
  description: "One facility in the caller's scope; 404 otherwise.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Facility, "The facility"), ...errorResponses },
});

export const updateFacility = createRoute({
  operationId: "updateFacility",
  method: "patch",
  path: "/facilities/{id}",
  tags,
  security,
  summary: "Rename a facility or correct a garage's capacities (street office, or the operating enterprise)",
  description: "The state follows the contract lifecycle and is not editable here.",
  request: { params: IdParams, body: jsonBody(FacilityPatch) },
  responses: { 200: jsonResponse(Facility, "Updated"), ...conflictResponse, ...errorResponses },
});

export const decommissionFacility = createRoute({
  operationId: "decommissionFacility",
  method: "post",
  path: "/facilities/{id}/decommission",
  tags,
  security,
  summary: "Decommission a planned or transferred facility (street office)",
  description:
    "Refused with 409 (`facility_state`, giving its `currentState`) unless the facility is planned or transferred, and (`facility_under_contract`) while a contract on it is still open.",
  request: {
    params: IdParams,
    body: jsonBody(z.strictObject({ reason: Text.trim().min(1).max(1000) }).openapi("Decommission")),
  },
  responses: { 200: jsonResponse(Facility, "Decommissioned"), ...conflictResponse, ...errorResponses },
});
