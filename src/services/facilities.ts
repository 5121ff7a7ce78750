/**
 * Facilities (garages and added elevators): registering, changing and decommissioning them. Reads
 * are scoped (`facilityScope`, 404 outside it); who may act in which status is the command table's
 * (contracts/place-permissions.ts). The status changes a contract makes are the contracts service's.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { operatorOfRegistered } from "../../contracts/index.js";
import { type Queryable, queryRows } from "../../db/database.js";
import { buildings, communities, facilities } from "../../db/schema.js";
import type { Principal } from "../auth/principal.js";
import { facilityScope, streetScope } from "../auth/scope.js";
import { ApiError, type FieldError } from "../errors.js";
import type { ServiceContext } from "./context.js";
import { requirePlaceCommand } from "./place-permissions.js";

export type FacilityRow = typeof facilities.$inferSelect;

/** Elevators may stop at up to this many more landings than floors (half-landings, basement). */
const EXTRA_STOPS = 3;

async function findFacility(db: Queryable, p: Principal, id: string, forUpdate = false) {
  const query = db
    .select()
    .from(facilities)
    .where(and(eq(facilities.id, id), facilityScope(p)));
  const [row] = forUpdate ? await query.for("update", { of: facilities }) : await query;
  if (!row) throw ApiError.notFound("The facility");
  return row;
}

export type NewFacility =
  | {
      kind: "garage";
      communityId: string;
      name: string;
      garageSize: "large" | "mini";
      parkingCapacity: number;
      chargingPoints: number;
    }
  | {
      kind: "elevator";
      communityId: string;
      name: string;
      buildingId: string;
      floorsServed: number;
      stops: number;
    };

/** Registers a planned facility in a community of the caller's street. */
export async function createFacility(ctx: ServiceContext, input: NewFacility): Promise<FacilityRow> {
  const p = ctx.principal;
  requirePlaceCommand(p, { type: "register_facility" });
  const row = await ctx.db.transaction(async (tx) => {
    const [community] = await tx
      .select({ id: communities.id, streetId: communities.streetId })
      .from(communities)
      .where(and(eq(communities.id, input.communityId), streetScope(p, communities.streetId)));
    if (!community) {
      throw ApiError.validation([
        { field: "body.communityId", message: "is not a community of your street" },
      ]);
    }
    const base = {
      streetId: community.streetId,
      communityId: community.id,
      name: input.name,
      status: "planned" as const,
      operatorOrgId: operatorOfRegistered(p),
    };
    if (input.kind === "garage") {
      const { kind, garageSize, parkingCapacity, chargingPoints } = input;
      const [garage] = await tx
        .insert(facilities)
        .values({ ...base, kind, garageSize, parkingCapacity, chargingPoints })
        .returning();
      return garage;
    }
    const [building] = await tx
      .select({ storeys: buildings.storeys })
      .from(buildings)
      .where(and(eq(buildings.id, input.buildingId), eq(buildings.communityId, community.id)));
    const errors: FieldError[] = [];
    if (!building) {
      errors.push({ field: "body.buildingId", message: "is not a building of this community" });
    } else if (input.floorsServed > building.storeys) {
      errors.push({
        field: "body.floorsServed",
        message: `must be at most ${building.storeys} (the building's storeys)`,
      });
    }
    if (input.stops > input.floorsServed + EXTRA_STOPS) {
      errors.push({
        field: "body.stops",
        message: `must be at most floorsServed + ${EXTRA_STOPS} (${input.floorsServed + EXTRA_STOPS})`,
      });
    }
    if (errors.length) throw ApiError.validation(errors);
    const { kind, buildingId, floorsServed, stops } = input;
    const [elevator] = await tx
      .insert(facilities)
      .values({ ...base, kind, buildingId, floorsServed, stops })
      .returning();
    return elevator;
  });
  if (!row) throw new Error("insert returned nothing");
  return row;
}

export interface FacilityFilter {
  kind?: FacilityRow["kind"];
  status?: FacilityRow["status"];
  communityId?: string;
  limit: number;
  offset: number;
}

export async function listFacilities(
  ctx: ServiceContext,
  filter: FacilityFilter,
): Promise<{ items: FacilityRow[]; total: number }> {
  const where = and(
    facilityScope(ctx.principal),
    filter.kind ? eq(facilities.kind, filter.kind) : undefined,
    filter.status ? eq(facilities.status, filter.status) : undefined,
    filter.communityId ? eq(facilities.communityId, filter.communityId) : undefined,
  );
  const { db } = ctx;
  const [items, total] = await Promise.all([
    db
      .select()
      .from(facilities)
      .where(where)
      .orderBy(asc(facilities.name), asc(facilities.id))
      .limit(filter.limit)
      .offset(filter.offset),
    db.$count(facilities, where),
  ]);
  return { items, total };
}

export async function getFacility(ctx: ServiceContext, id: string): Promise<FacilityRow> {
  return findFacility(ctx.db, ctx.principal, id);
}

export interface FacilityPatch {
  name?: string;
  parkingCapacity?: number;
  chargingPoints?: number;
}

export async function updateFacility(
  ctx: ServiceContext,
  id: string,
  patch: FacilityPatch,
): Promise<FacilityRow> {
  const p = ctx.principal;
  const row = await ctx.db.transaction(async (tx) => {
    const facility = await findFacility(tx, p, id, true);
    requirePlaceCommand(p, { type: "change_facility", facility });
    const errors: FieldError[] = [];
    if (facility.kind !== "garage") {
      for (const field of ["parkingCapacity", "chargingPoints"] as const) {
        if (patch[field] !== undefined)
          errors.push({ field: `body.${field}`, message: "applies to garages only" });
      }
    }
    if (Object.values(patch).every((v) => v === undefined)) {
      errors.push({
        field: "body",
        message: "must change at least one of name, parkingCapacity, chargingPoints",
      });
    }
    if (errors.length) throw ApiError.validation(errors);
    const [updated] = await tx
      .update(facilities)
      .set(patch)
      .where(eq(facilities.id, facility.id))
      .returning();
    return updated;
  });
  if (!row) throw new Error("update returned nothing");
  return row;
}

/** Takes a planned or transferred facility that no open contract holds out of use, for good. */
export async function decommissionFacility(ctx: ServiceContext, id: string): Promise<FacilityRow> {
  const p = ctx.principal;
  const row = await ctx.db.transaction(async (tx) => {
    const facility = await findFacility(tx, p, id, true);
    const open = await queryRows<{ id: string }>(
      tx,
      sql`select c.id from contract_facilities cf join contracts c on c.id = cf.contract_id
        where cf.facility_id = ${facility.id} and c.state not in ('transferred', 'terminated')
        order by c.created_at`,
    );
    requirePlaceCommand(p, {
      type: "decommission_facility",
      facility,
      openContractIds: open.map((r) => r.id),
    });
    const [updated] = await tx
      .update(facilities)
      .set({ status: "decommissioned" })
      .where(eq(facilities.id, facility.id))
      .returning();
    return updated;
  });
  if (!row) throw new Error("update returned nothing");
  return row;
}
