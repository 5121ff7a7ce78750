/**
 * Which incidents a principal sees: the street office its street's; an owners committee or property
 * company their communities'; an enterprise those of its own sensors. The list, one incident, the
 * statistics and the live feed (over the change log's copies of the same columns) use it, so they
 * never disagree.
 */
import type { AnyColumn, SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import { outer } from "../../../db/database.js";
import { incidentEvents, incidents } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { communityScope } from "../../auth/scope.js";

interface IncidentColumns {
  sensorId: Parameters<typeof outer>[0];
  streetId: AnyColumn;
  communityId: AnyColumn;
}

function scopeOver(p: Principal, columns: IncidentColumns): SQL {
  if (p.role === "enterprise") {
    return sql`exists (select 1 from sensors s where s.id = ${outer(columns.sensorId)} and s.enterprise_org_id = ${p.orgId ?? ""})`;
  }
  return communityScope(p, columns.streetId, columns.communityId);
}

/** Rows of `incidents` the principal sees. */
export function incidentScope(p: Principal): SQL {
  return scopeOver(p, incidents);
}

/** Rows of the change log `incident_events` the principal sees: the same scope as `incidentScope`. */
export function incidentEventScope(p: Principal): SQL {
  return scopeOver(p, incidentEvents);
}
