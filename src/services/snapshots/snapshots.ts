/**
 * Snapshot evidence of an e-bike detection: a JPEG a sensor uploads for one of its events (in any
 * order relative to the event), kept SNAPSHOT_RETENTION_DAYS, read by the property company and the
 * owners committee of the incident's community. The bytes live where the store says (./store.ts).
 */
import { and, asc, desc, eq, gte, isNull, lte, or, sql } from "drizzle-orm";
import type { Database } from "../../../db/database.js";
import { queryRows } from "../../../db/database.js";
import { eventSnapshots, incidents, sensorEvents } from "../../../db/schema.js";
import { MAX_FUTURE_MS } from "../../../iot/protocol.js";
import { ApiError } from "../../errors.js";
import type { ServiceContext, SystemContext } from "../context.js";
import { incidentScope } from "../incidents/scope.js";
import { type Page, type PageRequest, pageOf } from "../pages.js";
import { authorize } from "../permissions.js";
import { BucketUnavailableError, type SnapshotStore, storageUnavailable } from "./store.js";

/** The largest snapshot taken: a 360–720 px JPEG of a car is far smaller. */
export const SNAPSHOT_MAX_BYTES = 512 * 1024;
export const DEFAULT_SNAPSHOT_RETENTION_DAYS = 90;

/** Why an upload was refused, as /metrics counts them. */
export const SNAPSHOT_REFUSALS = ["too_large", "not_jpeg", "wrong_type", "not_ebike", "conflict"] as const;
export type SnapshotRefusal = (typeof SNAPSHOT_REFUSALS)[number];

/** What the app keeps for snapshots: where they are stored, and this process's counters. */
export interface Snapshots {
  store: SnapshotStore;
  counters: { stored: number; refused: Record<SnapshotRefusal, number> };
}

export function createSnapshots(store: SnapshotStore): Snapshots {
  return {
    store,
    counters: {
      stored: 0,
      refused: Object.fromEntries(SNAPSHOT_REFUSALS.map((r) => [r, 0])) as Record<SnapshotRefusal, number>,
    },
  };
}

/**
 * A JPEG by its bytes: SOI and the first marker's FF (`FF D8 FF`) at the start, EOI (`FF D9`) at
 * the end. The Content-Type is only the sender's word.
 */
export function isJpeg(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return (
    n >= 5 &&
    bytes[0] === 0xff &&
    bytes[1] === 0xd8 &&
    bytes[2] === 0xff &&
    bytes[n - 2] === 0xff &&
    bytes[n - 1] === 0xd9
  );
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface UploadContext {
  db: Database;
  clock: () => Date;
  /** A sensor whose key the route accepted. */
  sensorId: string;
  snapshots: Snapshots;
}

export interface UploadResult {
  created: boolean;
  byteSize: number;
  sha256: string;
  receivedAt: Date;
}

/** Counts the refusal and throws it. */
function refuse(snapshots: Snapshots, reason: SnapshotRefusal, err: ApiError): never {
  snapshots.counters.refused[reason]++;
  throw err;
}

/** Counts an upload refused before the service saw it (the size, the media type). */
export function countRefusal(snapshots: Snapshots, reason: SnapshotRefusal): void {
  snapshots.counters.refused[reason]++;
}

function conflict(snapshots: Snapshots): never {
  return refuse(
    snapshots,
    "conflict",
    ApiError.conflict(
      "snapshot_exists",
      "A different snapshot is already stored for this event; evidence is not overwritten.",
    ),
  );
}

/**
 * Stores the snapshot of the sensor's event `eventId`. The same bytes again: nothing written
 * (`created: false`); other bytes: 409. The event may come later; when it is already stored it
 * must be an `ebike_detected` (409 otherwise). In a bucket: the object first, then the row, so a
 * row never names a missing object; an object whose row was not written (a fault between the two,
 * or another upload's bytes winning the race) is deleted now or by the retention.
 */
export async function uploadSnapshot(
  ctx: UploadContext,
  eventId: string,
  bytes: Uint8Array,
): Promise<UploadResult> {
  const { db, sensorId, snapshots } = ctx;
  if (!isJpeg(bytes))
    refuse(
      snapshots,
      "not_jpeg",
      new ApiError(
        422,
        "not_a_jpeg",
        "Not a JPEG",
        "The body is not a JPEG image: its bytes must start with FF D8 FF and end with FF D9.",
      ),
    );
  const sha256 = await sha256Hex(bytes);
  const existing = async () => {
    const [row] = await db
      .select({
        sha256: eventSnapshots.sha256,
        byteSize: eventSnapshots.byteSize,
        receivedAt: eventSnapshots.receivedAt,
      })
      .from(eventSnapshots)
      .where(and(eq(eventSnapshots.sensorId, sensorId), eq(eventSnapshots.eventId, eventId)));
    return row;
  };
  const same = (row: { sha256: string; byteSize: number; receivedAt: Date }): UploadResult => {
    if (row.sha256 !== sha256) conflict(snapshots);
    return { created: false, byteSize: row.byteSize, sha256, receivedAt: row.receivedAt };
  };
  const before = await existing();
  if (before) return same(before);
  // The latest event of that id: a device whose counter restarted has sent it before.
  const [event] = await db
    .select({ type: sensorEvents.type })
    .from(sensorEvents)
    .where(and(eq(sensorEvents.sensorId, sensorId), eq(sensorEvents.eventId, eventId)))
    .orderBy(desc(sensorEvents.occurredAt))
    .limit(1);
  if (event && event.type !== "ebike_detected")
    refuse(
      snapshots,
      "not_ebike",
      ApiError.conflict(
        "snapshot_not_ebike",
        `The event ${eventId} is a ${event.type} event; only an ebike_detected event carries a snapshot.`,
      ),
    );

  const receivedAt = ctx.clock();
  const ref = { sensorId, eventId, sha256, receivedAt };
  const stored = await snapshots.store.save(ref, bytes).catch(rethrowBucket);
  const [inserted] = await db
    .insert(eventSnapshots)
    .values({ sensorId, eventId, byteSize: bytes.length, sha256, receivedAt, ...stored })
    .onConflictDoNothing()
    .returning({ eventId: eventSnapshots.eventId });
  if (inserted) {
    snapshots.counters.stored++;
    return { created: true, byteSize: bytes.length, sha256, receivedAt };
  }
  // Another upload of the same event won the race.
  const winner = await existing();
  if (!winner) throw new Error("event_snapshots: the insert conflicted, but no row is there");
  if (winner.sha256 !== sha256 && stored.objectKey) {
    // Our object is named by no row: delete it now (the retention would, later).
    await snapshots.store.remove([stored.objectKey]).catch(() => {});
  }
  return same(winner);
}

function rethrowBucket(err: unknown): never {
  if (err instanceof BucketUnavailableError) throw storageUnavailable();
  throw err;
}

/** A snapshot as the incident's list shows it. */
export interface SnapshotListing {
  sensorId: string;
  eventId: string;
  occurredAt: Date;
  byteSize: number;
  receivedAt: Date;
}

/**
 * The incident in the caller's scope (404 outside it), then the table's word: only the property
 * company and the owners committee see snapshots (403 for the other roles).
 */
async function incidentFor(ctx: ServiceContext, incidentId: string) {
  const [incident] = await ctx.db
    .select()
    .from(incidents)
    .where(and(eq(incidents.id, incidentId), incidentScope(ctx.principal)));
  if (!incident) throw ApiError.notFound("The incident");
  authorize(ctx.principal, { type: "read_snapshots" });
  return incident;
}

/**
 * The snapshot of an event: keyed like it by (sensor, eventId), and not received before the event
 * happened (a device clock may be MAX_FUTURE_MS ahead). A snapshot of an earlier event under the
 * same id (the device's counter restarted since) is not this event's.
 */
const snapshotOfEvent = and(
  eq(eventSnapshots.sensorId, sensorEvents.sensorId),
  eq(eventSnapshots.eventId, sensorEvents.eventId),
  sql`${eventSnapshots.receivedAt} >= ${sensorEvents.occurredAt} - ${`${MAX_FUTURE_MS} milliseconds`}::interval`,
);

/**
 * The `ebike_detected` events of the incident (those of its elevator between its opening and its
 * close) that have a snapshot. Incidents are built from the elevator's events in time order
 * (iot/incidents.ts), so these are the detections it counts.
 */
function incidentEventsWhere(incident: { facilityId: string; openedAt: Date; closedAt: Date | null }) {
  return and(
    eq(sensorEvents.facilityId, incident.facilityId),
    eq(sensorEvents.type, "ebike_detected"),
    gte(sensorEvents.occurredAt, incident.openedAt),
    incident.closedAt ? lte(sensorEvents.occurredAt, incident.closedAt) : undefined,
  );
}

/** Oldest first (the sensor, then the event id, break ties); none for an incident that is not an e-bike's. */
export async function listIncidentSnapshots(
  ctx: ServiceContext,
  incidentId: string,
  page: PageRequest,
): Promise<Page<SnapshotListing>> {
  const incident = await incidentFor(ctx, incidentId);
  if (incident.kind !== "ebike") return { items: [], total: 0 };
  const joined = snapshotOfEvent;
  const where = incidentEventsWhere(incident);
  const query = ctx.db
    .select({
      sensorId: eventSnapshots.sensorId,
      eventId: eventSnapshots.eventId,
      occurredAt: sensorEvents.occurredAt,
      byteSize: eventSnapshots.byteSize,
      receivedAt: eventSnapshots.receivedAt,
    })
    .from(sensorEvents)
    .innerJoin(eventSnapshots, joined)
    .where(where)
    .orderBy(asc(sensorEvents.occurredAt), asc(eventSnapshots.sensorId), asc(eventSnapshots.eventId))
    .$dynamic();
  const count = async () => {
    const [row] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(sensorEvents)
      .innerJoin(eventSnapshots, joined)
      .where(where);
    return row?.n ?? 0;
  };
  return pageOf(query, count, page);
}

/** The JPEG of one of the incident's detections; 404 when it has none (or it is not the incident's). */
export async function readIncidentSnapshot(
  ctx: ServiceContext,
  incidentId: string,
  eventId: string,
  store: SnapshotStore,
): Promise<Uint8Array> {
  const incident = await incidentFor(ctx, incidentId);
  const [row] =
    incident.kind === "ebike"
      ? await ctx.db
          .select({ bytes: eventSnapshots.bytes, objectKey: eventSnapshots.objectKey })
          .from(sensorEvents)
          .innerJoin(eventSnapshots, snapshotOfEvent)
          .where(and(incidentEventsWhere(incident), eq(sensorEvents.eventId, eventId)))
          .limit(1)
      : [];
  if (!row) throw ApiError.notFound("The snapshot");
  const bytes = await store.load(row).catch(rethrowBucket);
  if (!bytes) throw ApiError.notFound("The snapshot");
  return bytes;
}

/** How many snapshots each of the incidents has (the board's cards), in the caller's scope. */
export async function snapshotCounts(
  ctx: ServiceContext,
  incidentIds: readonly string[],
): Promise<Map<string, number>> {
  if (incidentIds.length === 0) return new Map();
  const rows = await ctx.db
    .select({ id: incidents.id, n: sql<number>`count(${eventSnapshots.eventId})::int` })
    .from(incidents)
    .innerJoin(
      sensorEvents,
      and(
        eq(sensorEvents.facilityId, incidents.facilityId),
        eq(sensorEvents.type, "ebike_detected"),
        gte(sensorEvents.occurredAt, incidents.openedAt),
        or(isNull(incidents.closedAt), lte(sensorEvents.occurredAt, incidents.closedAt)),
      ),
    )
    .innerJoin(eventSnapshots, snapshotOfEvent)
    .where(
      and(sql`${incidents.id} in ${incidentIds}`, eq(incidents.kind, "ebike"), incidentScope(ctx.principal)),
    )
    .groupBy(incidents.id);
  return new Map(rows.map((r) => [r.id, r.n]));
}

export interface SnapshotRetentionContext extends SystemContext {
  store: SnapshotStore;
  retentionDays?: number;
}

/** Rows deleted per statement (a bucket's objects after each batch). */
const DELETE_BATCH = 1_000;
const MAX_BATCHES = 100;

/**
 * Deletes the snapshots received before the retention: the rows (in batches, `skip locked`, so
 * several instances never wait on each other), then their objects, then any object of an older day
 * that no row names (an upload that stopped between the two writes). Returns the rows deleted.
 */
export async function runSnapshotRetention({
  db,
  clock,
  store,
  retentionDays = DEFAULT_SNAPSHOT_RETENTION_DAYS,
}: SnapshotRetentionContext): Promise<{ rows: number; objects: number }> {
  const before = new Date(clock().getTime() - retentionDays * 24 * 60 * 60 * 1000);
  let rows = 0;
  let objects = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    // The row goes first: a row must never name a missing object.
    const gone = await queryRows<{ object_key: string | null }>(
      db,
      sql`delete from event_snapshots where (sensor_id, event_id) in (
            select sensor_id, event_id from event_snapshots where received_at < ${before.toISOString()}::timestamptz
            order by received_at limit ${DELETE_BATCH} for update skip locked)
          returning object_key`,
    );
    rows += gone.length;
    const keys = gone.flatMap((r) => (r.object_key ? [r.object_key] : []));
    await store.remove(keys);
    objects += keys.length;
    if (gone.length < DELETE_BATCH) break;
  }
  objects += await store.sweepBefore(before);
  return { rows, objects };
}
