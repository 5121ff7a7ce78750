/**
 * The fan-out: each waiting cause (`notification_events`, written with its change) becomes one
 * notification per enabled endpoint whose organization subscribed to its type and may see it.
 * One statement in one transaction: the causes are claimed with FOR UPDATE SKIP LOCKED, so several
 * instances (Node timers, the Workers cron) share the outbox without fanning a cause out twice, and
 * the unique (endpoint, dedupe key) makes even a second fan-out of a cause a no-op.
 */
import { sql } from "drizzle-orm";
import { RETRY_WINDOW_MS } from "../../../contracts/notification-delivery.js";
import { queryRows } from "../../../db/database.js";
import type { SystemContext } from "../context.js";

/** Causes one fan-out takes at most; the next run takes the rest. */
export const FAN_OUT_BATCH = 200;

/**
 * Who may be told of a cause (`e`) through an endpoint of organization `o`, the same scope the
 * organization reads in: a cause for one organization (a digest) only that organization; a
 * contract's cause its parties; otherwise the street office its street, an owners committee or
 * property company their communities, an enterprise its own (its sensors, its contracts).
 */
const IN_SCOPE = sql`case
  when e.organization_id is not null then o.id = e.organization_id
  when e.contract_id is not null then exists (
    select 1 from contracts c where c.id = e.contract_id
      and o.id in (c.enterprise_org_id, c.owners_committee_org_id, c.property_company_org_id, c.street_office_org_id))
  when o.kind = 'street_office' then e.street_id = o.street_id
  when o.kind in ('owners_committee', 'property_company') then exists (
    select 1 from organization_communities oc where oc.organization_id = o.id and oc.community_id = e.community_id)
  when o.kind = 'enterprise' then e.enterprise_org_id = o.id
  else false end`;

/** Fans out waiting causes; returns how many causes it took and how many notifications it queued. */
export async function fanOutNotificationEvents(
  sys: SystemContext,
  opts: { limit?: number } = {},
): Promise<{ events: number; notifications: number }> {
  const now = sys.clock();
  const retryUntil = new Date(now.getTime() + RETRY_WINDOW_MS);
  const [row] = await sys.db.transaction((tx) =>
    queryRows<{ events: number; notifications: number }>(
      tx,
      sql`with claimed as (
        select id, type, street_id, community_id, contract_id, enterprise_org_id, organization_id,
               dedupe_key, payload
        from notification_events
        where fanned_out_at is null
        order by id
        limit ${opts.limit ?? FAN_OUT_BATCH}
        for update skip locked
      ), queued as (
        insert into notifications
          (endpoint_id, type, dedupe_key, event_id, payload, next_attempt_at, retry_until, created_at)
        select ep.id, e.type, coalesce(e.dedupe_key, 'event:' || e.id), e.id, e.payload,
               ${now.toISOString()}::timestamptz, ${retryUntil.toISOString()}::timestamptz,
               ${now.toISOString()}::timestamptz
        from claimed e
        join notification_rules r on r.type = e.type
        join notification_endpoints ep on ep.id = r.endpoint_id and ep.disabled_at is null
        join organizations o on o.id = ep.organization_id
        where (e.type <> 'halt_unacknowledged'
               or r.after_minutes::text = e.payload ->> 'afterMinutes')
          and ${IN_SCOPE}
        on conflict (endpoint_id, dedupe_key) do nothing
        returning 1
      ), done as (
        update notification_events set fanned_out_at = ${now.toISOString()}::timestamptz
        where id in (select id from claimed)
        returning 1
      )
      select (select count(*)::int from done) as events, (select count(*)::int from queued) as notifications`,
    ),
  );
  return { events: row?.events ?? 0, notifications: row?.notifications ?? 0 };
}
