/**
 * The names people know an elevator by (its community, its building, its own name), for the
 * incidents and sensors pages, read through the places services in the person's scope.
 */

import type { ServiceContext } from "../../services/context.js";
import { listFacilities } from "../../services/facilities.js";
import { listBuildings, listCommunities } from "../../services/places/places.js";

export interface ElevatorName {
  name: string;
  building: string;
  community: string;
}

/** At most this many of each are named on one page (a street office's whole street fits). */
const NAMED_MAX = 1000;

/** Names of the given elevators (by facility id) that the person may read; others are absent. */
export async function elevatorNames(
  ctx: ServiceContext,
  facilityIds: Iterable<string>,
): Promise<Map<string, ElevatorName>> {
  const wanted = new Set(facilityIds);
  const names = new Map<string, ElevatorName>();
  if (!wanted.size) return names;
  const [facilities, communities] = await Promise.all([
    listFacilities(ctx, { kind: "elevator", limit: NAMED_MAX, offset: 0 }),
    listCommunities(ctx, { limit: NAMED_MAX, offset: 0 }),
  ]);
  const shown = facilities.items.filter((f) => wanted.has(f.id));
  const communityName = new Map(communities.items.map((c) => [c.id, c.name]));
  const buildingName = new Map<string, string>();
  const ofCommunities = [...new Set(shown.map((f) => f.communityId))].filter((id) => communityName.has(id));
  for (const buildings of await Promise.all(ofCommunities.map((id) => listBuildings(ctx, id)))) {
    for (const b of buildings.items) buildingName.set(b.id, b.name);
  }
  for (const f of shown) {
    names.set(f.id, {
      name: f.name,
      building: (f.buildingId && buildingName.get(f.buildingId)) || "",
      community: communityName.get(f.communityId) ?? "",
    });
  }
  return names;
}
