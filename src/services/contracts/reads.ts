/** Reading contracts: lists, versions, the diff, the audit log and the transfers coming up. */
import { and, asc, eq, isNotNull, notInArray, sql } from "drizzle-orm";
import type { AuditEntry } from "../../../contracts/audit.js";
import {
  type ContractState,
  compareDates,
  daysBetween,
  diffTerms,
  type FacilityKind,
  type MilestoneKind,
  shanghaiDate,
  TERMINAL_STATES,
  verifyChain,
} from "../../../contracts/index.js";
import { auditEntryOf, readAudit } from "../../../db/audit.js";
import { outer } from "../../../db/database.js";
import {
  auditLog,
  contractMilestones,
  contractSignatures,
  contracts,
  contractVersions,
  handbackChecks,
} from "../../../db/schema.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";
import type { PageQuery } from "../../openapi.js";
import type { ServiceContext } from "../context.js";
import { type Page, type PageRequest, pageOf } from "../pages.js";
import {
  contractDetail,
  etagOf,
  findContract,
  findVersion,
  listContractsPage,
  termsOf,
  versionParts,
  versionsParts,
} from "./store.js";

export function listContracts(
  ctx: ServiceContext,
  q: {
    limit: number;
    offset: number;
    state?: ContractState | undefined;
    communityId?: string | undefined;
    facilityKind?: FacilityKind | undefined;
    q?: string | undefined;
  },
) {
  return listContractsPage(ctx.db, ctx.principal, q);
}

export function getContract(ctx: ServiceContext, id: string) {
  return contractDetail(ctx.db, ctx.principal, id, ctx.clock);
}

/** Oldest first (by version number, unique in a contract). */
export async function listVersions(ctx: ServiceContext, id: string, page?: PageRequest) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const where = eq(contractVersions.contractId, contract.id);
  const query = ctx.db
    .select()
    .from(contractVersions)
    .where(where)
    .orderBy(asc(contractVersions.versionNo))
    .$dynamic();
  const { items, total } = await pageOf(query, () => ctx.db.$count(contractVersions, where), page);
  return { items: await versionsParts(ctx.db, contract, items), total };
}

/** A version and its ETag (the revision an edit must name). */
export async function getVersion(ctx: ServiceContext, id: string, versionNo: number) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const version = await findVersion(ctx.db, contract.id, versionNo);
  return { etag: etagOf(version), version: await versionParts(ctx.db, contract, version) };
}

export async function diffVersions(ctx: ServiceContext, id: string, from: number, to: number) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const [a, b] = await Promise.all([
    findVersion(ctx.db, contract.id, from),
    findVersion(ctx.db, contract.id, to),
  ]);
  return diffTerms(await termsOf(ctx.db, a), await termsOf(ctx.db, b));
}

/** A page of the contract's milestones, in their order (the enum's: construction start first). */
export async function listMilestones(ctx: ServiceContext, id: string, page: PageQuery) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const where = eq(contractMilestones.contractId, contract.id);
  const [items, total] = await Promise.all([
    ctx.db
      .select()
      .from(contractMilestones)
      .where(where)
      .orderBy(asc(contractMilestones.kind))
      .limit(page.limit)
      .offset(page.offset),
    ctx.db.$count(contractMilestones, where),
  ]);
  return { items, total };
}

/** One milestone of the contract, by its kind (404 while it is not recorded, or outside the caller's scope). */
export async function getMilestone(ctx: ServiceContext, id: string, kind: MilestoneKind) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const [row] = await ctx.db
    .select()
    .from(contractMilestones)
    .where(and(eq(contractMilestones.contractId, contract.id), eq(contractMilestones.kind, kind)));
  if (!row) throw ApiError.notFound("The milestone");
  return row;
}

/** A page of the contract's signatures (one version's when asked), oldest version first. */
export async function listSignatures(
  ctx: ServiceContext,
  id: string,
  q: PageQuery & { versionNo?: number | undefined },
) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const where = and(
    eq(contractSignatures.contractId, contract.id),
    q.versionNo !== undefined ? eq(contractSignatures.versionNo, q.versionNo) : undefined,
  );
  const [items, total] = await Promise.all([
    ctx.db
      .select()
      .from(contractSignatures)
      .where(where)
      .orderBy(
        asc(contractSignatures.versionNo),
        asc(contractSignatures.signedAt),
        asc(contractSignatures.partyOrgId),
      )
      .limit(q.limit)
      .offset(q.offset),
    ctx.db.$count(contractSignatures, where),
  ]);
  return { items, total };
}

/** The whole audit log of a contract, in order (what the chain verifier reads). */
export async function auditOf(ctx: ServiceContext, id: string) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  return readAudit(ctx.db, contract.id);
}

/** One page of a contract's audit log, in order (by seq, unique in a contract). */
export async function auditPage(
  ctx: ServiceContext,
  id: string,
  page: PageRequest,
): Promise<Page<AuditEntry>> {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const where = eq(auditLog.contractId, contract.id);
  const query = ctx.db.select().from(auditLog).where(where).orderBy(asc(auditLog.seq)).$dynamic();
  const { items, total } = await pageOf(query, () => ctx.db.$count(auditLog, where), page);
  return { items: items.map(auditEntryOf), total };
}

export async function verifyAuditOf(ctx: ServiceContext, id: string) {
  return verifyChain(await auditOf(ctx, id));
}

/** Transfers due within `within` days (overdue ones included), soonest first (id breaks ties). */
export async function upcomingTransfers(ctx: ServiceContext, within: number, page?: PageRequest) {
  const today = shanghaiDate(ctx.clock());
  const where = and(
    contractScope(ctx.principal),
    isNotNull(contracts.transferDate),
    notInArray(contracts.state, [...TERMINAL_STATES]),
    sql`${contracts.transferDate} <= (${today}::date + ${within}::int)`,
  );
  const query = ctx.db
    .select({
      contract: contracts,
      handbackOpen: sql<number>`(select count(*)::int from ${handbackChecks} h
        where h.contract_id = ${outer(contracts.id)} and h.checked_on is null)`,
    })
    .from(contracts)
    .where(where)
    .orderBy(asc(contracts.transferDate), asc(contracts.id))
    .$dynamic();
  const { items: rows, total } = await pageOf(query, () => ctx.db.$count(contracts, where), page);
  const items = rows.map(({ contract, handbackOpen }) => {
    const date = contract.transferDate ?? today;
    return {
      contract,
      daysUntilTransfer: daysBetween(today, date),
      overdue: compareDates(date, today) < 0,
      handbackOpen,
    };
  });
  return { today, items, total };
}
