/**
 * The SQL of which contract version is in force on a date, used wherever a query needs the terms
 * that apply (the contracts store's `versionInForce`, the street dashboard's guidance funds). The
 * rule is `versionInForceOn` (contracts/versions.ts); a property test pins the two together.
 */
import { type SQL, sql } from "drizzle-orm";
import { IN_FORCE_STATUSES } from "../contracts/versions.js";

/**
 * A scalar subquery: the id of the version of `contractId` in force on `date` (a
 * `YYYY-MM-DD` string or a date expression), or null. `contractId` may be a value or a column
 * of the outer query (`sql\`c.id\``), so one contract or a set of them can be joined on it.
 */
export function versionInForceId(contractId: string | SQL, date: string | SQL): SQL<string | null> {
  return sql<string | null>`(select vf.id from contract_versions vf
    where vf.contract_id = ${contractId}
      and vf.status in (${sql.join(
        IN_FORCE_STATUSES.map((status) => sql`${status}`),
        sql`, `,
      )})
      and (not vf.is_amendment or vf.effective_date <= ${date}::date)
    order by vf.version_no desc limit 1)`;
}
