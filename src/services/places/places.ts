/**
 * Places: districts, streets, communities, buildings and their household registers. Every read
 * is scoped to what the caller may see (404 outside it); who may register or import is the
 * command table's (contracts/place-permissions.ts).
 */
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { registrationStreet } from "../../../contracts/index.js";
import { outer, type Queryable, queryRows } from "../../../db/database.js";
import { isUniqueViolation } from "../../../db/pg-errors.js";
import { buildings, communities, districts, households, streets } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { communityScope, streetScope } from "../../auth/scope.js";
import { ApiError, type ErrorCode } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { type Page, type PageRequest, pageOf } from "../pages.js";
import { requirePlaceCommand } from "../place-permissions.js";
import { checkHouseholdRows, type HouseholdRow, type ReadResult } from "./household-rows.js";

export type DistrictRow = typeof districts.$inferSelect;
export type StreetRow = typeof streets.$inferSelect;
export type CommunityRow = typeof communities.$inferSelect;
export type HouseholdRecord = typeof households.$inferSelect;

/** A building with its register totals. */
export interface BuildingWithTotals {
  id: string;
  communityId: string;
  name: string;
  storeys: number;
  createdAt: Date;
  households: number;
  floorArea: string;
}

/** A community with the totals of its register. */
export type CommunityWithTotals = CommunityRow & { buildings: number; households: number; floorArea: string };

/** Rows written per INSERT … ON CONFLICT statement of an import (5 parameters a row). */
const IMPORT_CHUNK = 1000;

/** 409 for a unique violation, anything else rethrown. */
const conflictOn = (code: ErrorCode, detail: string) => (err: unknown) => {
  if (isUniqueViolation(err)) throw ApiError.conflict(code, detail);
  throw err;
};

// ---- register totals (SQL fragments correlated to the row being selected) ---------------------
// The outer row is named with `outer()` (db/database.ts): drizzle leaves columns unqualified in a
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

/** Whether the caller's organization is the enterprise of a contract in the community. */
async function hasContractIn(db: Queryable, p: Principal, communityId: string): Promise<boolean> {
  if (p.orgId === null) return false;
  const rows = await queryRows<{ ok: number }>(
    db,
    sql`select 1 as ok where exists (select 1 from contracts
      where community_id = ${communityId} and enterprise_org_id = ${p.orgId})`,
  );
  return rows.length > 0;
}

// ---- districts -------------------------------------------------------------------------------

export async function createDistrict(ctx: ServiceContext, input: { name: string }): Promise<DistrictRow> {
  requirePlaceCommand(ctx.principal, { type: "register_district" });
  const [row] = await ctx.db
    .insert(districts)
    .values({ name: input.name })
    .returning()
    .catch(conflictOn("district_exists", `A district named "${input.name}" is already registered.`));
  if (!row) throw new Error("insert returned nothing");
  return row;
}

/** By name (unique). */
export async function listDistricts(ctx: ServiceContext, page?: PageRequest): Promise<Page<DistrictRow>> {
  const query = ctx.db.select().from(districts).orderBy(asc(districts.name), asc(districts.id)).$dynamic();
  return pageOf(query, () => ctx.db.$count(districts), page);
}

/** One district: any caller may read it, as the list (404 for an unknown id). */
export async function getDistrict(ctx: ServiceContext, id: string): Promise<DistrictRow> {
  const [row] = await ctx.db.select().from(districts).where(eq(districts.id, id));
  if (!row) throw ApiError.notFound("The district");
  return row;
}

// ---- streets ---------------------------------------------------------------------------------

export interface NewStreet {
  districtId: string;
  name: string;
  garageTarget: number;
  elevatorTarget: number;
}

export async function createStreet(ctx: ServiceContext, input: NewStreet): Promise<StreetRow> {
  requirePlaceCommand(ctx.principal, { type: "register_street" });
  return ctx.db
    .transaction(async (tx) => {
      const [district] = await tx
        .select({ id: districts.id })
        .from(districts)
        .where(eq(districts.id, input.districtId));
      if (!district)
        throw ApiError.validation([{ field: "body.districtId", message: "is not a known district" }]);
      const [street] = await tx.insert(streets).values(input).returning();
      if (!street) throw new Error("insert returned nothing");
      return street;
    })
    .catch(conflictOn("street_exists", `The district already has a street named "${input.name}".`));
}

/** By name (id breaks ties: two districts may each have a street of one name). */
export async function listStreets(
  ctx: ServiceContext,
  filter: { districtId?: string | undefined },
  page?: PageRequest,
): Promise<Page<StreetRow>> {
  const where = and(
    streetScope(ctx.principal, streets.id),
    filter.districtId ? eq(streets.districtId, filter.districtId) : undefined,
  );
  const query = ctx.db
    .select()
    .from(streets)
    .where(where)
    .orderBy(asc(streets.name), asc(streets.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(streets, where), page);
}

export async function getStreet(ctx: ServiceContext, id: string): Promise<StreetRow> {
  const [row] = await ctx.db
    .select()
    .from(streets)
    .where(and(eq(streets.id, id), streetScope(ctx.principal, streets.id)));
  if (!row) throw ApiError.notFound("The street");
  return row;
}

// ---- communities -----------------------------------------------------------------------------

export interface NewCommunity {
  name: string;
  address: string;
  /** Required of the platform admin; a street office's own street otherwise. */
  streetId?: string;
}

export async function createCommunity(ctx: ServiceContext, input: NewCommunity): Promise<CommunityRow> {
  const p = ctx.principal;
  requirePlaceCommand(p, { type: "register_community", streetId: input.streetId });
  const streetId = registrationStreet(p, input.streetId);
  if (!streetId) throw new Error("the command table lets no community through without a street");
  return ctx.db
    .transaction(async (tx) => {
      const [street] = await tx.select({ id: streets.id }).from(streets).where(eq(streets.id, streetId));
      if (!street) throw ApiError.validation([{ field: "body.streetId", message: "is not a known street" }]);
      const [community] = await tx
        .insert(communities)
        .values({ streetId, name: input.name, address: input.address })
        .returning();
      if (!community) throw new Error("insert returned nothing");
      return community;
    })
    .catch(conflictOn("community_exists", `The street already has a community named "${input.name}".`));
}

export async function listCommunities(
  ctx: ServiceContext,
  query: PageRequest & { streetId?: string },
): Promise<Page<CommunityRow>> {
  const where = and(
    communityScope(ctx.principal, communities.streetId, communities.id),
    query.streetId ? eq(communities.streetId, query.streetId) : undefined,
  );
  const { db } = ctx;
  const [items, total] = await Promise.all([
    db
      .select()
      .from(communities)
      .where(where)
      .orderBy(asc(communities.name), asc(communities.id))
      .limit(query.limit)
      .offset(query.offset),
    db.$count(communities, where),
  ]);
  return { items, total };
}

export async function getCommunity(ctx: ServiceContext, id: string): Promise<CommunityWithTotals> {
  const [row] = await ctx.db
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
    .where(and(eq(communities.id, id), communityScope(ctx.principal, communities.streetId, communities.id)));
  if (!row) throw ApiError.notFound("The community");
  return row;
}

// ---- buildings -------------------------------------------------------------------------------

export async function createBuilding(
  ctx: ServiceContext,
  communityId: string,
  input: { name: string; storeys: number },
): Promise<BuildingWithTotals> {
  const p = ctx.principal;
  const row = await ctx.db
    .transaction(async (tx) => {
      const community = await findCommunity(tx, p, communityId);
      requirePlaceCommand(p, { type: "register_building" });
      const [building] = await tx
        .insert(buildings)
        .values({ communityId: community.id, name: input.name, storeys: input.storeys })
        .returning();
      if (!building) throw new Error("insert returned nothing");
      return building;
    })
    .catch(conflictOn("building_exists", `The community already has a building named "${input.name}".`));
  return { ...row, households: 0, floorArea: "0.00" };
}

/** By name (unique in a community). */
export async function listBuildings(
  ctx: ServiceContext,
  communityId: string,
  page?: PageRequest,
): Promise<Page<BuildingWithTotals>> {
  const community = await findCommunity(ctx.db, ctx.principal, communityId);
  const where = eq(buildings.communityId, community.id);
  const query = ctx.db
    .select(buildingColumns)
    .from(buildings)
    .where(where)
    .orderBy(asc(buildings.name), asc(buildings.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(buildings, where), page);
}

export async function getBuilding(ctx: ServiceContext, id: string): Promise<BuildingWithTotals> {
  const { streetId: _, ...building } = await findBuilding(ctx.db, ctx.principal, id);
  return building;
}

// ---- households ------------------------------------------------------------------------------

export async function listHouseholds(
  ctx: ServiceContext,
  buildingId: string,
  page: PageRequest,
): Promise<Page<HouseholdRecord>> {
  const p = ctx.principal;
  const { db } = ctx;
  const building = await findBuilding(db, p, buildingId);
  requirePlaceCommand(p, {
    type: "read_household_register",
    hasContractInCommunity: await hasContractIn(db, p, building.communityId),
  });
  const where: SQL = eq(households.buildingId, building.id);
  const [items, total] = await Promise.all([
    db
      .select()
      .from(households)
      .where(where)
      .orderBy(asc(households.unit), asc(households.floor), asc(households.room), asc(households.id))
      .limit(page.limit)
      .offset(page.offset),
    db.$count(households, where),
  ]);
  return { items, total };
}

/**
 * One household, if the caller may read its building's register (the same rule as the list:
 * outside it, 404 — its existence stays hidden).
 */
export async function getHousehold(ctx: ServiceContext, id: string): Promise<HouseholdRecord> {
  const p = ctx.principal;
  const { db } = ctx;
  const [row] = await db
    .select({ household: households, communityId: buildings.communityId })
    .from(households)
    .innerJoin(buildings, eq(buildings.id, households.buildingId))
    .innerJoin(communities, eq(communities.id, buildings.communityId))
    .where(and(eq(households.id, id), communityScope(p, communities.streetId, communities.id)));
  if (!row) throw ApiError.notFound("The household");
  requirePlaceCommand(p, {
    type: "read_household_register",
    hasContractInCommunity: await hasContractIn(db, p, row.communityId),
  });
  return row.household;
}

export interface ImportResult {
  inserted: number;
  updated: number;
  /** The building's households after the import. */
  total: number;
}

/**
 * Imports a building's register, all or nothing. `readRows` reads the request's rows; it is
 * called only once the building is found and the caller may import into it, so an unknown
 * building or a caller who may not import is answered before the body is read.
 */
export async function importHouseholds(
  ctx: ServiceContext,
  buildingId: string,
  readRows: () => Promise<ReadResult>,
): Promise<ImportResult> {
  const p = ctx.principal;
  const { db } = ctx;
  const building = await findBuilding(db, p, buildingId);
  requirePlaceCommand(p, { type: "import_household_register" });

  const read = await readRows();
  const checked = read.ok ? checkHouseholdRows(read.rows, building.storeys) : read;
  if (!checked.ok) {
    throw ApiError.validation(
      checked.errors,
      `The import has ${checked.errors.length} problem(s); nothing was written.`,
    );
  }

  return db.transaction(async (tx) => {
    let inserted = 0;
    for (let i = 0; i < checked.rows.length; i += IMPORT_CHUNK) {
      inserted += await upsertHouseholds(tx, building.id, checked.rows.slice(i, i + IMPORT_CHUNK));
    }
    const total = await tx.$count(households, eq(households.buildingId, building.id));
    return { inserted, updated: checked.rows.length - inserted, total };
  });
}

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
