/**
 * Operation reports: the enterprise files one per month or quarter, the owners committee accepts
 * or queries it, the enterprise answers a query with a revised version. Every decision is a
 * command on the contract (`file_report`, `review_report`) run on its locked row with its audit
 * row; what a report's status and period allow is contracts/reports.ts.
 */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import {
  type ContractCommand,
  decideNewReport,
  decideReportReview,
  parseReportPeriod,
  type ReportPeriod,
  type ReportReview,
  type ReportStatus,
  reportableErrors,
} from "../../../contracts/index.js";
import type { Tx } from "../../../db/database.js";
import { operationReports, organizations, reportComments } from "../../../db/schema.js";
import { ApiError } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { type CommandScope, runContractCommand } from "../contracts/command.js";
import { type ContractRow, findContract } from "../contracts/store.js";
import { cause } from "../notifications/cause.js";
import { recordNotificationEvents } from "../notifications/events.js";
import { type Page, type PageRequest, pageOf } from "../pages.js";
import type { ReportFigures } from "./figures.js";
import {
  type CommentRow,
  DEFAULT_TOLERANCES,
  findReport,
  MONEY_TOLERANCE,
  periodOfReport,
  type ReportDetailParts,
  type ReportRow,
  reportDetail,
  scheduleOn,
} from "./store.js";

export interface NewReport {
  period: string;
  figures: ReportFigures;
}

export interface ReportFilter {
  period?: string | undefined;
  status?: ReportStatus | undefined;
  /** Superseded versions too (always when `status` is superseded). */
  includeSuperseded: boolean;
}

/** The money tolerance of a report's comparison, where the caller overrides the default. */
export interface MoneyToleranceOverride {
  absolute?: string | undefined;
  relative?: string | undefined;
}

export interface Revision {
  figures: ReportFigures;
  comment?: string | undefined;
}

/**
 * 400 naming each field unless the contract may report these figures for this period
 * (`reportableErrors`, against the fee schedules in force at the start and the end of the period).
 */
async function checkReportable(
  s: CommandScope,
  period: ReportPeriod,
  figures: ReportFigures,
  prefix: string,
) {
  const [atStart, atEnd] = await Promise.all([
    scheduleOn(s.tx, s.contract, period.start),
    scheduleOn(s.tx, s.contract, period.end),
  ]);
  const codes = [...atStart, ...atEnd].map((f) => f.code);
  const errors = reportableErrors(s.contract, period, figures, codes, s.today, prefix);
  if (errors.length) throw ApiError.validation(errors);
}

export async function fileReport(
  ctx: ServiceContext,
  contractId: string,
  input: NewReport,
): Promise<ReportDetailParts> {
  const period = parseReportPeriod(input.period);
  if (!period) throw ApiError.validation([{ field: "body.period", message: "is not a month or a quarter" }]);
  const { row, contract } = await runContractCommand(ctx, contractId, { type: "file_report" }, async (s) => {
    await checkReportable(s, period, input.figures, "body");
    const filed = await s.tx
      .select({
        id: operationReports.id,
        period: operationReports.period,
        versionNo: operationReports.versionNo,
        status: operationReports.status,
      })
      .from(operationReports)
      .where(eq(operationReports.contractId, s.contract.id));
    const clash = decideNewReport(filed, period);
    if (clash) {
      throw ApiError.conflict(clash.code, clash.reason, {
        reportId: clash.report.id,
        reportState: clash.report.status,
      });
    }
    const [inserted] = await s.tx
      .insert(operationReports)
      .values({
        contractId: s.contract.id,
        period: period.period,
        versionNo: 1,
        status: "submitted",
        figures: input.figures,
        submittedByOrgId: s.actor.orgId,
        createdAt: s.now,
      })
      .returning();
    if (!inserted) throw new Error("insert returned nothing");
    await s.audit("report.submitted", {
      payload: { reportId: inserted.id, period: period.period, reportVersionNo: 1 },
    });
    await recordReportFiled(s.tx, s.contract, inserted, s.now);
    return { row: inserted, contract: s.contract };
  });
  return reportDetail(ctx.db, contract, row, DEFAULT_TOLERANCES);
}

/** The `report_filed` cause, in the transaction that files the report (or its revision). */
async function recordReportFiled(tx: Tx, contract: ContractRow, report: ReportRow, now: Date) {
  const [enterprise] = await tx
    .select({ name: organizations.name })
    .from(organizations)
    .where(eq(organizations.id, contract.enterpriseOrgId));
  await recordNotificationEvents(tx, [
    cause(
      "report_filed",
      {
        reportId: report.id,
        contractId: contract.id,
        title: contract.title,
        period: report.period,
        enterpriseName: enterprise?.name ?? "",
      },
      {
        subjectId: report.id,
        streetId: contract.streetId,
        communityId: contract.communityId,
        contractId: contract.id,
        enterpriseOrgId: contract.enterpriseOrgId,
        occurredAt: now,
      },
    ),
  ]);
}

/** The contract's reports, newest period first (superseded versions only when asked for). */
export async function listReports(
  ctx: ServiceContext,
  contractId: string,
  filter: ReportFilter,
  page?: PageRequest,
): Promise<Page<ReportRow>> {
  const contract = await findContract(ctx.db, ctx.principal, contractId);
  const where = and(
    eq(operationReports.contractId, contract.id),
    filter.period ? eq(operationReports.period, filter.period) : undefined,
    filter.status ? eq(operationReports.status, filter.status) : undefined,
    filter.includeSuperseded || filter.status === "superseded"
      ? undefined
      : inArray(operationReports.status, ["submitted", "accepted", "queried"]),
  );
  const query = ctx.db
    .select()
    .from(operationReports)
    .where(where)
    .orderBy(desc(operationReports.period), desc(operationReports.versionNo), asc(operationReports.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(operationReports, where), page);
}

/** A report beside the platform's own figures, with the caller's money tolerance if given. */
export async function reportDetailOf(
  ctx: ServiceContext,
  id: string,
  money: MoneyToleranceOverride = {},
): Promise<ReportDetailParts> {
  const { report, contract } = await findReport(ctx.db, ctx.principal, id);
  return reportDetail(ctx.db, contract, report, {
    ...DEFAULT_TOLERANCES,
    money: {
      absolute: money.absolute ?? MONEY_TOLERANCE.absolute,
      relative: money.relative ?? MONEY_TOLERANCE.relative,
    },
  });
}

/**
 * A review of one report: `command` on its contract, then the report re-read under the contract's
 * lock and `review` decided on its status (409 `report_state` when the status does not allow it).
 * `run` gets the status the reviewed version moves to. Answers with the report's detail.
 */
async function onReport(
  ctx: ServiceContext,
  id: string,
  command: ContractCommand,
  review: ReportReview,
  run: (s: CommandScope, report: ReportRow, next: ReportStatus) => Promise<ReportRow>,
): Promise<ReportDetailParts> {
  const { report } = await findReport(ctx.db, ctx.principal, id);
  const { row, contract } = await runContractCommand(ctx, report.contractId, command, async (s) => {
    const { report: locked } = await findReport(s.tx, ctx.principal, id, true);
    const decision = decideReportReview(locked, review);
    if (!decision.ok) {
      throw ApiError.conflict(decision.refusal.code, decision.refusal.reason, {
        currentState: decision.refusal.report.status,
      });
    }
    return { row: await run(s, locked, decision.next), contract: s.contract };
  });
  return reportDetail(ctx.db, contract, row, DEFAULT_TOLERANCES);
}

/** Sets the reviewed report's status and who reviewed it. */
async function setReviewed(s: CommandScope, report: ReportRow, status: ReportStatus): Promise<ReportRow> {
  const [row] = await s.tx
    .update(operationReports)
    .set({ status, reviewedByOrgId: s.actor.orgId, reviewedAt: s.now })
    .where(eq(operationReports.id, report.id))
    .returning();
  if (!row) throw new Error("update returned nothing");
  return row;
}

export async function acceptReport(ctx: ServiceContext, id: string): Promise<ReportDetailParts> {
  return onReport(ctx, id, { type: "review_report" }, "accept", async (s, report, next) => {
    const row = await setReviewed(s, report, next);
    await s.audit("report.accepted", {
      payload: { reportId: report.id, period: report.period, reportVersionNo: report.versionNo },
    });
    return row;
  });
}

export async function queryReport(
  ctx: ServiceContext,
  id: string,
  comment: string,
): Promise<ReportDetailParts> {
  return onReport(ctx, id, { type: "review_report" }, "query", async (s, report, next) => {
    const row = await setReviewed(s, report, next);
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
    return row;
  });
}

/** The enterprise's answer to a query: the queried version is superseded by a new, submitted one. */
export async function reviseReport(
  ctx: ServiceContext,
  id: string,
  input: Revision,
): Promise<ReportDetailParts> {
  return onReport(ctx, id, { type: "file_report" }, "revise", async (s, report, next) => {
    const period = periodOfReport(report);
    // The period was accepted once; what may have changed since is the figures only. (An
    // operating contract that was transferred since may still answer the query.)
    await checkReportable(s, period, input.figures, "report");
    await s.tx.update(operationReports).set({ status: next }).where(eq(operationReports.id, report.id));
    const [row] = await s.tx
      .insert(operationReports)
      .values({
        contractId: report.contractId,
        period: report.period,
        versionNo: report.versionNo + 1,
        status: "submitted",
        figures: input.figures,
        submittedByOrgId: s.actor.orgId,
        createdAt: s.now,
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    if (input.comment) {
      await s.tx
        .insert(reportComments)
        .values({ reportId: row.id, authorOrgId: s.actor.orgId, body: input.comment, createdAt: s.now });
    }
    await s.audit("report.revised", {
      payload: {
        reportId: row.id,
        supersedes: report.id,
        period: report.period,
        reportVersionNo: row.versionNo,
        ...(input.comment ? { comment: input.comment } : {}),
      },
    });
    // A revised version is filed anew: the committee reviews it again.
    await recordReportFiled(s.tx, s.contract, row, s.now);
    return row;
  });
}

/** The comments on every version of the report's period, oldest first, with each one's version. */
export async function listReportComments(
  ctx: ServiceContext,
  id: string,
  page?: PageRequest,
): Promise<Page<{ comment: CommentRow; versionNo: number }>> {
  const { report } = await findReport(ctx.db, ctx.principal, id);
  const where = and(
    eq(operationReports.contractId, report.contractId),
    eq(operationReports.period, report.period),
  );
  const query = ctx.db
    .select({ comment: reportComments, versionNo: operationReports.versionNo })
    .from(reportComments)
    .innerJoin(operationReports, eq(operationReports.id, reportComments.reportId))
    .where(where)
    .orderBy(asc(reportComments.createdAt), asc(operationReports.versionNo), asc(reportComments.id))
    .$dynamic();
  const count = async () => {
    const [row] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(reportComments)
      .innerJoin(operationReports, eq(operationReports.id, reportComments.reportId))
      .where(where);
    return row?.n ?? 0;
  };
  return pageOf(query, count, page);
}
