/**
 * What the dashboard page reads besides the street dashboard itself, put together from the
 * application layer's own functions (no query and no rule of its own): the incident statistics
 * by Shanghai day summed into weeks, and each contract's receivables summed by community.
 *
 * Everything here is within the principal's scope, because every function it calls is.
 */
import { Decimal } from "decimal.js";
import { AGING_BUCKETS, addDays, sumMoney } from "../../../contracts/index.js";
import type { ServiceContext } from "../../services/context.js";
import { listContracts } from "../../services/contracts/reads.js";
import { type Receivables, receivables } from "../../services/fees/statements.js";
import { incidentStats, type StatsGroupFigures } from "../../services/incidents/stats.js";
import { type CommunityRow, listCommunities } from "../../services/places/places.js";

const PAGE = 200;
/** Receivables read at once (each is two short queries). */
const PARALLEL = 8;

/** One week of e-bike incidents: its first and last Shanghai day, the count and the halt minutes. */
export interface IncidentWeek {
  from: string;
  to: string;
  incidents: number;
  halts: number;
  /** Minutes, two places (the statistics' own rounding, summed). */
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
  const stats = await incidentStats(ctx, { groupBy: "day", from, to: today });
  const byDay = new Map<string, StatsGroupFigures>();
  for (const item of stats.items) if (item.day) byDay.set(item.day, item);
  let elevators = 0;
  const out: IncidentWeek[] = [];
  for (let w = 0; w < weeks; w++) {
    const start = addDays(from, 7 * w);
    let incidents = 0;
    let halts = 0;
    let minutes = new Decimal(0);
    for (let d = 0; d < 7; d++) {
      const day = byDay.get(addDays(start, d));
      if (!day) continue;
      incidents += day.incidents;
      halts += day.halts;
      minutes = minutes.plus(day.haltMinutesTotal);
      elevators = Math.max(elevators, day.elevators);
    }
    out.push({ from: start, to: addDays(start, 6), incidents, halts, haltMinutes: minutes.toFixed(2) });
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

/** One contract's receivables as of today, with its community. */
export interface ContractReceivables {
  communityId: string;
  receivables: Receivables;
}

/** The receivables of every contract the principal sees, as of today (a few read at once). */
export async function receivablesOfContracts(ctx: ServiceContext): Promise<ContractReceivables[]> {
  const contracts = await allPages((offset) => listContracts(ctx, { limit: PAGE, offset }));
  const out: ContractReceivables[] = [];
  for (let i = 0; i < contracts.length; i += PARALLEL) {
    const batch = contracts.slice(i, i + PARALLEL);
    out.push(
      ...(await Promise.all(
        batch.map(async (c) => ({
          communityId: c.communityId,
          receivables: await receivables(ctx, c.id, undefined),
        })),
      )),
    );
  }
  return out;
}

/**
 * The contracts' receivables summed by community: only communities with an invoice, the most
 * overdue first (then by name).
 */
export function arrearsByCommunity(
  perContract: readonly ContractReceivables[],
  communities: readonly CommunityRow[],
): CommunityArrears[] {
  const names = new Map(communities.map((c) => [c.id, c.name]));
  const groups = new Map<string, Receivables[]>();
  for (const item of perContract) {
    if (item.receivables.invoiceCount === 0) continue;
    const group = groups.get(item.communityId) ?? [];
    group.push(item.receivables);
    groups.set(item.communityId, group);
  }
  const rows = [...groups].map(([communityId, items]): CommunityArrears => {
    const sum = (pick: (r: Receivables) => Decimal) => sumMoney(items.map(pick));
    const billed = sum((r) => r.totals.invoiced.minus(r.totals.creditApplied));
    const collected = sum((r) => r.totals.collected);
    return {
      communityId,
      name: names.get(communityId) ?? "",
      invoices: items.reduce((n, r) => n + r.invoiceCount, 0),
      billed,
      collected,
      outstanding: sum((r) => r.totals.outstanding),
      overdue: sum((r) => sumMoney(AGING_BUCKETS.filter((b) => b !== "current").map((b) => r.aging[b]))),
      collectionRate: billed.isZero() ? null : collected.div(billed),
    };
  });
  return rows.sort((a, b) => b.overdue.comparedTo(a.overdue) || a.name.localeCompare(b.name, "zh-CN"));
}
