/**
 * What the contract routes send: each presenter names every field of its schema, so a new column
 * reaches no client until it is documented (test/authz/responses.test.ts parses the answers with
 * the routes' own schemas, made strict).
 */
import type { z } from "@hono/zod-openapi";
import {
  type AuditEntry,
  type ChainVerdict,
  type ContractDocument,
  type ContractTerms,
  DEFAULT_GUIDANCE_SHARE,
  documentHash,
  fundingSummary,
  MILESTONE_KINDS,
} from "../../../contracts/index.js";
import type {
  contractMilestones,
  contractSignatures,
  contracts,
  contractVersions,
  handbackChecks,
} from "../../../db/schema.js";
import type { ContractDetailParts, VersionParts } from "../../services/contracts/store.js";
import type {
  AuditRow,
  AuditVerdict,
  ContractDetail,
  ContractSummary,
  HandbackCheck,
  Milestone,
  Signature,
  Terms,
  UpcomingTransfer,
  Version,
} from "./contracts.schemas.js";

type ContractRow = typeof contracts.$inferSelect;
type VersionRow = typeof contractVersions.$inferSelect;
type SignatureRow = typeof contractSignatures.$inferSelect;
type MilestoneRow = typeof contractMilestones.$inferSelect;
type HandbackRow = typeof handbackChecks.$inferSelect;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function contractSummaryJson(c: ContractRow): z.input<typeof ContractSummary> {
  return {
    id: c.id,
    title: c.title,
    state: c.state,
    streetId: c.streetId,
    communityId: c.communityId,
    enterpriseOrgId: c.enterpriseOrgId,
    ownersCommitteeOrgId: c.ownersCommitteeOrgId,
    propertyCompanyOrgId: c.propertyCompanyOrgId,
    streetOfficeOrgId: c.streetOfficeOrgId,
    voteMatter: c.voteMatter,
    currentVersionNo: c.currentVersionNo,
    signedVersionNo: c.signedVersionNo,
    operationStartDate: c.operationStartDate,
    transferDate: c.transferDate,
    transferredOn: c.transferredOn,
    terminatedReason: c.terminatedReason,
    invoiceDueDays: c.invoiceDueDays,
    paymentGraceDays: c.paymentGraceDays,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export function termsJson(t: ContractTerms): z.input<typeof Terms> {
  return {
    totalInvestment: t.totalInvestment,
    enterpriseCapital: t.enterpriseCapital,
    guidanceFunds: t.guidanceFunds,
    operationTermMonths: t.operationTermMonths,
    handbackConditions: t.handbackConditions.map((h) => ({ code: h.code, description: h.description })),
    maintenanceObligations: t.maintenanceObligations,
    feeSchedule: t.feeSchedule.map((item) => ({
      code: item.code,
      name: item.name,
      kind: item.kind,
      price: item.price,
      unit: item.unit,
      ...(item.floorPrices
        ? { floorPrices: item.floorPrices.map((fp) => ({ floor: fp.floor, price: fp.price })) }
        : {}),
    })),
  };
}

/** A version with its terms as `document` holds them (the form whose hash is fixed at signing). */
export function versionJsonOf(v: VersionRow, document: ContractDocument): z.input<typeof Version> {
  const funding = fundingSummary(document.terms);
  return {
    versionNo: v.versionNo,
    state: v.status,
    revision: v.revision,
    isAmendment: v.isAmendment,
    effectiveDate: v.effectiveDate,
    summary: v.summary,
    terms: termsJson(document.terms),
    funding: {
      totalInvestment: funding.totalInvestment,
      enterpriseCapital: funding.enterpriseCapital,
      guidanceFunds: funding.guidanceFunds,
      otherFunding: funding.otherFunding,
      guidanceSharePercent: funding.guidanceSharePercent,
      defaultGuidanceSharePercent: DEFAULT_GUIDANCE_SHARE,
    },
    submittedAt: iso(v.submittedAt),
    signedAt: iso(v.signedAt),
    contentHash: v.contentHash,
    // Recomputed from what is stored now; a frozen version always reproduces its signed hash.
    computedHash: v.status === "draft" ? null : documentHash(document),
  };
}

export function signatureJson(s: SignatureRow): z.input<typeof Signature> {
  return {
    versionNo: s.versionNo,
    party: s.party,
    partyOrgId: s.partyOrgId,
    signedAt: s.signedAt.toISOString(),
    contentHash: s.contentHash,
  };
}

export function milestoneJson(m: MilestoneRow): z.input<typeof Milestone> {
  return {
    kind: m.kind,
    occurredOn: m.occurredOn,
    note: m.note,
    recordedByOrgId: m.recordedByOrgId,
    recordedAt: m.recordedAt.toISOString(),
    confirmedByOrgId: m.confirmedByOrgId,
    confirmedAt: iso(m.confirmedAt),
  };
}

export function handbackJson(h: HandbackRow): z.input<typeof HandbackCheck> {
  return { code: h.code, description: h.description, checkedOn: h.checkedOn, note: h.note };
}

export const versionPartsJson = (v: VersionParts) => versionJsonOf(v.version, v.document);

export function contractDetailJson(d: ContractDetailParts): z.input<typeof ContractDetail> {
  return {
    ...contractSummaryJson(d.contract),
    facilityIds: d.document.facilityIds,
    currentVersion: versionJsonOf(d.version, d.document),
    allowedActions: d.allowedActions,
    requiredSigners: d.requiredSigners,
    signatures: d.signatures.map(signatureJson),
    milestones: [...d.milestones]
      .sort((a, b) => MILESTONE_KINDS.indexOf(a.kind) - MILESTONE_KINDS.indexOf(b.kind))
      .map(milestoneJson),
    handback: d.handback.map(handbackJson),
  };
}

export function upcomingTransferJson(
  c: ContractRow,
  due: { daysUntilTransfer: number; overdue: boolean; handbackOpen: number },
): z.input<typeof UpcomingTransfer> {
  return {
    ...contractSummaryJson(c),
    transferDueInDays: due.daysUntilTransfer,
    overdue: due.overdue,
    handbackOpen: due.handbackOpen,
  };
}

/** An audit entry without its contract's id: the path names the contract (see AuditRow). */
export function auditEntryJson(e: AuditEntry): z.input<typeof AuditRow> {
  return {
    seq: e.seq,
    action: e.action,
    actorOrgId: e.actorOrgId,
    actorKeyId: e.actorKeyId,
    actorPersonId: e.actorPersonId,
    actorName: e.actorName,
    versionNo: e.versionNo,
    payload: e.payload,
    contentHash: e.contentHash,
    createdAt: e.createdAt,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

export function auditVerdictJson(v: ChainVerdict): z.input<typeof AuditVerdict> {
  return v.intact
    ? { intact: true, length: v.length }
    : { intact: false, length: v.length, brokenAtSeq: v.brokenAtSeq, reason: v.reason };
}
