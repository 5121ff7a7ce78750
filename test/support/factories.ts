/**
 * Factories for test data: each call makes new, uniquely named rows, so tests never depend on
 * one another's data and can run against one shared PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { dueDate, formatInvoiceNumber } from "../../contracts/billing.js";
import { addMonths } from "../../contracts/dates.js";
import type { Database } from "../../db/database.js";
import { generateKey } from "../../db/keys.js";
import { nextCreditNoteNumber, nextDocumentNumbers } from "../../db/ledger.js";
import {
  apiKeys,
  buildings,
  communities,
  contractFacilities,
  contracts,
  contractVersions,
  creditNotes,
  districts,
  facilities,
  feeItems,
  households,
  invoiceLines,
  invoices,
  organizationCommunities,
  organizations,
  people,
  streets,
  subscriptions,
} from "../../db/schema.js";
import { hashPassword } from "../../src/auth/passwords.js";
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

// ---------------------------------------------------------------------------------------------
// Residents' fees, written straight into the database (no billing routes needed).

/**
 * An `operating` contract row between the world's parties for its elevator, with its signed
 * version 1 (the elevator's fee schedule, 60 months) as every real contract has; no audit.
 */
export async function createLedgerContract(
  db: Database,
  world: World,
  overrides: Partial<typeof contracts.$inferInsert> = {},
) {
  return createContractRecord(db, {
    streetId: world.street.id,
    communityId: world.community.id,
    enterpriseOrgId: world.enterprise.org.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    facilityIds: [world.elevator.id],
    state: "operating",
  }).then(async (contract) => {
    const values = { operationStartDate: "2026-01-01", signedVersionNo: 1, ...overrides };
    const [row] = await db.update(contracts).set(values).where(eq(contracts.id, contract.id)).returning();
    if (!row) throw new Error("contract vanished");
    await createSignedVersion(db, {
      contractId: contract.id,
      versionNo: 1,
      fees: ELEVATOR_FEES,
      termMonths: 60,
    });
    return row;
  });
}

type ContractRow = typeof contracts.$inferSelect;

/** A running 包月/包年 subscription of a household (or, with `slotRef`, a garage slot). */
export async function createSubscription(
  db: Database,
  contract: ContractRow,
  opts: ({ householdId: string } | { slotRef: string }) & {
    unitPrice?: string;
    kind?: "monthly" | "yearly";
    startDate?: string;
    state?: "active" | "suspended" | "cancelled" | "ended";
    feeCode?: string;
  },
) {
  const subscriber =
    "householdId" in opts
      ? { subscriberKey: `household:${opts.householdId}`, householdId: opts.householdId, slotRef: null }
      : { subscriberKey: `slot:${opts.slotRef}`, householdId: null, slotRef: opts.slotRef };
  return one(
    await db
      .insert(subscriptions)
      .values({
        contractId: contract.id,
        streetId: contract.streetId,
        communityId: contract.communityId,
        enterpriseOrgId: contract.enterpriseOrgId,
        ...subscriber,
        feeCode: opts.feeCode ?? "EL-M",
        kind: opts.kind ?? "monthly",
        unitPrice: opts.unitPrice ?? "50.00",
        priceVersionNo: 1,
        startDate: opts.startDate ?? "2026-01-01",
        state: opts.state ?? "active",
      })
      .returning(),
  );
}

/**
 * An issued invoice with one line, numbered from the enterprise's INV counter; due
 * `contract.invoiceDueDays` after `issueDate`. Without `subscriptionId` it is a usage invoice.
 */
export async function createInvoice(
  db: Database,
  contract: ContractRow,
  opts: {
    subscriberKey: string;
    total: string;
    period: string;
    issueDate: string;
    subscriptionId?: string;
    creditApplied?: string;
    dueDate?: string;
  },
) {
  const year = Number(opts.issueDate.slice(0, 4));
  const { first } = await nextDocumentNumbers(db, contract.enterpriseOrgId, "INV", year, 1);
  const householdId = opts.subscriberKey.startsWith("household:") ? opts.subscriberKey.slice(10) : null;
  const invoice = one(
    await db
      .insert(invoices)
      .values({
        number: formatInvoiceNumber("BOT", year, first),
        enterpriseOrgId: contract.enterpriseOrgId,
        contractId: contract.id,
        streetId: contract.streetId,
        communityId: contract.communityId,
        subscriberKey: opts.subscriberKey,
        householdId,
        subscriptionId: opts.subscriptionId ?? null,
        kind: opts.subscriptionId ? "subscription" : "usage",
        period: opts.period,
        issueDate: opts.issueDate,
        dueDate: opts.dueDate ?? dueDate(opts.issueDate, contract.invoiceDueDays),
        total: opts.total,
        creditApplied: opts.creditApplied ?? "0",
      })
      .returning(),
  );
  await db.insert(invoiceLines).values({
    invoiceId: invoice.id,
    lineNo: 1,
    code: "EL-M",
    description: `EL-M 包月 ${opts.period}`,
    quantity: "1",
    unitPrice: opts.total,
    amount: opts.total,
  });
  return invoice;
}

/** A credit note (cancellation by default) for a subscriber, numbered from the CN series. */
export async function createCreditNoteRecord(
  db: Database,
  contract: ContractRow,
  opts: { subscriberKey: string; amount: string; reason?: "cancellation" | "transfer" | "adjustment" },
) {
  const number = await nextCreditNoteNumber(db, contract.enterpriseOrgId, 2026);
  return one(
    await db
      .insert(creditNotes)
      .values({
        number,
        enterpriseOrgId: contract.enterpriseOrgId,
        contractId: contract.id,
        subscriberKey: opts.subscriberKey,
        reason: opts.reason ?? "cancellation",
        amount: opts.amount,
        remaining: opts.amount,
      })
      .returning(),
  );
}

/**
 * A world with an operating elevator contract, a household's monthly subscription and its
 * invoice for 2026-03 (issued 2026-03-01, due 2026-03-16 by the default 15 days).
 */
export async function createBilledHousehold(
  db: Database,
  opts: {
    total?: string;
    contract?: Partial<typeof contracts.$inferInsert>;
    issueDate?: string;
    period?: string;
  } = {},
) {
  const world = await createWorld(db);
  const contract = await createLedgerContract(db, world, opts.contract);
  const household = world.households[4];
  if (!household) throw new Error("world without households");
  const subscription = await createSubscription(db, contract, { householdId: household.id });
  const invoice = await createInvoice(db, contract, {
    subscriberKey: subscription.subscriberKey,
    subscriptionId: subscription.id,
    total: opts.total ?? "100.00",
    period: opts.period ?? "2026-03",
    issueDate: opts.issueDate ?? "2026-03-01",
  });
  return { world, contract, household, subscription, invoice };
}

/** A fee item as the operating-contract factory writes it. */
export interface FactoryFeeItem {
  code: string;
  name?: string;
  kind: "monthly" | "yearly" | "per_use" | "one_off";
  unit: "household" | "slot" | "ride" | "kWh" | "hour";
  price: string;
  floorPrices?: { floor: number; price: string }[];
}

/** The fee schedule of a typical added elevator: per-floor 包月, flat 包年, a per-ride fee. */
export const ELEVATOR_FEES: FactoryFeeItem[] = [
  {
    code: "EL-M",
    kind: "monthly",
    unit: "household",
    price: "0.00",
    floorPrices: [
      { floor: 2, price: "30.00" },
      { floor: 3, price: "40.00" },
      { floor: 4, price: "50.00" },
      { floor: 5, price: "60.00" },
      { floor: 6, price: "70.00" },
    ],
  },
  { code: "EL-Y", kind: "yearly", unit: "household", price: "600.00" },
  { code: "EL-RIDE", kind: "per_use", unit: "ride", price: "0.50" },
];

/** A garage's schedule: 包月 and 包年 parking, charging by the kWh and by the hour. */
export const GARAGE_FEES: FactoryFeeItem[] = [
  { code: "GA-M", kind: "monthly", unit: "slot", price: "25.00" },
  { code: "GA-Y", kind: "yearly", unit: "slot", price: "240.00" },
  { code: "CHG-KWH", kind: "per_use", unit: "kWh", price: "1.20" },
  { code: "CHG-H", kind: "per_use", unit: "hour", price: "0.20" },
];

/** Writes a signed version (or amendment) with its fee items. */
export async function createSignedVersion(
  db: Database,
  opts: {
    contractId: string;
    versionNo: number;
    fees: FactoryFeeItem[];
    termMonths: number;
    effectiveDate?: string;
  },
) {
  const version = one(
    await db
      .insert(contractVersions)
      .values({
        contractId: opts.contractId,
        versionNo: opts.versionNo,
        status: "signed",
        isAmendment: opts.effectiveDate !== undefined,
        effectiveDate: opts.effectiveDate ?? null,
        totalInvestment: "800000.00",
        enterpriseCapital: "680000.00",
        guidanceFunds: "120000.00",
        operationTermMonths: opts.termMonths,
        maintenanceObligations: "企业承担运营期内全部维保费用",
        handbackConditions: [],
        signedAt: new Date(),
      })
      .returning(),
  );
  await db.insert(feeItems).values(
    opts.fees.map((f, position) => ({
      versionId: version.id,
      position,
      code: f.code,
      name: f.name ?? f.code,
      kind: f.kind,
      unit: f.unit,
      price: f.price,
      floorPrices: f.floorPrices ?? null,
    })),
  );
  return version;
}

/**
 * An operating contract between a world's parties (rows written directly, no audit trail so
 * far): a signed version 1 with `fees`, operation from `operationStart` for `termMonths`
 * months (transfer date = operation start + term), over the world's elevator or a new garage.
 */
export async function createOperatingContract(
  db: Database,
  world: World,
  opts: {
    operationStart: string;
    termMonths: number;
    fees?: FactoryFeeItem[];
    facility?: "elevator" | "garage";
    invoicePrefix?: string;
  },
) {
  const kind = opts.facility ?? "elevator";
  const facility =
    kind === "elevator"
      ? await createFacility(db, {
          kind: "elevator",
          streetId: world.street.id,
          communityId: world.community.id,
          buildingId: world.building.id,
          operatorOrgId: world.enterprise.org.id,
        })
      : await createFacility(db, {
          kind: "garage",
          streetId: world.street.id,
          communityId: world.community.id,
          operatorOrgId: world.enterprise.org.id,
        });
  if (opts.invoicePrefix) {
    await db
      .update(organizations)
      .set({ invoicePrefix: opts.invoicePrefix })
      .where(eq(organizations.id, world.enterprise.org.id));
  }
  const contract = await createContractRecord(db, {
    streetId: world.street.id,
    communityId: world.community.id,
    enterpriseOrgId: world.enterprise.org.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    facilityIds: [facility.id],
    state: "operating",
  });
  await db
    .update(contracts)
    .set({
      signedVersionNo: 1,
      operationStartDate: opts.operationStart,
      transferDate: addMonths(opts.operationStart, opts.termMonths),
    })
    .where(eq(contracts.id, contract.id));
  await db.update(facilities).set({ status: "operating" }).where(eq(facilities.id, facility.id));
  await createSignedVersion(db, {
    contractId: contract.id,
    versionNo: 1,
    fees: opts.fees ?? (kind === "elevator" ? ELEVATOR_FEES : GARAGE_FEES),
    termMonths: opts.termMonths,
  });
  return { contract, facility, transferDate: addMonths(opts.operationStart, opts.termMonths) };
}

/** The password every test person signs in with. */
export const TEST_PASSWORD = "correct horse battery staple";

/** A person of the organization who can sign in to the portal with TEST_PASSWORD. */
export async function createPerson(
  db: Database,
  organizationId: string,
  opts: { role?: "admin" | "member"; name?: string } = {},
) {
  const login = `${unique("p")}@example.test`.toLowerCase();
  const row = one(
    await db
      .insert(people)
      .values({
        organizationId,
        name: opts.name ?? unique("王秀英"),
        login,
        passwordHash: await testPasswordHash(),
        role: opts.role ?? "member",
      })
      .returning(),
  );
  return { id: row.id, name: row.name, login, password: TEST_PASSWORD };
}

let testHash: Promise<string> | undefined;
/** scrypt is slow on purpose: one hash serves every test person (each has its own row). */
function testPasswordHash(): Promise<string> {
  testHash ??= hashPassword(TEST_PASSWORD);
  return testHash;
}
