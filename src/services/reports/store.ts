/**
 * Operation reports as stored, and the platform's own figures for a report's period: what was
 * invoiced and collected (the ledger), what was metered (usage records) and what the e-bike
 * sensors saw (incidents), compared figure by figure with `reconcile`.
 */
import { Decimal } from "decimal.js";
import { and, asc, eq, sql } from "drizzle-orm";
import {
  type FeeItem,
  formatMoney,
  parseReportPeriod,
  type ReconciledFigure,
  type ReportPeriod,
  type ReportStatus,
  reconcile,
  sumMoney,
  type Tolerance,
} from "../../../contracts/index.js";
import { type Queryable, queryRows } from "../../../db/database.js";
import { contracts, operationReports, type reportComments } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";
import { type ContractRow, findVersion, termsOf, versionInForce } from "../contracts/store.js";
import { Figures, type ReportFigures } from "./figures.js";

export type ReportRow = typeof operationReports.$inferSelect;
export type CommentRow = typeof reportComments.$inferSelect;

/** A compared figure: reconcile's verdict, or `not_tracked` where the platform has no figure. */
export type ComparedOut = Omit<ReconciledFigure, "reason"> & {
  reason: ReconciledFigure["reason"] | "not_tracked";
  source: string;
};

/** Money figures: a difference up to max(1.00 yuan, 1 % of the platform's figure) is accepted. */
export const MONEY_TOLERANCE: Tolerance = { absolute: "1.00", relative: "0.01" };
/** Metered usage (rides, kWh, sessions): up to 1 % (meter readings and session cut-offs). */
export const USAGE_TOLERANCE: Tolerance = { absolute: "0", relative: "0.01" };
/** Counts of safety incidents: exact. */
export const COUNT_TOLERANCE: Tolerance = { absolute: "0", relative: "0" };

const TIME_ZONE = "Asia/Shanghai";

export interface ReportTolerances {
  money: Tolerance;
  usage: Tolerance;
  counts: Tolerance;
}

export const DEFAULT_TOLERANCES: ReportTolerances = {
  money: MONEY_TOLERANCE,
  usage: USAGE_TOLERANCE,
  counts: COUNT_TOLERANCE,
};

/** A report and its contract, if the caller may see the contract; 404 otherwise. */
export async function findReport(
  db: Queryable,
  p: Principal,
  id: string,
  lock = false,
): Promise<{ report: ReportRow; contract: ContractRow }> {
  const query = db
    .select({ report: operationReports, contract: contracts })
    .from(operationReports)
    .innerJoin(contracts, eq(contracts.id, operationReports.contractId))
    .where(and(eq(operationReports.id, id), contractScope(p)));
  const [row] = lock ? await query.for("update", { of: operationReports }) : await query;
  if (!row) throw ApiError.notFound("The report");
  return row;
}

export function periodOfReport(row: ReportRow): ReportPeriod {
  const period = parseReportPeriod(row.period);
  if (!period) throw new Error(`stored report ${row.id} has a malformed period ${row.period}`);
  return period;
}

/**
 * The fee schedule that applied on `date`: the signed version in force then, else the signed
 * version (an amendment effective later), else the current version.
 */
export async function scheduleOn(db: Queryable, contract: ContractRow, date: string): Promise<FeeItem[]> {
  const version =
    (await versionInForce(db, contract.id, date)) ??
    (await findVersion(db, contract.id, contract.signedVersionNo ?? contract.currentVersionNo));
  return (await termsOf(db, version)).feeSchedule;
}

export interface PlatformFigures {
  invoicedByItem: Record<string, string>;
  invoicedTotal: string;
  collected: string;
  usage: { rides: string; kWh: string; chargingSessions: number };
  ebikeIncidents: number;
  falseAlarms: number;
  halts: number;
  /** Whether the contract's elevators have sensors (else the incident figures mean nothing). */
  monitored: boolean;
}

/** The platform's own figures for one contract and period (three set-based queries). */
export async function platformFigures(
  db: Queryable,
  contract: ContractRow,
  period: ReportPeriod,
  schedule: FeeItem[],
): Promise<PlatformFigures> {
  const cid = contract.id;
  const { firstMonth, lastMonth, start, end } = period;
  const [invoiced, usage, scalars] = await Promise.all([
    queryRows<{ code: string; amount: string }>(
      db,
      sql`select l.code, sum(l.amount)::numeric(14,2)::text as amount
        from invoice_lines l join invoices i on i.id = l.invoice_id
        where i.contract_id = ${cid} and i.period between ${firstMonth} and ${lastMonth}
        group by l.code order by l.code`,
    ),
    queryRows<{ fee_code: string; kind: "charging" | "ride"; quantity: string; sessions: number }>(
      db,
      sql`select fee_code, kind::text as kind, sum(quantity)::text as quantity, count(*)::int as sessions
        from usage_records
        where contract_id = ${cid} and period between ${firstMonth} and ${lastMonth}
        group by fee_code, kind`,
    ),
    queryRows<{ collected: string; ebike: number; false_alarms: number; halts: number; monitored: boolean }>(
      db,
      sql`with elevators as (
            select cf.facility_id from contract_facilities cf
            join facilities f on f.id = cf.facility_id
            where cf.contract_id = ${cid} and f.kind = 'elevator'
          ),
          ebike as (
            select i.classification, i.halted
            from incidents i
            where i.kind = 'ebike' and i.facility_id in (select facility_id from elevators)
              and i.opened_at >= (${start}::date)::timestamp at time zone ${TIME_ZONE}
              and i.opened_at < (${end}::date + 1)::timestamp at time zone ${TIME_ZONE}
          )
        select
          ((select coalesce(sum(p.amount), 0) from payments p
              where p.contract_id = ${cid} and p.received_on between ${start}::date and ${end}::date)
           - (select coalesce(sum(r.amount), 0) from refunds r join credit_notes n on n.id = r.credit_note_id
              where n.contract_id = ${cid} and r.paid_on between ${start}::date and ${end}::date)
          )::numeric(14,2)::text as collected,
          (select count(*)::int from ebike) as ebike,
          (select count(*)::int from ebike where classification = 'false_alarm') as false_alarms,
          (select count(*)::int from ebike where halted) as halts,
          exists (select 1 from sensors s where s.facility_id in (select facility_id from elevators)) as monitored`,
    ),
  ]);
  const units = new Map(schedule.filter((f) => f.kind === "per_use").map((f) => [f.code, f.unit]));
  let rides = new Decimal(0);
  let kWh = new Decimal(0);
  let sessions = 0;
  for (const u of usage) {
    if (u.kind === "ride") rides = rides.plus(u.quantity);
    else {
      sessions += u.sessions;
      if (units.get(u.fee_code) === "kWh") kWh = kWh.plus(u.quantity);
    }
  }
  const s = scalars[0];
  if (!s) throw new Error("the platform figures query returned no row");
  return {
    invoicedByItem: Object.fromEntries(invoiced.map((r) => [r.code, r.amount])),
    invoicedTotal: formatMoney(sumMoney(invoiced.map((r) => r.amount))),
    collected: s.collected,
    usage: { rides: rides.toString(), kWh: kWh.toFixed(3), chargingSessions: sessions },
    ebikeIncidents: s.ebike,
    falseAlarms: s.false_alarms,
    halts: s.halts,
    monitored: s.monitored,
  };
}

function notTracked(figure: string, reported: string): ComparedOut {
  return {
    figure,
    reported,
    platform: null,
    difference: null,
    allowed: null,
    flagged: false,
    reason: "not_tracked",
    source: "none",
  };
}

/**
 * Every reported figure beside the platform's, in the order: revenue by fee item, costs, usage,
 * availability, safety incidents. A fee item invoiced but not reported is flagged
 * (`missing_reported`); a reported item nothing was invoiced for is compared with 0.00.
 */
export function compareFigures(
  figures: ReportFigures,
  platform: PlatformFigures,
  schedule: FeeItem[],
  tol: ReportTolerances,
): { figures: ComparedOut[]; flaggedCount: number } {
  const key = (code: string) => `revenueByItem.${code}`;
  const reportedRevenue = Object.fromEntries(
    Object.entries(figures.revenueByItem).map(([code, v]) => [key(code), formatMoney(new Decimal(v))]),
  );
  const platformRevenue: Record<string, string> = {};
  for (const code of Object.keys(figures.revenueByItem)) platformRevenue[key(code)] = "0.00";
  for (const [code, v] of Object.entries(platform.invoicedByItem)) platformRevenue[key(code)] = v;

  const out: ComparedOut[] = [
    ...reconcile(reportedRevenue, platformRevenue, tol.money).figures.map((f) => ({
      ...f,
      source: "invoice lines of the period's invoices",
    })),
    ...(["maintenance", "electricity", "insurance", "other"] as const).map((k) =>
      notTracked(`costs.${k}`, formatMoney(new Decimal(figures.costs[k]))),
    ),
  ];

  const metered = new Set(schedule.filter((f) => f.kind === "per_use").map((f) => f.unit));
  const usage = [
    {
      name: "usage.rides",
      reported: String(figures.usage.rides),
      platform: platform.usage.rides,
      on: metered.has("ride"),
    },
    { name: "usage.kWh", reported: figures.usage.kWh, platform: platform.usage.kWh, on: metered.has("kWh") },
    {
      name: "usage.chargingSessions",
      reported: String(figures.usage.chargingSessions),
      platform: String(platform.usage.chargingSessions),
      on: metered.has("kWh") || metered.has("hour"),
    },
  ];
  for (const u of usage) {
    if (!u.on) {
      out.push(notTracked(u.name, u.reported));
      continue;
    }
    const [f] = reconcile({ [u.name]: u.reported }, { [u.name]: u.platform }, tol.usage).figures;
    if (f) out.push({ ...f, source: "usage records of the period" });
  }
  out.push(notTracked("availabilityPercent", figures.availabilityPercent));
  if (platform.monitored) {
    const [f] = reconcile(
      { safetyIncidents: String(figures.safetyIncidents) },
      { safetyIncidents: String(platform.ebikeIncidents - platform.falseAlarms) },
      tol.counts,
    ).figures;
    if (f) out.push({ ...f, source: "e-bike incidents on the contract's elevators, false alarms excluded" });
  } else {
    out.push(notTracked("safetyIncidents", String(figures.safetyIncidents)));
  }
  return { figures: out, flaggedCount: out.filter((f) => f.flagged).length };
}

/** Everything a report's detail shows: the report, its figures beside the platform's, its versions. */
export interface ReportDetailParts {
  row: ReportRow;
  tolerances: ReportTolerances;
  revenue: { reported: string; invoiced: string; collected: string };
  figures: ComparedOut[];
  flaggedCount: number;
  platform: PlatformFigures;
  versions: { id: string; versionNo: number; status: ReportStatus }[];
}

/** The report with the platform's figures beside it, and the other versions of its period. */
export async function reportDetail(
  db: Queryable,
  contract: ContractRow,
  row: ReportRow,
  tol: ReportTolerances,
): Promise<ReportDetailParts> {
  const period = periodOfReport(row);
  const figures = Figures.parse(row.figures);
  const schedule = await scheduleOn(db, contract, period.end);
  const [platform, versions] = await Promise.all([
    platformFigures(db, contract, period, schedule),
    db
      .select({
        id: operationReports.id,
        versionNo: operationReports.versionNo,
        status: operationReports.status,
      })
      .from(operationReports)
      .where(and(eq(operationReports.contractId, row.contractId), eq(operationReports.period, row.period)))
      .orderBy(asc(operationReports.versionNo)),
  ]);
  return {
    row,
    tolerances: tol,
    revenue: {
      reported: formatMoney(sumMoney(Object.values(figures.revenueByItem))),
      invoiced: platform.invoicedTotal,
      collected: platform.collected,
    },
    ...compareFigures(figures, platform, schedule, tol),
    platform,
    versions,
  };
}
