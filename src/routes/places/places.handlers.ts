/**
 * The places routes: each parses, calls one function of the places service
 * (src/services/places), and presents what it returns.
 */
import type { HonoRequest } from "hono";
import { serviceContext } from "../../context.js";
import { ApiError } from "../../errors.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import { readCsvRows, readJsonRows } from "../../services/places/household-rows.js";
import * as places from "../../services/places/places.js";
import {
  buildingJson,
  communityDetailJson,
  communityJson,
  districtJson,
  householdJson,
  streetJson,
} from "./places.presenters.js";
import type * as routes from "./places.routes.js";

// ---- districts -------------------------------------------------------------------------------

export const createDistrict: AppRouteHandler<typeof routes.createDistrict> = async (c) => {
  const row = await places.createDistrict(serviceContext(c), c.req.valid("json"));
  return c.json(districtJson(row), 201);
};

export const listDistricts: AppRouteHandler<typeof routes.listDistricts> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await places.listDistricts(serviceContext(c), page);
  return c.json(pageJson(c.req.url, items.map(districtJson), total, page), 200);
};

export const getDistrict: AppRouteHandler<typeof routes.getDistrict> = async (c) => {
  return c.json(districtJson(await places.getDistrict(serviceContext(c), c.req.valid("param").id)), 200);
};

// ---- streets ---------------------------------------------------------------------------------

export const createStreet: AppRouteHandler<typeof routes.createStreet> = async (c) => {
  const row = await places.createStreet(serviceContext(c), c.req.valid("json"));
  c.var.logger.info({ streetId: row.id }, "street registered");
  return c.json(streetJson(row), 201);
};

export const listStreets: AppRouteHandler<typeof routes.listStreets> = async (c) => {
  const { limit, offset, ...filter } = c.req.valid("query");
  const page = { limit, offset };
  const { items, total } = await places.listStreets(serviceContext(c), filter, page);
  return c.json(pageJson(c.req.url, items.map(streetJson), total, page), 200);
};

export const getStreet: AppRouteHandler<typeof routes.getStreet> = async (c) => {
  const row = await places.getStreet(serviceContext(c), c.req.valid("param").id);
  return c.json(streetJson(row), 200);
};

// ---- communities -----------------------------------------------------------------------------

export const createCommunity: AppRouteHandler<typeof routes.createCommunity> = async (c) => {
  const row = await places.createCommunity(serviceContext(c), c.req.valid("json"));
  c.var.logger.info({ communityId: row.id }, "community registered");
  return c.json(communityJson(row), 201);
};

export const listCommunities: AppRouteHandler<typeof routes.listCommunities> = async (c) => {
  const query = c.req.valid("query");
  const { items, total } = await places.listCommunities(serviceContext(c), query);
  return c.json(pageJson(c.req.url, items.map(communityJson), total, query), 200);
};

export const getCommunity: AppRouteHandler<typeof routes.getCommunity> = async (c) => {
  const row = await places.getCommunity(serviceContext(c), c.req.valid("param").id);
  return c.json(communityDetailJson(row), 200);
};

// ---- buildings -------------------------------------------------------------------------------

export const createBuilding: AppRouteHandler<typeof routes.createBuilding> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await places.createBuilding(serviceContext(c), id, c.req.valid("json"));
  return c.json(buildingJson(row), 201);
};

export const listBuildings: AppRouteHandler<typeof routes.listBuildings> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await places.listBuildings(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(buildingJson), total, page), 200);
};

export const getBuilding: AppRouteHandler<typeof routes.getBuilding> = async (c) => {
  const row = await places.getBuilding(serviceContext(c), c.req.valid("param").id);
  return c.json(buildingJson(row), 200);
};

// ---- households ------------------------------------------------------------------------------

export const listHouseholds: AppRouteHandler<typeof routes.listHouseholds> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await places.listHouseholds(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(householdJson), total, page), 200);
};

export const getHousehold: AppRouteHandler<typeof routes.getHousehold> = async (c) => {
  return c.json(householdJson(await places.getHousehold(serviceContext(c), c.req.valid("param").id)), 200);
};

export const importHouseholds: AppRouteHandler<typeof routes.importHouseholds> = async (c) => {
  const { id } = c.req.valid("param");
  const result = await places.importHouseholds(serviceContext(c), id, () => readImportBody(c.req));
  c.var.logger.info({ buildingId: id, ...result }, "household register imported");
  return c.json(result, 200);
};

/** The body as rows, by Content-Type: a JSON array or UTF-8 CSV (its bytes: the decoding is strict). */
async function readImportBody(req: HonoRequest) {
  const contentType = req.header("content-type") ?? "";
  const [essence = "", ...params] = contentType.split(";").map((s) => s.trim().toLowerCase());
  const charset = params.find((s) => s.startsWith("charset="))?.slice("charset=".length);
  if (charset && charset.replaceAll('"', "") !== "utf-8" && charset.replaceAll('"', "") !== "utf8") {
    throw unsupportedMediaType(`The body must be UTF-8, not ${charset}.`);
  }
  if (essence !== "application/json" && essence !== "text/csv") {
    throw unsupportedMediaType(
      `Send the rows as application/json or text/csv${essence ? `, not ${essence}` : " (no Content-Type was given)"}.`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await req.arrayBuffer());
  } catch {
    throw ApiError.validation([{ field: "body", message: "is not valid UTF-8" }]);
  }
  if (essence === "text/csv") return readCsvRows(text);
  try {
    return readJsonRows(JSON.parse(text.replace(/^\uFEFF/, "")));
  } catch {
    throw ApiError.validation([{ field: "body", message: "is not valid JSON" }]);
  }
}

function unsupportedMediaType(detail: string) {
  return new ApiError(415, "unsupported_media_type", "Unsupported media type", detail);
}
