import type { z } from "@hono/zod-openapi";
import type {
  BuildingWithTotals,
  CommunityRow,
  CommunityWithTotals,
  DistrictRow,
  HouseholdRecord,
  StreetRow,
} from "../../services/places/places.js";
import type { Building, Community, CommunityDetail, District, Household, Street } from "./places.routes.js";

export function districtJson(row: DistrictRow): z.input<typeof District> {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString() };
}

export function streetJson(row: StreetRow): z.input<typeof Street> {
  return {
    id: row.id,
    districtId: row.districtId,
    name: row.name,
    garageTarget: row.garageTarget,
    elevatorTarget: row.elevatorTarget,
    createdAt: row.createdAt.toISOString(),
  };
}

export function communityJson(row: CommunityRow): z.input<typeof Community> {
  return {
    id: row.id,
    streetId: row.streetId,
    name: row.name,
    address: row.address,
    createdAt: row.createdAt.toISOString(),
  };
}

/** A community with its register totals. */
export function communityDetailJson(row: CommunityWithTotals): z.input<typeof CommunityDetail> {
  return {
    ...communityJson(row),
    totals: { buildings: row.buildings, households: row.households, floorArea: row.floorArea },
  };
}

export function buildingJson(row: BuildingWithTotals): z.input<typeof Building> {
  return {
    id: row.id,
    communityId: row.communityId,
    name: row.name,
    storeys: row.storeys,
    totals: { households: row.households, floorArea: row.floorArea },
    createdAt: row.createdAt.toISOString(),
  };
}

export function householdJson(row: HouseholdRecord): z.input<typeof Household> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    unit: row.unit,
    room: row.room,
    floor: row.floor,
    floorArea: row.floorArea,
    createdAt: row.createdAt.toISOString(),
  };
}
