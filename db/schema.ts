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
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  doublePrecision,
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
import { SUBSCRIPTION_KINDS, SUBSCRIPTION_STATES } from "../contracts/billing.js";
import { MILESTONE_KINDS } from "../contracts/commands.js";
import { DEVICE_COMMAND_STATES, DEVICE_COMMAND_TYPES } from "../contracts/device-commands.js";
import { CONTRACT_STATES, VERSION_STATUSES } from "../contracts/lifecycle.js";
import {
  NOTIFICATION_CHANNELS,
  NOTIFICATION_STATES,
  NOTIFICATION_TYPES,
} from "../contracts/notifications.js";
import { FACILITY_STATUSES } from "../contracts/place-permissions.js";
import { REPORT_STATUSES } from "../contracts/reports.js";
import { FEE_KINDS, FEE_UNITS } from "../contracts/terms.js";
import { RUNNING_SUBSCRIPTION_STATES_SQL } from "./states.js";

const money = () => numeric({ precision: 14, scale: 2 });
const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();
const id = () => uuid().primaryKey().defaultRandom();
/** Binary data (a snapshot's JPEG bytes). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => "bytea" });

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
    /** An enterprise's prefix for invoice and credit-note numbers (`EL-2026-000123`). */
    invoicePrefix: text().notNull().default("BOT"),
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
// People of the portal: members of an organization who sign in, and residents' household links
// ---------------------------------------------------------------------------------------------

/** A person who signs in to the portal for an organization (invited by its admin). */
export const people = pgTable(
  "people",
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.id),
    /** The name the audit log records beside what this person did. */
    name: text().notNull(),
    /** What the person signs in with (a phone number or an e-mail address), stored lower-case. */
    login: text().notNull().unique(),
    /** scrypt, with its parameters and salt (src/auth/passwords.ts). */
    passwordHash: text().notNull(),
    role: keyRole().notNull(),
    createdAt: createdAt(),
    disabledAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.organizationId)],
);

/** A one-time link that lets the invited person choose a login and password. */
export const invitations = pgTable(
  "invitations",
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.id),
    name: text().notNull(),
    role: keyRole().notNull(),
    /** SHA-256 of the link's token; the token is shown once. */
    tokenHash: text().notNull().unique(),
    invitedByPersonId: uuid().references(() => people.id),
    invitedByKeyId: uuid().references(() => apiKeys.id),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    acceptedAt: timestamp({ withTimezone: true }),
    personId: uuid().references(() => people.id),
    revokedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.organizationId)],
);

/** A signed-in browser. Kept in the database, so every instance (and Workers) shares it. */
export const portalSessions = pgTable(
  "portal_sessions",
  {
    id: id(),
    /** SHA-256 of the cookie's token. */
    tokenHash: text().notNull().unique(),
    personId: uuid()
      .notNull()
      .references(() => people.id),
    createdAt: createdAt(),
    lastSeenAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    endedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.personId)],
);

/** Sign-in attempts, counted per login and per address to throttle guessing (kept a day). */
export const signInAttempts = pgTable(
  "sign_in_attempts",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    login: text().notNull(),
    address: text().notNull(),
    succeeded: boolean().notNull(),
    at: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [index().on(t.login, t.at), index().on(t.address, t.at)],
);

/** A household's read-only link (printed on its bill as a QR code); revocable. */
export const householdLinks = pgTable(
  "household_links",
  {
    id: id(),
    householdId: uuid()
      .notNull()
      .references(() => households.id),
    /** SHA-256 of the link's token; the token is shown once. */
    tokenHash: text().notNull().unique(),
    /** The first characters of the token, to recognise a link in a list. */
    prefix: text().notNull(),
    issuedByOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    createdAt: createdAt(),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.householdId)],
);

// ---------------------------------------------------------------------------------------------
// Facilities
// ---------------------------------------------------------------------------------------------

export const facilityKind = pgEnum("facility_kind", ["garage", "elevator"]);
export const facilityStatus = pgEnum("facility_status", FACILITY_STATUSES);
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
    /** Residents' invoices are due this many days after issue… */
    invoiceDueDays: integer().notNull().default(15),
    /** …and a subscription is suspended when one is still unpaid this many days after that. */
    paymentGraceDays: integer().notNull().default(15),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The list's scope, state filter and order (GET /v1/contracts: updated_at desc, id): a page
    // is read in index order and its total counted from the index, for a street office and for
    // an enterprise. NULLS FIRST is what `desc` means in SQL (drizzle's default, NULLS LAST,
    // would not serve the order). Their leading columns serve every other street or enterprise lookup.
    index().on(t.streetId, t.state, t.updatedAt.desc().nullsFirst(), t.id),
    index().on(t.enterpriseOrgId, t.state, t.updatedAt.desc().nullsFirst(), t.id),
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

export const milestoneKind = pgEnum("milestone_kind", MILESTONE_KINDS);

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
    /** The person who acted through the portal (null: a machine's API key, or the platform). */
    actorPersonId: uuid(),
    /** That person's name when they acted, kept as it was. */
    actorName: text(),
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
     * key is issued, so Mosquitto's logins (`npm run mqtt:setup`) can be generated without the key.
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
    // A street office's reads (its sensors, the incident statistics' elevators) find its street's
    // sensors without reading the whole city's.
    index().on(t.streetId),
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

/**
 * Every event a sensor sent, once: the primary key (sensor, eventId, occurredAt, type) is the
 * exactly-once guarantee. A resend repeats the whole event; a device whose counter restarted sends
 * an eventId again with a new occurredAt, which is a new event.
 *
 * Partitioned (db/migrations/0016_sensor_event_partitions.sql, iot/event-partitions.ts): by LIST
 * of type into heartbeats and evidence (detections, clears, faults), each by RANGE of occurredAt
 * into Asia/Shanghai days (heartbeats) or months (evidence) with a default partition for a range
 * not made yet. Expiry drops partitions. Drizzle describes the parent only; queries go through it.
 * The primary key holds the partition keys, as PostgreSQL requires of a partitioned table's keys.
 */
export const sensorEvents = pgTable(
  "sensor_events",
  {
    /**
     * No foreign keys here, unlike everywhere else: the ingest writes only the sensor and
     * facility ids of the sensors row it has just read, neither table ever deletes a row, and a
     * check per event (a lookup and a row lock on sensors and facilities) cost a share of
     * PostgreSQL's CPU per stored event (BENCHMARKS.md, "Ingest cost per event").
     */
    sensorId: uuid().notNull(),
    eventId: text().notNull(),
    /** Denormalised from the sensor: incidents are rebuilt per elevator from these rows. */
    facilityId: uuid().notNull(),
    type: sensorEventType().notNull(),
    occurredAt: timestamp({ withTimezone: true }).notNull(),
    receivedAt: timestamp({ withTimezone: true }).notNull(),
    /** The event as the sensor sent it (validated). */
    payload: jsonb().notNull(),
  },
  (t) => [
    primaryKey({ name: "sensor_events_pkey", columns: [t.sensorId, t.eventId, t.occurredAt, t.type] }),
    index("sensor_events_ebike_by_facility")
      .on(t.facilityId, t.occurredAt)
      .where(sql`${t.type} in ('ebike_detected', 'ebike_cleared')`),
    // No (sensor, occurredAt) index: no query reads a sensor's events in time order, and every
    // index is paid for on each of the ingest's thousands of inserts per second.
  ],
);

/**
 * A sensor's heartbeats of one Asia/Shanghai day, kept for good (raw heartbeats are kept
 * SENSOR_HEARTBEAT_RETENTION_DAYS). The ingest updates it in the statement that stores the
 * heartbeats, from the heartbeats it stored (a duplicate counts nothing). `longestGapS` and
 * `onlineS` are exact when a day's heartbeats arrive in time order (MQTT keeps a sensor's order,
 * a backlog is re-sent in order); one that arrives after a later one of its day counts in
 * `heartbeats`, `firstAt` and `lastAt` but cannot split a gap already measured.
 */
export const sensorDays = pgTable(
  "sensor_days",
  {
    sensorId: uuid()
      .notNull()
      .references(() => sensors.id),
    /** The Asia/Shanghai calendar day of the heartbeats' occurredAt. */
    day: date({ mode: "string" }).notNull(),
    heartbeats: integer().notNull(),
    firstAt: timestamp({ withTimezone: true }).notNull(),
    lastAt: timestamp({ withTimezone: true }).notNull(),
    /** The longest time between two consecutive heartbeats of the day, in seconds. */
    longestGapS: doublePrecision().notNull(),
    /**
     * Uptime: seconds of the day between consecutive heartbeats that came within the offline
     * threshold (MISSED_HEARTBEATS × intervalS), the time the sweeper counts the sensor online.
     */
    onlineS: doublePrecision().notNull(),
    /** The sensor's heartbeat interval when the day was last updated. */
    intervalS: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.sensorId, t.day] })],
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
    /** closedAt − openedAt in whole seconds, rounded down (iot/incidents.ts haltSeconds); null while open. */
    haltSeconds: integer(),
    /**
     * Whether a detection within it reported `carHalted: true` (iot/incidents.ts `haltedCar`). Kept
     * by the ingest's replay, so the statistics read a column instead of searching the events.
     */
    halted: boolean().notNull().default(false),
    acknowledgedAt: timestamp({ withTimezone: true }),
    acknowledgedByOrgId: uuid().references(() => organizations.id),
    /** The person who acknowledged it in the portal, and their name then (null: an API key). */
    acknowledgedByPersonId: uuid(),
    acknowledgedByName: text(),
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
    // The incident statistics of a street (src/services/incidents/stats.ts) read a year of its
    // incidents of one kind from this index alone: every column they need is in it.
    index("incidents_street_kind_figures_index").on(
      t.streetId,
      t.kind,
      t.openedAt,
      t.communityId,
      t.facilityId,
      t.halted,
      t.haltSeconds,
      t.classification,
      t.closedAt,
    ),
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
    /**
     * The start of the raw payload (iot/ingest.ts DEAD_LETTER_PAYLOAD_BYTES): UTF-8 text, or
     * base64 when it was not valid UTF-8 or held NUL bytes. Empty for `rate_limited`.
     */
    payload: text().notNull(),
    payloadBase64: boolean().notNull().default(false),
    /** The whole size in bytes of the messages the row stands for (at most the column's maximum). */
    payloadBytes: integer().notNull(),
    /**
     * Messages the row stands for: one, but a sensor's messages over its rate limit in one ingest
     * batch are one row.
     */
    messageCount: integer().notNull().default(1),
    reason: text().notNull(),
    receivedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [index().on(t.sensorId, t.receivedAt), index().on(t.receivedAt)],
);

export const incidentEventKind = pgEnum("incident_event_kind", [
  "opened",
  "updated",
  "closed",
  "acknowledged",
]);

/**
 * The incident change log behind the live feed (`GET /v1/incidents/stream`): one row per change of
 * an incident, its id the SSE event id. Written ONLY by the deferred trigger `incident_events_record`
 * on `incidents` (migration 0004), so every writer (ingest, the offline sweeper, the acknowledge
 * route) feeds it without knowing it exists. Kinds: an insert is `opened` (plus `closed` when the
 * row is inserted already closed); an update setting `closed_at` is `closed`, one setting
 * `acknowledged_at` is `acknowledged`, any other change `updated`.
 *
 * Ids grow in COMMIT order, not just insertion order (the trigger runs at commit under one advisory
 * lock), so a reader polling `id > cursor` never skips a row committed late.
 * No foreign key to `incidents`: the log outlives an incident the ingest removes, and a key check
 * would lock incident rows at commit.
 */
export const incidentEvents = pgTable(
  "incident_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    incidentId: uuid().notNull(),
    kind: incidentEventKind().notNull(),
    /** Denormalised from the incident for scope checks (as the incidents table does). */
    incidentKind: incidentKind().notNull(),
    sensorId: uuid().notNull(),
    facilityId: uuid().notNull(),
    communityId: uuid().notNull(),
    streetId: uuid().notNull(),
    /** The incident row as it was after the change (`to_jsonb`, snake_case keys). */
    snapshot: jsonb().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index().on(t.communityId, t.id),
    index().on(t.streetId, t.id),
    index().on(t.sensorId, t.id),
    index().on(t.incidentId, t.id),
  ],
);

// ---------------------------------------------------------------------------------------------
// Residents' fees: subscriptions, invoices, usage, payments, credit notes, refunds, reports.
// The rules are in contracts/billing.ts; the database enforces what must never happen twice
// (a period billed twice, a payment recorded twice) with unique keys, not only code checks.
// ---------------------------------------------------------------------------------------------

export const subscriptionKind = pgEnum("subscription_kind", SUBSCRIPTION_KINDS);
export const subscriptionState = pgEnum("subscription_state", SUBSCRIPTION_STATES);

/**
 * A household's (elevator) or a slot holder's (garage) 包月/包年 subscription to one recurring
 * fee item of an operating contract. `subscriberKey` names the subscriber the same way for
 * both (`household:<uuid>` or `slot:<ref>`); a subscriber holds at most one running
 * (active or suspended) subscription per contract.
 */
export const subscriptions = pgTable(
  "subscriptions",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    /** Denormalised for scope and invoice numbering. */
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    enterpriseOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    subscriberKey: text().notNull(),
    householdId: uuid().references(() => households.id),
    slotRef: text(),
    feeCode: text().notNull(),
    kind: subscriptionKind().notNull(),
    /** The price per bill from the schedule version in force on the start date (per floor). */
    unitPrice: money().notNull(),
    /** The fee schedule version the price was taken from. */
    priceVersionNo: integer().notNull(),
    startDate: date({ mode: "string" }).notNull(),
    /** The last day of use, inclusive (cancellation, switch, transfer). */
    endDate: date({ mode: "string" }),
    state: subscriptionState().notNull().default("active"),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("subscriptions_one_running_per_subscriber")
      .on(t.contractId, t.subscriberKey)
      .where(sql`${t.state} in (${RUNNING_SUBSCRIPTION_STATES_SQL})`),
    index().on(t.contractId, t.state),
    index().on(t.householdId),
    check(
      "subscriptions_subscriber",
      sql`(${t.householdId} is not null and ${t.slotRef} is null) or (${t.householdId} is null and ${t.slotRef} is not null)`,
    ),
    check("subscriptions_dates", sql`${t.endDate} is null or ${t.endDate} >= ${t.startDate} - 1`),
  ],
);

/** One billing run per contract and period; the unique key makes a second or concurrent run a no-op. */
export const billingRuns = pgTable(
  "billing_runs",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    period: text().notNull(),
    idempotencyKey: text(),
    requestedByOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    invoicesCreated: integer().notNull().default(0),
    totalAmount: money().notNull().default("0"),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.contractId, t.period), unique().on(t.contractId, t.idempotencyKey)],
);

/** Gap-free invoice (and credit-note) numbers per enterprise and year: `<prefix>-2026-000123`. */
export const documentCounters = pgTable(
  "document_counters",
  {
    enterpriseOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    series: text().notNull(),
    year: integer().notNull(),
    lastSeq: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.enterpriseOrgId, t.series, t.year] })],
);

export const invoiceKind = pgEnum("invoice_kind", ["subscription", "usage", "final"]);

export const invoices = pgTable(
  "invoices",
  {
    id: id(),
    number: text().notNull(),
    enterpriseOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    subscriberKey: text().notNull(),
    householdId: uuid().references(() => households.id),
    subscriptionId: uuid().references(() => subscriptions.id),
    billingRunId: uuid().references(() => billingRuns.id),
    kind: invoiceKind().notNull(),
    /** The billed month 'YYYY-MM' (Asia/Shanghai). */
    period: text().notNull(),
    issueDate: date({ mode: "string" }).notNull(),
    dueDate: date({ mode: "string" }).notNull(),
    /** Sum of the lines. */
    total: money().notNull(),
    /** Credit (from earlier overpayments or credit notes) applied when the invoice was issued. */
    creditApplied: money().notNull().default("0"),
    /** Paid so far by payments against it. */
    paidAmount: money().notNull().default("0"),
    createdAt: createdAt(),
  },
  (t) => [
    unique().on(t.enterpriseOrgId, t.number),
    // A subscription is billed once per period; a subscriber's usage once per period.
    uniqueIndex("invoices_subscription_period")
      .on(t.subscriptionId, t.period)
      .where(sql`${t.kind} in ('subscription', 'final')`),
    uniqueIndex("invoices_usage_period")
      .on(t.contractId, t.subscriberKey, t.period)
      .where(sql`${t.kind} = 'usage'`),
    index().on(t.contractId, t.subscriberKey),
    index().on(t.contractId, t.dueDate),
    check(
      "invoices_amounts",
      sql`${t.total} >= 0 and ${t.creditApplied} >= 0 and ${t.paidAmount} >= 0
      and ${t.creditApplied} + ${t.paidAmount} <= ${t.total}`,
    ),
  ],
);

export const invoiceLines = pgTable(
  "invoice_lines",
  {
    invoiceId: uuid()
      .notNull()
      .references(() => invoices.id),
    lineNo: integer().notNull(),
    code: text().notNull(),
    description: text().notNull(),
    quantity: numeric({ precision: 14, scale: 3 }).notNull(),
    unitPrice: money().notNull(),
    amount: money().notNull(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.lineNo] })],
);

export const usageKind = pgEnum("usage_kind", ["charging", "ride"]);

/** Metered use (garage charging sessions, elevator rides), idempotent by the session id. */
export const usageRecords = pgTable(
  "usage_records",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    sessionId: text().notNull(),
    subscriberKey: text().notNull(),
    householdId: uuid().references(() => households.id),
    kind: usageKind().notNull(),
    feeCode: text().notNull(),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    /** The Asia/Shanghai month the use falls in: the period it is billed in. */
    period: text().notNull(),
    quantity: numeric({ precision: 14, scale: 3 }).notNull(),
    invoiceId: uuid().references(() => invoices.id),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.contractId, t.sessionId), index().on(t.contractId, t.period)],
);

export const paymentMethod = pgEnum("payment_method", ["cash", "wechat", "alipay", "bank_transfer", "card"]);

export const payments = pgTable(
  "payments",
  {
    id: id(),
    invoiceId: uuid()
      .notNull()
      .references(() => invoices.id),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    enterpriseOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    subscriberKey: text().notNull(),
    amount: money().notNull(),
    /** The part that paid the invoice; the rest became a credit note. */
    appliedAmount: money().notNull(),
    method: paymentMethod().notNull(),
    externalRef: text().notNull(),
    receivedOn: date({ mode: "string" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique().on(t.enterpriseOrgId, t.externalRef),
    index().on(t.contractId, t.subscriberKey),
    check(
      "payments_amounts",
      sql`${t.amount} > 0 and ${t.appliedAmount} >= 0 and ${t.appliedAmount} <= ${t.amount}`,
    ),
  ],
);

export const creditReason = pgEnum("credit_reason", [
  "overpayment",
  "cancellation",
  "transfer",
  "adjustment",
]);

/** A credit for a subscriber: an explicit document, never an edit of an invoice. */
export const creditNotes = pgTable(
  "credit_notes",
  {
    id: id(),
    number: text().notNull(),
    enterpriseOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    subscriberKey: text().notNull(),
    reason: creditReason().notNull(),
    amount: money().notNull(),
    /** What is left to apply to later invoices or to refund. */
    remaining: money().notNull(),
    paymentId: uuid().references(() => payments.id),
    subscriptionId: uuid().references(() => subscriptions.id),
    note: text().notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [
    unique().on(t.enterpriseOrgId, t.number),
    index().on(t.contractId, t.subscriberKey),
    check(
      "credit_notes_amounts",
      sql`${t.amount} > 0 and ${t.remaining} >= 0 and ${t.remaining} <= ${t.amount}`,
    ),
  ],
);

/** Which credit paid which invoice, and how much. */
export const creditApplications = pgTable(
  "credit_applications",
  {
    creditNoteId: uuid()
      .notNull()
      .references(() => creditNotes.id),
    invoiceId: uuid()
      .notNull()
      .references(() => invoices.id),
    amount: money().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.creditNoteId, t.invoiceId] })],
);

/** Credit paid back to the subscriber. */
export const refunds = pgTable(
  "refunds",
  {
    id: id(),
    creditNoteId: uuid()
      .notNull()
      .references(() => creditNotes.id),
    amount: money().notNull(),
    method: paymentMethod().notNull(),
    externalRef: text().notNull(),
    paidOn: date({ mode: "string" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.creditNoteId, t.externalRef), check("refunds_amount", sql`${t.amount} > 0`)],
);

export const reportStatus = pgEnum("report_status", REPORT_STATUSES);

/** The enterprise's operation report for a period ('2026-11' or '2026-Q4'); revisions are new versions. */
export const operationReports = pgTable(
  "operation_reports",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    period: text().notNull(),
    versionNo: integer().notNull(),
    status: reportStatus().notNull().default("submitted"),
    /** Revenue by fee item, costs, usage, availability, maintenance records, safety incidents. */
    figures: jsonb().notNull(),
    submittedByOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    reviewedByOrgId: uuid().references(() => organizations.id),
    reviewedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.contractId, t.period, t.versionNo)],
);

export const reportComments = pgTable("report_comments", {
  id: id(),
  reportId: uuid()
    .notNull()
    .references(() => operationReports.id),
  authorOrgId: uuid()
    .notNull()
    .references(() => organizations.id),
  body: text().notNull(),
  createdAt: createdAt(),
});

/** The enterprise's assumptions behind the contract's financial model (take-up, costs, rate). */
export const financialAssumptions = pgTable("financial_assumptions", {
  contractId: uuid()
    .primaryKey()
    .references(() => contracts.id),
  assumptions: jsonb().notNull(),
  updatedByOrgId: uuid()
    .notNull()
    .references(() => organizations.id),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/** The street office's guidance funds actually paid out to a contract (committed = the terms). */
export const guidanceDisbursements = pgTable(
  "guidance_disbursements",
  {
    id: id(),
    contractId: uuid()
      .notNull()
      .references(() => contracts.id),
    amount: money().notNull(),
    paidOn: date({ mode: "string" }).notNull(),
    note: text().notNull().default(""),
    recordedByOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.contractId), check("guidance_disbursements_amount", sql`${t.amount} > 0`)],
);

// ---------------------------------------------------------------------------------------------
// Closing the loop on a halt: commands to sensors, snapshots, notifications
// ---------------------------------------------------------------------------------------------

export const deviceCommandType = pgEnum("device_command_type", DEVICE_COMMAND_TYPES);
export const deviceCommandState = pgEnum("device_command_state", DEVICE_COMMAND_STATES);

/**
 * A command to a sensor (contracts/device-commands.ts). Stored before it is published: the row is
 * the command's truth, the broker only carries it. Its id is the protocol's `commandId`.
 */
export const deviceCommands = pgTable(
  "device_commands",
  {
    id: id(),
    sensorId: uuid()
      .notNull()
      .references(() => sensors.id),
    /** Denormalised from the sensor for scope checks (as incidents are). */
    facilityId: uuid()
      .notNull()
      .references(() => facilities.id),
    communityId: uuid()
      .notNull()
      .references(() => communities.id),
    streetId: uuid()
      .notNull()
      .references(() => streets.id),
    type: deviceCommandType().notNull(),
    /** The type's own fields as the device receives them (`enabled`, `until`, `intervalS`). */
    params: jsonb().notNull().default({}),
    state: deviceCommandState().notNull().default("pending"),
    /** Why the person issued it (recorded in the audit log too). */
    reason: text().notNull(),
    /** The e-bike incident a `release` lets go of. */
    incidentId: uuid().references(() => incidents.id),
    issuedAt: timestamp({ withTimezone: true }).notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    sentAt: timestamp({ withTimezone: true }),
    resultAt: timestamp({ withTimezone: true }),
    /** The device's reason for `refused`, or why it expired. */
    resultReason: text(),
    issuedByOrgId: uuid()
      .notNull()
      .references(() => organizations.id),
    issuedByPersonId: uuid(),
    issuedByName: text(),
  },
  (t) => [
    index().on(t.sensorId, t.issuedAt),
    index().on(t.incidentId),
    index("device_commands_open").on(t.expiresAt).where(sql`${t.state} in ('pending', 'sent')`),
  ],
);

/**
 * A JPEG a sensor attached to one of its `ebike_detected` events, keyed like the event so that
 * either may arrive first. The bytes are here (`bytes`) or in a bucket under `objectKey`.
 */
export const eventSnapshots = pgTable(
  "event_snapshots",
  {
    sensorId: uuid()
      .notNull()
      .references(() => sensors.id),
    eventId: text().notNull(),
    byteSize: integer().notNull(),
    /** SHA-256 of the bytes, hex. */
    sha256: text().notNull(),
    bytes: bytea(),
    objectKey: text(),
    receivedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sensorId, t.eventId] }),
    index().on(t.receivedAt),
    check("event_snapshots_stored_once", sql`(${t.bytes} is null) <> (${t.objectKey} is null)`),
  ],
);

export const notificationType = pgEnum("notification_type", NOTIFICATION_TYPES);
export const notificationChannel = pgEnum("notification_channel", NOTIFICATION_CHANNELS);
export const notificationState = pgEnum("notification_state", NOTIFICATION_STATES);

/** Where an organization's notifications go: a webhook, a WeChat Work or a DingTalk group robot. */
export const notificationEndpoints = pgTable(
  "notification_endpoints",
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.id),
    name: text().notNull(),
    channel: notificationChannel().notNull(),
    url: text().notNull(),
    /**
     * The signing secret (a webhook's HMAC key, a DingTalk robot's `SEC…`). Kept as it is, not
     * hashed: the platform must sign with it. Never returned by a read, never logged.
     */
    secret: text(),
    disabledAt: timestamp({ withTimezone: true }),
    disabledReason: text(),
    /** Deliveries that ended failed in a row; the endpoint is disabled past a limit. */
    consecutiveFailures: integer().notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.organizationId)],
);

/** An endpoint subscribed to one type of event. */
export const notificationRules = pgTable(
  "notification_rules",
  {
    id: id(),
    endpointId: uuid()
      .notNull()
      .references(() => notificationEndpoints.id, { onDelete: "cascade" }),
    type: notificationType().notNull(),
    /** `halt_unacknowledged` only: minutes after the incident opened (the escalation step). */
    afterMinutes: integer(),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.endpointId, t.type)],
);

/**
 * The outbox of causes: one row per thing that happened, written in the same transaction as the
 * thing itself. The fan-out turns each into `notifications` for the endpoints subscribed to it.
 */
export const notificationEvents = pgTable(
  "notification_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    type: notificationType().notNull(),
    /** What it is about (an incident, command, contract, subscription or report id; a date). */
    subjectId: text().notNull(),
    /** Where it happened, for the scope of who is told (null: not tied to that level). */
    streetId: uuid(),
    communityId: uuid(),
    facilityId: uuid(),
    contractId: uuid(),
    enterpriseOrgId: uuid(),
    /** Set: only this organization's endpoints are told (a digest of its own scope). */
    organizationId: uuid(),
    /** Set: a cause a periodic job finds (an escalation step, a transfer reminder, a digest) is recorded once. */
    dedupeKey: text().unique(),
    payload: jsonb().notNull(),
    occurredAt: timestamp({ withTimezone: true }).notNull(),
    fannedOutAt: timestamp({ withTimezone: true }),
  },
  (t) => [index("notification_events_waiting").on(t.id).where(sql`${t.fannedOutAt} is null`)],
);

/** One notification to one endpoint; its id is the delivery id the receiver dedupes by. */
export const notifications = pgTable(
  "notifications",
  {
    id: id(),
    endpointId: uuid()
      .notNull()
      .references(() => notificationEndpoints.id, { onDelete: "cascade" }),
    type: notificationType().notNull(),
    /** Makes a second fan-out of the same cause to the same endpoint a no-op. */
    dedupeKey: text().notNull(),
    eventId: bigint({ mode: "number" }),
    payload: jsonb().notNull(),
    state: notificationState().notNull().default("pending"),
    attempts: integer().notNull().default(0),
    nextAttemptAt: timestamp({ withTimezone: true }).notNull(),
    /** Retried until then (24 h after it was queued, or after a replay), then failed. */
    retryUntil: timestamp({ withTimezone: true }).notNull(),
    /** Held by a deliverer until then (several instances share the outbox). */
    leaseUntil: timestamp({ withTimezone: true }),
    deliveredAt: timestamp({ withTimezone: true }),
    lastError: text(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    unique().on(t.endpointId, t.dedupeKey),
    index("notifications_due").on(t.nextAttemptAt).where(sql`${t.state} = 'pending'`),
    index().on(t.endpointId, t.createdAt),
  ],
);

/** The delivery log: every attempt of every notification, per endpoint. */
export const notificationAttempts = pgTable(
  "notification_attempts",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    notificationId: uuid()
      .notNull()
      .references(() => notifications.id, { onDelete: "cascade" }),
    endpointId: uuid().notNull(),
    attempt: integer().notNull(),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    durationMs: integer().notNull(),
    /** The receiver's HTTP status; null when no answer came (refused, timed out). */
    httpStatus: integer(),
    ok: boolean().notNull(),
    error: text(),
  },
  (t) => [index().on(t.endpointId, t.id), index().on(t.notificationId)],
);

/**
 * The first answer to each `Idempotency-Key` (src/idempotency.ts), per caller, kept 24 h
 * (runIdempotencyRetention). A row is inserted before the request runs and given its answer in the
 * same transaction, so a committed row always has one; only a success (2xx) is ever committed.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    /** Who sent it: `key:` + the SHA-256 of the bearer key (an organization's key or ADMIN_TOKEN). */
    scope: text().notNull(),
    key: text().notNull(),
    method: text().notNull(),
    path: text().notNull(),
    /** SHA-256 (hex) of the body: its canonical JSON, or its bytes when it is not JSON. */
    fingerprint: text().notNull(),
    status: integer(),
    /** Content-Type, Location and ETag of the answer, those it had. */
    headers: jsonb().$type<Record<string, string>>(),
    /**
     * The answer's body, AES-GCM-encrypted under a key derived from the caller's bearer key (which
     * the database never holds): answers show secrets once (a new API key, a sensor's key).
     */
    body: bytea(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [unique().on(t.scope, t.key), index().on(t.createdAt)],
);
