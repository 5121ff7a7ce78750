/**
 * The period an operation report covers: a calendar month ('2026-11') or a calendar quarter
 * ('2026-Q4' = 2026-10 … 2026-12), Asia/Shanghai dates. Months order like their strings, so a
 * quarter is the month range [first, last] in SQL (`period between first and last`).
 */
import { comparePeriods, type Period, periodEnd, periodRange, periodStart } from "./periods.js";

export interface ReportPeriod {
  period: string;
  kind: "month" | "quarter";
  firstMonth: Period;
  lastMonth: Period;
  /** First and last calendar day, inclusive. */
  start: string;
  end: string;
}

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;
const QUARTER_RE = /^(\d{4})-Q([1-4])$/;
export const REPORT_PERIOD_RE = /^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/;

/** The report period written `YYYY-MM` or `YYYY-Qn`, or null when it is neither. */
export function parseReportPeriod(s: string): ReportPeriod | null {
  const month = MONTH_RE.exec(s);
  if (month && Number(month[1]) >= 1) {
    return {
      period: s,
      kind: "month",
      firstMonth: s,
      lastMonth: s,
      start: periodStart(s),
      end: periodEnd(s),
    };
  }
  const quarter = QUARTER_RE.exec(s);
  if (quarter && Number(quarter[1]) >= 1) {
    const y = quarter[1] ?? "";
    const q = Number(quarter[2]);
    const firstMonth = `${y}-${String(q * 3 - 2).padStart(2, "0")}`;
    const lastMonth = `${y}-${String(q * 3).padStart(2, "0")}`;
    return {
      period: s,
      kind: "quarter",
      firstMonth,
      lastMonth,
      start: periodStart(firstMonth),
      end: periodEnd(lastMonth),
    };
  }
  return null;
}

/** The months a report period covers, in order. */
export function monthsOf(p: ReportPeriod): Period[] {
  return periodRange(p.firstMonth, p.lastMonth);
}

/** Whether two report periods share a month (a month report inside a quarter report does). */
export function overlaps(a: ReportPeriod, b: ReportPeriod): boolean {
  return comparePeriods(a.firstMonth, b.lastMonth) <= 0 && comparePeriods(b.firstMonth, a.lastMonth) <= 0;
}
