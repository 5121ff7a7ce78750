/**
 * The authorization matrix: for every route under /v1, what each role gets when it calls it with a
 * valid request inside its own street. matrix.test.ts checks it against the running API (and that it
 * names exactly the routes of the OpenAPI document); print-matrix.ts prints it for the README.
 *
 * This module has no test-runner or database imports, so `tsx` can run the printer on it.
 */
import { randomUUID } from "node:crypto";
import type { Role } from "../../src/auth/principal.js";
import type { World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

export const ROLES = [
  "platform_admin",
  "street_office",
  "enterprise",
  "owners_committee",
  "property_company",
] as const satisfies readonly Role[];

/**
 * - `allow`: passes authentication, scope and role checks — the status is not 401, 403 or 404
 *   (a 409 for the resource's state counts as allowed).
 * - `forbid`: 403 problem with code `forbidden` (the resource is in scope, the role may not act).
 * - `hidden`: 404 even in the caller's own street (outside its scope).
 * - `unauthenticated`: 401 — the route takes no organization key at all (sensor ingest takes the
 *   sensor's own key).
 */
export type Expectation = "allow" | "forbid" | "hidden" | "unauthenticated";

/** What a route needs to exist before it is called; each route gets a fresh world in this state. */
export type FixtureState =
  | "none"
  | "draft"
  | "submitted"
  | "changes_requested"
  | "voted"
  | "approved"
  | "signed"
  | "construction_recorded"
  | "operating"
  /**
   * An operating elevator contract written straight into the database (signed version 1 with the
   * elevator fee schedule, per-ride item included; operation since 2024-12-01 for 24 months; the
   * street office a party for its guidance funds) with the residents' fees of `Ledger`.
   */
  | "billed"
  /** No contract; a sensor of the enterprise on an elevator it operates, with an open e-bike incident. */
  | "sensor"
  /** A webhook endpoint of the property company, with one delivered notification. */
  | "endpoint";

/** One world (see createWorld) with what the routes address in it. */
export interface Fixture {
  world: World;
  /** A spare admin key of the world's enterprise (revoking it does not lock the tests out). */
  spareKeyId: string;
  /** A pending invitation to the world's enterprise's portal. */
  invitationId: string;
  /** A planned garage of the world's community operated by the world's enterprise. */
  garageId: string;
  /** The elevator contract between the world's parties, when the state asks for one. */
  contractId: string | null;
  /** The enterprise's sensor (state `sensor`) and the e-bike incident it opened. */
  sensor: {
    id: string;
    key: string;
    elevatorId: string;
    incidentId: string;
    commandId: string;
    /** The detection that opened the incident, which carries a snapshot. */
    snapshotEventId: string;
  } | null;
  /** The residents' fees on the fixture's contract (states `operating` and `billed`). */
  ledger: Ledger | null;
  /** The property company's notification endpoint and a delivery of it (state `endpoint`). */
  endpoint?: { id: string; deliveryId: string } | null;
  /**
   * What the contract's item reads address: a review comment (every contract state), the owners'
   * vote (from `voted`), guidance funds the street office paid (`operating`, `billed`); else null.
   */
  contractItems?: { commentId: string | null; voteId: string | null; disbursementId: string | null };
}

/**
 * What the fees routes address, all on the fixture's contract: a household's running monthly
 * subscription with its invoice for 2025-02 (issued by a billing run, partly paid) and a
 * cancellation credit note (partly refunded), two operation reports, and the enterprise's
 * financial assumptions (so the model answers 200).
 */
export interface Ledger {
  /** The subscribed household (floor 3 of the world's building) and its key `household:<id>`. */
  householdId: string;
  subscriberKey: string;
  /** A household of the same building that holds no subscription. */
  freeHouseholdId: string;
  subscriptionId: string;
  invoiceId: string;
  /** The run of 2025-02 that issued the invoice. */
  billingRunId: string;
  /** 10.00 paid against the invoice (30.00 still due). */
  paymentId: string;
  /** 20.00, of which 5.00 refunded: 15.00 left to apply or refund. */
  creditNoteId: string;
  /** The 5.00 refunded from the credit note. */
  refundId: string;
  /** Version 1 of the operation start month's report, submitted (to accept or query). */
  submittedReportId: string;
  /** Version 1 of the next month's report, queried by the owners committee (to revise). */
  queriedReportId: string;
}

/** A valid request for a route: zod validates before any role or scope check, so it must pass. */
export interface Call {
  params?: Record<string, string | number>;
  query?: Record<string, string | number>;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteEntry {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** As in the OpenAPI document, e.g. `/v1/contracts/{id}/approve`. */
  path: string;
  needs: FixtureState;
  expect: Record<Role, Expectation>;
  /** Builds the request; called once per call, so names it invents are fresh each time. */
  request: (fx: Fixture) => Call;
  /** What the row is about, when the expectation depends on the resource chosen. */
  note?: string;
  /** The resource belongs to no street (a district): every key reads another street's too. */
  unscoped?: true;
  /**
   * `sensor`: the route authenticates the sensor's own key instead of an organization's. The test
   * then checks that the sensor's key is let through and another street's sensor key is not.
   */
  auth?: "sensor";
}

/** The fixed clock of the matrix: 2025-03-01 10:00 Asia/Shanghai. */
export const NOW = new Date("2025-03-01T02:00:00Z");
/** The smallest body the snapshot routes take for a JPEG: SOI, a marker's first bytes, EOI. */
export const FIXTURE_JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xff, 0xd9]);

const unique = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;

function contractOf(fx: Fixture): string {
  if (!fx.contractId) throw new Error("this route needs a contract: set `needs` to a contract state");
  return fx.contractId;
}

const A = "allow";
const F = "forbid";
const H = "hidden";

/** Expectations in the order of ROLES: platform admin, street office, enterprise, OC, PC. */
function by(
  platform_admin: Expectation,
  street_office: Expectation,
  enterprise: Expectation,
  owners_committee: Expectation,
  property_company: Expectation,
): Record<Role, Expectation> {
  return { platform_admin, street_office, enterprise, owners_committee, property_company };
}

const everyone = by(A, A, A, A, A);
const platformOnly = by(A, F, F, F, F);
const streetAdmins = by(A, A, F, F, F);
/** Roles that keep the household register: everyone but the enterprise. */
const registerKeepers = by(A, A, F, A, A);
/**
 * Open to one organization role only; the platform admin is refused too (it acts for no
 * organization, so it is no party to a contract and operates no sensor).
 */
const only = (role: Exclude<Role, "platform_admin">): Record<Role, Expectation> => ({
  ...by(F, F, F, F, F),
  [role]: A,
});

const contractId = (fx: Fixture) => ({ params: { id: contractOf(fx) } });

function contractItemOf(fx: Fixture, item: keyof NonNullable<Fixture["contractItems"]>): string {
  const id = fx.contractItems?.[item];
  if (!id) throw new Error(`this route needs the contract's ${item}: set \`needs\` to a state that has one`);
  return id;
}

function ledgerOf(fx: Fixture): Ledger {
  if (!fx.ledger) throw new Error('this route needs residents\' fees: set `needs` to "billed"');
  return fx.ledger;
}

/** Figures of a month's operation report the billed contract's schedule accepts. */
export const REPORT_FIGURES = {
  revenueByItem: { "EL-M": "40.00" },
  costs: { maintenance: "500.00", electricity: "120.00", insurance: "80.00", other: "0.00" },
  usage: { rides: 0, kWh: "0", chargingSessions: 0 },
  availabilityPercent: "99.50",
  maintenanceRecords: [],
  safetyIncidents: 0,
};

/** The enterprise's assumptions behind the financial model (fee codes of the elevator schedule). */
export const FINANCIAL_ASSUMPTIONS = {
  takeUp: { rates: { "EL-M": "0.50", "EL-Y": "0.25" } },
  yearlyCosts: { maintenance: "1200.00", electricity: "360.00", insurance: "240.00", other: "0" },
  discountRate: "0.05",
};

function endpointOf(fx: Fixture): NonNullable<Fixture["endpoint"]> {
  if (!fx.endpoint) throw new Error('this route needs an endpoint: set `needs` to "endpoint"');
  return fx.endpoint;
}

/** An organization's own endpoints: the platform admin has none (403), another organization 404. */
const endpointOwner = by(F, H, H, H, A);
const endpointKeepers = by(F, A, A, A, A);

/** A household of the world's building (floor 1). */
function householdOf(fx: Fixture): string {
  const household = fx.world.households[0];
  if (!household) throw new Error("the world has no households");
  return household.id;
}

function sensorOf(fx: Fixture): NonNullable<Fixture["sensor"]> {
  if (!fx.sensor) throw new Error('this route needs a sensor: set `needs` to "sensor"');
  return fx.sensor;
}

export const MATRIX: RouteEntry[] = [
  // ---- places ----------------------------------------------------------------------------------
  {
    method: "POST",
    path: "/v1/districts",
    needs: "none",
    expect: platformOnly,
    request: () => ({ body: { name: unique("杨浦区") } }),
  },
  { method: "GET", path: "/v1/districts", needs: "none", expect: everyone, request: () => ({}) },
  {
    method: "GET",
    path: "/v1/districts/{id}",
    needs: "none",
    expect: everyone,
    request: (fx) => ({ params: { id: fx.world.street.districtId } }),
    unscoped: true,
  },
  {
    method: "POST",
    path: "/v1/streets",
    needs: "none",
    expect: platformOnly,
    request: (fx) => ({ body: { districtId: fx.world.street.districtId, name: unique("新江湾城街道") } }),
  },
  { method: "GET", path: "/v1/streets", needs: "none", expect: everyone, request: () => ({}) },
  {
    method: "GET",
    path: "/v1/streets/{id}",
    needs: "none",
    expect: everyone,
    request: (fx) => ({ params: { id: fx.world.street.id } }),
  },
  {
    method: "POST",
    path: "/v1/communities",
    needs: "none",
    expect: streetAdmins,
    request: (fx) => ({ body: { name: unique("国伟新苑"), streetId: fx.world.street.id } }),
  },
  { method: "GET", path: "/v1/communities", needs: "none", expect: everyone, request: () => ({}) },
  {
    method: "GET",
    path: "/v1/communities/{id}",
    needs: "none",
    expect: everyone,
    request: (fx) => ({ params: { id: fx.world.community.id } }),
  },
  {
    method: "POST",
    path: "/v1/communities/{id}/buildings",
    needs: "none",
    expect: registerKeepers,
    request: (fx) => ({ params: { id: fx.world.community.id }, body: { name: unique("号楼"), storeys: 6 } }),
  },
  {
    method: "GET",
    path: "/v1/communities/{id}/buildings",
    needs: "none",
    expect: everyone,
    request: (fx) => ({ params: { id: fx.world.community.id } }),
  },
  {
    method: "GET",
    path: "/v1/buildings/{id}",
    needs: "none",
    expect: everyone,
    request: (fx) => ({ params: { id: fx.world.building.id } }),
  },
  {
    method: "GET",
    path: "/v1/buildings/{id}/households",
    needs: "none",
    expect: by(A, A, H, A, A),
    request: (fx) => ({ params: { id: fx.world.building.id } }),
    note: "the enterprise has no contract in the community (with one, it may read)",
  },
  {
    method: "GET",
    path: "/v1/households/{id}",
    needs: "none",
    expect: by(A, A, H, A, A),
    request: (fx) => ({ params: { id: householdOf(fx) } }),
    note: "as its building's register: the enterprise has no contract in the community",
  },
  {
    method: "POST",
    path: "/v1/buildings/{id}/households/import",
    needs: "none",
    expect: registerKeepers,
    request: (fx) => ({
      params: { id: fx.world.building.id },
      body: [{ unit: "2", room: unique("R").replace(" ", "-"), floor: 1, floorArea: "58.20" }],
    }),
  },

  // ---- organizations and keys ------------------------------------------------------------------
  {
    method: "GET",
    path: "/v1/me",
    needs: "none",
    expect: everyone,
    request: () => ({}),
    note: "the caller's own organization, role and key",
  },
  {
    method: "POST",
    path: "/v1/organizations",
    needs: "none",
    expect: streetAdmins,
    request: (fx) => ({
      body: { kind: "enterprise", name: unique("电梯公司"), streetId: fx.world.street.id },
    }),
    note: "registers an enterprise in the caller's street",
  },
  { method: "GET", path: "/v1/organizations", needs: "none", expect: everyone, request: () => ({}) },
  {
    method: "GET",
    path: "/v1/organizations/{id}",
    needs: "none",
    expect: everyone,
    request: (fx) => ({ params: { id: fx.world.ownersCommittee.org.id } }),
  },
  {
    method: "PUT",
    path: "/v1/organizations/{id}/communities",
    needs: "none",
    expect: streetAdmins,
    request: (fx) => ({
      params: { id: fx.world.ownersCommittee.org.id },
      body: { communityIds: [fx.world.community.id] },
    }),
    note: "the owners committee's communities",
  },
  {
    method: "GET",
    path: "/v1/organizations/{id}/keys",
    needs: "none",
    expect: by(F, F, A, F, F),
    request: (fx) => ({ params: { id: fx.world.enterprise.org.id } }),
    note: "the enterprise's keys: its own admin keys only (the platform admin: street offices' keys only)",
  },
  {
    method: "POST",
    path: "/v1/organizations/{id}/keys",
    needs: "none",
    expect: by(F, F, A, F, F),
    request: (fx) => ({ params: { id: fx.world.enterprise.org.id }, body: { name: unique("key") } }),
    note: "a key of the enterprise",
  },
  {
    method: "GET",
    path: "/v1/organizations/{id}/keys/{keyId}",
    needs: "none",
    expect: by(F, F, A, F, F),
    request: (fx) => ({ params: { id: fx.world.enterprise.org.id, keyId: fx.spareKeyId } }),
    note: "a spare key of the enterprise, as its keys: its own admin keys only",
  },
  {
    method: "GET",
    path: "/v1/organizations/{id}/invitations",
    needs: "none",
    expect: by(F, F, A, F, F),
    request: (fx) => ({ params: { id: fx.world.enterprise.org.id } }),
    note: "the enterprise's invitations: its own admins only (the platform admin: street offices' only)",
  },
  {
    method: "GET",
    path: "/v1/organizations/{id}/invitations/{invitationId}",
    needs: "none",
    expect: by(F, F, A, F, F),
    request: (fx) => ({
      params: { id: fx.world.enterprise.org.id, invitationId: fx.invitationId },
    }),
    note: "a pending invitation of the enterprise, as its invitations",
  },
  {
    method: "POST",
    path: "/v1/organizations/{id}/invitations",
    needs: "none",
    expect: by(F, F, A, F, F),
    request: (fx) => ({ params: { id: fx.world.enterprise.org.id }, body: { name: unique("person") } }),
    note: "an invitation to the enterprise's portal: its own admin keys only (the platform admin: street offices only)",
  },
  {
    method: "DELETE",
    path: "/v1/organizations/{id}/keys/{keyId}",
    needs: "none",
    expect: by(F, F, A, F, F),
    request: (fx) => ({ params: { id: fx.world.enterprise.org.id, keyId: fx.spareKeyId } }),
    note: "a spare key of the enterprise",
  },

  // ---- facilities ------------------------------------------------------------------------------
  {
    method: "POST",
    path: "/v1/facilities",
    needs: "none",
    expect: by(A, A, A, F, F),
    request: (fx) => ({
      body: {
        kind: "garage",
        communityId: fx.world.community.id,
        name: unique("非机动车库"),
        garageSize: "mini",
        parkingCapacity: 20,
        chargingPoints: 8,
      },
    }),
  },
  { method: "GET", path: "/v1/facilities", needs: "none", expect: everyone, request: () => ({}) },
  {
    method: "GET",
    path: "/v1/facilities/{id}",
    needs: "none",
    expect: everyone,
    request: (fx) => ({ params: { id: fx.world.elevator.id } }),
    note: "a planned elevator nobody operates yet",
  },
  {
    method: "PATCH",
    path: "/v1/facilities/{id}",
    needs: "none",
    expect: by(A, A, A, F, F),
    request: (fx) => ({ params: { id: fx.garageId }, body: { name: unique("车库") } }),
    note: "a garage the enterprise operates (another enterprise's: 403)",
  },
  {
    method: "POST",
    path: "/v1/facilities/{id}/decommission",
    needs: "none",
    expect: streetAdmins,
    request: (fx) => ({ params: { id: fx.world.elevator.id }, body: { reason: "规划调整，不再加装" } }),
    note: "a planned elevator under no contract",
  },

  // ---- contracts -------------------------------------------------------------------------------
  {
    method: "POST",
    path: "/v1/contracts",
    needs: "none",
    expect: only("enterprise"),
    request: (fx) => ({
      body: {
        title: unique("加装电梯BOT合同"),
        communityId: fx.world.community.id,
        ownersCommitteeOrgId: fx.world.ownersCommittee.org.id,
        propertyCompanyOrgId: fx.world.propertyCompany.org.id,
        streetOfficeOrgId: fx.world.streetOffice.org.id,
        facilityIds: [fx.world.elevator.id],
        terms: elevatorTerms(),
      },
    }),
  },
  { method: "GET", path: "/v1/contracts", needs: "draft", expect: everyone, request: () => ({}) },
  { method: "GET", path: "/v1/contracts/{id}", needs: "draft", expect: everyone, request: contractId },
  {
    method: "GET",
    path: "/v1/contracts/{id}/versions",
    needs: "draft",
    expect: everyone,
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/versions/{versionNo}",
    needs: "draft",
    expect: everyone,
    request: (fx) => ({ params: { id: contractOf(fx), versionNo: 1 } }),
  },
  {
    method: "PUT",
    path: "/v1/contracts/{id}/versions/{versionNo}",
    needs: "draft",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx), versionNo: 1 },
      headers: { "if-match": '"r1"' },
      body: { terms: elevatorTerms({ operationTermMonths: 120 }) },
    }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/diff",
    needs: "draft",
    expect: everyone,
    request: (fx) => ({ params: { id: contractOf(fx) }, query: { fromVersionNo: 1, toVersionNo: 1 } }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/submit",
    needs: "draft",
    expect: only("enterprise"),
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/request-changes",
    needs: "submitted",
    expect: only("owners_committee"),
    request: (fx) => ({ params: { id: contractOf(fx) }, body: { reason: "6楼价格偏高" } }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/revise",
    needs: "changes_requested",
    expect: only("enterprise"),
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/votes",
    needs: "voted",
    expect: everyone,
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/votes/{voteId}",
    needs: "voted",
    expect: everyone,
    request: (fx) => ({ params: { id: contractOf(fx), voteId: contractItemOf(fx, "voteId") } }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/votes",
    needs: "submitted",
    expect: only("owners_committee"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: {
        heldOn: "2025-03-01",
        participatingArea: "720.00",
        participatingOwners: 12,
        yesArea: "720.00",
        yesOwners: 12,
      },
    }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/approve",
    needs: "voted",
    expect: only("owners_committee"),
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/sign",
    needs: "approved",
    expect: by(F, A, A, A, A),
    request: contractId,
    note: "the street office contributes guidance funds, so it signs too",
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/amendments",
    needs: "signed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: {
        effectiveDate: "2025-06-01",
        summary: "运营期延长至15个月",
        terms: elevatorTerms({ operationTermMonths: 15 }),
      },
    }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/comments",
    needs: "draft",
    expect: everyone,
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/comments/{commentId}",
    needs: "draft",
    expect: everyone,
    request: (fx) => ({ params: { id: contractOf(fx), commentId: contractItemOf(fx, "commentId") } }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/comments",
    needs: "submitted",
    expect: by(F, A, A, A, A),
    request: (fx) => ({ params: { id: contractOf(fx) }, body: { body: "请补充维保响应时间" } }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/milestones",
    needs: "signed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: { kind: "construction_start", occurredOn: "2025-03-01" },
    }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/milestones",
    needs: "operating",
    expect: everyone,
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/milestones/{kind}",
    needs: "construction_recorded",
    expect: everyone,
    request: (fx) => ({ params: { id: contractOf(fx), kind: "construction_start" } }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/signatures",
    needs: "signed",
    expect: everyone,
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/milestones/{kind}/confirm",
    needs: "construction_recorded",
    expect: only("owners_committee"),
    request: (fx) => ({ params: { id: contractOf(fx), kind: "construction_start" } }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/handback/{code}/check",
    needs: "operating",
    expect: only("owners_committee"),
    request: (fx) => ({
      params: { id: contractOf(fx), code: "INSPECTION" },
      body: { checkedOn: "2025-02-27" },
    }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/transfer",
    needs: "operating",
    expect: by(F, F, A, A, F),
    request: (fx) => ({ params: { id: contractOf(fx) }, body: {} }),
    note: "before the transfer date both allowed parties get 409 transfer_not_due",
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/terminate",
    needs: "signed",
    expect: by(F, A, A, A, F),
    request: (fx) => ({ params: { id: contractOf(fx) }, body: { reason: "企业资金链断裂" } }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/audit",
    needs: "draft",
    expect: everyone,
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/audit/verify",
    needs: "draft",
    expect: everyone,
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/transfers",
    needs: "operating",
    expect: everyone,
    request: () => ({ query: { withinDays: 3650 } }),
  },

  // ---- sensors and incidents -------------------------------------------------------------------
  {
    method: "POST",
    path: "/v1/sensors",
    needs: "sensor",
    expect: only("enterprise"),
    request: (fx) => ({ body: { facilityId: sensorOf(fx).elevatorId, name: unique("轿厢AI摄像头") } }),
    note: "on an elevator the enterprise operates",
  },
  { method: "GET", path: "/v1/sensors", needs: "sensor", expect: everyone, request: () => ({}) },
  {
    method: "GET",
    path: "/v1/sensors/{id}",
    needs: "sensor",
    expect: everyone,
    request: (fx) => ({ params: { id: sensorOf(fx).id } }),
  },
  {
    method: "POST",
    path: "/v1/sensors/{id}/rotate-key",
    needs: "sensor",
    expect: only("enterprise"),
    request: (fx) => ({ params: { id: sensorOf(fx).id } }),
  },
  {
    method: "POST",
    path: "/v1/sensors/{id}/revoke",
    needs: "sensor",
    expect: only("enterprise"),
    request: (fx) => ({ params: { id: sensorOf(fx).id } }),
  },
  {
    method: "POST",
    path: "/v1/sensors/{id}/events",
    needs: "sensor",
    auth: "sensor",
    expect: by("unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated"),
    request: (fx) => ({
      params: { id: sensorOf(fx).id },
      body: {
        eventId: unique("hb").replace(" ", "-"),
        type: "heartbeat",
        occurredAt: new Date(NOW.getTime() - 60_000).toISOString(),
        uptimeS: 3600,
        firmware: "1.4.2",
      },
    }),
    note: "the sensor's own key only: allowed with it, 401 with another street's sensor key",
  },
  {
    method: "GET",
    path: "/v1/sensors/{id}/commands/pending",
    needs: "sensor",
    auth: "sensor",
    expect: by("unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated"),
    request: (fx) => ({ params: { id: sensorOf(fx).id } }),
    note: "the sensor's own key only: its open commands; 401 with another street's sensor key",
  },
  {
    method: "POST",
    path: "/v1/sensors/{id}/command-results",
    needs: "sensor",
    auth: "sensor",
    expect: by("unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated"),
    request: (fx) => ({
      params: { id: sensorOf(fx).id },
      body: { commandId: sensorOf(fx).commandId, result: "applied" },
    }),
    note: "the sensor's own key only: an answer to its own command (404 for another's); 401 with another street's sensor key",
  },
  {
    method: "GET",
    path: "/v1/dead-letters",
    needs: "sensor",
    expect: by(A, A, A, F, F),
    request: () => ({}),
  },
  { method: "GET", path: "/v1/incidents", needs: "sensor", expect: everyone, request: () => ({}) },
  {
    method: "GET",
    path: "/v1/incidents/stream",
    needs: "sensor",
    expect: everyone,
    // follow=false: the backlog, then the stream ends (a following stream would never answer).
    request: () => ({ query: { lastEventId: 0, follow: "false" } }),
    note: "Server-Sent Events, filtered to the caller's scope (as GET /v1/incidents)",
  },
  {
    method: "GET",
    path: "/v1/incidents/stats",
    needs: "sensor",
    expect: everyone,
    request: () => ({ query: { groupBy: "elevator", from: "2025-02-01", to: "2025-03-01" } }),
    note: "computed over the caller's scope (as GET /v1/incidents)",
  },
  {
    method: "GET",
    path: "/v1/incidents/{id}",
    needs: "sensor",
    expect: everyone,
    request: (fx) => ({ params: { id: sensorOf(fx).incidentId } }),
    note: "an e-bike incident of the enterprise's sensor",
  },
  {
    method: "POST",
    path: "/v1/incidents/{id}/acknowledge",
    needs: "sensor",
    expect: only("property_company"),
    request: (fx) => ({ params: { id: sensorOf(fx).incidentId }, body: { classification: "confirmed" } }),
  },
  {
    method: "POST",
    path: "/v1/sensors/{id}/commands",
    needs: "sensor",
    expect: by(F, F, A, F, A),
    request: (fx) => ({ params: { id: sensorOf(fx).id }, body: { type: "release", reason: "误报：婴儿车" } }),
    note: "a release of the sensor's open e-bike halt; the platform admin is no organization to issue it",
  },
  {
    method: "GET",
    path: "/v1/sensors/{id}/commands",
    needs: "sensor",
    expect: everyone,
    request: (fx) => ({ params: { id: sensorOf(fx).id } }),
  },
  {
    method: "GET",
    path: "/v1/sensors/{id}/commands/{commandId}",
    needs: "sensor",
    expect: everyone,
    request: (fx) => ({ params: { id: sensorOf(fx).id, commandId: sensorOf(fx).commandId } }),
  },

  // ---- notification endpoints ------------------------------------------------------------------
  {
    method: "POST",
    path: "/v1/notification-endpoints",
    needs: "endpoint",
    expect: endpointKeepers,
    request: () => ({
      body: { name: unique("值班群"), channel: "webhook", url: "https://hooks.example.com/bot", rules: [] },
    }),
    note: "an admin key of the caller's own organization",
  },
  {
    method: "GET",
    path: "/v1/notification-endpoints",
    needs: "endpoint",
    expect: endpointKeepers,
    request: () => ({}),
    note: "the caller's own organization's",
  },
  {
    method: "GET",
    path: "/v1/notification-endpoints/{id}",
    needs: "endpoint",
    expect: endpointOwner,
    request: (fx) => ({ params: { id: endpointOf(fx).id } }),
    note: "the property company's endpoint",
  },
  {
    method: "PATCH",
    path: "/v1/notification-endpoints/{id}",
    needs: "endpoint",
    expect: endpointOwner,
    request: (fx) => ({ params: { id: endpointOf(fx).id }, body: { name: unique("值班群") } }),
  },
  {
    method: "DELETE",
    path: "/v1/notification-endpoints/{id}",
    needs: "endpoint",
    expect: endpointOwner,
    request: (fx) => ({ params: { id: endpointOf(fx).id } }),
  },
  {
    method: "POST",
    path: "/v1/notification-endpoints/{id}/rotate-secret",
    needs: "endpoint",
    expect: endpointOwner,
    request: (fx) => ({ params: { id: endpointOf(fx).id } }),
  },
  {
    method: "POST",
    path: "/v1/notification-endpoints/{id}/test",
    needs: "endpoint",
    expect: endpointOwner,
    request: (fx) => ({ params: { id: endpointOf(fx).id } }),
  },
  {
    method: "GET",
    path: "/v1/notification-endpoints/{id}/deliveries",
    needs: "endpoint",
    expect: endpointOwner,
    request: (fx) => ({ params: { id: endpointOf(fx).id } }),
  },
  {
    method: "POST",
    path: "/v1/notification-endpoints/{id}/deliveries/{deliveryId}/replay",
    needs: "endpoint",
    expect: endpointOwner,
    request: (fx) => ({ params: { id: endpointOf(fx).id, deliveryId: endpointOf(fx).deliveryId } }),
  },

  {
    method: "PUT",
    path: "/v1/sensors/{id}/events/{eventId}/snapshot",
    needs: "sensor",
    auth: "sensor",
    expect: by("unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated"),
    request: (fx) => ({
      params: { id: sensorOf(fx).id, eventId: unique("snap").replace(" ", "-") },
      body: FIXTURE_JPEG,
      headers: { "content-type": "image/jpeg" },
    }),
    note: "the sensor's own key only, as the event ingest",
  },
  {
    method: "GET",
    path: "/v1/incidents/{id}/snapshots",
    needs: "sensor",
    expect: by(F, F, F, A, A),
    request: (fx) => ({ params: { id: sensorOf(fx).incidentId } }),
    note: "evidence: only the property company and owners committee of the incident's community",
  },
  {
    method: "GET",
    path: "/v1/incidents/{id}/snapshots/{eventId}",
    needs: "sensor",
    expect: by(F, F, F, A, A),
    request: (fx) => ({ params: { id: sensorOf(fx).incidentId, eventId: sensorOf(fx).snapshotEventId } }),
    note: "the JPEG; as the list",
  },

  // ---- residents' fees: subscriptions ----------------------------------------------------------
  {
    method: "GET",
    path: "/v1/contracts/{id}/subscriptions",
    needs: "billed",
    expect: everyone,
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/subscriptions",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: { householdId: ledgerOf(fx).freeHouseholdId, feeCode: "EL-M", startDate: "2025-03-01" },
    }),
    note: "a household of a building the contract's elevator serves",
  },
  {
    method: "GET",
    path: "/v1/subscriptions/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).subscriptionId } }),
  },
  {
    method: "POST",
    path: "/v1/subscriptions/{id}/cancel",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({ params: { id: ledgerOf(fx).subscriptionId }, body: { cancelDate: "2025-03-31" } }),
  },
  {
    method: "POST",
    path: "/v1/subscriptions/{id}/switch-to-yearly",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: ledgerOf(fx).subscriptionId },
      body: { switchDate: "2025-03-10", feeCode: "EL-Y" },
    }),
  },

  // ---- residents' fees: billing runs, invoices, usage ------------------------------------------
  {
    method: "GET",
    path: "/v1/contracts/{id}/billing-runs",
    needs: "billed",
    expect: everyone,
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/billing-runs",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      headers: { "idempotency-key": unique("run").replace(" ", "-") },
      body: { period: "2025-03" },
    }),
  },
  {
    method: "GET",
    path: "/v1/billing-runs/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).billingRunId } }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/invoices",
    needs: "billed",
    expect: everyone,
    request: contractId,
  },
  {
    method: "GET",
    path: "/v1/invoices/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).invoiceId } }),
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/usage",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: [
        {
          sessionId: unique("ride").replace(" ", "-"),
          householdId: ledgerOf(fx).householdId,
          kind: "ride",
          feeCode: "EL-RIDE",
          startedAt: "2025-02-20T08:30:00+08:00",
          quantity: "3",
        },
      ],
    }),
  },

  // ---- residents' fees: payments, credit notes, refunds ----------------------------------------
  {
    method: "GET",
    path: "/v1/invoices/{id}/payments",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).invoiceId } }),
  },
  {
    method: "POST",
    path: "/v1/invoices/{id}/payments",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: ledgerOf(fx).invoiceId },
      body: {
        amount: "10.00",
        method: "wechat",
        externalRef: unique("WX").replace(" ", "-"),
        receivedOn: "2025-02-28",
      },
    }),
  },
  {
    method: "GET",
    path: "/v1/payments/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).paymentId } }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/credit-notes",
    needs: "billed",
    expect: everyone,
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/credit-notes",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: { subscriberKey: ledgerOf(fx).subscriberKey, amount: "5.00", note: "电梯停运两天，减免" },
    }),
  },
  {
    method: "GET",
    path: "/v1/credit-notes/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).creditNoteId } }),
  },
  {
    method: "POST",
    path: "/v1/credit-notes/{id}/refunds",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: ledgerOf(fx).creditNoteId },
      body: {
        amount: "5.00",
        method: "cash",
        externalRef: unique("CASH").replace(" ", "-"),
        paidOn: "2025-02-28",
      },
    }),
  },
  {
    method: "GET",
    path: "/v1/refunds/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).refundId } }),
  },

  // ---- residents' fees: statements and receivables ---------------------------------------------
  {
    method: "GET",
    path: "/v1/statements/households/{householdId}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({
      params: { householdId: ledgerOf(fx).householdId },
      query: { contractId: contractOf(fx) },
    }),
    note: "the subscribed household, on the contract of its building's elevator",
  },
  {
    method: "GET",
    path: "/v1/statements/subscribers",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ query: { contractId: contractOf(fx), subscriberKey: ledgerOf(fx).subscriberKey } }),
    note: "the contract is in the query (another street's: 404, not checked by the matrix)",
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/receivables",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: contractOf(fx) }, query: { asOf: "2025-03-01" } }),
  },

  // ---- operation reports -----------------------------------------------------------------------
  {
    method: "GET",
    path: "/v1/contracts/{id}/reports",
    needs: "billed",
    expect: everyone,
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/reports",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: { period: "2025-02", figures: REPORT_FIGURES },
    }),
    note: "a month that is over and not reported yet",
  },
  {
    method: "GET",
    path: "/v1/reports/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).submittedReportId } }),
  },
  {
    method: "POST",
    path: "/v1/reports/{id}/accept",
    needs: "billed",
    expect: only("owners_committee"),
    request: (fx) => ({ params: { id: ledgerOf(fx).submittedReportId } }),
    note: "a submitted report",
  },
  {
    method: "POST",
    path: "/v1/reports/{id}/query",
    needs: "billed",
    expect: only("owners_committee"),
    request: (fx) => ({
      params: { id: ledgerOf(fx).submittedReportId },
      body: { comment: "维保费用偏高，请附发票" },
    }),
    note: "a submitted report",
  },
  {
    method: "POST",
    path: "/v1/reports/{id}/revise",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({
      params: { id: ledgerOf(fx).queriedReportId },
      body: { figures: REPORT_FIGURES, comment: "已补充维保发票" },
    }),
    note: "a queried report",
  },
  {
    method: "GET",
    path: "/v1/reports/{id}/comments",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: ledgerOf(fx).queriedReportId } }),
  },

  // ---- financial model and guidance funds ------------------------------------------------------
  {
    method: "PUT",
    path: "/v1/contracts/{id}/financial-assumptions",
    needs: "billed",
    expect: only("enterprise"),
    request: (fx) => ({ params: { id: contractOf(fx) }, body: FINANCIAL_ASSUMPTIONS }),
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/financial-assumptions",
    needs: "billed",
    expect: everyone,
    request: contractId,
    note: "as the enterprise set them (before that, everyone gets 404 financial_assumptions_missing)",
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/financial-model",
    needs: "billed",
    expect: everyone,
    request: contractId,
    note: "the enterprise has set its assumptions (before that, everyone gets 404 financial_assumptions_missing)",
  },
  {
    method: "GET",
    path: "/v1/contracts/{id}/guidance-disbursements",
    needs: "billed",
    expect: everyone,
    request: contractId,
  },
  {
    method: "POST",
    path: "/v1/contracts/{id}/guidance-disbursements",
    needs: "billed",
    expect: only("street_office"),
    request: (fx) => ({
      params: { id: contractOf(fx) },
      body: { amount: "20000.00", paidOn: "2025-02-20", note: "第一笔引导资金" },
    }),
    note: "the street office that is the contract's party (one that puts in no guidance funds: 403)",
  },
  {
    method: "GET",
    path: "/v1/guidance-disbursements/{id}",
    needs: "billed",
    expect: everyone,
    request: (fx) => ({ params: { id: contractItemOf(fx, "disbursementId") } }),
  },

  // ---- dashboard -------------------------------------------------------------------------------
  {
    method: "GET",
    path: "/v1/streets/{id}/dashboard",
    needs: "billed",
    expect: streetAdmins,
    request: (fx) => ({ params: { id: fx.world.street.id } }),
  },
];

export const routeKey = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;

/** Whether the route addresses a resource by a path parameter (so another street's answers 404). */
export const addressesResource = (r: RouteEntry) => r.path.includes("{") && !r.unscoped;
