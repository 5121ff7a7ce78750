/**
 * Incident statistics per elevator, community or Shanghai day. One SQL statement computes the
 * counts and sums per group; the rates are divided here with decimal.js (as every rate is).
 *
 * - incidents: e-bike incidents opened in the group's window;
 * - halts: those in which some `ebike_detected` (between opening and closing, on the elevator)
 *   reported `carHalted: true`: the incident's `halted`, which the ingest's replay keeps
 *   (iot/incidents.ts `deriveIncidents`, `haltedCar`);
 * - halt seconds: total and p95 (percentile_cont, rounded half up to whole seconds like the
 *   halts themselves) of the closed halts' `halt_seconds` (db/incidents.ts `haltFigures`, twin of
 *   iot/incidents.ts `haltFigures`);
 * - false-alarm rate: false_alarm / classified;
 * - sensor uptime: 1 − offline seconds / observed seconds, where observed = the group's elevators ×
 *   its window (ending at the current time at the latest), offline = its elevators'
 *   `sensor_offline` incidents clipped to that window (an open one runs until now).
 *
 * The window is `from` (included) to `to` (excluded), Asia/Shanghai days, as every range of the API
 * (docs/api.md, "Vocabulary"): November is from 2026-11-01 to 2026-12-01.
 */
import { Decimal } from "decimal.js";
import { type SQL, sql } from "drizzle-orm";
import { queryRows } from "../../../db/database.js";
import { haltFigures } from "../../../db/incidents.js";
import { ApiError } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { authorize } from "../permissions.js";
import { sensorScope } from "../sensors/scope.js";
import { incidentScope } from "./scope.js";

/** The longest window the statistics cover, in days (`to` − `from`). */
export const STATS_MAX_DAYS = 366;
const DAY_MS = 86_400_000;
const TIME_ZONE = "Asia/Shanghai";
/** Asia/Shanghai has kept UTC+8 all year since 1991. */
const shanghaiMidnight = (date: string) => new Date(`${date}T00:00:00+08:00`);

export type StatsGrouping = "elevator" | "community" | "day";

export interface StatsQuery {
  groupBy: StatsGrouping;
  /** First Asia/Shanghai day, included (YYYY-MM-DD). */
  from: string;
  /** The day after the last one: excluded. */
  to: string;
}

/** One group's figures; decimals as strings with fixed places. */
export interface StatsGroupFigures {
  key: string;
  facilityId: string | null;
  communityId: string | null;
  day: string | null;
  elevators: number;
  incidents: number;
  halts: number;
  /** Whole seconds. */
  totalHaltSeconds: number;
  /** Whole seconds, rounded half up. */
  p95HaltSeconds: number | null;
  falseAlarms: number;
  classified: number;
  falseAlarmRate: string | null;
  sensorUptime: string | null;
}

export interface IncidentStats extends StatsQuery {
  timeZone: typeof TIME_ZONE;
  items: StatsGroupFigures[];
}

interface StatsRow {
  key: string;
  facility_id: string | null;
  community_id: string | null;
  day: string | null;
  elevators: number;
  incidents: number;
  halts: number;
  halt_s: string;
  p95_s: string | null;
  false_alarms: number;
  classified: number;
  observed_s: string;
  offline_s: string;
}

const HALF_UP = Decimal.ROUND_HALF_UP;
const wholeSeconds = (seconds: string) => new Decimal(seconds).toDecimalPlaces(0, HALF_UP).toNumber();

/** The window's instants, or 400 naming the field when it is backwards or too long. */
function windowOf({ from, to }: StatsQuery): { start: Date; end: Date } {
  if (from >= to) {
    throw ApiError.validation([
      { field: "query.from", message: "must be before `to` (the day after the last one)" },
    ]);
  }
  const start = shanghaiMidnight(from);
  const end = shanghaiMidnight(to);
  if ((end.getTime() - start.getTime()) / DAY_MS > STATS_MAX_DAYS) {
    throw ApiError.validation([
      { field: "query.to", message: `the window is at most ${STATS_MAX_DAYS} days (to excluded)` },
    ]);
  }
  return { start, end };
}

export async function incidentStats(ctx: ServiceContext, query: StatsQuery): Promise<IncidentStats> {
  const { groupBy, from, to } = query;
  const { start, end } = windowOf(query);
  const p = ctx.principal;
  authorize(p, { type: "read_incidents" });
  const now = ctx.clock().toISOString();
  const s = start.toISOString();
  const e = end.toISOString();

  const buckets: Record<StatsGrouping, SQL> = {
    elevator: sql`select u.facility_id::text as key, u.facility_id, u.community_id, null::date as day,
        ${s}::timestamptz as b_start, ${e}::timestamptz as b_end
      from units u`,
    community: sql`select distinct u.community_id::text as key, null::uuid as facility_id, u.community_id,
        null::date as day, ${s}::timestamptz as b_start, ${e}::timestamptz as b_end
      from units u`,
    day: sql`select d::date::text as key, null::uuid as facility_id, null::uuid as community_id, d::date as day,
        d::date::timestamp at time zone ${TIME_ZONE} as b_start,
        (d::date + 1)::timestamp at time zone ${TIME_ZONE} as b_end
      from generate_series(${from}::date, ${to}::date - 1, interval '1 day') d`,
  };
  /** Whether a row of alias `a` (facility_id, community_id) belongs to bucket `b`. */
  const inBucket = (a: string) =>
    sql.raw(`(b.facility_id is null or ${a}.facility_id = b.facility_id)
      and (b.community_id is null or ${a}.community_id = b.community_id)`);
  /**
   * The bucket of an e-bike incident (alias `x`): its elevator, its community or its Shanghai day,
   * grouped as uuid or as the day's first instant (grouping tens of thousands of rows by text is
   * several times slower). The day is binned from the window's Shanghai midnight in 24-hour steps,
   * not converted to local time row by row (a quarter of the statement): the same day, since
   * Asia/Shanghai keeps UTC+8 all year.
   */
  const keyOf: Record<StatsGrouping, SQL> = {
    elevator: sql`x.facility_id`,
    community: sql`x.community_id`,
    day: sql`date_bin('1 day', x.opened_at, ${s}::timestamptz)`,
  };
  /** A bucket of `keyOf` as the key of `buckets`. */
  const keyText: Record<StatsGrouping, SQL> = {
    elevator: sql`x.bucket::text`,
    community: sql`x.bucket::text`,
    day: sql`(x.bucket at time zone ${TIME_ZONE})::date::text`,
  };
  /** Each offline incident's seconds in each bucket it touches: its elevator's or community's, or each day it spans. */
  const clipped = (from: SQL, to: SQL) =>
    sql`greatest(0, extract(epoch from least(o.down_to, ${to}, ${now}::timestamptz) - greatest(o.down_from, ${from})))`;
  const offlineParts: Record<StatsGrouping, SQL> = {
    elevator: sql`select o.facility_id::text as key, ${clipped(sql`${s}::timestamptz`, sql`${e}::timestamptz`)} as s
      from offline o`,
    community: sql`select o.community_id::text as key, ${clipped(sql`${s}::timestamptz`, sql`${e}::timestamptz`)} as s
      from offline o`,
    day: sql`select d.day::text as key,
        ${clipped(sql`d.day::timestamp at time zone ${TIME_ZONE}`, sql`(d.day + 1)::timestamp at time zone ${TIME_ZONE}`)} as s
      from offline o cross join lateral (
        select g::date as day from generate_series(
          greatest((o.down_from at time zone ${TIME_ZONE})::date, ${from}::date),
          least((o.down_to at time zone ${TIME_ZONE})::date, ${to}::date - 1), interval '1 day') g) d`,
  };

  // Each table is read once and grouped by bucket key (not read again per bucket: a street's year
  // is tens of thousands of incidents, and a bucket per elevator or per day is hundreds).
  const rows = await queryRows<StatsRow>(
    ctx.db,
    sql`with units as (
          select distinct sensors.facility_id, sensors.community_id from sensors where ${sensorScope(p)}
        ),
        buckets as (${buckets[groupBy]}),
        ebike as (
          select incidents.facility_id, incidents.community_id, incidents.opened_at, incidents.halt_seconds,
            incidents.classification, incidents.halted
          from incidents
          where incidents.kind = 'ebike' and incidents.opened_at >= ${s}::timestamptz
            and incidents.opened_at < ${e}::timestamptz and ${incidentScope(p)}
        ),
        offline as (
          select incidents.facility_id, incidents.community_id, incidents.opened_at as down_from,
            coalesce(incidents.closed_at, ${now}::timestamptz) as down_to
          from incidents
          where incidents.kind = 'sensor_offline'
            and incidents.opened_at < least(${e}::timestamptz, ${now}::timestamptz)
            and (incidents.closed_at is null or incidents.closed_at > ${s}::timestamptz)
            and ${incidentScope(p)}
        ),
        figures as (
          select ${keyText[groupBy]} as key, count(*)::int as incidents,
            ${haltFigures("x")},
            count(*) filter (where x.classification = 'false_alarm')::int as false_alarms,
            count(*) filter (where x.classification is not null)::int as classified
          from (select ${keyOf[groupBy]} as bucket, x.* from ebike x) x
          group by x.bucket
        ),
        down as (
          select parts.key, sum(parts.s) as s from (${offlineParts[groupBy]}) parts group by parts.key
        )
        select b.key, b.facility_id, b.community_id, b.day::text as day,
          (select count(*)::int from units u where ${inBucket("u")}) as elevators,
          coalesce(f.incidents, 0) as incidents, coalesce(f.halts, 0) as halts, coalesce(f.halt_s, '0') as halt_s,
          f.p95_s, coalesce(f.false_alarms, 0) as false_alarms, coalesce(f.classified, 0) as classified,
          greatest(0, extract(epoch from least(b.b_end, ${now}::timestamptz) - b.b_start))::text as observed_s,
          coalesce(d.s, 0)::text as offline_s
        from buckets b
          left join figures f on f.key = b.key
          left join down d on d.key = b.key
        order by b.community_id, b.key`,
  );

  const items = rows.map((r): StatsGroupFigures => {
    const observed = new Decimal(r.observed_s).times(r.elevators);
    return {
      key: r.key,
      facilityId: r.facility_id,
      communityId: r.community_id,
      day: r.day,
      elevators: r.elevators,
      incidents: r.incidents,
      halts: r.halts,
      totalHaltSeconds: wholeSeconds(r.halt_s),
      p95HaltSeconds: r.p95_s === null ? null : wholeSeconds(r.p95_s),
      falseAlarms: r.false_alarms,
      classified: r.classified,
      falseAlarmRate: r.classified ? new Decimal(r.false_alarms).div(r.classified).toFixed(4, HALF_UP) : null,
      sensorUptime: observed.isZero()
        ? null
        : Decimal.max(0, new Decimal(1).minus(new Decimal(r.offline_s).div(observed))).toFixed(4, HALF_UP),
    };
  });
  return { groupBy, from, to, timeZone: TIME_ZONE, items };
}
