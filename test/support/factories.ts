/**
 * Factories for test data: each call makes new, uniquely named rows, so tests never depend on
 * one another's data and can run against one shared PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import type { Database } from "../../db/database.js";
import { generateKey } from "../../db/keys.js";
import {
  apiKeys,
  buildings,
  communities,
  contractFacilities,
  contracts,
  districts,
  facilities,
  households,
  organizationCommunities,
  organizations,
  streets,
} from "../../db/schema.js";
import type { OrgKind } from "../../src/auth/principal.js";

const unique = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;

function one<T>(rows: T[]): T {
  const [row] = rows;
  if (!row) throw new Error("insert returned no row");
  return row;
}

export async function createStreet(db: Database, overrides: Partial<typeof streets.$inferInsert> = {}) {
  const district = one(
    await db
      .insert(districts)
      .values({ name: unique("杨浦区") })
      .returning(),
  );
  return one(
    await db
      .insert(streets)
      .values({
        districtId: district.id,
        name: unique("殷行街道"),
        garageTarget: 153,
        elevatorTarget: 20,
        ...overrides,
      })
      .returning(),
  );
}

export async function createCommunity(db: Database, streetId: string, name = unique("国伟新苑")) {
  return one(await db.insert(communities).values({ streetId, name, address: "国伟路" }).returning());
}

export async function createBuilding(db: Database, communityId: string, storeys = 6) {
  return one(
    await db
      .insert(buildings)
      .values({ communityId, name: unique("号楼"), storeys })
      .returning(),
  );
}

/** Households of a building: `perFloor` rooms on each floor, each of `area` m². */
export async function createHouseholds(
  db: Database,
  buildingId: string,
  opts: { floors: number; perFloor: number; area?: string },
) {
  const rows = [];
  for (let floor = 1; floor <= opts.floors; floor++) {
    for (let r = 1; r <= opts.perFloor; r++) {
      rows.push({ buildingId, unit: "1", room: `${floor}0${r}`, floor, floorArea: opts.area ?? "60.00" });
    }
  }
  return db.insert(households).values(rows).returning();
}

export async function createOrg(
  db: Database,
  opts: {
    kind: OrgKind;
    streetId: string;
    communityIds?: string[];
    keyRole?: "admin" | "member";
    name?: string;
  },
) {
  const org = one(
    await db
      .insert(organizations)
      .values({ kind: opts.kind, streetId: opts.streetId, name: opts.name ?? unique(opts.kind) })
      .returning(),
  );
  if (opts.communityIds?.length) {
    await db
      .insert(organizationCommunities)
      .values(opts.communityIds.map((communityId) => ({ organizationId: org.id, communityId })));
  }
  const key = await createKey(db, org.id, opts.keyRole ?? "admin");
  return { org, key: key.key, keyId: key.id };
}

export async function createKey(db: Database, organizationId: string, role: "admin" | "member" = "admin") {
  const issued = generateKey("org");
  const row = one(
    await db
      .insert(apiKeys)
      .values({ organizationId, name: unique("key"), role, keyHash: issued.hash, prefix: issued.prefix })
      .returning(),
  );
  return { id: row.id, key: issued.key };
}

export async function createFacility(
  db: Database,
  opts: { streetId: string; communityId: string } & (
    | { kind: "elevator"; buildingId: string; operatorOrgId?: string }
    | { kind: "garage"; operatorOrgId?: string; garageSize?: "large" | "mini" }
  ),
) {
  const base = {
    streetId: opts.streetId,
    communityId: opts.communityId,
    operatorOrgId: opts.operatorOrgId ?? null,
  };
  const values =
    opts.kind === "elevator"
      ? {
          ...base,
          kind: "elevator" as const,
          name: unique("电梯"),
          buildingId: opts.buildingId,
          floorsServed: 6,
          stops: 6,
        }
      : {
          ...base,
          kind: "garage" as const,
          name: unique("车库"),
          garageSize: opts.garageSize ?? ("large" as const),
          parkingCapacity: 120,
          chargingPoints: 40,
        };
  return one(await db.insert(facilities).values(values).returning());
}

/**
 * One street with a community ready for a contract: a 6-storey building with 12 households of
 * 60 m² each, a planned elevator, and the four parties with admin keys.
 */
export async function createWorld(db: Database) {
  const street = await createStreet(db);
  const community = await createCommunity(db, street.id);
  const building = await createBuilding(db, community.id);
  const homes = await createHouseholds(db, building.id, { floors: 6, perFloor: 2 });
  const streetOffice = await createOrg(db, { kind: "street_office", streetId: street.id });
  const enterprise = await createOrg(db, { kind: "enterprise", streetId: street.id });
  const ownersCommittee = await createOrg(db, {
    kind: "owners_committee",
    streetId: street.id,
    communityIds: [community.id],
  });
  const propertyCompany = await createOrg(db, {
    kind: "property_company",
    streetId: street.id,
    communityIds: [community.id],
  });
  const elevator = await createFacility(db, {
    kind: "elevator",
    streetId: street.id,
    communityId: community.id,
    buildingId: building.id,
  });
  return {
    street,
    community,
    building,
    households: homes,
    streetOffice,
    enterprise,
    ownersCommittee,
    propertyCompany,
    elevator,
  };
}

export type World = Awaited<ReturnType<typeof createWorld>>;

/**
 * A bare contract row between the parties of a community (no versions, no audit trail): enough
 * for checks that only ask whether a contract exists, such as who may read the household register.
 */
export async function createContractRecord(
  db: Database,
  opts: {
    streetId: string;
    communityId: string;
    enterpriseOrgId: string;
    ownersCommitteeOrgId: string;
    propertyCompanyOrgId: string;
    facilityIds?: string[];
    state?: (typeof contracts.$inferInsert)["state"];
  },
) {
  const { facilityIds = [], ...values } = opts;
  const contract = one(
    await db
      .insert(contracts)
      .values({ title: unique("加装电梯合同"), ...values })
      .returning(),
  );
  if (facilityIds.length) {
    await db
      .insert(contractFacilities)
      .values(facilityIds.map((facilityId) => ({ contractId: contract.id, facilityId })));
  }
  return contract;
}
