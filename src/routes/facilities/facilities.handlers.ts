import { and, asc, eq, sql } from "drizzle-orm";
import { type Queryable, queryRows } from "../../../db/database.js";
import { buildings, communities, facilities } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { facilityScope, requireRole, streetScope } from "../../auth/scope.js";
import { ApiError, type FieldError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { facilityJson } from "./facilities.presenters.js";
import type * as routes from "./facilities.routes.js";

type FacilityRow = typeof facilities.$inferSelect;
type Status = FacilityRow["status"];

/** Statuses from which the street office may decommission a facility. */
const DECOMMISSIONABLE: readonly Status[] = ["planned", "transferred"];
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

export const createFacility: AppRouteHandler<typeof routes.createFacility> = async (c) => {
  const p = c.var.principal;
  requireRole(p, ["platform_admin", "street_office", "enterprise"], "register facilities");
  const body = c.req.valid("json");
  const row = await c.var.db.transaction(async (tx) => {
    const [community] = await tx
      .select({ id: communities.id, streetId: communities.streetId })
      .from(communities)
      .where(and(eq(communities.id, body.communityId), streetScope(p, communities.streetId)));
    if (!community) {
      throw ApiError.validation([
        { field: "body.communityId", message: "is not a community of your street" },
      ]);
    }
    const base = {
      streetId: community.streetId,
      communityId: community.id,
      name: body.name,
      status: "planned" as const,
      operatorOrgId: p.role === "enterprise" ? p.orgId : null,
    };
    if (body.kind === "garage") {
      const { kind, garageSize, parkingCapacity, chargingPoints } = body;
      const [garage] = await tx
        .insert(facilities)
        .values({ ...base, kind, garageSize, parkingCapacity, chargingPoints })
        .returning();
      return garage;
    }
    const [building] = await tx
      .select({ storeys: buildings.storeys })
      .from(buildings)
      .where(and(eq(buildings.id, body.buildingId), eq(buildings.communityId, community.id)));
    const errors: FieldError[] = [];
    if (!building) {
      errors.push({ field: "body.buildingId", message: "is not a building of this community" });
    } else if (body.floorsServed > building.storeys) {
      errors.push({
        field: "body.floorsServed",
        message: `must be at most ${building.storeys} (the building's storeys)`,
      });
    }
    if (body.stops > body.floorsServed + EXTRA_STOPS) {
      errors.push({
        field: "body.stops",
        message: `must be at most floorsServed + ${EXTRA_STOPS} (${body.floorsServed + EXTRA_STOPS})`,
      });
    }
    if (errors.length) throw ApiError.validation(errors);
    const { kind, buildingId, floorsServed, stops } = body;
    const [elevator] = await tx
      .insert(facilities)
      .values({ ...base, kind, buildingId, floorsServed, stops })
      .returning();
    return elevator;
  });
  if (!row) throw new Error("insert returned nothing");
  c.var.logger.info({ facilityId: row.id, kind: row.kind }, "facility registered");
  return c.json(facilityJson(row), 201);
};

export const listFacilities: AppRouteHandler<typeof routes.listFacilities> = async (c) => {
  const { kind, status, communityId, limit, offset } = c.req.valid("query");
  const where = and(
    facilityScope(c.var.principal),
    kind ? eq(facilities.kind, kind) : undefined,
    status ? eq(facilities.status, status) : undefined,
    communityId ? eq(facilities.communityId, communityId) : undefined,
  );
  const { db } = c.var;
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(facilities)
      .where(where)
      .orderBy(asc(facilities.name), asc(facilities.id))
      .limit(limit)
      .offset(offset),
    db.$count(facilities, where),
  ]);
  return c.json({ items: rows.map(facilityJson), total, limit, offset }, 200);
};

export const getFacility: AppRouteHandler<typeof routes.getFacility> = async (c) => {
  const row = await findFacility(c.var.db, c.var.principal, c.req.valid("param").id);
  return c.json(facilityJson(row), 200);
};

export const updateFacility: AppRouteHandler<typeof routes.updateFacility> = async (c) => {
  const p = c.var.principal;
  const { id } = c.req.valid("param");
  const patch = c.req.valid("json");
  const row = await c.var.db.transaction(async (tx) => {
    const facility = await findFacility(tx, p, id, true);
    requireRole(p, ["platform_admin", "street_office", "enterprise"], "change facilities");
    if (p.role === "enterprise" && facility.operatorOrgId !== p.orgId) {
      throw ApiError.forbidden("Only the enterprise operating the facility may change it.");
    }
    if (facility.status === "decommissioned") {
      throw ApiError.conflict("facility_status", "A decommissioned facility can no longer be changed.", {
        facilityStatus: facility.status,
      });
    }
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
  return c.json(facilityJson(row), 200);
};

export const decommissionFacility: AppRouteHandler<typeof routes.decommissionFacility> = async (c) => {
  const p = c.var.principal;
  const { id } = c.req.valid("param");
  const { reason } = c.req.valid("json");
  const row = await c.var.db.transaction(async (tx) => {
    const facility = await findFacility(tx, p, id, true);
    requireRole(p, ["platform_admin", "street_office"], "decommission facilities");
    if (!DECOMMISSIONABLE.includes(facility.status)) {
      throw ApiError.conflict(
        "facility_status",
        `A facility that is ${facility.status.replace("_", " ")} cannot be decommissioned; only a planned or transferred one.`,
        { facilityStatus: facility.status },
      );
    }
    const open = await queryRows<{ id: string }>(
      tx,
      sql`select c.id from contract_facilities cf join contracts c on c.id = cf.contract_id
        where cf.facility_id = ${facility.id} and c.state not in ('transferred', 'terminated')
        order by c.created_at`,
    );
    if (open.length) {
      throw ApiError.conflict(
        "facility_under_contract",
        "The facility is part of a contract that is still open; terminate or finish it first.",
        { facilityStatus: facility.status, contractIds: open.map((r) => r.id) },
      );
    }
    const [updated] = await tx
      .update(facilities)
      .set({ status: "decommissioned" })
      .where(eq(facilities.id, facility.id))
      .returning();
    return updated;
  });
  if (!row) throw new Error("update returned nothing");
  // The schema has no column for the reason yet: it is kept in the log with the request id.
  c.var.logger.info({ facilityId: row.id, reason, byOrg: p.orgId }, "facility decommissioned");
  return c.json(facilityJson(row), 200);
};
