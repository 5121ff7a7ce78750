/**
 * Operation reports: which review a report's status allows, which filed report a new period
 * clashes with, and which periods and figures a contract may report. Pure: the application layer
 * passes the reports, the contract's dates, the fee codes of its schedule and today.
 */
import { compareDates } from "./dates.js";
import { periodOf } from "./periods.js";
import { overlaps, parseReportPeriod, type ReportPeriod } from "./report-periods.js";

/** A report version is filed `submitted`, then accepted, queried, or superseded by a revision. */
export const REPORT_STATUSES = ["submitted", "accepted", "queried", "superseded"] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** What the owners committee (accept, query) or the enterprise (revise) does with a report. */
export const REPORT_REVIEWS = ["accept", "query", "revise"] as const;
export type ReportReview = (typeof REPORT_REVIEWS)[number];

/** Each review: the status it needs, the status it gives the reviewed version, the rule in words. */
const REVIEW_RULES: Record<ReportReview, { from: ReportStatus; to: ReportStatus; rule: string }> = {
  accept: { from: "submitted", to: "accepted", rule: "only a submitted report can be accepted" },
  query: { from: "submitted", to: "queried", rule: "only a submitted report can be queried" },
  // The revision is a new version (submitted); the queried one is kept as superseded.
  revise: { from: "queried", to: "superseded", rule: "only a queried report can be revised" },
};

/** A report version as the rules read it. */
export interface FiledReport {
  id: string;
  period: string;
  versionNo: number;
  status: ReportStatus;
}

/** Why a report may not be reviewed or filed: always a 409, with the API's error code. */
export interface ReportRefusal {
  status: 409;
  code: "report_state" | "report_exists";
  reason: string;
  /** The report whose status or period stands in the way. */
  report: Pick<FiledReport, "id" | "status">;
}

export type ReportDecision = { ok: true; next: ReportStatus } | { ok: false; refusal: ReportRefusal };

/** Whether `review` may be done to this report version now, and the status it moves it to. */
export function decideReportReview(
  report: Pick<FiledReport, "id" | "period" | "versionNo" | "status">,
  review: ReportReview,
): ReportDecision {
  const { from, to, rule } = REVIEW_RULES[review];
  if (report.status === from) return { ok: true, next: to };
  return {
    ok: false,
    refusal: {
      status: 409,
      code: "report_state",
      reason: `Report version ${report.versionNo} for ${report.period} is ${report.status}; ${rule}.`,
      report: { id: report.id, status: report.status },
    },
  };
}

/**
 * Whether a new report for `period` may be filed beside the contract's reports: none of them (but
 * superseded versions) may cover a month of it. A queried report of the same period is answered
 * with a revision instead.
 */
export function decideNewReport(filed: readonly FiledReport[], period: ReportPeriod): ReportRefusal | null {
  const clash = filed.find((r) => {
    if (r.status === "superseded") return false;
    const p = parseReportPeriod(r.period);
    return p !== null && overlaps(p, period);
  });
  if (!clash) return null;
  return {
    status: 409,
    code: "report_exists",
    reason:
      clash.period === period.period
        ? `A report for ${period.period} exists (version ${clash.versionNo}, ${clash.status}); a queried report is answered with POST /v1/reports/${clash.id}/revise.`
        : `The period ${period.period} overlaps the report for ${clash.period}.`,
    report: { id: clash.id, status: clash.status },
  };
}

/** The contract's dates that bound what it may report. */
export interface ReportingDates {
  operationStartDate: string | null;
  transferDate: string | null;
  transferredOn: string | null;
}

/** The parts of a report's figures the reporting rules read. */
export interface ReportedItems {
  revenueByItem: Record<string, unknown>;
  maintenanceRecords: readonly { date: string }[];
}

/** One failing field of a report: where (`body.period`) and why, in words. */
export interface ReportFieldError {
  field: string;
  message: string;
}

/**
 * Whether a contract may report these figures for this period (the contract's state is the
 * command table's `file_report`):
 * - the period is over (its last day is before today), does not begin before the month of the
 *   operation start, and begins before the transfer date (the day the residents own it);
 * - every fee code is one of `feeCodes` (the schedule in force at the start or the end of the period);
 * - maintenance records fall within the period.
 * The period's field is `<periodPrefix>.period`; the figures' fields are the body's.
 */
export function reportableErrors(
  contract: ReportingDates,
  period: ReportPeriod,
  figures: ReportedItems,
  feeCodes: readonly string[],
  today: string,
  periodPrefix: string,
): ReportFieldError[] {
  const errors: ReportFieldError[] = [];
  const field = `${periodPrefix}.period`;
  const opStart = contract.operationStartDate;
  const handover = contract.transferredOn ?? contract.transferDate;
  if (opStart && period.firstMonth < periodOf(opStart)) {
    errors.push({ field, message: `begins before the operation start month ${periodOf(opStart)}` });
  }
  if (handover && compareDates(period.start, handover) >= 0) {
    errors.push({ field, message: `begins on or after the transfer date ${handover}` });
  }
  if (compareDates(period.end, today) >= 0) {
    errors.push({ field, message: `is not over yet (it ends on ${period.end})` });
  }
  const codes = new Set(feeCodes);
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
  return errors;
}
