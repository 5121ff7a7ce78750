import { z } from "@hono/zod-openapi";
import { checkQuantity, isPeriod, PERIOD_PATTERN } from "../../../contracts/index.js";
import { whenGiven } from "../../../contracts/validation-messages.js";
import { csvFormat, notAcceptableResponse, withCsv } from "../../csv.js";
import {
  CalendarDate,
  createRoute,
  errorResponses,
  FeeCode,
  IdempotencyKeyHeader,
  IdParams,
  jsonBody,
  jsonResponse,
  Money,
  Page,
  Pagination,
  security,
  Text,
  Timestamp,
  Uuid,
  withConflicts,
} from "../../openapi.js";
import { SlotRef } from "../fees.schemas.js";

const tags = ["billing"];

/** A billing period: the pattern in the document, `isPeriod` (contracts/periods.ts) for year 0000. */
export const PeriodString = z
  .string()
  .regex(PERIOD_PATTERN, "must be a month YYYY-MM")
  .refine(isPeriod, "must be a month YYYY-MM")
  .openapi({ example: "2026-12", description: "A calendar month, Asia/Shanghai" });

export const BillingRun = z
  .object({
    id: Uuid,
    contractId: Uuid,
    period: z.string(),
    idempotencyKey: z.string().nullable(),
    requestedByOrgId: Uuid,
    invoicesCreated: z.number().int(),
    totalAmount: Money,
    createdAt: Timestamp,
  })
  .openapi("BillingRun");

export const InvoiceState = z.enum(["open", "overdue", "paid"]);

export const Invoice = z
  .object({
    id: Uuid,
    number: z.string().openapi({ example: "BOT-2026-000123" }),
    contractId: Uuid,
    subscriberKey: z.string(),
    householdId: Uuid.nullable(),
    subscriptionId: Uuid.nullable(),
    billingRunId: Uuid.nullable(),
    kind: z.enum(["subscription", "usage", "final"]),
    period: z.string(),
    issueDate: CalendarDate,
    dueDate: CalendarDate,
    total: Money,
    creditApplied: Money,
    paidAmount: Money,
    outstanding: Money.openapi({ description: "total − credit applied − paid" }),
    state: InvoiceState.openapi({
      description: "paid: nothing outstanding; overdue: outstanding after the due date; else open",
    }),
  })
  .openapi("Invoice");

/** The CSV of the invoices: a column per field of Invoice. */
export const invoiceCsv = csvFormat(Invoice);

export const InvoiceLine = z
  .object({
    lineNo: z.number().int(),
    code: z.string(),
    description: z.string(),
    quantity: z.string().openapi({ example: "12.345" }),
    unitPrice: Money,
    amount: Money,
  })
  .openapi("InvoiceLine");

export const InvoiceDetail = Invoice.extend({ lines: z.array(InvoiceLine) }).openapi("InvoiceDetail");

export const RunAnswer = z
  .object({
    run: BillingRun,
    invoicesCreated: z
      .number()
      .int()
      .openapi({ description: "Invoices created by THIS request (0 when the run existed)" }),
    totalAmount: Money.openapi({ description: "Sum of the invoices created by this request" }),
  })
  .openapi("BillingRunAnswer");

export const createRun = createRoute({
  operationId: "createBillingRun",
  method: "post",
  path: "/contracts/{id}/billing-runs",
  tags,
  security,
  summary: "Bill a period (enterprise; idempotent)",
  description:
    "Issues, in one transaction, one invoice per subscription due in the period (monthly items every month, yearly items in their anniversary month), one usage invoice per subscriber with unbilled usage of the period (or earlier), numbered gap-free per enterprise and year, and applies the subscribers' available credit. One run per contract and period: a repeated or concurrent run answers 200 with the existing run and invoicesCreated 0. The same Idempotency-Key gives the same answer. The period defaults to the current Asia/Shanghai month. 409 for a month that has not begun yet, a period before the operation start month or beginning on or after the transfer date, or a contract that is not operating.",
  request: {
    params: IdParams,
    // Read by the handler too: the run keeps its key beyond the 24 h of the stored answers.
    headers: z.object({ "idempotency-key": IdempotencyKeyHeader }),
    body: jsonBody(
      z
        .strictObject({
          period: PeriodString.optional().openapi({
            description:
              "The month to bill, YYYY-MM: one that has begun, up to the current Asia/Shanghai month, which is the default",
          }),
        })
        .openapi("NewBillingRun"),
    ),
  },
  responses: {
    201: jsonResponse(RunAnswer, "The run and the invoices it created"),
    200: jsonResponse(RunAnswer, "The period was already billed: the existing run, nothing created"),
    ...withConflicts,
  },
});

export const listRuns = createRoute({
  operationId: "listBillingRuns",
  method: "get",
  path: "/contracts/{id}/billing-runs",
  tags,
  security,
  summary: "A contract's billing runs, latest period first",
  description: "The contract's billing runs, latest period first, each with what it issued.",
  request: { params: IdParams, query: Pagination },
  responses: { 200: jsonResponse(Page(BillingRun, "BillingRunPage"), "Runs"), ...errorResponses },
});

export const getRun = createRoute({
  operationId: "getBillingRun",
  method: "get",
  path: "/billing-runs/{id}",
  tags,
  security,
  summary: "One billing run, with what it issued",
  description: "Readable by everyone who may read its contract (as the contract's billing runs).",
  request: { params: IdParams },
  responses: { 200: jsonResponse(BillingRun, "The run"), ...errorResponses },
});

export const listInvoices = createRoute({
  operationId: "listInvoices",
  method: "get",
  path: "/contracts/{id}/invoices",
  tags,
  security,
  summary: "A contract's invoices",
  description:
    "The contract's invoices; filter by billing period and state. Amounts are decimal strings in CNY.",
  request: {
    params: IdParams,
    query: Pagination.extend({ period: PeriodString.optional(), state: InvoiceState.optional() }),
  },
  responses: {
    200: withCsv(
      jsonResponse(Page(Invoice, "InvoicePage"), "A page of invoices, by number"),
      invoiceCsv,
      "every invoice of every page for the same filters (with limit or offset: that page's), by number",
    ),
    ...errorResponses,
    ...notAcceptableResponse,
  },
});

export const getInvoice = createRoute({
  operationId: "getInvoice",
  method: "get",
  path: "/invoices/{id}",
  tags,
  security,
  summary: "One invoice with its lines",
  description: "One invoice with its lines and amounts (decimal strings, CNY).",
  request: { params: IdParams },
  responses: { 200: jsonResponse(InvoiceDetail, "The invoice"), ...errorResponses },
});

// ---- usage -----------------------------------------------------------------------------------

export const MAX_USAGE_PER_REQUEST = 1000;

export const UsageRecord = z
  .strictObject({
    sessionId: Text.min(1).max(64).openapi({ example: "chg-20261203-0042" }),
    householdId: Uuid.optional(),
    slotRef: SlotRef.optional(),
    kind: z.enum(["charging", "ride"]),
    feeCode: FeeCode.openapi({ description: "A per_use item of the fee schedule in force at startedAt" }),
    startedAt: z.iso.datetime({
      offset: true,
      error: whenGiven("must be an RFC 3339 date-time with an offset"),
    }),
    quantity: z.string().openapi({
      example: "12.345",
      description: "kWh or minutes (decimal string, up to 3 places), or rides (a whole number)",
    }),
  })
  .superRefine((v, ctx) => {
    if ((v.householdId === undefined) === (v.slotRef === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [v.householdId === undefined ? "householdId" : "slotRef"],
        message: "give exactly one of householdId and slotRef",
      });
    }
    const reason = checkQuantity(v.quantity);
    if (reason) ctx.addIssue({ code: "custom", path: ["quantity"], message: reason });
    else if (v.kind === "ride" && !/^\d+$/.test(v.quantity)) {
      ctx.addIssue({ code: "custom", path: ["quantity"], message: "rides are counted in whole numbers" });
    }
  })
  .openapi("UsageRecord");

export const UsageBatch = z
  .preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(UsageRecord).min(1).max(MAX_USAGE_PER_REQUEST))
  .openapi("UsageBatch", {
    description: `One usage record, or an array of up to ${MAX_USAGE_PER_REQUEST} (errors name them body.<index>.<field>)`,
  });

export const postUsage = createRoute({
  operationId: "recordUsage",
  method: "post",
  path: "/contracts/{id}/usage",
  tags,
  security,
  summary: "Record metered use: charging sessions, elevator rides (enterprise; idempotent by session id)",
  description:
    "Each record is stored once per (contract, sessionId): a retry answers it under duplicates. Its period is the Asia/Shanghai month of startedAt; it is billed by that period's run (or the next one, if it arrives late), priced by the fee schedule in force at startedAt. The whole request is one transaction: an invalid record rejects it (400, with the field).",
  request: { params: IdParams, body: jsonBody(UsageBatch) },
  responses: {
    200: jsonResponse(
      z
        .object({
          stored: z.array(z.string()).openapi({ description: "sessionIds stored now" }),
          duplicates: z.array(z.string()).openapi({ description: "sessionIds stored before (a retry)" }),
        })
        .openapi("UsageAnswer"),
      "What became of each record",
    ),
    ...withConflicts,
  },
});
