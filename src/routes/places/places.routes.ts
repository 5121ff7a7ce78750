import { z } from "@hono/zod-openapi";
import {
  conflictResponse,
  createRoute,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Name,
  Page,
  Pagination,
  ProblemSchema,
  security,
  Text,
  Timestamp,
  Uuid,
} from "../../openapi.js";
import { LOWEST_FLOOR, MAX_IMPORT_ROWS } from "../../services/places/household-rows.js";

const tags = ["places"];

/** Floor area in m²: a decimal string, never a number. */
export const Area = z.string().openapi({ example: "1234.50", description: "m², decimal string" });

export const District = z.object({ id: Uuid, name: z.string(), createdAt: Timestamp }).openapi("District");

export const Street = z
  .object({
    id: Uuid,
    districtId: Uuid,
    name: z.string(),
    garageTarget: z.number().int(),
    elevatorTarget: z.number().int(),
    createdAt: Timestamp,
  })
  .openapi("Street");

export const Community = z
  .object({ id: Uuid, streetId: Uuid, name: z.string(), address: z.string(), createdAt: Timestamp })
  .openapi("Community");

/** The household register's totals: the base of an owners' vote (headcount and floor area). */
export const RegisterTotals = z
  .object({ households: z.number().int(), floorArea: Area })
  .openapi("RegisterTotals");

export const CommunityDetail = Community.extend({
  totals: RegisterTotals.extend({ buildings: z.number().int() }),
}).openapi("CommunityDetail");

export const Building = z
  .object({
    id: Uuid,
    communityId: Uuid,
    name: z.string(),
    storeys: z.number().int(),
    totals: RegisterTotals,
    createdAt: Timestamp,
  })
  .openapi("Building");

export const Household = z
  .object({
    id: Uuid,
    buildingId: Uuid,
    unit: z.string(),
    room: z.string(),
    floor: z.number().int(),
    floorArea: Area,
    createdAt: Timestamp,
  })
  .openapi("Household");

/** A row of an import; documented here, checked row by row in the handler (see household-rows.ts). */
export const HouseholdImportRow = z
  .strictObject({
    unit: Name.max(50).openapi({ example: "2" }),
    room: Name.max(50).openapi({ example: "502" }),
    floor: z
      .number()
      .int()
      .min(LOWEST_FLOOR)
      .openapi({ example: 5, description: "-3 … the building's storeys; not 0" }),
    floorArea: Area.openapi({ example: "68.25", description: "m², > 0, at most 2 decimals, ≤ 10000" }),
  })
  .openapi("HouseholdImportRow");

export const HouseholdImportRows = z.array(HouseholdImportRow).min(1).max(MAX_IMPORT_ROWS);

const unsupportedMediaType = {
  415: {
    description: "The body is neither application/json nor text/csv (UTF-8)",
    content: { "application/problem+json": { schema: ProblemSchema } },
  },
} as const;

// ---- districts -------------------------------------------------------------------------------

export const createDistrict = createRoute({
  operationId: "createDistrict",
  method: "post",
  path: "/districts",
  tags,
  security,
  summary: "Register a district (platform admin)",
  description:
    "Platform admin only. A district groups streets; its name is unique. Streets name their district when they are registered.",
  request: { body: jsonBody(z.strictObject({ name: Name }).openapi("NewDistrict")) },
  responses: { 201: jsonResponse(District, "Registered"), ...conflictResponse, ...errorResponses },
});

export const listDistricts = createRoute({
  operationId: "listDistricts",
  method: "get",
  path: "/districts",
  tags,
  security,
  summary: "Every district (any caller)",
  description: "Every district, by name: any caller may read them (they hold nothing but names).",
  request: { query: Pagination },
  responses: { 200: jsonResponse(Page(District, "DistrictPage"), "Districts by name"), ...errorResponses },
});

export const getDistrict = createRoute({
  operationId: "getDistrict",
  method: "get",
  path: "/districts/{id}",
  tags,
  security,
  summary: "One district (any caller)",
  description: "One district: any caller may read it, as the list.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(District, "The district"), ...errorResponses },
});

// ---- streets ---------------------------------------------------------------------------------

export const createStreet = createRoute({
  operationId: "createStreet",
  method: "post",
  path: "/streets",
  tags,
  security,
  summary: "Register a street or town (platform admin)",
  description:
    "Platform admin only. A street office (街道) or town is the root of every scope: its communities, facilities and organizations belong to it, and its street office sees all of them.",
  request: {
    body: jsonBody(
      z
        .strictObject({
          districtId: Uuid,
          name: Name,
          garageTarget: z.number().int().min(0).max(100_000).default(0).openapi({
            description: "Garages to retrofit this year",
          }),
          elevatorTarget: z.number().int().min(0).max(100_000).default(0).openapi({
            description: "Elevators to add this year",
          }),
        })
        .openapi("NewStreet"),
    ),
  },
  responses: { 201: jsonResponse(Street, "Registered"), ...conflictResponse, ...errorResponses },
});

export const listStreets = createRoute({
  operationId: "listStreets",
  method: "get",
  path: "/streets",
  tags,
  security,
  summary: "Streets the caller may see (its own; every street for the platform admin)",
  description:
    "A street office, enterprise, owners committee or property company sees its own street; the platform admin sees every street, optionally those of one district.",
  request: { query: Pagination.extend({ districtId: Uuid.optional() }) },
  responses: { 200: jsonResponse(Page(Street, "StreetPage"), "Streets by name"), ...errorResponses },
});

export const getStreet = createRoute({
  operationId: "getStreet",
  method: "get",
  path: "/streets/{id}",
  tags,
  security,
  summary: "One street",
  description: "One street, if it is the caller's (every street for the platform admin); 404 otherwise.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Street, "The street"), ...errorResponses },
});

// ---- communities -----------------------------------------------------------------------------

export const createCommunity = createRoute({
  operationId: "createCommunity",
  method: "post",
  path: "/communities",
  tags,
  security,
  summary: "Register a community (小区) in the street office's street",
  description:
    "Street office keys (admin or member) register in their own street; the platform admin names the street.",
  request: {
    body: jsonBody(
      z
        .strictObject({
          name: Name,
          address: Text.trim().max(500).default(""),
          streetId: Uuid.optional().openapi({
            description: "Required for the platform admin; defaults to the caller's street",
          }),
        })
        .openapi("NewCommunity"),
    ),
  },
  responses: { 201: jsonResponse(Community, "Registered"), ...conflictResponse, ...errorResponses },
});

export const listCommunities = createRoute({
  operationId: "listCommunities",
  method: "get",
  path: "/communities",
  tags,
  security,
  summary: "Communities the caller may see, by name",
  description:
    "The communities of the caller's street (a committee or property company: those it serves), by name; the platform admin may filter by street.",
  request: { query: Pagination.extend({ streetId: Uuid.optional() }) },
  responses: {
    200: jsonResponse(Page(Community, "CommunityPage"), "Communities by name"),
    ...errorResponses,
  },
});

export const getCommunity = createRoute({
  operationId: "getCommunity",
  method: "get",
  path: "/communities/{id}",
  tags,
  security,
  summary: "One community with the totals of its household register",
  description:
    "One community in the caller's scope, with the totals of its household register (buildings, households, floor area) that the owners' vote under art. 278 is counted against.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(CommunityDetail, "The community"), ...errorResponses },
});

// ---- buildings -------------------------------------------------------------------------------

export const createBuilding = createRoute({
  operationId: "createBuilding",
  method: "post",
  path: "/communities/{id}/buildings",
  tags,
  security,
  summary: "Register a building (street office, or the community's owners committee / property company)",
  description:
    "A building of the community, with its storeys; its households are then imported into the register (importHouseholds).",
  request: {
    params: IdParams,
    body: jsonBody(
      z
        .strictObject({
          name: Name.openapi({ example: "12号楼" }),
          storeys: z.number().int().min(1).max(100),
        })
        .openapi("NewBuilding"),
    ),
  },
  responses: { 201: jsonResponse(Building, "Registered"), ...conflictResponse, ...errorResponses },
});

export const listBuildings = createRoute({
  operationId: "listBuildings",
  method: "get",
  path: "/communities/{id}/buildings",
  tags,
  security,
  summary: "The community's buildings, each with its register totals",
  description:
    "Every building of a community in the caller's scope, by name, each with its households and floor area.",
  request: { params: IdParams, query: Pagination },
  responses: { 200: jsonResponse(Page(Building, "BuildingPage"), "Buildings by name"), ...errorResponses },
});

export const getBuilding = createRoute({
  operationId: "getBuilding",
  method: "get",
  path: "/buildings/{id}",
  tags,
  security,
  summary: "One building with its household count and floor area",
  description: "One building in the caller's scope, with its household count and floor area.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Building, "The building"), ...errorResponses },
});

// ---- households ------------------------------------------------------------------------------

export const listHouseholds = createRoute({
  operationId: "listHouseholds",
  method: "get",
  path: "/buildings/{id}/households",
  tags,
  security,
  summary: "The building's household register",
  description:
    "Street office, the community's owners committee and property company; an enterprise only in a community where it has a contract.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(Page(Household, "HouseholdPage"), "Households by unit, floor, room"),
    ...errorResponses,
  },
});

export const getHousehold = createRoute({
  operationId: "getHousehold",
  method: "get",
  path: "/households/{id}",
  tags,
  security,
  summary: "One household of the register",
  description:
    "Readable by whoever may read its building's register (see listHouseholds); anyone else gets 404.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Household, "The household"), ...errorResponses },
});

export const importHouseholds = createRoute({
  operationId: "importHouseholds",
  method: "post",
  path: "/buildings/{id}/households/import",
  tags,
  security,
  summary: "Import the building's household register (JSON rows or CSV), all or nothing",
  description: [
    `Up to ${MAX_IMPORT_ROWS} rows, as a JSON array or as UTF-8 CSV (header \`unit,room,floor,floorArea\`, optional BOM, RFC 4180 quoting).`,
    "Every bad row is reported at once (`errors[].field` is `rows.<n>.<field>`, rows counted from 1; CSV messages name the line) and then nothing is written.",
    "A (unit, room) already registered gets the new floor and floor area; others are added.",
    "`total` is the building's household count after the import.",
  ].join(" "),
  request: {
    params: IdParams,
    body: {
      required: true,
      content: {
        // A reference, not a zod schema: the handler parses and checks the body itself so that it
        // can report every bad row with its row number (see household-rows.ts).
        "application/json": { schema: { $ref: "#/components/schemas/HouseholdImportRows" } },
        "text/csv": {
          schema: z.string().openapi({
            example: 'unit,room,floor,floorArea\n1,101,1,60.50\n1,"102",1,"58.2"\n',
          }),
        },
      },
    },
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          inserted: z.number().int(),
          updated: z.number().int(),
          total: z.number().int().openapi({ description: "Households of the building after the import" }),
        })
        .openapi("HouseholdImportResult"),
      "Imported",
    ),
    ...unsupportedMediaType,
    ...errorResponses,
  },
});
