/**
 * The daily digest: from 08:00 Asia/Shanghai, once a day, each organization with a `daily_digest`
 * rule gets yesterday's figures of its own scope (the incident statistics of
 * src/services/incidents/stats.ts, seen as that organization sees them) and the sensors offline now.
 * A run before 08:00 does nothing for today; the first run after 08:00 (after a restart, 09:30)
 * still sends it; the dedupe key makes it once, whichever instance runs first.
 */
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { addDays, digestDayDue } from "../../../contracts/index.js";
import { queryRows } from "../../../db/database.js";
import { facilities, incidents, sensors } from "../../../db/schema.js";
import type { OrgKind, Principal } from "../../auth/principal.js";
import type { SystemContext } from "../context.js";
import { incidentScope } from "../incidents/scope.js";
import { incidentStats } from "../incidents/stats.js";
import { cause } from "./cause.js";
import { recordNotificationEvents } from "./events.js";

const key = (date: string, orgId: string) => `daily_digest:${date}:${orgId}`;

/** Records the digests due now; returns how many. */
export async function runDailyDigest(sys: SystemContext): Promise<number> {
  const now = sys.clock();
  const date = digestDayDue(now);
  if (!date) return 0;
  const orgs = await queryRows<{ id: string; kind: OrgKind; street_id: string; community_ids: string[] }>(
    sys.db,
    sql`select o.id, o.kind, o.street_id,
          coalesce((select array_agg(oc.community_id::text) from organization_communities oc
            where oc.organization_id = o.id), '{}') as community_ids
        from organizations o
        where exists (select 1 from notification_rules r
            join notification_endpoints e on e.id = r.endpoint_id
            where e.organization_id = o.id and r.type = 'daily_digest' and e.disabled_at is null)
          and not exists (select 1 from notification_events n
            where n.dedupe_key = 'daily_digest:' || ${date} || ':' || o.id)
        order by o.id`,
  );
  for (const org of orgs) {
    // The organization's own view: the principal its keys and people act as.
    const principal: Principal = {
      role: org.kind,
      orgId: org.id,
      keyId: null,
      keyRole: "member",
      streetId: org.street_id,
      communityIds: org.community_ids,
      person: null,
    };
    const [stats, offline] = await Promise.all([
      incidentStats(
        { db: sys.db, clock: () => now, principal },
        { groupBy: "elevator", from: date, to: addDays(date, 1) },
      ),
      sys.db
        .select({ sensorName: sensors.name, facilityName: facilities.name })
        .from(incidents)
        .innerJoin(sensors, eq(sensors.id, incidents.sensorId))
        .innerJoin(facilities, eq(facilities.id, incidents.facilityId))
        .where(
          and(eq(incidents.kind, "sensor_offline"), isNull(incidents.closedAt), incidentScope(principal)),
        )
        .orderBy(asc(facilities.name), asc(sensors.name)),
    ]);
    await recordNotificationEvents(sys.db, [
      cause(
        "daily_digest",
        {
          date,
          elevatorsWithEntries: stats.items.filter((i) => i.incidents > 0).length,
          halts: stats.items.reduce((n, i) => n + i.halts, 0),
          falseAlarms: stats.items.reduce((n, i) => n + i.falseAlarms, 0),
          sensorsOffline: offline,
        },
        {
          subjectId: date,
          organizationId: org.id,
          dedupeKey: key(date, org.id),
          occurredAt: now,
        },
      ),
    ]);
  }
  return orgs.length;
}
