/**
 * Operation reports: the enterprise files one per month or quarter, the owners committee accepts
 * or queries it, the enterprise answers a query with a revised version. Every decision is one
 * transaction on the locked contract row (contractCommand) and appends to its audit log.
 */
import { and, asc, desc, eq, inArray, ne } from "drizzle-orm";
import type { Context } from "hono";
import {
  type ContractCommand,
  compareDates,
  overlaps,
  parseReportPeriod,
  periodOf,
  type ReportPeriod,
  shanghaiDate,
} from "../../../contracts/index.js";
import { operationReports, reportComments } from "../../../db/schema.js";
import type { AppEnv } from "../../context.js";
import { serviceContext } from "../../context.js";
import { ApiError, type FieldError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { type CommandScope, runContractCommand } from "../../services/contracts/command.js";
import { findContract } from "../../services/contracts/store.js";
import { reportCommentJson, reportJson } from "./reports.presenters.js";
import type * as routes from "./reports.routes.js";
import {
  COUNT_TOLERANCE,
  findReport,
  MONEY_TOLERANCE,
  type ReportFigures,
  type ReportRow,
  type ReportTolerances,
  reportDetail,
  scheduleOn,
  USAGE_TOLERANCE,
} from "./reports.store.js";

const DEFAULT_TOLERANCES: ReportTolerances = {
  money: MONEY_TOLERANCE,
  usage: USAGE_TOLERANCE,
  counts: COUNT_TOLERANCE,
};

/**
 * Whether this contract may report these figures for this period (409 for the contract's state,
 * 400 naming the fields otherwise):
 * - the contract is operating, or transferred (its last periods);
 * - the period is over (its last day is before today), does not begin before the month of the
 *   operation start, and begins before the transfer date (the day the residents own it);
 * - every fee code is one of the schedule in force at the start or the end of the period;
 * - maintenance records fall within the period.
 */
async function checkReportable(
  s: CommandScope,
  period: ReportPeriod,
  figures: ReportFigures,
  today: string,
  prefix: string,
) {
  const c = s.contract;
  const errors: FieldError[] = [];
  const field = `${prefix}.period`;
  const opStart = c.operationStartDate;
  const handover = c.transferredOn ?? c.transferDate;
  if (opStart && period.firstMonth < periodOf(opStart)) {
    errors.push({ field, message: `begins before the operation start month ${periodOf(opStart)}` });
  }
  if (handover && compareDates(period.start, handover) >= 0) {
    errors.push({ field, message: `begins on or after the transfer date ${handover}` });
  }
  if (compareDates(period.end, today) >= 0) {
    errors.push({ field, message: `is not over yet (it ends on ${period.end})` });
  }
  const [atStart, atEnd] = await Promise.all([
    scheduleOn(s.tx, c, period.start),
    scheduleOn(s.tx, c, period.end),
  ]);
  const codes = new Set([...atStart, ...atEnd].map((f) => f.code));
  for (const code of Object.keys(figures.revenueByItem)) {
    if (!codes.has(code)) {
      errors.push({
        field: `body.figures.revenueByItem.${code}`,
        message: `is not a fee code of the contract's schedule (${[...codes].join(", ")})`,
      });
    }
  }
  figures.maintenanceRecords.forEach((m, i) => {
    if (compareDates(m.date, period.start) < 0 || compareDates(m.date, period.end) > 0) {
      errors.push({
        field: `body.figures.maintenanceRecords.${i}.date`,
        message: `is outside the period ${period.start} – ${period.end}`,
      });
    }
  });
  if (errors.length) throw ApiError.validation(errors);
}

function reportConflict(report: ReportRow, want: string) {
  return ApiError.conflict(
    "report_state",
    `Report version ${report.versionNo} for ${report.period} is ${report.status}; ${want}.`,
    { reportStatus: report.status },
  );
}

export const submitReport: AppRouteHandler<typeof routes.submitReport> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const period = parseReportPeriod(body.period);
  if (!period) throw ApiError.validation([{ field: "body.period", message: "is not a month or a quarter" }]);
  const today = shanghaiDate(c.var.deps.clock());
  const { row, contract } = await runContractCommand(
    serviceContext(c),
    id,
    { type: "file_report" },
    async (s) => {
      await checkReportable(s, period, body.figures, today, "body");
      const open = await s.tx
        .select()
        .from(operationReports)
        .where(
          and(eq(operationReports.contractId, s.contract.id), ne(operationReports.status, "superseded")),
        );
      const clash = open.find((r) => {
        const p = parseReportPeriod(r.period);
        return p !== null && overlaps(p, period);
      });
      if (clash) {
        throw ApiError.conflict(
          "report_exists",
          clash.period === period.period
            ? `A report for ${period.period} exists (version ${clash.versionNo}, ${clash.status}); a queried report is answered with POST /v1/reports/${clash.id}/revise.`
            : `The period ${period.period} overlaps the report for ${clash.period}.`,
          { reportId: clash.id, reportStatus: clash.status },
        );
      }
      const [inserted] = await s.tx
        .insert(operationReports)
        .values({
          contractId: s.contract.id,
          period: period.period,
          versionNo: 1,
          status: "submitted",
          figures: body.figures,
          submittedByOrgId: s.actor.orgId,
          createdAt: s.now,
        })
        .returning();
      if (!inserted) throw new Error("insert returned nothing");
      await s.audit("report.submitted", {
        payload: { reportId: inserted.id, period: period.period, reportVersionNo: 1 },
      });
      return { row: inserted, contract: s.contract };
    },
  );
  return c.json(await reportDetail(c.var.db, contract, row, DEFAULT_TOLERANCES), 201);
};

export const listReports: AppRouteHandler<typeof routes.listReports> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const q = c.req.valid("query");
  const rows = await db
    .select()
    .from(operationReports)
    .where(
      and(
        eq(operationReports.contractId, contract.id),
        q.period ? eq(operationReports.period, q.period) : undefined,
        q.status ? eq(operationReports.status, q.status) : undefined,
        q.includeSuperseded === "true" || q.status === "superseded"
          ? undefined
          : inArray(operationReports.status, ["submitted", "accepted", "queried"]),
      ),
    )
    .orderBy(desc(operationReports.period), desc(operationReports.versionNo));
  return c.json({ items: rows.map(reportJson) }, 200);
};

export const getReport: AppRouteHandler<typeof routes.getReport> = async (c) => {
  const { db } = c.var;
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const { report, contract } = await findReport(db, c.var.principal, id);
  const tolerances: ReportTolerances = {
    ...DEFAULT_TOLERANCES,
    money: {
      absolute: q.toleranceAbsolute ?? MONEY_TOLERANCE.absolute,
      relative: q.toleranceRelative ?? MONEY_TOLERANCE.relative,
    },
  };
  return c.json(await reportDetail(db, contract, report, tolerances), 200);
};

/** A review decision on one report: the report is re-read under the contract's lock. */
async function onReport<T>(
  c: Context<AppEnv>,
  id: string,
  what: ContractCommand,
  run: (s: CommandScope, report: ReportRow) => Promise<T>,
): Promise<T> {
  const { report } = await findReport(c.var.db, c.var.principal, id);
  return runContractCommand(serviceContext(c), report.contractId, what, async (s) => {
    const { report: locked } = await findReport(s.tx, c.var.principal, id, true);
    return run(s, locked);
  });
}

export const acceptReport: AppRouteHandler<typeof routes.acceptReport> = async (c) => {
  const { id } = c.req.valid("param");
  const { row, contract } = await onReport(c, id, { type: "review_report" }, async (s, report) => {
    if (report.status !== "submitted")
      throw reportConflict(report, "only a submitted report can be accepted");
    const [row] = await s.tx
      .update(operationReports)
      .set({ status: "accepted", reviewedByOrgId: s.actor.orgId, reviewedAt: s.now })
      .where(eq(operationReports.id, report.id))
      .returning();
    if (!row) throw new Error("update returned nothing");
    await s.audit("report.accepted", {
      payload: { reportId: report.id, period: report.period, reportVersionNo: report.versionNo },
    });
    return { row, contract: s.contract };
  });
  return c.json(await reportDetail(c.var.db, contract, row, DEFAULT_TOLERANCES), 200);
};

export const queryReport: AppRouteHandler<typeof routes.queryReport> = async (c) => {
  const { id } = c.req.valid("param");
  const { comment } = c.req.valid("json");
  const { row, contract } = await onReport(c, id, { type: "review_report" }, async (s, report) => {
    if (report.status !== "submitted") throw reportConflict(report, "only a submitted report can be queried");
    const [row] = await s.tx
      .update(operationReports)
      .set({ status: "queried", reviewedByOrgId: s.actor.orgId, reviewedAt: s.now })
      .where(eq(operationReports.id, report.id))
      .returning();
    if (!row) throw new Error("update returned nothing");
    const [note] = await s.tx
      .insert(reportComments)
      .values({ reportId: report.id, authorOrgId: s.actor.orgId, body: comment, createdAt: s.now })
      .returning({ id: reportComments.id });
    await s.audit("report.queried", {
      payload: {
        reportId: report.id,
        period: report.period,
        reportVersionNo: report.versionNo,
        commentId: note?.id ?? null,
        comment,
      },
    });
    return { row, contract: s.contract };
  });
  return c.json(await reportDetail(c.var.db, contract, row, DEFAULT_TOLERANCES), 200);
};

export const reviseReport: AppRouteHandler<typeof routes.reviseReport> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  const { row, contract } = await onReport(c, id, { type: "file_report" }, async (s, report) => {
    if (report.status !== "queried") throw reportConflict(report, "only a queried report can be revised");
    const period = parseReportPeriod(report.period);
    if (!period) throw new Error(`stored report ${report.id} has a malformed period`);
    // The period was accepted once; what may have changed since is the figures only. (An
    // operating contract that was transferred since may still answer the query.)
    await checkReportable(s, period, body.figures, today, "report");
    await s.tx
      .update(operationReports)
      .set({ status: "superseded" })
      .where(eq(operationReports.id, report.id));
    const [row] = await s.tx
      .insert(operationReports)
      .values({
        contractId: report.contractId,
        period: report.period,
        versionNo: report.versionNo + 1,
        status: "submitted",
        figures: body.figures,
        submittedByOrgId: s.actor.orgId,
        createdAt: s.now,
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    if (body.comment) {
      await s.tx
        .insert(reportComments)
        .values({ reportId: row.id, authorOrgId: s.actor.orgId, body: body.comment, createdAt: s.now });
    }
    await s.audit("report.revised", {
      payload: {
        reportId: row.id,
        supersedes: report.id,
        period: report.period,
        reportVersionNo: row.versionNo,
        ...(body.comment ? { comment: body.comment } : {}),
      },
    });
    return { row, contract: s.contract };
  });
  return c.json(await reportDetail(c.var.db, contract, row, DEFAULT_TOLERANCES), 201);
};

export const listReportComments: AppRouteHandler<typeof routes.listReportComments> = async (c) => {
  const { db } = c.var;
  const { report } = await findReport(db, c.var.principal, c.req.valid("param").id);
  const rows = await db
    .select({ comment: reportComments, versionNo: operationReports.versionNo })
    .from(reportComments)
    .innerJoin(operationReports, eq(operationReports.id, reportComments.reportId))
    .where(
      and(eq(operationReports.contractId, report.contractId), eq(operationReports.period, report.period)),
    )
    .orderBy(asc(reportComments.createdAt), asc(operationReports.versionNo), asc(reportComments.id));
  return c.json({ items: rows.map(({ comment, versionNo }) => reportCommentJson(comment, versionNo)) }, 200);
};
