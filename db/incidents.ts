/**
 * The SQL of the halt rules, for statistics over many incidents. The rules are iot/incidents.ts:
 * - whether an e-bike incident halted the car: `haltedCar`;
 * - a group's halts, their total seconds and p95: `haltFigures` (`percentileCont`).
 * test/iot/halts-property.test.ts pins each fragment to its TypeScript twin.
 */
import { type SQL, sql } from "drizzle-orm";

/**
 * Whether the e-bike incident named `incident` (the `incidents` table or an alias of it) halted the
 * car: some `ebike_detected` event of its elevator from its opening to its closing, both included
 * (while open: from its opening on), reported `carHalted: true`.
 */
export function carHalted(incident: string): SQL {
  const i = sql.identifier(incident);
  return sql`exists (select 1 from sensor_events ev
    where ev.facility_id = ${i}.facility_id and ev.type = 'ebike_detected'
      and ev.occurred_at >= ${i}.opened_at
      and (${i}.closed_at is null or ev.occurred_at <= ${i}.closed_at)
      and ev.payload @> '{"carHalted": true}'::jsonb)`;
}

/**
 * The aggregate columns `halts` (int), `halt_s` (total seconds of the closed halts, text) and
 * `p95_s` (their 95th percentile, `percentile_cont`, numeric text; null with none) over the rows
 * of `group`, which has the columns `halted` (from `carHalted`) and `halt_seconds`.
 */
export function haltFigures(group: string): SQL {
  const x = sql.identifier(group);
  return sql`count(*) filter (where ${x}.halted)::int as halts,
    coalesce(sum(${x}.halt_seconds) filter (where ${x}.halted), 0)::text as halt_s,
    (percentile_cont(0.95) within group (order by ${x}.halt_seconds)
      filter (where ${x}.halted and ${x}.halt_seconds is not null))::numeric::text as p95_s`;
}
