import { z } from "@hono/zod-openapi";
import {
  CONTRACT_STATES,
  FEE_KINDS,
  FEE_UNITS,
  MILESTONE_KINDS,
  VERSION_STATUSES,
} from "../../../contracts/index.js";
import {
  CalendarDate,
  FeeCode,
  Int4,
  Money,
  Name,
  Pagination,
  Text,
  Timestamp,
  Uuid,
} from "../../openapi.js";

export const FeeItem = z
  .strictObject({
    code: FeeCode,
    name: Name.max(100).openapi({ example: "电梯包月" }),
    kind: z.enum(FEE_KINDS),
    price: Money.openapi({
      description: "CNY per unit; for per-floor items the price of a floor not listed",
    }),
    unit: z.enum(FEE_UNITS),
    floorPrices: z
      .array(z.strictObject({ floor: z.number().int(), price: Money }))
      .max(110)
      .optional()
      .openapi({ description: "Elevators: price by floor; a floor without a price pays nothing" }),
  })
  .openapi("FeeItem");

export const Terms = z
  .strictObject({
    totalInvestment: Money,
    enterpriseCapital: Money,
    guidanceFunds: Money.openapi({ description: "The street office's guidance funds (default share 15 %)" }),
    operationTermMonths: z.number().int().min(1).max(600),
    handbackConditions: z
      .array(z.strictObject({ code: FeeCode, description: Text.trim().min(1).max(500) }))
      .max(100),
    maintenanceObligations: Text.max(4000),
    feeSchedule: z.array(FeeItem).max(100),
  })
  .openapi("ContractTerms");

export const Funding = z
  .object({
    totalInvestment: Money,
    enterpriseCapital: Money,
    guidanceFunds: Money,
    otherFunding: Money,
    guidanceSharePercent: z.string().openapi({ example: "15.00" }),
    defaultGuidanceSharePercent: z.string().openapi({ example: "15.00" }),
  })
  .openapi("Funding");

export const ContractState = z.enum(CONTRACT_STATES);
export const VersionState = z.enum(VERSION_STATUSES);

export const Version = z
  .object({
    versionNo: z.number().int(),
    state: VersionState,
    revision: z.number().int().openapi({ description: "Send as If-Match (ETag) when editing a draft" }),
    isAmendment: z.boolean(),
    effectiveDate: CalendarDate.nullable(),
    summary: z.string(),
    terms: Terms,
    funding: Funding,
    submittedAt: Timestamp.nullable(),
    signedAt: Timestamp.nullable(),
    contentHash: z.string().nullable().openapi({ description: "SHA-256 fixed at signing" }),
    computedHash: z.string().nullable().openapi({
      description: "The hash recomputed from the stored version now: equals contentHash unless tampered with",
    }),
  })
  .openapi("ContractVersion");

export const Milestone = z
  .object({
    kind: z.enum(MILESTONE_KINDS),
    occurredOn: CalendarDate,
    note: z.string(),
    recordedByOrgId: Uuid,
    recordedAt: Timestamp,
    confirmedByOrgId: Uuid.nullable(),
    confirmedAt: Timestamp.nullable(),
  })
  .openapi("Milestone");

export const HandbackCheck = z
  .object({ code: z.string(), description: z.string(), checkedOn: CalendarDate.nullable(), note: z.string() })
  .openapi("HandbackCheck");

export const Signature = z
  .object({
    versionNo: z.number().int(),
    party: z.string(),
    partyOrgId: Uuid,
    signedAt: Timestamp,
    contentHash: z.string(),
  })
  .openapi("Signature");

/**
 * Residents' payment terms of a contract, read by billing and the arrears sweep (db/billing.ts,
 * db/ledger.ts): the contract's, not a version's. Whole days; the database's default is 15 for both.
 */
export const DEFAULT_PAYMENT_DAYS = 15;

const dueDaysWhy =
  "Residents' invoices are due this many days after they are issued. 1–90: an invoice due the day it is issued leaves no time to pay, and one due after more than a quarter would let a monthly subscriber run up three bills before the first falls due.";
const graceDaysWhy =
  "A subscription is suspended when one of its invoices is still unpaid this many days after its due date (0: the day after). 0–90: more than a quarter would keep a non-paying subscriber's card working through three more monthly bills.";

export const InvoiceDueDays = z
  .number()
  .int()
  .min(1)
  .max(90)
  .openapi({ example: 15, description: dueDaysWhy });
export const PaymentGraceDays = z
  .number()
  .int()
  .min(0)
  .max(90)
  .openapi({ example: 15, description: graceDaysWhy });

/** GET /v1/contracts: its filters and page. */
export const ContractListQuery = Pagination.extend({
  state: ContractState.optional(),
  communityId: Uuid.optional(),
  facilityKind: z.enum(["garage", "elevator"]).optional(),
  q: Text.trim().min(1).max(100).optional().openapi({ description: "Words in the title" }),
});

export const ContractSummary = z
  .object({
    id: Uuid,
    title: z.string(),
    state: ContractState,
    streetId: Uuid,
    communityId: Uuid,
    enterpriseOrgId: Uuid,
    ownersCommitteeOrgId: Uuid,
    propertyCompanyOrgId: Uuid,
    streetOfficeOrgId: Uuid.nullable(),
    voteMatter: z.enum(["special", "ordinary"]),
    currentVersionNo: z.number().int(),
    signedVersionNo: z.number().int().nullable(),
    operationStartDate: CalendarDate.nullable(),
    transferDate: CalendarDate.nullable(),
    transferredOn: CalendarDate.nullable(),
    terminatedReason: z.string().nullable(),
    invoiceDueDays: InvoiceDueDays,
    paymentGraceDays: PaymentGraceDays,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("ContractSummary");

export const UpcomingTransfer = ContractSummary.extend({
  transferDueInDays: z
    .number()
    .int()
    .openapi({ description: "Days from today (Asia/Shanghai) to the transfer date; negative when overdue" }),
  overdue: z.boolean(),
  handbackOpen: z.number().int(),
}).openapi("UpcomingTransfer");

export const ContractDetail = ContractSummary.extend({
  facilityIds: z.array(Uuid),
  currentVersion: Version,
  allowedActions: z
    .array(z.string())
    .openapi({ description: "What the caller may do next on the contract (or on its open amendment)" }),
  requiredSigners: z.array(z.string()),
  signatures: z.array(Signature),
  milestones: z.array(Milestone),
  handback: z.array(HandbackCheck),
}).openapi("ContractDetail");

export const NewContract = z
  .strictObject({
    title: Text.trim().min(1).max(200),
    communityId: Uuid,
    ownersCommitteeOrgId: Uuid,
    propertyCompanyOrgId: Uuid,
    streetOfficeOrgId: Uuid.optional().openapi({
      description: "When the street office contributes guidance funds",
    }),
    facilityIds: z.array(Uuid).min(1).max(50),
    voteMatter: z
      .enum(["special", "ordinary"])
      .default("special")
      .openapi({ description: "art. 278: adding an elevator or business use of common parts is special" }),
    summary: Text.max(2000).default(""),
    terms: Terms,
    invoiceDueDays: InvoiceDueDays.default(DEFAULT_PAYMENT_DAYS),
    paymentGraceDays: PaymentGraceDays.default(DEFAULT_PAYMENT_DAYS),
  })
  .openapi("NewContract");

/** Payment days are the contract's, not a version's: set while the original contract is drafted. */
const whileDrafting = "Only on the original contract's draft, not on an amendment; omitted: unchanged.";

export const EditDraft = z
  .strictObject({
    summary: Text.max(2000).optional(),
    effectiveDate: CalendarDate.nullable().optional().openapi({
      description:
        "An amendment's effective date (omitted: unchanged). The original contract has none: null, as GET reads it, or omitted.",
    }),
    terms: Terms,
    invoiceDueDays: InvoiceDueDays.optional().openapi({ description: `${dueDaysWhy} ${whileDrafting}` }),
    paymentGraceDays: PaymentGraceDays.optional().openapi({
      description: `${graceDaysWhy} ${whileDrafting}`,
    }),
  })
  .openapi("EditDraft");

export const NewAmendment = z
  .strictObject({ effectiveDate: CalendarDate, summary: Text.trim().min(1).max(2000), terms: Terms })
  .openapi("NewAmendment");

export const VoteInput = z
  .strictObject({
    heldOn: CalendarDate,
    participatingArea: Money.openapi({ description: "m² of the owners who took part" }),
    participatingOwners: Int4.min(0),
    yesArea: Money,
    yesOwners: Int4.min(0),
  })
  .openapi("VoteInput");

export const VoteRatio = z.object({
  measure: z.enum(["participation_area", "participation_owners", "approval_area", "approval_owners"]),
  numerator: z.string(),
  denominator: z.string(),
  ratio: z.string(),
  threshold: z.enum(["2/3", "3/4", "1/2"]),
  met: z.boolean(),
});

export const Vote = z
  .object({
    id: Uuid,
    versionNo: z.number().int(),
    matter: z.enum(["special", "ordinary"]),
    heldOn: CalendarDate,
    totalArea: z.string(),
    totalOwners: z.number().int(),
    participatingArea: z.string(),
    participatingOwners: z.number().int(),
    yesArea: z.string(),
    yesOwners: z.number().int(),
    passed: z.boolean(),
    ratios: z.array(VoteRatio),
    failed: z.array(z.string()),
    createdAt: Timestamp,
  })
  .openapi("Vote");

export const Comment = z
  .object({
    id: Uuid,
    versionNo: z.number().int(),
    authorOrgId: Uuid,
    body: z.string(),
    createdAt: Timestamp,
  })
  .openapi("Comment");

/** An audit entry without `contractId`: it is always the path's id (which `hash` covers). */
export const AuditRow = z
  .object({
    seq: z.number().int(),
    action: z.string(),
    actorOrgId: Uuid,
    actorKeyId: Uuid.nullable(),
    actorPersonId: Uuid.nullable(),
    actorName: z.string().nullable(),
    versionNo: z.number().int().nullable(),
    payload: z.unknown(),
    contentHash: z.string().nullable(),
    createdAt: Timestamp,
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi("AuditRow", {
    description:
      "An audit entry of the contract in the path. `actorPersonId` and `actorName` name the person who acted through the portal (null when an API key acted). `hash` is the SHA-256 of the canonical JSON of the entry's other fields plus `contractId` (the path's id), leaving out `actorPersonId` and `actorName` when they are null, so the chain can be checked with the id asked for.",
  });

export const AuditVerdict = z
  .object({
    intact: z.boolean(),
    length: z.number().int(),
    brokenAtSeq: z.number().int().optional(),
    reason: z.string().optional(),
  })
  .openapi("AuditVerdict");

export const FieldChange = z
  .object({
    path: z.string(),
    change: z.enum(["added", "removed", "changed"]),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .openapi("FieldChange");
