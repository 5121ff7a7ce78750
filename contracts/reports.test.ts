import { describe, expect, it } from "vitest";
import { parseReportPeriod, type ReportPeriod } from "./report-periods.js";
import {
  decideNewReport,
  decideReportReview,
  type FiledReport,
  REPORT_REVIEWS,
  REPORT_STATUSES,
  type ReportReview,
  type ReportStatus,
  reportableErrors,
} from "./reports.js";

const period = (s: string): ReportPeriod => {
  const p = parseReportPeriod(s);
  if (!p) throw new Error(`bad period ${s}`);
  return p;
};

const report = (status: ReportStatus, overrides: Partial<FiledReport> = {}): FiledReport => ({
  id: "r-1",
  period: "2026-03",
  versionNo: 2,
  status,
  ...overrides,
});

describe("the owners committee reviews a report, the enterprise answers a query", () => {
  /** Every status × review: the status the reviewed version moves to, or the rule that refuses. */
  const expected: Record<ReportStatus, Record<ReportReview, ReportStatus | string>> = {
    submitted: {
      accept: "accepted",
      query: "queried",
      revise: "only a queried report can be revised",
    },
    queried: {
      accept: "only a submitted report can be accepted",
      query: "only a submitted report can be queried",
      revise: "superseded",
    },
    accepted: {
      accept: "only a submitted report can be accepted",
      query: "only a submitted report can be queried",
      revise: "only a queried report can be revised",
    },
    superseded: {
      accept: "only a submitted report can be accepted",
      query: "only a submitted report can be queried",
      revise: "only a queried report can be revised",
    },
  };

  for (const status of REPORT_STATUSES) {
    for (const review of REPORT_REVIEWS) {
      const want = expected[status][review];
      const allowed = (REPORT_STATUSES as readonly string[]).includes(want);
      it(`${review} on a ${status} report is ${allowed ? `allowed (→ ${want})` : "refused"}`, () => {
        const decision = decideReportReview(report(status), review);
        if (allowed) {
          expect(decision).toEqual({ ok: true, next: want });
        } else {
          expect(decision).toEqual({
            ok: false,
            refusal: {
              status: 409,
              code: "report_state",
              reason: `Report version 2 for 2026-03 is ${status}; ${want}.`,
              report: { id: "r-1", status },
            },
          });
        }
      });
    }
  }
});

describe("one report per period", () => {
  it("refuses a second report for a period, pointing a queried one to its revision", () => {
    const refusal = decideNewReport([report("queried", { id: "q-1" })], period("2026-03"));
    expect(refusal).toEqual({
      status: 409,
      code: "report_exists",
      reason:
        "A report for 2026-03 exists (version 2, queried); a queried report is answered with POST /v1/reports/q-1/revise.",
      report: { id: "q-1", status: "queried" },
    });
  });

  it("refuses a quarter over a month already reported, and a month inside a reported quarter", () => {
    expect(decideNewReport([report("accepted")], period("2026-Q1"))?.reason).toBe(
      "The period 2026-Q1 overlaps the report for 2026-03.",
    );
    expect(decideNewReport([report("submitted", { period: "2026-Q1" })], period("2026-02"))?.reason).toBe(
      "The period 2026-02 overlaps the report for 2026-Q1.",
    );
  });

  it("ignores superseded versions and periods that do not overlap", () => {
    expect(decideNewReport([report("superseded")], period("2026-03"))).toBeNull();
    expect(
      decideNewReport([report("accepted"), report("queried", { period: "2026-Q2" })], period("2026-02")),
    ).toBeNull();
    expect(decideNewReport([], period("2026-03"))).toBeNull();
  });
});

describe("which periods and figures a contract may report", () => {
  const operating = { operationStartDate: "2026-01-15", transferDate: "2036-01-15", transferredOn: null };
  const items = (codes: string[], dates: string[] = []) => ({
    revenueByItem: Object.fromEntries(codes.map((c) => [c, "1.00"])),
    maintenanceRecords: dates.map((date) => ({ date })),
  });
  const TODAY = "2026-04-05";

  it("accepts a period that is over, from the operation start month, with the schedule's codes", () => {
    expect(
      reportableErrors(
        operating,
        period("2026-Q1"),
        items(["EL-M"], ["2026-01-02", "2026-03-31"]),
        ["EL-M", "EL-Y"],
        TODAY,
        "body",
      ),
    ).toEqual([]);
  });

  it("refuses a period before the operation start month, or not over yet", () => {
    expect(reportableErrors(operating, period("2025-12"), items([]), ["EL-M"], TODAY, "body")).toEqual([
      { field: "body.period", message: "begins before the operation start month 2026-01" },
    ]);
    expect(reportableErrors(operating, period("2026-04"), items([]), ["EL-M"], TODAY, "report")).toEqual([
      { field: "report.period", message: "is not over yet (it ends on 2026-04-30)" },
    ]);
  });

  it("refuses a period that begins on or after the handover (the transfer, once it happened)", () => {
    const transferred = { ...operating, transferredOn: "2026-03-01" };
    expect(reportableErrors(transferred, period("2026-03"), items([]), ["EL-M"], TODAY, "body")).toEqual([
      { field: "body.period", message: "begins on or after the transfer date 2026-03-01" },
    ]);
    expect(reportableErrors(transferred, period("2026-02"), items([]), ["EL-M"], TODAY, "body")).toEqual([]);
    const due = { ...operating, transferDate: "2026-02-01" };
    expect(reportableErrors(due, period("2026-02"), items([]), ["EL-M"], TODAY, "body")).toEqual([
      { field: "body.period", message: "begins on or after the transfer date 2026-02-01" },
    ]);
  });

  it("names each fee code not of the schedule and each maintenance record outside the period", () => {
    expect(
      reportableErrors(
        operating,
        period("2026-03"),
        items(["EL-M", "GA-X"], ["2026-03-12", "2026-04-01"]),
        ["EL-M", "EL-Y", "EL-M"],
        TODAY,
        "body",
      ),
    ).toEqual([
      {
        field: "body.figures.revenueByItem.GA-X",
        message: "is not a fee code of the contract's schedule (EL-M, EL-Y)",
      },
      {
        field: "body.figures.maintenanceRecords.1.date",
        message: "is outside the period 2026-03-01 – 2026-03-31",
      },
    ]);
  });
});
