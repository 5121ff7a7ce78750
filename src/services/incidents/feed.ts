/**
 * The live incident feed's reads: the change log `incident_events`, which a database trigger fills
 * on every insert or update of `incidents` (db/migrations/0004), in the caller's scope. The route
 * GET /v1/incidents/stream sends what these reads return as Server-Sent Events.
 *
 * Why polling, not LISTEN/NOTIFY or an in-process emitter: the log is in PostgreSQL, the one
 * source of truth, so a client connected to any app instance sees the changes made by every
 * instance (the ingest consumers, the sweeper, another API process), and the same code runs on
 * Workers, where postgres.js through Hyperdrive has no LISTEN. A Node process polls once for all
 * its streams (feed-hub.ts, `readEveryChange`); on Workers, where a request may not wait on another
 * request's I/O, each stream polls with `read`, one index range scan (`id > cursor`, scoped).
 */
import { and, asc, eq, gt, lte, max } from "drizzle-orm";
import { z } from "zod";
import type { Queryable } from "../../../db/database.js";
import {
  falseAlarmReason,
  incidentClassification,
  type incidentEventKind,
  incidentEvents,
  incidentKind,
  sensors,
} from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import type { ServiceContext } from "../context.js";
import { authorize } from "../permissions.js";
import type { IncidentRow } from "./incidents.js";
import { incidentEventScope, type ScopedChange } from "./scope.js";

/** Events read per query; a longer backlog is read in several pages without waiting. */
export const FEED_PAGE = 200;

const Instant = z.coerce.date();
/** The incident row as `to_jsonb` wrote it in the trigger (snake_case keys, ISO timestamps). */
const Snapshot = z
  .object({
    id: z.string(),
    kind: z.enum(incidentKind.enumValues),
    sensor_id: z.string(),
    facility_id: z.string(),
    community_id: z.string(),
    street_id: z.string(),
    opened_at: Instant,
    closed_at: Instant.nullable(),
    detections: z.number(),
    halt_seconds: z.number().nullable(),
    // Absent from changes logged before the incident kept it.
    halted: z.boolean().default(false),
    acknowledged_at: Instant.nullable(),
    acknowledged_by_org_id: z.string().nullable(),
    // Absent from changes logged before the person was recorded.
    acknowledged_by_person_id: z.string().nullable().default(null),
    acknowledged_by_name: z.string().nullable().default(null),
    classification: z.enum(incidentClassification.enumValues).nullable(),
    false_alarm_reason: z.enum(falseAlarmReason.enumValues).nullable(),
    note: z.string().nullable(),
    created_at: Instant,
    updated_at: Instant,
  })
  .transform(
    (s): IncidentRow => ({
      id: s.id,
      kind: s.kind,
      sensorId: s.sensor_id,
      facilityId: s.facility_id,
      communityId: s.community_id,
      streetId: s.street_id,
      openedAt: s.opened_at,
      closedAt: s.closed_at,
      detections: s.detections,
      haltSeconds: s.halt_seconds,
      halted: s.halted,
      acknowledgedAt: s.acknowledged_at,
      acknowledgedByOrgId: s.acknowledged_by_org_id,
      acknowledgedByPersonId: s.acknowledged_by_person_id,
      acknowledgedByName: s.acknowledged_by_name,
      classification: s.classification,
      falseAlarmReason: s.false_alarm_reason,
      note: s.note,
      createdAt: s.created_at,
      updatedAt: s.updated_at,
    }),
  );

/** One change of an incident: the log's id, what happened, and the incident right after it. */
export interface IncidentChange {
  id: number;
  kind: (typeof incidentEventKind.enumValues)[number];
  incident: IncidentRow;
}

/** A read of the log after a cursor. */
export interface FeedPage<C extends IncidentChange = IncidentChange> {
  changes: C[];
  /** The page is full: more changes may follow at once (read again without waiting). */
  more: boolean;
}

export interface IncidentFeed {
  /** Where the feed starts: the id of the last change the client has (or the latest one now). */
  cursor: number;
  /** The changes after `after` (and up to `until`, when given) in the caller's scope, oldest first. */
  read(after: number, until?: number): Promise<FeedPage>;
  /** The caller, as the feed was opened for (a stream hands changes on by this scope). */
  principal: Principal;
}

async function readChanges(db: Queryable, p: Principal, after: number, until?: number): Promise<FeedPage> {
  const rows = await db
    .select({ id: incidentEvents.id, kind: incidentEvents.kind, snapshot: incidentEvents.snapshot })
    .from(incidentEvents)
    .where(
      and(
        gt(incidentEvents.id, after),
        until === undefined ? undefined : lte(incidentEvents.id, until),
        incidentEventScope(p),
      ),
    )
    .orderBy(asc(incidentEvents.id))
    .limit(FEED_PAGE);
  return {
    changes: rows.map((r) => ({ id: r.id, kind: r.kind, incident: Snapshot.parse(r.snapshot) })),
    more: rows.length === FEED_PAGE,
  };
}

/** A change with what `incidentEventAdmits` needs to decide who sees it. */
export type ScopedIncidentChange = IncidentChange & ScopedChange;

/**
 * Every change after `after`, in nobody's scope, oldest first: the shared poller reads the log
 * once for all of a process's streams and hands each change to those whose scope admits it.
 */
export async function readEveryChange(db: Queryable, after: number): Promise<FeedPage<ScopedIncidentChange>> {
  const rows = await db
    .select({
      id: incidentEvents.id,
      kind: incidentEvents.kind,
      snapshot: incidentEvents.snapshot,
      streetId: incidentEvents.streetId,
      communityId: incidentEvents.communityId,
      sensorEnterpriseOrgId: sensors.enterpriseOrgId,
    })
    .from(incidentEvents)
    .leftJoin(sensors, eq(sensors.id, incidentEvents.sensorId))
    .where(gt(incidentEvents.id, after))
    .orderBy(asc(incidentEvents.id))
    .limit(FEED_PAGE);
  return {
    changes: rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      incident: Snapshot.parse(r.snapshot),
      streetId: r.streetId,
      communityId: r.communityId,
      sensorEnterpriseOrgId: r.sensorEnterpriseOrgId,
    })),
    more: rows.length === FEED_PAGE,
  };
}

/** The id of the latest change in the log (0 when it is empty). */
export async function latestEventId(db: Queryable): Promise<number> {
  const [row] = await db.select({ last: max(incidentEvents.id) }).from(incidentEvents);
  return row?.last ?? 0;
}

/**
 * Opens the caller's feed after `after` (the last change the client received), or after the latest
 * change now when it sends none: a change committed right after the request (even before the
 * client reads the first byte) is after the cursor, so it is delivered.
 */
export async function openIncidentFeed(
  ctx: ServiceContext,
  { after }: { after?: number },
): Promise<IncidentFeed> {
  authorize(ctx.principal, { type: "read_incidents" });
  const { db, principal } = ctx;
  return {
    cursor: after ?? (await latestEventId(db)),
    read: (from, until) => readChanges(db, principal, from, until),
    principal,
  };
}
