/**
 * Residents' household links: a long random token an enterprise or a property company issues per
 * household (printed on the bill as a QR code), shown once and stored only as its SHA-256. Whoever
 * holds it reads the household's page without an account: its subscriptions, invoices and what is
 * outstanding, the contract summary and the date the facility becomes the residents'. Revocable.
 *
 * Who may issue (and revoke, list): the property company serving the household's community, or
 * an enterprise with a contract in it (the same test as reading the household register,
 * contracts/place-permissions.ts `read_household_register`). Other roles: 403; a household outside
 * the caller's scope: 404, as everywhere.
 */
import { and, asc, eq, ilike, inArray, or, type SQL, sql } from "drizzle-orm";
import { isUuid } from "../../contracts/ids.js";
import {
  COMMITTED_STATES,
  type ContractState,
  daysBetween,
  type FeeItem,
  shanghaiDate,
} from "../../contracts/index.js";
import { type Queryable, queryRows } from "../../db/database.js";
import { generateToken, hashKey } from "../../db/keys.js";
import {
  buildings,
  communities,
  contractFacilities,
  contracts,
  facilities,
  householdLinks,
  households,
  organizations,
} from "../../db/schema.js";
import type { Principal } from "../auth/principal.js";
import { communityScope, requireOrg } from "../auth/scope.js";
import { ApiError } from "../errors.js";
import type { ServiceContext, SystemContext } from "./context.js";
import { findVersion, termsOf, versionInForce } from "./contracts/store.js";
import { householdStatement, type Statement } from "./fees/statements.js";

export type HouseholdLinkRow = typeof householdLinks.$inferSelect;

/** The roles that issue household links. */
const ISSUERS = ["enterprise", "property_company"] as const;
/** Characters of the token kept to recognise a link in a list (of its 43). */
const PREFIX_LENGTH = 6;
/** A token of generateToken(): 32 random bytes, base64url. */
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** A household with where it is, as the issuers' list and the resident's page show it. */
export interface HouseholdPlace {
  id: string;
  communityId: string;
  communityName: string;
  streetId: string;
  buildingId: string;
  buildingName: string;
  unit: string;
  room: string;
  floor: number;
}

const placeColumns = {
  id: households.id,
  communityId: communities.id,
  communityName: communities.name,
  streetId: communities.streetId,
  buildingId: buildings.id,
  buildingName: buildings.name,
  unit: households.unit,
  room: households.room,
  floor: households.floor,
};

/**
 * Households an issuer may issue links for: in the property company's communities, or in a
 * community where the enterprise has a contract.
 */
function issuerScope(p: Principal): SQL {
  const inCommunity = communityScope(p, communities.streetId, communities.id);
  if (p.role !== "enterprise") return inCommunity;
  return and(
    inCommunity,
    sql`exists (select 1 from ${contracts} c where c.community_id = ${communities.id}
      and c.enterprise_org_id = ${p.orgId ?? "00000000-0000-0000-0000-000000000000"})`,
  ) as SQL;
}

function placesQuery(db: Queryable, where: SQL | undefined) {
  return db
    .select(placeColumns)
    .from(households)
    .innerJoin(buildings, eq(buildings.id, households.buildingId))
    .innerJoin(communities, eq(communities.id, buildings.communityId))
    .where(where);
}

/** The household if the caller may issue links for it: 403 for a role that never may, else 404. */
async function findIssuable(ctx: ServiceContext, householdId: string): Promise<HouseholdPlace> {
  requireOrg(ctx.principal, ISSUERS, "issue household links");
  if (!isUuid(householdId)) throw ApiError.notFound("The household");
  const [row] = await placesQuery(ctx.db, and(eq(households.id, householdId), issuerScope(ctx.principal)));
  if (!row) throw ApiError.notFound("The household");
  return row;
}

export interface HouseholdSearch {
  /** Words of the building's name, or the room (or unit) number. */
  q?: string | undefined;
  limit: number;
  offset: number;
}

/** A household of the issuer's scope, with how many of its links still work. */
export type IssuableHousehold = HouseholdPlace & { activeLinks: number };

/** The households the caller may issue links for, by community, building, unit and room. */
export async function listIssuableHouseholds(
  ctx: ServiceContext,
  search: HouseholdSearch,
): Promise<{ items: IssuableHousehold[]; total: number }> {
  requireOrg(ctx.principal, ISSUERS, "issue household links");
  const words = search.q?.trim();
  const like = words ? `%${words.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null;
  const where = and(
    issuerScope(ctx.principal),
    like
      ? or(
          ilike(buildings.name, like),
          ilike(households.room, like),
          ilike(households.unit, like),
          ilike(communities.name, like),
        )
      : undefined,
  );
  const [items, counted] = await Promise.all([
    ctx.db
      .select({
        ...placeColumns,
        activeLinks: sql<number>`(select count(*)::int from ${householdLinks} l
          where l.household_id = ${households.id} and l.revoked_at is null)`,
      })
      .from(households)
      .innerJoin(buildings, eq(buildings.id, households.buildingId))
      .innerJoin(communities, eq(communities.id, buildings.communityId))
      .where(where)
      .orderBy(
        asc(communities.name),
        asc(buildings.name),
        asc(households.unit),
        asc(households.floor),
        asc(households.room),
      )
      .limit(search.limit)
      .offset(search.offset),
    ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(households)
      .innerJoin(buildings, eq(buildings.id, households.buildingId))
      .innerJoin(communities, eq(communities.id, buildings.communityId))
      .where(where),
  ]);
  return { items, total: counted[0]?.n ?? 0 };
}

/** A household's link with the name of the organization that issued it. */
export interface LinkListed {
  link: HouseholdLinkRow;
  issuedBy: string;
}

/** The household (if the caller may issue for it) and its links, newest first. */
export async function listLinks(
  ctx: ServiceContext,
  householdId: string,
): Promise<{ household: HouseholdPlace; links: LinkListed[] }> {
  const household = await findIssuable(ctx, householdId);
  const links = await ctx.db
    .select({ link: householdLinks, issuedBy: organizations.name })
    .from(householdLinks)
    .innerJoin(organizations, eq(organizations.id, householdLinks.issuedByOrgId))
    .where(eq(householdLinks.householdId, household.id))
    .orderBy(sql`${householdLinks.createdAt} desc`, asc(householdLinks.id));
  return { household, links };
}

/** A link as issued: its row and its token, shown this once. */
export interface IssuedLink {
  row: HouseholdLinkRow;
  token: string;
}

export async function issueLink(ctx: ServiceContext, householdId: string): Promise<IssuedLink> {
  const household = await findIssuable(ctx, householdId);
  const issued = generateToken();
  const [row] = await ctx.db
    .insert(householdLinks)
    .values({
      householdId: household.id,
      tokenHash: issued.hash,
      prefix: issued.token.slice(0, PREFIX_LENGTH),
      // requireOrg in findIssuable: an organization's principal.
      issuedByOrgId: ctx.principal.orgId ?? "",
      createdAt: ctx.clock(),
    })
    .returning();
  if (!row) throw new Error("insert returned nothing");
  return { row, token: issued.token };
}

/**
 * Stops a link from working. Any organization that may issue links for the household may revoke
 * any of its links (a resident who lost the bill asks the property company, whoever issued it).
 */
export async function revokeLink(
  ctx: ServiceContext,
  householdId: string,
  linkId: string,
): Promise<HouseholdLinkRow> {
  const household = await findIssuable(ctx, householdId);
  if (!isUuid(linkId)) throw ApiError.notFound("The link");
  const [row] = await ctx.db
    .update(householdLinks)
    .set({ revokedAt: sql`coalesce(${householdLinks.revokedAt}, ${ctx.clock().toISOString()}::timestamptz)` })
    .where(and(eq(householdLinks.id, linkId), eq(householdLinks.householdId, household.id)))
    .returning();
  if (!row) throw ApiError.notFound("The link");
  return row;
}

// ---- the resident's read-only view ------------------------------------------------------------

/** One contract as the household's page shows it. */
export interface HouseholdContract {
  id: string;
  title: string;
  state: ContractState;
  enterpriseName: string;
  facilities: { name: string; kind: "garage" | "elevator" }[];
  /** The fee schedule in force today (else the signed one, else the current version's). */
  fees: FeeItem[];
  operationStartDate: string | null;
  /** The day the facilities become the residents' (the transfer date, or the day it happened). */
  transferDate: string | null;
  transferred: boolean;
  /** Days from today to the transfer date (negative once past); null without a date. */
  daysUntilTransfer: number | null;
  /** The household's ledger on the contract (subscriptions, invoices, payments, totals). */
  statement: Statement;
}

export interface HouseholdView {
  household: HouseholdPlace;
  today: string;
  contracts: HouseholdContract[];
}

/**
 * What a link's holder may read: the application layer's read functions (the statement) are
 * asked with a principal that sees the household's street and issues nothing (no organization,
 * so every command refuses it); only contracts of the household's own community, selected below,
 * are read with it.
 */
function linkReader(household: HouseholdPlace): Principal {
  return {
    role: "street_office",
    orgId: null,
    keyId: null,
    keyRole: "member",
    streetId: household.streetId,
    communityIds: [household.communityId],
    person: null,
  };
}

/**
 * The household's page a link's token opens, or null when the token is unknown or revoked.
 * Contracts shown: those the household subscribes to or was invoiced on, and the signed (or
 * later) contracts of elevators serving its building.
 */
export async function openLink(sys: SystemContext, token: string): Promise<HouseholdView | null> {
  if (!TOKEN_RE.test(token)) return null;
  const [found] = await sys.db
    .select({ link: householdLinks, place: placeColumns })
    .from(householdLinks)
    .innerJoin(households, eq(households.id, householdLinks.householdId))
    .innerJoin(buildings, eq(buildings.id, households.buildingId))
    .innerJoin(communities, eq(communities.id, buildings.communityId))
    .where(eq(householdLinks.tokenHash, hashKey(token)));
  if (!found || found.link.revokedAt) return null;
  const household = found.place;
  const subscriberKey = `household:${household.id}`;
  const ids = await queryRows<{ id: string }>(
    sys.db,
    sql`select c.id from contracts c
      where c.community_id = ${household.communityId}
        and (exists (select 1 from subscriptions s where s.contract_id = c.id and s.subscriber_key = ${subscriberKey})
          or exists (select 1 from invoices i where i.contract_id = c.id and i.subscriber_key = ${subscriberKey})
          or (c.state in (${sql.join(
            COMMITTED_STATES.map((s) => sql`${s}`),
            sql`, `,
          )})
            and exists (select 1 from contract_facilities cf join facilities f on f.id = cf.facility_id
              where cf.contract_id = c.id and f.kind = 'elevator' and f.building_id = ${household.buildingId})))
      order by c.title, c.id`,
  );
  const today = shanghaiDate(sys.clock());
  if (!ids.length) return { household, today, contracts: [] };
  const ctx: ServiceContext = { db: sys.db, clock: sys.clock, principal: linkReader(household) };
  const contractIds = ids.map((r) => r.id);
  const [rows, facilityRows] = await Promise.all([
    sys.db
      .select({ contract: contracts, enterpriseName: organizations.name })
      .from(contracts)
      .innerJoin(organizations, eq(organizations.id, contracts.enterpriseOrgId))
      .where(inArray(contracts.id, contractIds)),
    sys.db
      .select({ contractId: contractFacilities.contractId, name: facilities.name, kind: facilities.kind })
      .from(contractFacilities)
      .innerJoin(facilities, eq(facilities.id, contractFacilities.facilityId))
      .where(inArray(contractFacilities.contractId, contractIds))
      .orderBy(asc(facilities.name)),
  ]);
  const byId = new Map(rows.map((r) => [r.contract.id, r]));
  const views: HouseholdContract[] = [];
  for (const id of contractIds) {
    const row = byId.get(id);
    if (!row) continue;
    const c = row.contract;
    const version =
      (await versionInForce(sys.db, c.id, today)) ??
      (await findVersion(sys.db, c.id, c.signedVersionNo ?? c.currentVersionNo));
    const transferred = c.state === "transferred";
    const transferDate = transferred ? (c.transferredOn ?? c.transferDate) : c.transferDate;
    views.push({
      id: c.id,
      title: c.title,
      state: c.state,
      enterpriseName: row.enterpriseName,
      facilities: facilityRows.filter((f) => f.contractId === c.id).map(({ name, kind }) => ({ name, kind })),
      fees: (await termsOf(sys.db, version)).feeSchedule,
      operationStartDate: c.operationStartDate,
      transferDate,
      transferred,
      daysUntilTransfer: transferDate ? daysBetween(today, transferDate) : null,
      statement: await householdStatement(ctx, household.id, c.id),
    });
  }
  return { household, today, contracts: views };
}
