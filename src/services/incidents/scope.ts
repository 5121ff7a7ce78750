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

/**
 * What `incidentEventScope` decides, for a change already read: the change log's street and
 * community, and the enterprise its sensor belongs to now (null when the sensor is gone). The live
 * feed's shared poller reads every change once and hands each to the streams this admits
 * (src/services/incidents/feed-hub.ts); test/iot/feed-scope.property.test.ts pins it to the SQL.
 */
export interface ScopedChange {
  streetId: string;
  communityId: string;
  sensorEnterpriseOrgId: string | null;
}

/** TypeScript twin of `incidentEventScope` (with `communityScope` and `streetScope`). */
export function incidentEventAdmits(p: Principal, change: ScopedChange): boolean {
  switch (p.role) {
    case "enterprise":
      return change.sensorEnterpriseOrgId !== null && change.sensorEnterpriseOrgId === p.orgId;
    case "owners_committee":
    case "property_company":
      return p.communityIds.includes(change.communityId);
    default:
      return p.streetId === null || change.streetId === p.streetId;
  }
}
