import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { outer, type Queryable, queryRows } from "../../../db/database.js";
import { isUniqueViolation } from "../../../db/pg-errors.js";
import { buildings, communities, districts, households, streets } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { communityScope, requireRole, streetScope } from "../../auth/scope.js";
import { ApiError, type ErrorCode } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { checkHouseholdRows, type HouseholdRow, readCsvRows, readJsonRows } from "./household-rows.js";
import {
  buildingJson,
  communityDetailJson,
  communityJson,
  districtJson,
  householdJson,
  streetJson,
} from "./places.presenters.js";
import type * as routes from "./places.routes.js";

/** Rows written per INSERT … ON CONFLICT statement of an import (5 parameters a row). */
const IMPORT_CHUNK = 1000;

/** 409 for a unique violation, anything else rethrown. */
const conflictOn = (code: ErrorCode, detail: string) => (err: unknown) => {
  if (isUniqueViolation(err)) throw ApiError.conflict(code, detail);
  throw err;
};

// ---- register totals (SQL fragments correlated to the row being selected) ---------------------
// The outer row is named with `outer()` (db/client.ts): drizzle leaves columns unqualified in a
// one-table select list, where `id` would bind to the subquery's own table.

const buildingTotals = {
  households:
    sql<number>`(select count(*) from households h where h.building_id = ${outer(buildings.id)})`.mapWith(
      Number,
    ),
  floorArea: sql<string>`(select coalesce(sum(h.floor_area), 0)::numeric(14,2)::text
    from households h where h.building_id = ${outer(buildings.id)})`,
};

const buildingColumns = {
  id: buildings.id,
  communityId: buildings.communityId,
  name: buildings.name,
  storeys: buildings.storeys,
  createdAt: buildings.createdAt,
  ...buildingTotals,
};

// ---- lookups within the caller's scope (404 outside it) ---------------------------------------

async function findCommunity(db: Queryable, p: Principal, id: string) {
  const [row] = await db
    .select()
    .from(communities)
    .where(and(eq(communities.id, id), communityScope(p, communities.streetId, communities.id)));
  if (!row) throw ApiError.notFound("The community");
  return row;
}

async function findBuilding(db: Queryable, p: Principal, id: string) {
  const [row] = await db
    .select({ ...buildingColumns, streetId: communities.streetId })
    .from(buildings)
    .innerJoin(communities, eq(communities.id, buildings.communityId))
    .where(and(eq(buildings.id, id), communityScope(p, communities.streetId, communities.id)));
  if (!row) throw ApiError.notFound("The building");
  return row;
}

/** The household register is personal data: an enterprise sees it only where it has a contract. */
async function requireRegisterAccess(db: Queryable, p: Principal, communityId: string) {
  if (p.role !== "enterprise") return;
  const rows = await queryRows<{ ok: number }>(
    db,
    sql`select 1 as ok where exists (select 1 from contracts
      where community_id = ${communityId} and enterprise_org_id = ${p.orgId ?? ""})`,
  );
  if (!rows.length) throw ApiError.notFound("The building");
}

// ---- districts -------------------------------------------------------------------------------

export const createDistrict: AppRouteHandler<typeof routes.createDistrict> = async (c) => {
  requireRole(c.var.principal, ["platform_admin"], "register districts");
  const { name } = c.req.valid("json");
  const [row] = await c.var.db
    .insert(districts)
    .values({ name })
    .returning()
    .catch(conflictOn("district_exists", `A district named "${name}" is already registered.`));
  if (!row) throw new Error("insert returned nothing");
  return c.json(districtJson(row), 201);
};

export const listDistricts: AppRouteHandler<typeof routes.listDistricts> = async (c) => {
  const rows = await c.var.db.select().from(districts).orderBy(asc(districts.name));
  return c.json({ items: rows.map(districtJson) }, 200);
};

// ---- streets ---------------------------------------------------------------------------------

export const createStreet: AppRouteHandler<typeof routes.createStreet> = async (c) => {
  requireRole(c.var.principal, ["platform_admin"], "register streets");
  const body = c.req.valid("json");
  const row = await c.var.db
    .transaction(async (tx) => {
      const [district] = await tx
        .select({ id: districts.id })
        .from(districts)
        .where(eq(districts.id, body.districtId));
      if (!district)
        throw ApiError.validation([{ field: "body.districtId", message: "is not a known district" }]);
      const [street] = await tx.insert(streets).values(body).returning();
      if (!street) throw new Error("insert returned nothing");
      return street;
    })
    .catch(conflictOn("street_exists", `The district already has a street named "${body.name}".`));
  c.var.logger.info({ streetId: row.id }, "street registered");
  return c.json(streetJson(row), 201);
};

export const listStreets: AppRouteHandler<typeof routes.listStreets> = async (c) => {
  const { districtId } = c.req.valid("query");
  const rows = await c.var.db
    .select()
    .from(streets)
    .where(
      and(
        streetScope(c.var.principal, streets.id),
        districtId ? eq(streets.districtId, districtId) : undefined,
      ),
    )
    .orderBy(asc(streets.name));
  return c.json({ items: rows.map(streetJson) }, 200);
};

export const getStreet: AppRouteHandler<typeof routes.getStreet> = async (c) => {
  const { id } = c.req.valid("param");
  const [row] = await c.var.db
    .select()
    .from(streets)
    .where(and(eq(streets.id, id), streetScope(c.var.principal, streets.id)));
  if (!row) throw ApiError.notFound("The street");
  return c.json(streetJson(row), 200);
};

// ---- communities -----------------------------------------------------------------------------

export const createCommunity: AppRouteHandler<typeof routes.createCommunity> = async (c) => {
  const p = c.var.principal;
  requireRole(p, ["platform_admin", "street_office"], "register communities");
  const body = c.req.valid("json");
  const streetId = p.streetId ?? body.streetId;
  if (!streetId) {
    throw ApiError.validation([{ field: "body.streetId", message: "is required for the platform admin" }]);
  }
  if (body.streetId && body.streetId !== streetId) {
    throw ApiError.forbidden("A street office registers communities in its own street only.");
  }
  const row = await c.var.db
    .transaction(async (tx) => {
      const [street] = await tx.select({ id: streets.id }).from(streets).where(eq(streets.id, streetId));
      if (!street) throw ApiError.validation([{ field: "body.streetId", message: "is not a known street" }]);
      const [community] = await tx
        .insert(communities)
        .values({ streetId, name: body.name, address: body.address })
        .returning();
      if (!community) throw new Error("insert returned nothing");
      return community;
    })
    .catch(conflictOn("community_exists", `The street already has a community named "${body.name}".`));
  c.var.logger.info({ communityId: row.id }, "community registered");
  return c.json(communityJson(row), 201);
};

export const listCommunities: AppRouteHandler<typeof routes.listCommunities> = async (c) => {
  const p = c.var.principal;
  const { streetId, limit, offset } = c.req.valid("query");
  const where = and(
    communityScope(p, communities.streetId, communities.id),
    streetId ? eq(communities.streetId, streetId) : undefined,
  );
  const { db } = c.var;
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(communities)
      .where(where)
      .orderBy(asc(communities.name), asc(communities.id))
      .limit(limit)
      .offset(offset),
    db.$count(communities, where),
  ]);
  return c.json({ items: rows.map(communityJson), total, limit, offset }, 200);
};

export const getCommunity: AppRouteHandler<typeof routes.getCommunity> = async (c) => {
  const p = c.var.principal;
  const { id } = c.req.valid("param");
  const [row] = await c.var.db
    .select({
      id: communities.id,
      streetId: communities.streetId,
      name: communities.name,
      address: communities.address,
      createdAt: communities.createdAt,
      buildings:
        sql<number>`(select count(*) from buildings b where b.community_id = ${outer(communities.id)})`.mapWith(
          Number,
        ),
      households: sql<number>`(select count(*) from households h join buildings b on b.id = h.building_id
        where b.community_id = ${outer(communities.id)})`.mapWith(Number),
      floorArea: sql<string>`(select coalesce(sum(h.floor_area), 0)::numeric(14,2)::text
        from households h join buildings b on b.id = h.building_id where b.community_id = ${outer(communities.id)})`,
    })
    .from(communities)
    .where(and(eq(communities.id, id), communityScope(p, communities.streetId, communities.id)));
  if (!row) throw ApiError.notFound("The community");
  return c.json(communityDetailJson(row), 200);
};

// ---- buildings -------------------------------------------------------------------------------

const REGISTER_KEEPERS = ["platform_admin", "street_office", "owners_committee", "property_company"] as const;

export const createBuilding: AppRouteHandler<typeof routes.createBuilding> = async (c) => {
  const p = c.var.principal;
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const row = await c.var.db
    .transaction(async (tx) => {
      const community = await findCommunity(tx, p, id);
      requireRole(p, REGISTER_KEEPERS, "register buildings");
      const [building] = await tx
        .insert(buildings)
        .values({ communityId: community.id, name: body.name, storeys: body.storeys })
        .returning();
      if (!building) throw new Error("insert returned nothing");
      return building;
    })
    .catch(conflictOn("building_exists", `The community already has a building named "${body.name}".`));
  return c.json(buildingJson({ ...row, households: 0, floorArea: "0.00" }), 201);
};

export const listBuildings: AppRouteHandler<typeof routes.listBuildings> = async (c) => {
  const { db } = c.var;
  const community = await findCommunity(db, c.var.principal, c.req.valid("param").id);
  const rows = await db
    .select(buildingColumns)
    .from(buildings)
    .where(eq(buildings.communityId, community.id))
    .orderBy(asc(buildings.name));
  return c.json({ items: rows.map(buildingJson) }, 200);
};

export const getBuilding: AppRouteHandler<typeof routes.getBuilding> = async (c) => {
  const row = await findBuilding(c.var.db, c.var.principal, c.req.valid("param").id);
  return c.json(buildingJson(row), 200);
};

// ---- households ------------------------------------------------------------------------------

export const listHouseholds: AppRouteHandler<typeof routes.listHouseholds> = async (c) => {
  const p = c.var.principal;
  const { db } = c.var;
  const { limit, offset } = c.req.valid("query");
  const building = await findBuilding(db, p, c.req.valid("param").id);
  await requireRegisterAccess(db, p, building.communityId);
  const where: SQL = eq(households.buildingId, building.id);
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(households)
      .where(where)
      .orderBy(asc(households.unit), asc(households.floor), asc(households.room))
      .limit(limit)
      .offset(offset),
    db.$count(households, where),
  ]);
  return c.json({ items: rows.map(householdJson), total, limit, offset }, 200);
};

/** The body as rows, by Content-Type: a JSON array or UTF-8 CSV. */
async function readImportBody(req: Request) {
  const contentType = req.headers.get("content-type") ?? "";
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

export const importHouseholds: AppRouteHandler<typeof routes.importHouseholds> = async (c) => {
  const p = c.var.principal;
  const { db } = c.var;
  const building = await findBuilding(db, p, c.req.valid("param").id);
  requireRole(p, REGISTER_KEEPERS, "import the household register");

  const read = await readImportBody(c.req.raw);
  const checked = read.ok ? checkHouseholdRows(read.rows, building.storeys) : read;
  if (!checked.ok) {
    throw ApiError.validation(
      checked.errors,
      `The import has ${checked.errors.length} problem(s); nothing was written.`,
    );
  }

  const result = await db.transaction(async (tx) => {
    let inserted = 0;
    for (let i = 0; i < checked.rows.length; i += IMPORT_CHUNK) {
      inserted += await upsertHouseholds(tx, building.id, checked.rows.slice(i, i + IMPORT_CHUNK));
    }
    const total = await tx.$count(households, eq(households.buildingId, building.id));
    return { inserted, updated: checked.rows.length - inserted, total };
  });
  c.var.logger.info({ buildingId: building.id, ...result }, "household register imported");
  return c.json(result, 200);
};

/** Inserts new (unit, room) pairs and updates the others; returns how many were inserted. */
async function upsertHouseholds(tx: Queryable, buildingId: string, rows: HouseholdRow[]) {
  const written = await tx
    .insert(households)
    .values(rows.map((row) => ({ buildingId, ...row })))
    .onConflictDoUpdate({
      target: [households.buildingId, households.unit, households.room],
      set: { floor: sql`excluded.floor`, floorArea: sql`excluded.floor_area` },
    })
    // xmax is 0 on a freshly inserted row version, non-zero on one written by the UPDATE branch.
    .returning({ inserted: sql<number>`(xmax = 0)::int`.mapWith(Number) });
  return written.reduce((n, row) => n + row.inserted, 0);
}
