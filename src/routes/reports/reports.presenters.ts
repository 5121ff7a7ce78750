import type { z } from "@hono/zod-openapi";
import type { ReconciledFigure, Tolerance } from "../../../contracts/index.js";
import type { operationReports, reportComments } from "../../../db/schema.js";
import {
  type ComparedFigure,
  Figures,
  type Report,
  type ReportComment,
  type ReportDetail,
} from "./reports.routes.js";

type ReportRow = typeof operationReports.$inferSelect;
type CommentRow = typeof reportComments.$inferSelect;
type Detail = z.input<typeof ReportDetail>;

/** A compared figure: reconcile's verdict, or `not_tracked` where the platform has no figure. */
export type ComparedOut = Omit<ReconciledFigure, "reason"> & {
  reason: ReconciledFigure["reason"] | "not_tracked";
  source: string;
};

export function reportJson(row: ReportRow): z.input<typeof Report> {
  return {
    id: row.id,
    contractId: row.contractId,
    period: row.period,
    versionNo: row.versionNo,
    status: row.status,
    // Stored as JSON: parsed with the schema it was accepted with, so only its fields are sent.
    figures: Figures.parse(row.figures),
    submittedByOrgId: row.submittedByOrgId,
    reviewedByOrgId: row.reviewedByOrgId,
    reviewedAt: row.reviewedAt ? row.reviewedAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
  };
}

const toleranceJson = (t: Tolerance) => ({ absolute: t.absolute, relative: t.relative });

function comparedFigureJson(f: ComparedOut): z.input<typeof ComparedFigure> {
  return {
    figure: f.figure,
    reported: f.reported,
    platform: f.platform,
    difference: f.difference,
    allowed: f.allowed,
    flagged: f.flagged,
    reason: f.reason,
    source: f.source,
  };
}

/** Everything a report's detail shows, as reportDetail computes it. */
export interface ReportDetailParts {
  row: ReportRow;
  tolerances: { money: Tolerance; usage: Tolerance; counts: Tolerance };
  revenue: Detail["comparison"]["revenue"];
  figures: ComparedOut[];
  flaggedCount: number;
  platform: Detail["platform"];
  versions: Detail["versions"];
}

export function reportDetailJson(d: ReportDetailParts): Detail {
  return {
    ...reportJson(d.row),
    comparison: {
      tolerances: {
        money: toleranceJson(d.tolerances.money),
        usage: toleranceJson(d.tolerances.usage),
        counts: toleranceJson(d.tolerances.counts),
      },
      revenue: { reported: d.revenue.reported, invoiced: d.revenue.invoiced, collected: d.revenue.collected },
      figures: d.figures.map(comparedFigureJson),
      flaggedCount: d.flaggedCount,
    },
    platform: {
      invoicedByItem: d.platform.invoicedByItem,
      invoicedTotal: d.platform.invoicedTotal,
      collected: d.platform.collected,
      usage: {
        rides: d.platform.usage.rides,
        kWh: d.platform.usage.kWh,
        chargingSessions: d.platform.usage.chargingSessions,
      },
      ebikeIncidents: d.platform.ebikeIncidents,
      falseAlarms: d.platform.falseAlarms,
      halts: d.platform.halts,
    },
    versions: d.versions.map((v) => ({ id: v.id, versionNo: v.versionNo, status: v.status })),
  };
}

export function reportCommentJson(comment: CommentRow, versionNo: number): z.input<typeof ReportComment> {
  return {
    id: comment.id,
    reportId: comment.reportId,
    versionNo,
    authorOrgId: comment.authorOrgId,
    body: comment.body,
    createdAt: comment.createdAt.toISOString(),
  };
}
