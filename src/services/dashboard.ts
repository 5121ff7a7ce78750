/**
 * The street office's dashboard: four set-based queries over the street (facilities, contracts,
 * money and incidents, transfers), run side by side; rates are divided here with decimal.js.
 */
import { Decimal } from "decimal.js";
import { and, eq, sql } from "drizzle-orm";
import {
  AGING_BUCKETS,
  type AgingBucket,
  addMonths,
  COMMITTED_STATES,
  CONTRACT_STATES,
  type ContractState,
  compareDates,
  daysBetween,
  formatMoney,
  shanghaiDate,
} from "../../contracts/index.js";
import { queryRows } from "../../db/database.js";
import { outstandingSql } from "../../db/ledger.js";
import { streets } from "../../db/schema.js";
import { versionInForceId } from "../../db/versions.js";
import { streetScope } from "../auth/scope.js";
import { ApiError } from "../errors.js";
import type { ServiceContext } from "./context.js";
import { requirePlaceCommand } from "./place-permissions.js";

const INCIDENT_WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;
const HALF_UP = Decimal.ROUND_HALF_UP;

interface FacilityRow {
  kind: "garage" | "elevator";
  status: "planned" | "under_construction" | "operating" | "transferred" | "decommissioned";
  size: "large" | "mini" | null;
  n: number;
}

function progress(rows: FacilityRow[]): Progress {
  const count = (...statuses: FacilityRow["status"][]) =>
    rows.filter((r) => statuses.includes(r.status)).reduce((sum, r) => sum + r.n, 0);
  const retrofitted = count("operating", "transferred");
  const total = count("planned", "under_construction", "operating", "transferred");
  return {
    retrofitted,
    underConstruction: count("under_construction"),
    planned: count("planned"),
    decommissioned: count("decommissioned"),
    total,
    notRetrofitted: total - retrofitted,
  };
}

interface MoneyRow {
  committed: string;
  paid: string;
  outstanding: string;
  overdue: string;
  invoices_outstanding: number;
  invoices_overdue: number;
  aging_current: string;
  aging_30: string;
  aging_60: string;
  aging_90: string;
  aging_more: string;
  monitored: number;
  ebike: number;
  halts: number;
  false_alarms: number;
  classified: number;
}

/** Facilities of one kind (or size) by status; `total` leaves the decommissioned out. */
export interface Progress {
  retrofitted: number;
  underConstruction: number;
  planned: number;
  decommissioned: number;
  total: number;
  notRetrofitted: number;
}
export type AgainstTarget = Progress & { target: number; toTarget: number };

export interface TransferDue {
  contractId: string;
  title: string;
  communityId: string;
  state: ContractState;
  transferDate: string;
  daysUntilTransfer: number;
  overdue: boolean;
}

export interface StreetDashboard {
  streetId: string;
  streetName: string;
  /** Today in Asia/Shanghai. */
  today: string;
  facilities: {
    elevators: AgainstTarget;
    garages: AgainstTarget & { bySize: { large: Progress; mini: Progress } };
  };
  guidanceFunds: { committed: string; paid: string; remaining: string };
  contractsByState: Record<ContractState, number>;
  transfersDue: { until: string; count: number; overdue: number; items: TransferDue[] };
  receivables: {
    outstanding: string;
    overdue: string;
    invoicesOutstanding: number;
    invoicesOverdue: number;
    aging: Record<AgingBucket, string>;
  };
  incidents: {
    from: string;
    to: string;
    monitoredElevators: number;
    ebikeIncidents: number;
    halts: number;
    perElevatorPerMonth: string | null;
    falseAlarms: number;
    classified: number;
    falseAlarmRate: string | null;
  };
}

/** The dashboard of a street in the caller's scope (404), for the street office and the platform admin. */
export async function streetDashboard(ctx: ServiceContext, id: string): Promise<StreetDashboard> {
  const p = ctx.principal;
  const { db } = ctx;
  const [street] = await db
    .select()
    .from(streets)
    .where(and(eq(streets.id, id), streetScope(p, streets.id)));
  if (!street) throw ApiError.notFound("The street");
  requirePlaceCommand(p, { type: "read_street_dashboard" });

  const now = ctx.clock();
  const today = shanghaiDate(now);
  const until = addMonths(today, 12);
  const from = new Date(now.getTime() - INCIDENT_WINDOW_DAYS * DAY_MS).toISOString();
  const to = now.toISOString();

  const [facilityRows, stateRows, moneyRows, transferRows] = await Promise.all([
    queryRows<FacilityRow>(
      db,
      sql`select kind::text as kind, status::text as status, garage_size::text as size, count(*)::int as n
        from facilities where street_id = ${id} group by kind, status, garage_size`,
    ),
    queryRows<{ state: ContractState; n: number }>(
      db,
      sql`select state::text as state, count(*)::int as n from contracts where street_id = ${id} group by state`,
    ),
    queryRows<MoneyRow>(
      db,
      sql`with in_force as (
            select v.guidance_funds
            from contracts c join contract_versions v on v.id = ${versionInForceId(sql`c.id`, today)}
            where c.street_id = ${id}
              and c.state in (${sql.join(
                COMMITTED_STATES.map((state) => sql`${state}`),
                sql`, `,
              )})
          ),
          open_invoices as (
            select ${outstandingSql("i")} as outstanding, ${today}::date - i.due_date as late
            from invoices i
            where i.street_id = ${id} and ${outstandingSql("i")} > 0
          ),
          ebike as (
            select i.classification, i.halted
            from incidents i
            where i.street_id = ${id} and i.kind = 'ebike'
              and i.opened_at >= ${from}::timestamptz and i.opened_at < ${to}::timestamptz
          )
        select
          (select coalesce(sum(guidance_funds), 0)::numeric(14,2)::text from in_force) as committed,
          (select coalesce(sum(g.amount), 0)::numeric(14,2)::text
            from guidance_disbursements g join contracts c on c.id = g.contract_id
            where c.street_id = ${id}) as paid,
          (select coalesce(sum(outstanding), 0)::numeric(14,2)::text from open_invoices) as outstanding,
          (select coalesce(sum(outstanding) filter (where late > 0), 0)::numeric(14,2)::text
            from open_invoices) as overdue,
          (select count(*)::int from open_invoices) as invoices_outstanding,
          (select count(*) filter (where late > 0)::int from open_invoices) as invoices_overdue,
          (select coalesce(sum(outstanding) filter (where late <= 0), 0)::numeric(14,2)::text
            from open_invoices) as aging_current,
          (select coalesce(sum(outstanding) filter (where late between 1 and 30), 0)::numeric(14,2)::text
            from open_invoices) as aging_30,
          (select coalesce(sum(outstanding) filter (where late between 31 and 60), 0)::numeric(14,2)::text
            from open_invoices) as aging_60,
          (select coalesce(sum(outstanding) filter (where late between 61 and 90), 0)::numeric(14,2)::text
            from open_invoices) as aging_90,
          (select coalesce(sum(outstanding) filter (where late > 90), 0)::numeric(14,2)::text
            from open_invoices) as aging_more,
          (select count(distinct s.facility_id)::int from sensors s join facilities f on f.id = s.facility_id
            where s.street_id = ${id} and s.revoked_at is null and f.kind = 'elevator') as monitored,
          (select count(*)::int from ebike) as ebike,
          (select count(*) filter (where halted)::int from ebike) as halts,
          (select count(*) filter (where classification = 'false_alarm')::int from ebike) as false_alarms,
          (select count(*) filter (where classification is not null)::int from ebike) as classified`,
    ),
    queryRows<{
      id: string;
      title: string;
      community_id: string;
      state: ContractState;
      transfer_date: string;
    }>(
      db,
      sql`select id, title, community_id, state::text as state, transfer_date::text as transfer_date
        from contracts
        where street_id = ${id} and transfer_date is not null
          and state not in ('transferred', 'terminated') and transfer_date <= ${until}::date
        order by transfer_date, id`,
    ),
  ]);
  const m = moneyRows[0];
  if (!m) throw new Error("the dashboard money query returned no row");

  const elevators = facilityRows.filter((r) => r.kind === "elevator");
  const garages = facilityRows.filter((r) => r.kind === "garage");
  const withTarget = (rows: FacilityRow[], target: number) => {
    const p = progress(rows);
    return { ...p, target, toTarget: Math.max(0, target - p.retrofitted) };
  };
  const byState = Object.fromEntries(CONTRACT_STATES.map((s) => [s, 0])) as Record<ContractState, number>;
  for (const r of stateRows) byState[r.state] = r.n;
  const agingValues: Record<AgingBucket, string> = {
    current: m.aging_current,
    days1To30: m.aging_30,
    days31To60: m.aging_60,
    days61To90: m.aging_90,
    over90Days: m.aging_more,
  };
  const transfers = transferRows.map(
    (r): TransferDue => ({
      contractId: r.id,
      title: r.title,
      communityId: r.community_id,
      state: r.state,
      transferDate: r.transfer_date,
      daysUntilTransfer: daysBetween(today, r.transfer_date),
      overdue: compareDates(r.transfer_date, today) < 0,
    }),
  );
  const committed = new Decimal(m.committed);
  return {
    streetId: street.id,
    streetName: street.name,
    today,
    facilities: {
      elevators: withTarget(elevators, street.elevatorTarget),
      garages: {
        ...withTarget(garages, street.garageTarget),
        bySize: {
          large: progress(garages.filter((r) => r.size === "large")),
          mini: progress(garages.filter((r) => r.size === "mini")),
        },
      },
    },
    guidanceFunds: {
      committed: m.committed,
      paid: m.paid,
      remaining: formatMoney(committed.minus(m.paid)),
    },
    contractsByState: byState,
    transfersDue: {
      until,
      count: transfers.length,
      overdue: transfers.filter((t) => t.overdue).length,
      items: transfers,
    },
    receivables: {
      outstanding: m.outstanding,
      overdue: m.overdue,
      invoicesOutstanding: m.invoices_outstanding,
      invoicesOverdue: m.invoices_overdue,
      aging: Object.fromEntries(AGING_BUCKETS.map((b) => [b, agingValues[b]])) as Record<AgingBucket, string>,
    },
    incidents: {
      from,
      to,
      monitoredElevators: m.monitored,
      ebikeIncidents: m.ebike,
      halts: m.halts,
      perElevatorPerMonth: m.monitored ? new Decimal(m.ebike).div(m.monitored).toFixed(2, HALF_UP) : null,
      falseAlarms: m.false_alarms,
      classified: m.classified,
      falseAlarmRate: m.classified ? new Decimal(m.false_alarms).div(m.classified).toFixed(4, HALF_UP) : null,
    },
  };
}
