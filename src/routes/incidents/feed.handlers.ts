/**
 * The live incident feed: Server-Sent Events read from the `incident_events` change log, which a
 * database trigger fills on every insert or update of `incidents` (db/migrations/0004).
 *
 * Why polling, not LISTEN/NOTIFY or an in-process emitter: the log is in PostgreSQL, the one
 * source of truth, so a client connected to any app instance sees the changes made by every
 * instance (the ingest consumers, the sweeper, another API process), and the same code runs on
 * Workers, where postgres.js through Hyperdrive has no LISTEN. A poll is one index range scan
 * (`id > cursor`, scoped), cheap at one every 500 ms per connection.
 */
import { and, asc, gt, max, type SQL, sql } from "drizzle-orm";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { outer, type Queryable } from "../../../db/database.js";
import { classifyDbError, describeDbError } from "../../../db/pg-errors.js";
import {
  falseAlarmReason,
  incidentClassification,
  incidentEvents,
  incidentKind,
  type incidents,
} from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { communityScope } from "../../auth/scope.js";
import { holdRequestUntil } from "../../context.js";
import type { AppRouteHandler } from "../../openapi.js";
import { incidentJson } from "./incidents.presenters.js";
import {
  FEED_HEARTBEAT_MS,
  FEED_MAX_MS,
  FEED_POLL_MS,
  type streamIncidents as streamRoute,
} from "./incidents.routes.js";

/** Events read per query; a longer backlog is sent in several reads without waiting. */
const PAGE = 200;
/** How long an EventSource waits before reconnecting after the stream ends. */
const RETRY_MS = 2_000;

/** The same scope as GET /v1/incidents, over the log's denormalised columns. */
function feedScope(p: Principal): SQL {
  if (p.role === "enterprise") {
    return sql`exists (select 1 from sensors s where s.id = ${outer(incidentEvents.sensorId)} and s.enterprise_org_id = ${p.orgId ?? ""})`;
  }
  return communityScope(p, incidentEvents.streetId, incidentEvents.communityId);
}

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
    acknowledged_at: Instant.nullable(),
    acknowledged_by_org_id: z.string().nullable(),
    classification: z.enum(incidentClassification.enumValues).nullable(),
    false_alarm_reason: z.enum(falseAlarmReason.enumValues).nullable(),
    note: z.string().nullable(),
    created_at: Instant,
    updated_at: Instant,
  })
  .transform((s): typeof incidents.$inferSelect => ({
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
    acknowledgedAt: s.acknowledged_at,
    acknowledgedByOrgId: s.acknowledged_by_org_id,
    classification: s.classification,
    falseAlarmReason: s.false_alarm_reason,
    note: s.note,
    createdAt: s.created_at,
    updatedAt: s.updated_at,
  }));

async function readEvents(db: Queryable, p: Principal, after: number) {
  return db
    .select({ id: incidentEvents.id, kind: incidentEvents.kind, snapshot: incidentEvents.snapshot })
    .from(incidentEvents)
    .where(and(gt(incidentEvents.id, after), feedScope(p)))
    .orderBy(asc(incidentEvents.id))
    .limit(PAGE);
}

async function latestEventId(db: Queryable): Promise<number> {
  const [row] = await db.select({ last: max(incidentEvents.id) }).from(incidentEvents);
  return row?.last ?? 0;
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export const streamIncidents: AppRouteHandler<typeof streamRoute> = async (c) => {
  const principal = c.var.principal;
  const { db } = c.var;
  const logger = c.var.logger;
  const maxMs = c.var.deps.feedMaxMs ?? FEED_MAX_MS;
  const query = c.req.valid("query");
  const header = c.req.valid("header")["last-event-id"];
  const follow = query.follow === "true";
  // The cursor is fixed before the response starts: a change committed right after the request
  // (even before the client reads the first byte) is after it, so it is delivered.
  let cursor = header ?? query.lastEventId ?? (await latestEventId(db));
  // The stream outlives this handler: the request's database client must too (Workers).
  let ended = () => {};
  holdRequestUntil(c, new Promise<void>((resolve) => (ended = resolve)));

  return streamSSE(c, async (stream) => {
    // Ends the loop at once when the client goes away: the response body is cancelled (Node
    // server, app.request readers) or the request's signal aborts (runtimes that signal it).
    const gone = new AbortController();
    const stop = () => gone.abort();
    stream.onAbort(stop);
    c.req.raw.signal.addEventListener("abort", stop, { once: true });
    try {
      await stream.write(`retry: ${RETRY_MS}\n: incident feed after event ${cursor}\n\n`);
      // Elapsed time of the connection, not business time: a monotonic clock, not the app's clock.
      const endsAt = performance.now() + maxMs;
      let quietSince = performance.now();
      while (!gone.signal.aborted) {
        const rows = await readEvents(db, principal, cursor);
        for (const row of rows) {
          if (gone.signal.aborted) return;
          const incident = incidentJson(Snapshot.parse(row.snapshot));
          await stream.writeSSE({
            id: String(row.id),
            event: `incident.${row.kind}`,
            data: JSON.stringify(incident),
          });
          cursor = row.id;
        }
        if (rows.length === PAGE) continue;
        if (!follow) return;
        if (performance.now() >= endsAt) {
          // Ends before the platform's limits do (Workers bill the whole stream to one request);
          // the client reconnects with Last-Event-ID after the retry delay and misses nothing.
          await stream.write(`: reconnect: this stream ends after ${maxMs / 1000} s\n\n`);
          return;
        }
        if (rows.length) quietSince = performance.now();
        else if (performance.now() - quietSince >= FEED_HEARTBEAT_MS) {
          await stream.write(": heartbeat\n\n");
          quietSince = performance.now();
        }
        await pause(Math.min(FEED_POLL_MS, endsAt - performance.now()), gone.signal);
      }
    } catch (err) {
      // The client reconnects with Last-Event-ID and loses nothing; never send internals to it.
      if (classifyDbError(err) === "transient") {
        logger.warn(
          { dbError: describeDbError(err), cursor },
          "incident feed: database unavailable; closing the stream",
        );
      } else logger.error({ err, cursor }, "incident feed failed; closing the stream");
    } finally {
      c.req.raw.signal.removeEventListener("abort", stop);
      ended();
    }
  });
};
