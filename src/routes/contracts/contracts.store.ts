/**
 * Reading and writing contracts: the queries every contract handler shares. Scope is applied
 * here, once, so no handler can forget it.
 */
import { and, asc, desc, eq, inArray, lte, or } from "drizzle-orm";
import {
  allowedActions,
  allowedReviewActions,
  type ContractAction,
  type ContractDocument,
  type ContractTerms,
  DEFAULT_GUIDANCE_SHARE,
  documentHash,
  type FeeItem,
  formatMoney,
  fundingSummary,
  money,
  type Party,
  type ReviewAction,
  requiredSigners,
} from "../../../contracts/index.js";
import type { Queryable, Tx } from "../../../db/database.js";
import {
  contractFacilities,
  contractMilestones,
  contractSignatures,
  contracts,
  contractVersions,
  feeItems,
  handbackChecks,
} from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";

export type ContractRow = typeof contracts.$inferSelect;
export type VersionRow = typeof contractVersions.$inferSelect;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The contract if the caller may see it; 404 otherwise. `lock` takes the row lock for a command. */
export async function findContract(
  db: Queryable,
  p: Principal,
  id: string,
  lock = false,
): Promise<ContractRow> {
  const query = db
    .select()
    .from(contracts)
    .where(and(eq(contracts.id, id), contractScope(p)));
  const [row] = lock ? await query.for("update") : await query;
  if (!row) throw ApiError.notFound("The contract");
  return row;
}

/** The caller's part in this contract, or null when it is only watching (or not a party at all). */
export function partyOf(p: Principal, c: ContractRow): Party | null {
  switch (p.role) {
    case "enterprise":
      return p.orgId === c.enterpriseOrgId ? "enterprise" : null;
    case "owners_committee":
      return p.orgId === c.ownersCommitteeOrgId ? "owners_committee" : null;
    case "property_company":
      return p.orgId === c.propertyCompanyOrgId ? "property_company" : null;
    case "street_office":
      // A party when it puts in guidance funds; otherwise it watches its street's contracts.
      return p.orgId === c.streetOfficeOrgId ? "street_office" : null;
    default:
      return null;
  }
}

/** The caller's party, or 403 when it takes no part in this contract. */
export function requireParty(p: Principal, c: ContractRow, action: string): Party {
  const party = partyOf(p, c);
  if (!party) throw ApiError.forbidden(`Only a party to this contract may ${action}.`);
  return party;
}

export async function findVersion(db: Queryable, contractId: string, versionNo: number, lock = false) {
  const query = db
    .select()
    .from(contractVersions)
    .where(and(eq(contractVersions.contractId, contractId), eq(contractVersions.versionNo, versionNo)));
  const [row] = lock ? await query.for("update") : await query;
  if (!row) throw ApiError.notFound(`Version ${versionNo}`);
  return row;
}

/**
 * The signed terms that apply on `date`: the latest signed amendment effective on or before it,
 * else the originally signed version. (A superseded version still applied before its successor's
 * effective date.) Null when nothing is signed yet.
 */
export async function versionInForce(
  db: Queryable,
  contractId: string,
  date: string,
): Promise<VersionRow | null> {
  const [row] = await db
    .select()
    .from(contractVersions)
    .where(
      and(
        eq(contractVersions.contractId, contractId),
        inArray(contractVersions.status, ["signed", "superseded"]),
        or(eq(contractVersions.isAmendment, false), lte(contractVersions.effectiveDate, date)),
      ),
    )
    .orderBy(desc(contractVersions.versionNo))
    .limit(1);
  return row ?? null;
}

export async function termsOf(db: Queryable, version: VersionRow): Promise<ContractTerms> {
  const items = await db
    .select()
    .from(feeItems)
    .where(eq(feeItems.versionId, version.id))
    .orderBy(asc(feeItems.position));
  return {
    totalInvestment: version.totalInvestment,
    enterpriseCapital: version.enterpriseCapital,
    guidanceFunds: version.guidanceFunds,
    operationTermMonths: version.operationTermMonths,
    handbackConditions: version.handbackConditions,
    maintenanceObligations: version.maintenanceObligations,
    feeSchedule: items.map(
      (i): FeeItem => ({
        code: i.code,
        name: i.name,
        kind: i.kind,
        price: i.price,
        unit: i.unit,
        ...(i.floorPrices?.length ? { floorPrices: i.floorPrices } : {}),
      }),
    ),
  };
}

/** The columns of a version that hold its terms (the fee items are rows of their own). */
function termColumns(t: ContractTerms) {
  return {
    totalInvestment: t.totalInvestment,
    enterpriseCapital: t.enterpriseCapital,
    guidanceFunds: t.guidanceFunds,
    operationTermMonths: t.operationTermMonths,
    maintenanceObligations: t.maintenanceObligations,
    handbackConditions: t.handbackConditions,
  };
}

async function writeFeeItems(tx: Tx, versionId: string, t: ContractTerms) {
  if (!t.feeSchedule.length) return;
  await tx.insert(feeItems).values(
    t.feeSchedule.map((item, position) => ({
      versionId,
      position,
      code: item.code,
      name: item.name,
      kind: item.kind,
      unit: item.unit,
      price: item.price,
      // Stored as JSON, so normalise here what numeric(14,2) normalises for the other amounts.
      floorPrices: item.floorPrices?.length
        ? [...item.floorPrices]
            .sort((a, b) => a.floor - b.floor)
            .map((fp) => ({ floor: fp.floor, price: formatMoney(money(fp.price)) }))
        : null,
    })),
  );
}

export async function insertVersion(
  tx: Tx,
  values: {
    contractId: string;
    versionNo: number;
    isAmendment: boolean;
    effectiveDate: string | null;
    summary: string;
  },
  terms: ContractTerms,
): Promise<VersionRow> {
  const [row] = await tx
    .insert(contractVersions)
    .values({ ...values, ...termColumns(terms) })
    .returning();
  if (!row) throw new Error("insert returned nothing");
  await writeFeeItems(tx, row.id, terms);
  return row;
}

export async function replaceTerms(
  tx: Tx,
  version: VersionRow,
  changes: { summary?: string | undefined; effectiveDate?: string | undefined; terms: ContractTerms },
  now: Date,
): Promise<VersionRow> {
  const [row] = await tx
    .update(contractVersions)
    .set({
      ...termColumns(changes.terms),
      ...(changes.summary !== undefined ? { summary: changes.summary } : {}),
      ...(changes.effectiveDate !== undefined && version.isAmendment
        ? { effectiveDate: changes.effectiveDate }
        : {}),
      revision: version.revision + 1,
      updatedAt: now,
    })
    .where(and(eq(contractVersions.id, version.id), eq(contractVersions.revision, version.revision)))
    .returning();
  if (!row) throw staleRevision();
  await tx.delete(feeItems).where(eq(feeItems.versionId, version.id));
  await writeFeeItems(tx, version.id, changes.terms);
  return row;
}

export function staleRevision() {
  return new ApiError(
    412,
    "stale_revision",
    "Precondition failed",
    "The draft was changed since you read it: GET it again, reapply your edit, and send the new ETag.",
  );
}

export const etagOf = (v: VersionRow) => `"r${v.revision}"`;

export async function facilityIdsOf(db: Queryable, contractId: string): Promise<string[]> {
  const rows = await db
    .select({ id: contractFacilities.facilityId })
    .from(contractFacilities)
    .where(eq(contractFacilities.contractId, contractId));
  return rows.map((r) => r.id).sort();
}

/** What the parties sign for a version, in the form whose hash is fixed at signing. */
export async function documentOf(db: Queryable, c: ContractRow, v: VersionRow): Promise<ContractDocument> {
  return {
    contractId: c.id,
    title: c.title,
    versionNo: v.versionNo,
    isAmendment: v.isAmendment,
    effectiveDate: v.effectiveDate,
    communityId: c.communityId,
    parties: {
      enterprise: c.enterpriseOrgId,
      ownersCommittee: c.ownersCommitteeOrgId,
      propertyCompany: c.propertyCompanyOrgId,
      streetOffice: c.streetOfficeOrgId,
    },
    facilityIds: await facilityIdsOf(db, c.id),
    voteMatter: c.voteMatter,
    terms: await termsOf(db, v),
  };
}

export async function versionJson(db: Queryable, c: ContractRow, v: VersionRow) {
  const document = await documentOf(db, c, v);
  return {
    versionNo: v.versionNo,
    status: v.status,
    revision: v.revision,
    isAmendment: v.isAmendment,
    effectiveDate: v.effectiveDate,
    summary: v.summary,
    terms: document.terms,
    funding: { ...fundingSummary(document.terms), defaultGuidanceSharePercent: DEFAULT_GUIDANCE_SHARE },
    submittedAt: iso(v.submittedAt),
    signedAt: iso(v.signedAt),
    contentHash: v.contentHash,
    // Recomputed from what is stored now; a frozen version always reproduces its signed hash.
    computedHash: v.status === "draft" ? null : documentHash(document),
  };
}

export function summaryJson(c: ContractRow) {
  return { ...c, createdAt: c.createdAt.toISOString(), updatedAt: c.updatedAt.toISOString() };
}

export function signersOf(c: ContractRow, v: VersionRow): Party[] {
  return requiredSigners({ guidanceFunds: v.guidanceFunds, hasStreetOffice: c.streetOfficeOrgId !== null });
}

const CONTRACT_LEVEL: ContractAction[] = ["start_construction", "start_operation", "transfer", "terminate"];

/** What the caller may do next: the lifecycle's actions, or an open amendment's review actions. */
export function nextActions(p: Principal, c: ContractRow, v: VersionRow): string[] {
  const party = partyOf(p, c);
  if (!party) return [];
  if (!v.isAmendment) return allowedActions(c.state, party);
  const review: (ReviewAction | "amend")[] = allowedReviewActions(v.status, party);
  const lifecycle = allowedActions(c.state, party).filter((a) => CONTRACT_LEVEL.includes(a));
  const canAmend =
    party === "enterprise" &&
    v.status === "signed" &&
    ["signed", "under_construction", "operating"].includes(c.state);
  return [...review, ...lifecycle, ...(canAmend ? ["amend" as const] : [])];
}

export async function contractDetail(db: Queryable, p: Principal, c: ContractRow) {
  const version = await findVersion(db, c.id, c.currentVersionNo);
  const [facilityIds, signatures, milestones, handback, current] = await Promise.all([
    facilityIdsOf(db, c.id),
    db
      .select()
      .from(contractSignatures)
      .where(eq(contractSignatures.contractId, c.id))
      .orderBy(asc(contractSignatures.versionNo), asc(contractSignatures.signedAt)),
    db.select().from(contractMilestones).where(eq(contractMilestones.contractId, c.id)),
    db
      .select()
      .from(handbackChecks)
      .where(eq(handbackChecks.contractId, c.id))
      .orderBy(asc(handbackChecks.code)),
    versionJson(db, c, version),
  ]);
  const order = ["construction_start", "completion_acceptance", "operation_start"];
  const canAmendNow =
    !version.isAmendment &&
    partyOf(p, c) === "enterprise" &&
    ["signed", "under_construction", "operating"].includes(c.state);
  return {
    ...summaryJson(c),
    facilityIds,
    currentVersion: current,
    allowedActions: [...nextActions(p, c, version), ...(canAmendNow ? ["amend"] : [])],
    requiredSigners: signersOf(c, version),
    signatures: signatures.map((s) => ({
      versionNo: s.versionNo,
      party: s.party,
      partyOrgId: s.partyOrgId,
      signedAt: s.signedAt.toISOString(),
      contentHash: s.contentHash,
    })),
    milestones: milestones
      .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind))
      .map((m) => ({
        kind: m.kind,
        occurredOn: m.occurredOn,
        note: m.note,
        recordedByOrgId: m.recordedByOrgId,
        recordedAt: m.recordedAt.toISOString(),
        confirmedByOrgId: m.confirmedByOrgId,
        confirmedAt: iso(m.confirmedAt),
      })),
    handback: handback.map((h) => ({
      code: h.code,
      description: h.description,
      checkedOn: h.checkedOn,
      note: h.note,
    })),
  };
}

/** Sets the contract's state (and stamps updatedAt). */
export async function setContract(
  tx: Tx,
  id: string,
  values: Partial<typeof contracts.$inferInsert>,
  now: Date,
) {
  await tx
    .update(contracts)
    .set({ ...values, updatedAt: now })
    .where(eq(contracts.id, id));
}

export async function setVersion(
  tx: Tx,
  id: string,
  values: Partial<typeof contractVersions.$inferInsert>,
  now: Date,
) {
  await tx
    .update(contractVersions)
    .set({ ...values, updatedAt: now })
    .where(eq(contractVersions.id, id));
}
