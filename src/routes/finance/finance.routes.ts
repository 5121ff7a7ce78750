import { z } from "@hono/zod-openapi";
import { CONTRACT_STATES, FEE_KINDS, PERIOD_PATTERN } from "../../../contracts/index.js";
import {
  CalendarDate,
  createRoute,
  errorResponses,
  IdParams,
  Int4Param,
  jsonBody,
  jsonResponse,
  Money,
  PageWith,
  Pagination,
  security,
  Text,
  Timestamp,
  Uuid,
  withConflicts,
} from "../../openapi.js";
import { Assumptions } from "../../services/finance/assumptions.js";

const tags = ["financial model"];

export const AssumptionsRecord = z
  .object({
    contractId: Uuid,
    assumptions: Assumptions,
    updatedByOrgId: Uuid,
    updatedAt: Timestamp,
  })
  .openapi("FinancialAssumptionsRecord");

const ProjectedYear = z.object({
  year: z.number().int(),
  months: z.number().int(),
  revenue: Money,
  costs: Money,
  net: z.string(),
  cumulative: z.string(),
});

const Projection = z.object({
  investment: Money,
  guidanceFunds: Money,
  enterpriseCapital: Money,
  revenueByItem: z.array(
    z.object({ code: z.string(), kind: z.enum(FEE_KINDS), quantity: z.string(), amount: Money }),
  ),
  yearlyCosts: Money,
  years: z.array(ProjectedYear),
  totalNet: z.string(),
  paybackYear: z.number().int().nullable(),
  discountRate: z.string(),
  npv: z.string(),
  irr: z.string().nullable(),
});

const Actuals = z.object({
  asOf: CalendarDate,
  capital: Money,
  years: z.array(
    z.object({
      year: z.number().int(),
      from: z
        .string()
        .regex(PERIOD_PATTERN)
        .openapi({ description: "First month of the operating year (YYYY-MM)", example: "2025-12" }),
      collected: z.string(),
      costs: z.string(),
      net: z.string(),
      cumulative: z.string(),
    }),
  ),
  netToDate: z.string(),
  position: z.string(),
  recoveredPercent: z.string().nullable(),
  paidBack: z.boolean(),
});

export const FinancialModel = z
  .object({
    contractId: Uuid,
    state: z.enum(CONTRACT_STATES),
    versionNo: z.number().int(),
    basis: z.enum(["version_in_force", "current_version", "requested_version"]),
    inputs: z.object({
      takeUp: z.object({
        rates: z.record(z.string(), z.string()),
        slots: z.record(z.string(), z.number().int()),
        householdsByFloor: z.array(z.object({ floor: z.number().int(), households: z.number().int() })),
      }),
      householdsSource: z.enum(["assumptions", "register"]),
      yearlyCosts: Assumptions.shape.yearlyCosts,
      usagePerYear: z.record(z.string(), z.string()),
      discountRate: z.string(),
    }),
    projection: Projection,
    actuals: Actuals.nullable(),
  })
  .openapi("FinancialModel");

export const putAssumptions = createRoute({
  operationId: "putFinancialAssumptions",
  method: "put",
  path: "/contracts/{id}/financial-assumptions",
  tags,
  security,
  summary: "Set the financial model's assumptions (enterprise)",
  description:
    "Take-up per fee code (a rate of the households, or a number of slots), households by floor (default: the household register of the contract's elevator buildings), yearly costs, usage per year of per_use items, and the discount rate. Fee codes must be of the current version's schedule.",
  request: { params: IdParams, body: jsonBody(Assumptions) },
  responses: { 200: jsonResponse(AssumptionsRecord, "Saved"), ...withConflicts },
});

/** 404 of the assumptions and the model: the contract, or the assumptions not set yet. */
const assumptionsNotFound = {
  404: {
    ...errorResponses[404],
    description:
      "The contract is not found or outside the caller's scope (`not_found`), or the enterprise has not set its assumptions yet (`financial_assumptions_missing`: PUT /v1/contracts/{id}/financial-assumptions sets them)",
  },
} as const;

export const getAssumptions = createRoute({
  operationId: "getFinancialAssumptions",
  method: "get",
  path: "/contracts/{id}/financial-assumptions",
  tags,
  security,
  summary: "The financial model's assumptions, as the enterprise last set them",
  description:
    "Exactly the body the PUT took (the same schema), so a client reads, changes a field and PUTs it back. Readable by everyone who may read the contract. Before the enterprise sets them: 404 `financial_assumptions_missing`.",
  request: { params: IdParams },
  responses: {
    200: jsonResponse(Assumptions, "The assumptions"),
    ...errorResponses,
    ...assumptionsNotFound,
  },
});

export const getModel = createRoute({
  operationId: "getFinancialModel",
  method: "get",
  path: "/contracts/{id}/financial-model",
  tags,
  security,
  summary: "Projected cash flows, payback year, NPV and IRR; actuals to date once operating",
  description:
    "Works before the vote: a contract not yet signed is modelled on its current version, a signed one on the version in force today (or `versionNo`). `discountRate` and `takeUp` override the enterprise's assumptions for this answer only: `takeUp=0.6` sets the rate of every fee item, `takeUp=EL-M:0.6,EL-Y:0.2` per code. Before the enterprise sets its assumptions: 404 `financial_assumptions_missing`, naming the PUT that sets them. Actuals (operating or transferred contracts): per operating year (year 1 = the operation start month and the 11 following), cash collected (payments received less refunds paid) and the costs of the operation reports (latest version of each period, by the period's first month), set against the enterprise's capital.",
  request: {
    params: IdParams,
    query: z.object({
      discountRate: Text.max(24).optional(),
      takeUp: Text.max(2000).optional(),
      versionNo: Int4Param.min(1).optional(),
    }),
  },
  responses: { 200: jsonResponse(FinancialModel, "The model"), ...errorResponses, ...assumptionsNotFound },
});

export const Disbursement = z
  .object({
    id: Uuid,
    contractId: Uuid,
    amount: Money,
    paidOn: CalendarDate,
    note: z.string(),
    recordedByOrgId: Uuid,
    createdAt: Timestamp,
  })
  .openapi("GuidanceDisbursement");

export const GuidanceTotals = z.object({ committed: Money, paid: Money, remaining: z.string() });

export const createDisbursement = createRoute({
  operationId: "createGuidanceDisbursement",
  method: "post",
  path: "/contracts/{id}/guidance-disbursements",
  tags,
  security,
  summary: "Record guidance funds paid to the contract (the street office that is its party)",
  description:
    "The total paid may not exceed the guidance funds committed by the signed terms in force (409 `guidance_exceeded`).",
  request: {
    params: IdParams,
    body: jsonBody(
      z
        .strictObject({
          amount: Money,
          paidOn: CalendarDate,
          note: Text.trim().max(2000).default(""),
        })
        .openapi("NewGuidanceDisbursement"),
    ),
  },
  responses: {
    201: jsonResponse(z.object({ disbursement: Disbursement, totals: GuidanceTotals }), "Recorded"),
    ...withConflicts,
  },
});

export const listDisbursements = createRoute({
  operationId: "listGuidanceDisbursements",
  method: "get",
  path: "/contracts/{id}/guidance-disbursements",
  tags,
  security,
  summary: "Guidance funds paid to the contract, oldest first, with the committed total",
  description:
    "Guidance funds (引导资金) the street office paid to the contract, oldest first, with the totals.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(
      PageWith(Disbursement, "GuidanceDisbursementPage", {
        totals: GuidanceTotals.openapi({
          description:
            "Committed by the terms in force, paid over every disbursement (not only this page's), and what remains; the same on every page",
        }),
      }),
      "Disbursements, oldest first",
    ),
    ...errorResponses,
  },
});

export const getDisbursement = createRoute({
  operationId: "getGuidanceDisbursement",
  method: "get",
  path: "/guidance-disbursements/{id}",
  tags,
  security,
  summary: "One payment of guidance funds",
  description: "Readable by everyone who may read its contract (as the contract's list); 404 otherwise.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Disbursement, "The disbursement"), ...errorResponses },
});
