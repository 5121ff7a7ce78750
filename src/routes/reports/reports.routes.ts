import { z } from "@hono/zod-openapi";
import { REPORT_PERIOD_RE, REPORT_STATUSES } from "../../../contracts/index.js";
import {
  createRoute,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Money,
  noBody,
  Page,
  Pagination,
  security,
  Text,
  Timestamp,
  Uuid,
  withConflicts,
} from "../../openapi.js";
import { Figures } from "../../services/reports/figures.js";

const tags = ["operation reports"];

const ReportPeriodString = z
  .string()
  .regex(REPORT_PERIOD_RE, "must be a month 'YYYY-MM' or a quarter 'YYYY-Q1' … 'YYYY-Q4'")
  .openapi({ example: "2026-Q4" });

export const ReportState = z.enum(REPORT_STATUSES);

export const Report = z
  .object({
    id: Uuid,
    contractId: Uuid,
    period: z.string(),
    versionNo: z.number().int(),
    state: ReportState,
    figures: Figures,
    submittedByOrgId: Uuid,
    reviewedByOrgId: Uuid.nullable(),
    reviewedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .openapi("OperationReport");

export const ComparedFigure = z
  .object({
    figure: z.string().openapi({ example: "revenueByItem.EL-M" }),
    reported: z.string().nullable(),
    platform: z.string().nullable(),
    difference: z.string().nullable(),
    allowed: z.string().nullable(),
    flagged: z.boolean(),
    reason: z.enum([
      "within_tolerance",
      "beyond_tolerance",
      "missing_reported",
      "missing_platform",
      "not_tracked",
    ]),
    source: z.string().openapi({ description: "Where the platform's figure comes from" }),
  })
  .openapi("ComparedFigure");

const Tolerance = z.object({ absolute: z.string(), relative: z.string() });

export const ReportDetail = Report.extend({
  comparison: z.object({
    tolerances: z.object({ money: Tolerance, usage: Tolerance, counts: Tolerance }),
    revenue: z.object({ reported: Money, invoiced: Money, collected: Money }).openapi({
      description: "Totals: reported revenue, invoiced in the period, collected (payments − refunds)",
    }),
    figures: z.array(ComparedFigure),
    flaggedCount: z.number().int(),
  }),
  platform: z.object({
    invoicedByItem: z.record(z.string(), Money),
    invoicedTotal: Money,
    collected: Money,
    usage: z.object({ rides: z.string(), kWh: z.string(), chargingSessions: z.number().int() }),
    ebikeIncidents: z.number().int(),
    falseAlarms: z.number().int(),
    halts: z.number().int(),
  }),
  versions: z.array(z.object({ id: Uuid, versionNo: z.number().int(), state: ReportState })),
}).openapi("OperationReportDetail");

export const ReportComment = z
  .object({
    id: Uuid,
    reportId: Uuid,
    versionNo: z.number().int(),
    authorOrgId: Uuid,
    body: z.string(),
    createdAt: Timestamp,
  })
  .openapi("ReportComment");

const ToleranceQuery = z.object({
  toleranceAbsolute: Money.optional().openapi({
    description: "Money figures: largest difference always accepted, CNY (default 1.00)",
  }),
  toleranceRelative: z
    .string()
    .regex(/^(0(\.\d{1,4})?|1(\.0{1,4})?)$/, "must be a decimal fraction from 0 to 1 with at most 4 places")
    .optional()
    .openapi({
      description:
        "Money figures: largest difference accepted as a share of the platform's figure (default 0.01)",
    }),
});

export const submitReport = createRoute({
  operationId: "submitReport",
  method: "post",
  path: "/contracts/{id}/reports",
  tags,
  security,
  summary: "File an operation report for a month or a quarter (enterprise)",
  description:
    "Version 1, `submitted`. The contract must be operating (or transferred, for periods that began before the transfer); the period must be over, not before the operation start month, and must not overlap a period already reported (a queried report is answered with /revise).",
  request: {
    params: IdParams,
    body: jsonBody(z.strictObject({ period: ReportPeriodString, figures: Figures }).openapi("NewReport")),
  },
  responses: { 201: jsonResponse(ReportDetail, "Filed"), ...withConflicts },
});

export const listReports = createRoute({
  operationId: "listReports",
  method: "get",
  path: "/contracts/{id}/reports",
  tags,
  security,
  summary: "The contract's operation reports, newest period first",
  description:
    "The enterprise's operation reports on the contract, newest period first; filter by period and review state; superseded versions only when asked.",
  request: {
    params: IdParams,
    query: Pagination.extend({
      period: ReportPeriodString.optional(),
      state: ReportState.optional(),
      includeSuperseded: z.enum(["true", "false"]).default("false"),
    }),
  },
  responses: {
    200: jsonResponse(Page(Report, "ReportPage"), "Reports, newest period first, then newest version"),
    ...errorResponses,
  },
});

export const getReport = createRoute({
  operationId: "getReport",
  method: "get",
  path: "/reports/{id}",
  tags,
  security,
  summary: "A report beside the platform's own figures, with each difference beyond tolerance flagged",
  description:
    "Revenue by fee item is compared with what was invoiced for the period (invoice lines of invoices of its months); the totals also show what was collected (payments received in the period less refunds paid out). Usage is compared with the metered usage records when the fee schedule meters it; safety incidents with the e-bike incidents on the contract's elevators (false alarms excluded) when they have sensors. Costs and availability have no platform figure (`not_tracked`). Tolerances: money max(1.00, 1 %) unless overridden; usage max(0, 1 %); counts exact.",
  request: { params: IdParams, query: ToleranceQuery },
  responses: { 200: jsonResponse(ReportDetail, "The report"), ...errorResponses },
});

export const acceptReport = createRoute({
  operationId: "acceptReport",
  method: "post",
  path: "/reports/{id}/accept",
  tags,
  security,
  summary: "Accept a submitted report (owners committee)",
  description: "The owners committee accepts a submitted operation report.",
  request: { params: IdParams, body: noBody },
  responses: { 200: jsonResponse(ReportDetail, "Accepted"), ...withConflicts },
});

export const queryReport = createRoute({
  operationId: "queryReport",
  method: "post",
  path: "/reports/{id}/query",
  tags,
  security,
  summary: "Query a submitted report with a comment (owners committee)",
  description:
    "The owners committee queries a submitted report with a comment; the enterprise answers by revising it (a new version of the same period).",
  request: {
    params: IdParams,
    body: jsonBody(z.strictObject({ comment: Text.trim().min(1).max(4000) }).openapi("ReportQuery")),
  },
  responses: { 200: jsonResponse(ReportDetail, "Queried"), ...withConflicts },
});

export const reviseReport = createRoute({
  operationId: "reviseReport",
  method: "post",
  path: "/reports/{id}/revise",
  tags,
  security,
  summary: "Answer a queried report with a revised version (enterprise)",
  description: "The queried version is kept as `superseded`; the new version is `submitted`.",
  request: {
    params: IdParams,
    body: jsonBody(
      z
        .strictObject({ figures: Figures, comment: Text.trim().min(1).max(4000).optional() })
        .openapi("ReportRevision"),
    ),
  },
  responses: { 201: jsonResponse(ReportDetail, "The new version"), ...withConflicts },
});

export const listReportComments = createRoute({
  operationId: "listReportComments",
  method: "get",
  path: "/reports/{id}/comments",
  tags,
  security,
  summary: "Comments on every version of the report's period, oldest first",
  description:
    "The committee's and enterprise's comments on every version of the report's period, oldest first.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(Page(ReportComment, "ReportCommentPage"), "Comments, oldest first"),
    ...errorResponses,
  },
});
