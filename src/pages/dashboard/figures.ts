/**
 * What the dashboard page reads besides the street dashboard itself, put together from the
 * application layer's own functions (no query and no rule of its own): the incident statistics
 * by Shanghai day summed into weeks, and the receivables by community in the page's order.
 *
 * Everything here is within the principal's scope, because every function it calls is.
 */
import { Decimal } from "decimal.js";
import { addDays } from "../../../contracts/index.js";
import type { ServiceContext } from "../../services/context.js";
import { receivablesByCommunity } from "../../services/fees/statements.js";
import { incidentStats, type StatsGroupFigures } from "../../services/incidents/stats.js";
import { type CommunityRow, listCommunities } from "../../services/places/places.js";

const PAGE = 200;

/** One week of e-bike incidents: its first and last Shanghai day (both included, for people), the count and the halt minutes. */
export interface IncidentWeek {
  from: string;
  to: string;
  incidents: number;
  halts: number;
  /** Minutes, two places: the week's halt seconds / 60, rounded half up. */
  haltMinutes: string;
}

export interface IncidentWeeks {
  /** Elevators with a sensor in the window (0: nothing to show). */
  elevators: number;
  weeks: IncidentWeek[];
}

/** The last `weeks` weeks up to `today` (the last one ends today), by the incident statistics. */
export async function incidentWeeks(
  ctx: ServiceContext,
  today: string,
  weeks: number,
): Promise<IncidentWeeks> {
  const from = addDays(today, -(7 * weeks - 1));
  const stats = await incidentStats(ctx, { groupBy: "day", from, to: addDays(today, 1) });
  const byDay = new Map<string, StatsGroupFigures>();
  for (const item of stats.items) if (item.day) byDay.set(item.day, item);
  let elevators = 0;
  const out: IncidentWeek[] = [];
  for (let w = 0; w < weeks; w++) {
    const start = addDays(from, 7 * w);
    let incidents = 0;
    let halts = 0;
    let seconds = 0;
    for (let d = 0; d < 7; d++) {
      const day = byDay.get(addDays(start, d));
      if (!day) continue;
      incidents += day.incidents;
      halts += day.halts;
      seconds += day.totalHaltSeconds;
      elevators = Math.max(elevators, day.elevators);
    }
    const haltMinutes = new Decimal(seconds).div(60).toFixed(2, Decimal.ROUND_HALF_UP);
    out.push({ from: start, to: addDays(start, 6), incidents, halts, haltMinutes });
  }
  return { elevators, weeks: out };
}

/** A community's residents' invoices: billed, collected, still owed and overdue, and the rate. */
export interface CommunityArrears {
  communityId: string;
  name: string;
  invoices: number;
  /** Invoiced less the credit applied to the invoices: what was asked in money. */
  billed: Decimal;
  collected: Decimal;
  outstanding: Decimal;
  /** The outstanding part past its due date (every aging bucket but "current"). */
  overdue: Decimal;
  /** collected ÷ billed, null when nothing was billed. */
  collectionRate: Decimal | null;
}

async function allPages<T>(read: (offset: number) => Promise<{ items: T[]; total: number }>): Promise<T[]> {
  const items: T[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await read(offset);
    items.push(...page.items);
    if (page.items.length < PAGE || items.length >= page.total) return items;
  }
}

/** The street's communities (every one the principal sees in it). */
export function communitiesOf(ctx: ServiceContext, streetId: string): Promise<CommunityRow[]> {
  return allPages((offset) => listCommunities(ctx, { limit: PAGE, offset, streetId }));
}

/**
 * The receivables of the principal's contracts as of today, summed by community (one set-based
 * read): only communities with an invoice, the most overdue first (then by name).
 */
export async function arrearsByCommunity(ctx: ServiceContext): Promise<CommunityArrears[]> {
  const rows = (await receivablesByCommunity(ctx))
    .filter((r) => r.invoiceCount > 0)
    .map(
      (r): CommunityArrears => ({
        communityId: r.communityId,
        name: r.name,
        invoices: r.invoiceCount,
        billed: r.totals.invoiced.minus(r.totals.creditApplied),
        collected: r.totals.collected,
        outstanding: r.totals.outstanding,
        overdue: r.overdue,
        collectionRate: r.collectionRate,
      }),
    );
  return rows.sort((a, b) => b.overdue.comparedTo(a.overdue) || a.name.localeCompare(b.name, "zh-CN"));
}
