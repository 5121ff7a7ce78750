import type { z } from "@hono/zod-openapi";
import type { Tolerance } from "../../../contracts/index.js";
import { Figures } from "../../services/reports/figures.js";
import type { CommentRow, ComparedOut, ReportDetailParts, ReportRow } from "../../services/reports/store.js";
import type { ComparedFigure, Report, ReportComment, ReportDetail } from "./reports.routes.js";

type Detail = z.input<typeof ReportDetail>;

export function reportJson(row: ReportRow): z.input<typeof Report> {
  return {
    id: row.id,
    contractId: row.contractId,
    period: row.period,
    versionNo: row.versionNo,
    state: row.status,
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
    versions: d.versions.map((v) => ({ id: v.id, versionNo: v.versionNo, state: v.status })),
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
