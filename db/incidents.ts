/**
 * The SQL of the halt rules, for statistics over many incidents: a group's halts, their total
 * seconds and p95 (iot/incidents.ts `haltFigures`, `percentileCont`), over the incidents' stored
 * `halted` (kept by the ingest's replay, iot/incidents.ts `haltedCar`).
 * test/iot/halts-property.test.ts pins both to their TypeScript twins.
 */
import { type SQL, sql } from "drizzle-orm";

/**
 * The aggregate columns `halts` (int), `halt_s` (total seconds of the closed halts, text) and
 * `p95_s` (their 95th percentile, `percentile_cont`, numeric text; null with none) over the rows
 * of `group`, which has the columns `halted` and `halt_seconds`.
 *
 * The p95 is taken over the group's closed halts gathered into an array, not as an ordered-set
 * aggregate of the group: with one, PostgreSQL (before 16) groups by sorting, and a street's year
 * is tens of thousands of rows sorted by bucket; without, it hashes them and sorts only each
 * group's halt seconds.
 */
export function haltFigures(group: string): SQL {
  const x = sql.identifier(group);
  return sql`count(*) filter (where ${x}.halted)::int as halts,
    coalesce(sum(${x}.halt_seconds) filter (where ${x}.halted), 0)::text as halt_s,
    (select percentile_cont(0.95) within group (order by v)
      from unnest(array_agg(${x}.halt_seconds) filter (where ${x}.halted and ${x}.halt_seconds is not null)) v
    )::numeric::text as p95_s`;
}
