/**
 * The drizzle schema: the one description of every table. Migrations are generated from it
 * (`npm run db:generate`) and committed under db/migrations.
 *
 * Column names are snake_case in the database (drizzle `casing: "snake_case"`), camelCase here.
 * Money is numeric(14,2) (strings in JS), business dates are `date` (Asia/Shanghai calendar
 * dates as 'YYYY-MM-DD' strings), instants are timestamptz.
 */
import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { CONTRACT_STATES, VERSION_STATUSES } from "../contracts/lifecycle.js";
import { FEE_KINDS, FEE_UNITS } from "../contracts/terms.js";

const money = () => numeric({ precision: 14, scale: 2 });
const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();
const id = () => uuid().primaryKey().defaultRandom();

// ---------------------------------------------------------------------------------------------
// Places: district → street → community (小区) → building → household
// ---------------------------------------------------------------------------------------------

export const districts = pgTable("districts", {
  id: id(),
  name: text().notNull().unique(),
  createdAt: createdAt(),
});

export const streets = pgTable(
  "streets",
  {
    id: id(),
    districtId: uuid()
      .notNull()
      .references(() => districts.id),
    name: text().notNull(),
    /** The street's yearly retrofit targets (dashboard). */
    garageTarget: integer().notNull().default(0),
    elevatorTarget: integer().notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.districtId, t.name)],
);

export const communities = pgTable(
  "communities",
  {
    id: id(),
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    name: text().notNull(),
    address: text().notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.streetId, t.name)],
);

export const buildings = pgTable(
  "buildings",
  {
    id: id(),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    /** The building number as residents say it, e.g. "12号楼". */
    name: text().notNull(),
    storeys: integer().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique().on(t.communityId, t.name),
    check("buildings_storeys", sql`${t.storeys} between 1 and 100`),
  ],
);

export const households = pgTable(
  "households",
  {
    id: id(),
    buildingId: uuid()
      .notNull()
      .references(() => buildings.id),
    unit: text().notNull(),
    room: text().notNull(),
    floor: integer().notNull(),
    /** Floor area in m², the weight of this household in an owners' vote. */
    floorArea: numeric({ precision: 10, scale: 2 }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.buildingId, t.unit, t.room), check("households_floor_area", sql`${t.floorArea} > 0`)],
);

// ---------------------------------------------------------------------------------------------
// Organizations and their keys
// ---------------------------------------------------------------------------------------------

export const organizationKind = pgEnum("organization_kind", [
  "street_office",
  "enterprise",
  "owners_committee",
  "property_company",
]);

export const organizations = pgTable(
  "organizations",
  {
    id: id(),
    kind: organizationKind().notNull(),
    name: text().notNull(),
    /** The street whose office registered the organization (a street office: the street it covers). */
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    /** Unified social credit code (统一社会信用代码), optional. */
    creditCode: text(),
    createdAt: createdAt(),
  },
  (t) => [
    unique().on(t.streetId, t.kind, t.name),
    uniqueIndex("organizations_one_office_per_street").on(t.streetId).where(sql`${t.kind} = 'street_office'`),
  ],
);

/** Which communities an owners committee or a property company serves. */
export const organizationCommunities = pgTable(
  "organization_communities",
  {
    organizationId: uuid()
      .notNull()
      .references(() => organizations.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.communityId] }), index().on(t.communityId)],
);

export const keyRole = pgEnum("key_role", ["admin", "member"]);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.id),
    name: text().notNull(),
    role: keyRole().notNull(),
    /** SHA-256 of the key, hex. The key itself is shown once and never stored. */
    keyHash: text().notNull().unique(),
    /** The first characters of the key, to recognise it in a list. */
    prefix: text().notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.organizationId)],
);

// ---------------------------------------------------------------------------------------------
// Facilities
// ---------------------------------------------------------------------------------------------

export const facilityKind = pgEnum("facility_kind", ["garage", "elevator"]);
export const facilityStatus = pgEnum("facility_status", [
  "planned",
  "under_construction",
  "operating",
  "transferred",
  "decommissioned",
]);
export const garageSize = pgEnum("garage_size", ["large", "mini"]);

export const facilities = pgTable(
  "facilities",
  {
    id: id(),
    /** Denormalised from the community: every scope check filters on it. */
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    kind: facilityKind().notNull(),
    name: text().notNull(),
    status: facilityStatus().notNull().default("planned"),
    /** Garage: large or mini, parking slots and charging points. */
    garageSize: garageSize(),
    parkingCapacity: integer(),
    chargingPoints: integer(),
    /** Elevator: the building it serves, floors served and stops. */
    buildingId: uuid().references(() => buildings.id),
    floorsServed: integer(),
    stops: integer(),
    /** The operating enterprise while under contract; null once transferred to the owners. */
    operatorOrgId: uuid().references(() => organizations.id),
    /** Set when ownership passed to the residents (the community). */
    transferredAt: date({ mode: "string" }),
    createdAt: createdAt(),
  },
  (t) => [
    index().on(t.communityId),
    index().on(t.streetId),
    check(
      "facilities_kind_fields",
      sql`(${t.kind} = 'garage' and ${t.garageSize} is not null and ${t.parkingCapacity} is not null and ${t.chargingPoints} is not null and ${t.buildingId} is null)
       or (${t.kind} = 'elevator' and ${t.buildingId} is not null and ${t.floorsServed} is not null and ${t.stops} is not null and ${t.garageSize} is null)`,
    ),
  ],
);

// ---------------------------------------------------------------------------------------------
// BOT contracts
// ---------------------------------------------------------------------------------------------

export const contractState = pgEnum("contract_state", CONTRACT_STATES);
export const versionStatus = pgEnum("version_status", VERSION_STATUSES);
export const voteMatter = pgEnum("vote_matter", ["special", "ordinary"]);

export const contracts = pgTable(
  "contracts",
  {
    id: id(),
    title: text().notNull(),
    /** Denormalised from the community: every scope check filters on it. */
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    enterpriseOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    ownersCommitteeOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    propertyCompanyOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    /** Present when the street office contributes guidance funds and signs. */
    streetOfficeOrgId: uuid().references(() => organizations.id),
    /** Special matter (art. 278: adding an elevator, business use of common parts) or ordinary. */
    voteMatter: voteMatter().notNull().default("special"),
    state: contractState().notNull().default("draft"),
    /** The version under review or being drafted, and the version in force once signed. */
    currentVersionNo: integer().notNull().default(1),
    signedVersionNo: integer(),
    operationStartDate: date({ mode: "string" }),
    transferDate: date({ mode: "string" }),
    transferredOn: date({ mode: "string" }),
    terminatedReason: text(),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index().on(t.streetId, t.state),
    index().on(t.enterpriseOrgId),
    index().on(t.communityId),
    index().on(t.transferDate),
  ],
);

export const contractFacilities = pgTable(
  "contract_facilities",
  {
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    facilityId: uuid()
      .notNull()
      .references(() => facilities.id),
  },
  (t) => [primaryKey({ columns: [t.contractId, t.facilityId] }), index().on(t.facilityId)],
);

/**
 * One numbered version of a contract's terms. A draft is edited in place (its `revision` is the
 * optimistic lock); submitting freezes it for good. Amendments after signing are new versions.
 */
export const contractVersions = pgTable(
  "contract_versions",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    versionNo: integer().notNull(),
    status: versionStatus().notNull().default("draft"),
    /** Bumped on every edit of a draft: the ETag of the version. */
    revision: integer().notNull().default(1),
    isAmendment: boolean().notNull().default(false),
    /** For amendments: the date from which the amended terms apply. */
    effectiveDate: date({ mode: "string" }),
    summary: text().notNull().default(""),
    totalInvestment: money().notNull(),
    enterpriseCapital: money().notNull(),
    guidanceFunds: money().notNull(),
    operationTermMonths: integer().notNull(),
    maintenanceObligations: text().notNull(),
    /** [{ code, description }]: the checklist to tick off before transfer. */
    handbackConditions: jsonb().$type<{ code: string; description: string }[]>().notNull(),
    submittedAt: timestamp({ withTimezone: true }),
    /** SHA-256 of the version's canonical JSON, fixed at signing. */
    contentHash: text(),
    signedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique().on(t.contractId, t.versionNo)],
);

export const feeKind = pgEnum("fee_kind", FEE_KINDS);
export const feeUnit = pgEnum("fee_unit", FEE_UNITS);

export const feeItems = pgTable(
  "fee_items",
  {
    id: id(),
    versionId: uuid()
      .notNull()
      .references(() => contractVersions.id, { onDelete: "cascade" }),
    position: integer().notNull(),
    code: text().notNull(),
    name: text().notNull(),
    kind: feeKind().notNull(),
    unit: feeUnit().notNull(),
    price: money().notNull(),
    /** Per-floor prices for elevators: [{ floor, price }]; a floor without a price pays nothing. */
    floorPrices: jsonb().$type<{ floor: number; price: string }[]>(),
  },
  (t) => [unique().on(t.versionId, t.code), check("fee_items_price", sql`${t.price} >= 0`)],
);

export const contractComments = pgTable(
  "contract_comments",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    versionNo: integer().notNull(),
    authorOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    authorKeyId: uuid().references(() => apiKeys.id),
    body: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.contractId, t.versionNo)],
);

export const contractVotes = pgTable(
  "contract_votes",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    versionNo: integer().notNull(),
    matter: voteMatter().notNull(),
    /** The community's register at the time of the vote. */
    totalArea: numeric({ precision: 14, scale: 2 }).notNull(),
    totalOwners: integer().notNull(),
    participatingArea: numeric({ precision: 14, scale: 2 }).notNull(),
    participatingOwners: integer().notNull(),
    yesArea: numeric({ precision: 14, scale: 2 }).notNull(),
    yesOwners: integer().notNull(),
    passed: boolean().notNull(),
    heldOn: date({ mode: "string" }).notNull(),
    recordedByOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.contractId, t.versionNo)],
);

export const contractSignatures = pgTable(
  "contract_signatures",
  {
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    versionNo: integer().notNull(),
    partyOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    party: organizationKind().notNull(),
    keyId: uuid().references(() => apiKeys.id),
    contentHash: text().notNull(),
    signedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.contractId, t.versionNo, t.partyOrgId] })],
);

export const milestoneKind = pgEnum("milestone_kind", [
  "construction_start",
  "completion_acceptance",
  "operation_start",
]);

export const contractMilestones = pgTable(
  "contract_milestones",
  {
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    kind: milestoneKind().notNull(),
    occurredOn: date({ mode: "string" }).notNull(),
    note: text().notNull().default(""),
    recordedByOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    recordedAt: createdAt(),
    confirmedByOrgId: uuid().references(() => organizations.id),
    confirmedAt: timestamp({ withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.contractId, t.kind] })],
);

/** The handback checklist of a signed contract, ticked off before transfer. */
export const handbackChecks = pgTable(
  "handback_checks",
  {
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    code: text().notNull(),
    description: text().notNull(),
    checkedOn: date({ mode: "string" }),
    checkedByOrgId: uuid().references(() => organizations.id),
    note: text().notNull().default(""),
  },
  (t) => [primaryKey({ columns: [t.contractId, t.code] })],
);

/**
 * Append-only audit of every decision on a contract, hash-chained per contract
 * (see contracts/audit.ts). A trigger refuses UPDATE and DELETE.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    seq: integer().notNull(),
    action: text().notNull(),
    actorOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    actorKeyId: uuid(),
    versionNo: integer(),
    payload: jsonb().notNull(),
    contentHash: text(),
    prevHash: text().notNull(),
    hash: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [unique().on(t.contractId, t.seq)],
);

// ---------------------------------------------------------------------------------------------
// IoT: elevator e-bike sensors, their events, incidents and dead letters
// ---------------------------------------------------------------------------------------------

/** A sensor in an elevator car. It authenticates with its own key (MQTT password or HTTP bearer). */
export const sensors = pgTable(
  "sensors",
  {
    id: id(),
    /** The elevator the sensor is installed in. */
    facilityId: uuid()
      .notNull()
      .references(() => facilities.id),
    /** Denormalised from the facility and its operator: every scope check filters on them. */
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    enterpriseOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    name: text().notNull(),
    /** SHA-256 of the sensor key, hex (HTTP ingest and the embedded broker check it). */
    keyHash: text().notNull().unique(),
    keyPrefix: text().notNull(),
    /**
     * The same key in Mosquitto's password-file format (PBKDF2-SHA512, `$7$…`), computed when the
     * key is issued, so the broker's password file can be generated without ever storing the key.
     */
    brokerPasswordHash: text().notNull(),
    revokedAt: timestamp({ withTimezone: true }),
    heartbeatIntervalS: integer().notNull().default(30),
    lastSeenAt: timestamp({ withTimezone: true }),
    lastHeartbeatAt: timestamp({ withTimezone: true }),
    online: boolean().notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    index().on(t.facilityId),
    index().on(t.communityId),
    index().on(t.enterpriseOrgId),
    check("sensors_heartbeat_interval", sql`${t.heartbeatIntervalS} between 5 and 3600`),
  ],
);

export const sensorEventType = pgEnum("sensor_event_type", [
  "ebike_detected",
  "ebike_cleared",
  "heartbeat",
  "fault",
]);

/** Every event a sensor sent, once: the primary key (sensor, eventId) is the exactly-once guarantee. */
export const sensorEvents = pgTable(
  "sensor_events",
  {
    sensorId: uuid()
      .notNull()
      .references(() => sensors.id),
    eventId: text().notNull(),
    /** Denormalised from the sensor: incidents are rebuilt per elevator from these rows. */
    facilityId: uuid()
      .notNull()
      .references(() => facilities.id),
    type: sensorEventType().notNull(),
    occurredAt: timestamp({ withTimezone: true }).notNull(),
    receivedAt: timestamp({ withTimezone: true }).notNull(),
    /** The event as the sensor sent it (validated). */
    payload: jsonb().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sensorId, t.eventId] }),
    index("sensor_events_ebike_by_facility")
      .on(t.facilityId, t.occurredAt)
      .where(sql`${t.type} in ('ebike_detected', 'ebike_cleared')`),
    index().on(t.sensorId, t.occurredAt),
  ],
);

export const incidentKind = pgEnum("incident_kind", ["ebike", "sensor_offline"]);
export const incidentClassification = pgEnum("incident_classification", ["confirmed", "false_alarm"]);
export const falseAlarmReason = pgEnum("false_alarm_reason", ["stroller", "wheelchair", "bicycle", "other"]);

/**
 * An e-bike halt of an elevator (derived from its sensors' events in occurredAt order) or a
 * sensor being offline. At most one open incident of each kind per elevator (partial unique index).
 */
export const incidents = pgTable(
  "incidents",
  {
    id: id(),
    kind: incidentKind().notNull(),
    /** The sensor that opened it (an offline incident: the sensor that went offline). */
    sensorId: uuid()
      .notNull()
      .references(() => sensors.id),
    facilityId: uuid()
      .notNull()
      .references(() => facilities.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    openedAt: timestamp({ withTimezone: true }).notNull(),
    closedAt: timestamp({ withTimezone: true }),
    /** `ebike_detected` events within the incident (repeats for the same bike are common). */
    detections: integer().notNull().default(0),
    /** closedAt − openedAt, whole seconds; null while open. */
    haltSeconds: integer(),
    acknowledgedAt: timestamp({ withTimezone: true }),
    acknowledgedByOrgId: uuid().references(() => organizations.id),
    classification: incidentClassification(),
    falseAlarmReason: falseAlarmReason(),
    note: text(),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("incidents_one_open_per_elevator").on(t.facilityId, t.kind).where(sql`${t.closedAt} is null`),
    index().on(t.facilityId, t.kind, t.openedAt),
    index().on(t.communityId, t.openedAt),
    index().on(t.streetId, t.openedAt),
    check(
      "incidents_false_alarm_reason",
      sql`(${t.classification} = 'false_alarm') = (${t.falseAlarmReason} is not null)`,
    ),
  ],
);

/** Messages that could not be stored as events, kept with the reason (the stream goes on). */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    topic: text().notNull(),
    /** The sensor id as the topic or route named it (it may not exist). */
    sensorId: text(),
    /** The raw payload: UTF-8 text, or base64 when it was not valid UTF-8 or held NUL bytes. */
    payload: text().notNull(),
    payloadBase64: boolean().notNull().default(false),
    /** The payload's size in bytes (the stored payload is cut at 64 KiB). */
    payloadBytes: integer().notNull(),
    reason: text().notNull(),
    receivedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [index().on(t.sensorId, t.receivedAt), index().on(t.receivedAt)],
);
