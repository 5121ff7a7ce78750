import type { z } from "@hono/zod-openapi";
import type { FacilityRow } from "../../services/facilities.js";
import type { Facility } from "./facilities.routes.js";

/** A facility as the API shows it: each field named, so a new column is not sent until documented. */
export function facilityJson(row: FacilityRow): z.input<typeof Facility> {
  return {
    id: row.id,
    streetId: row.streetId,
    communityId: row.communityId,
    kind: row.kind,
    name: row.name,
    state: row.status,
    garageSize: row.garageSize,
    parkingCapacity: row.parkingCapacity,
    chargingPoints: row.chargingPoints,
    buildingId: row.buildingId,
    floorsServed: row.floorsServed,
    stops: row.stops,
    operatorOrgId: row.operatorOrgId,
    transferredOn: row.transferredAt,
    createdAt: row.createdAt.toISOString(),
  };
}
