/**
 * Escalation of a halt nobody acknowledged: each `halt_unacknowledged` rule names a step (its
 * `afterMinutes`); when an open e-bike incident is still unacknowledged that many minutes after it
 * opened, one cause per step is recorded, and the fan-out tells the rules of that step (property
 * company first, then the committee, then the street office, as the organizations configure them).
 */
import { sql } from "drizzle-orm";
import { queryRows } from "../../../db/database.js";
import type { SystemContext } from "../context.js";
import { cause } from "./cause.js";
import { recordNotificationEvents } from "./events.js";

export async function runEscalation(sys: SystemContext): Promise<number> {
  const now = sys.clock().toISOString();
  return sys.db.transaction(async (tx) => {
    // The incidents are locked until the causes commit, so an acknowledgement or a closing that
    // commits first is seen (FOR UPDATE re-reads the row) and one that comes later waits: a step
    // is never announced for an incident already acknowledged. SKIP LOCKED: an incident the ingest
    // or someone acknowledging holds now is taken by the next run, never waited for (no deadlock).
    const due = await queryRows<{
      id: string;
      facility_id: string;
      community_id: string;
      street_id: string;
      enterprise_org_id: string | null;
      opened_at: string;
      facility_name: string;
      community_name: string;
      minutes: number;
    }>(
      tx,
      sql`select i.id, i.facility_id, i.community_id, i.street_id, s.enterprise_org_id,
            to_json(i.opened_at)#>>'{}' as opened_at, f.name as facility_name, c.name as community_name, m.minutes
          from incidents i
          join (select distinct r.after_minutes as minutes from notification_rules r
                where r.type = 'halt_unacknowledged' and r.after_minutes is not null) m
            on i.opened_at + m.minutes * interval '1 minute' <= ${now}::timestamptz
          join facilities f on f.id = i.facility_id
          join communities c on c.id = i.community_id
          join sensors s on s.id = i.sensor_id
          where i.kind = 'ebike' and i.closed_at is null and i.acknowledged_at is null
            and not exists (select 1 from notification_events e
              where e.dedupe_key = 'halt_unacknowledged:' || i.id || ':' || m.minutes)
          order by i.opened_at, m.minutes
          for update of i skip locked`,
    );
    await recordNotificationEvents(
      tx,
      due.map((d) =>
        cause(
          "halt_unacknowledged",
          {
            incidentId: d.id,
            facilityId: d.facility_id,
            facilityName: d.facility_name,
            communityName: d.community_name,
            openedAt: new Date(d.opened_at).toISOString(),
            afterMinutes: d.minutes,
          },
          {
            subjectId: d.id,
            streetId: d.street_id,
            communityId: d.community_id,
            facilityId: d.facility_id,
            enterpriseOrgId: d.enterprise_org_id,
            dedupeKey: `halt_unacknowledged:${d.id}:${d.minutes}`,
            occurredAt: new Date(new Date(d.opened_at).getTime() + d.minutes * 60_000),
          },
        ),
      ),
    );
    return due.length;
  });
}
