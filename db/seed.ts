/**
 * The demo data: Yinhang street (殷行街道, Yangpu district) with Guowei Xinyuan (国伟新苑), its
 * buildings and households, elevators and garages, and the parties of its BOT contracts. The
 * contracts themselves are made through the API (src/demo/seed.ts), so they are exactly what
 * the real lifecycle writes, audit chain included.
 */
import { and, eq } from "drizzle-orm";
import type { Queryable, Tx } from "./database.js";
import { generateKey } from "./keys.js";
import {
  apiKeys,
  buildings,
  communities,
  districts,
  facilities,
  households,
  organizationCommunities,
  organizations,
  streets,
} from "./schema.js";

export const DEMO_DISTRICT = "杨浦区";
export const DEMO_STREET = "殷行街道";
export const DEMO_COMMUNITY = "国伟新苑";

function one<T>(rows: T[]): T {
  const [row] = rows;
  if (!row) throw new Error("insert returned no row");
  return row;
}

/** Household floor areas vary by position in the building: end units are larger. */
const AREAS = ["86.50", "62.30", "62.30", "74.80"];

export type DemoScene = Awaited<ReturnType<typeof seedDemoData>>;

export async function seedDemoData(tx: Tx) {
  const district = one(await tx.insert(districts).values({ name: DEMO_DISTRICT }).returning());
  const street = one(
    await tx
      .insert(streets)
      .values({ districtId: district.id, name: DEMO_STREET, garageTarget: 153, elevatorTarget: 20 })
      .returning(),
  );
  const guowei = one(
    await tx
      .insert(communities)
      .values({ streetId: street.id, name: DEMO_COMMUNITY, address: "杨浦区国伟路" })
      .returning(),
  );
  const yinhangYicun = one(
    await tx
      .insert(communities)
      .values({ streetId: street.id, name: "殷行一村", address: "杨浦区殷行路" })
      .returning(),
  );

  // Six 6-storey walk-ups, two units of two flats per floor: 24 households each.
  const blocks = [];
  for (let b = 1; b <= 6; b++) {
    const building = one(
      await tx
        .insert(buildings)
        .values({ communityId: guowei.id, name: `${b}号楼`, storeys: 6 })
        .returning(),
    );
    blocks.push(building);
    const rows = [];
    for (let floor = 1; floor <= 6; floor++) {
      for (const unit of ["1", "2"]) {
        for (let flat = 1; flat <= 2; flat++) {
          rows.push({
            buildingId: building.id,
            unit,
            room: `${floor}0${flat}`,
            floor,
            floorArea: AREAS[(Number(unit) - 1) * 2 + flat - 1] ?? "60.00",
          });
        }
      }
    }
    await tx.insert(households).values(rows);
  }

  const org = async (
    kind: (typeof organizations.$inferInsert)["kind"],
    name: string,
    communityIds: string[] = [],
  ) => {
    const row = one(await tx.insert(organizations).values({ kind, name, streetId: street.id }).returning());
    if (communityIds.length) {
      await tx
        .insert(organizationCommunities)
        .values(communityIds.map((communityId) => ({ organizationId: row.id, communityId })));
    }
    return row;
  };
  const streetOffice = await org("street_office", "殷行街道办事处");
  const enterprise = await org("enterprise", "上海梯安加装电梯运营有限公司");
  const garageOperator = await org("enterprise", "上海安充智能车库科技有限公司");
  const ownersCommittee = await org("owners_committee", "国伟新苑业主委员会", [guowei.id]);
  const propertyCompany = await org("property_company", "上海殷城物业管理有限公司", [
    guowei.id,
    yinhangYicun.id,
  ]);

  const keys: Record<string, string> = {};
  for (const [label, organization] of Object.entries({
    street_office: streetOffice,
    enterprise,
    garage_enterprise: garageOperator,
    owners_committee: ownersCommittee,
    property_company: propertyCompany,
  })) {
    const issued = generateKey("org");
    await tx.insert(apiKeys).values({
      organizationId: organization.id,
      name: "demo admin key",
      role: "admin",
      keyHash: issued.hash,
      prefix: issued.prefix,
    });
    keys[label] = issued.key;
  }

  const elevators = [];
  for (const building of blocks) {
    elevators.push(
      one(
        await tx
          .insert(facilities)
          .values({
            streetId: street.id,
            communityId: guowei.id,
            kind: "elevator",
            name: `${building.name}加装电梯`,
            buildingId: building.id,
            floorsServed: 6,
            stops: 6,
          })
          .returning(),
      ),
    );
  }
  const garage = (
    communityId: string,
    name: string,
    size: "large" | "mini",
    parkingCapacity: number,
    chargingPoints: number,
  ) =>
    tx
      .insert(facilities)
      .values({
        streetId: street.id,
        communityId,
        kind: "garage",
        name,
        garageSize: size,
        parkingCapacity,
        chargingPoints,
      })
      .returning()
      .then(one);
  const garages = [
    await garage(guowei.id, "国伟新苑1号非机动车库", "large", 160, 48),
    await garage(guowei.id, "国伟新苑2号非机动车库", "large", 120, 36),
    await garage(guowei.id, "国伟新苑3号非机动车库", "mini", 30, 8),
    await garage(yinhangYicun.id, "殷行一村非机动车库", "large", 140, 40),
  ];

  return {
    keys,
    street,
    community: guowei,
    buildings: blocks,
    elevators,
    garages,
    parties: { streetOffice, enterprise, garageOperator, ownersCommittee, propertyCompany },
  };
}

/** The demo street, if the demo was seeded (district names are unique; street names only within one). */
export async function findDemoStreet(db: Queryable) {
  const [row] = await db
    .select({ id: streets.id })
    .from(streets)
    .innerJoin(districts, eq(districts.id, streets.districtId))
    .where(and(eq(districts.name, DEMO_DISTRICT), eq(streets.name, DEMO_STREET)));
  return row ?? null;
}
