/**
 * Sensor health: the one place a sensor goes offline or comes back, and the offline sweeper.
 *
 * A sensor is offline after 3 missed heartbeat intervals (its own `heartbeat_interval_s`) without
 * any sign of life, or on its retained `offline` status (the last-will). Either opens a
 * `sensor_offline` incident for its elevator. Any later sign of life (a heartbeat, any other
 * event, an `online` status) closes it and marks the sensor online again.
 *
 * "Sign of life" is `last_seen_at` (every event, not only heartbeats): a sensor that reports
 * detections is alive, and judging by heartbeats alone would flap it offline right after an
 * event brought it back. A late event that happened before the sensor was declared offline
 * (a backlog redelivered after a consumer restart) does not bring it back.
 *
 * The sweeper is ONE set-based statement per tick, safe with several app instances sweeping at
 * once: `update … where online … returning` lets only one transaction flip a sensor (the others
 * re-check `online` after the row lock and skip it), and the incident insert goes against the
 * partial unique index of open incidents (`on conflict do nothing`) as a second line of defence.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { type Database, queryPrepared, queryRows, type Tx } from "../db/database.js";
import { createFailureLog } from "../db/failure-log.js";

/** Heartbeat intervals a sensor may miss before it is offline. */
export const MISSED_HEARTBEATS = 3;

/** One sensor's latest sign in a batch: alive (`online`) or its last-will (`offline`), at `at`. */
export interface Sighting {
  sensorId: string;
  facilityId: string;
  communityId: string;
  streetId: string;
  online: boolean;
  at: Date;
  /** A retained status delivered on subscribing (of unknown age); see IngestItem.retained. */
  retained?: boolean;
}

/**
 * Applies sightings inside the caller's transaction (the ingest batch that carried them).
 * Online: closes the sensor's open offline incident if the sighting is not older than it, and
 * marks the sensor online unless an incident newer than the sighting stays open. Offline: marks
 * it offline and opens an incident (unless one is open already).
 */
export async function applySightings(tx: Tx, sightings: readonly Sighting[]): Promise<void> {
  const latest = new Map<string, Sighting>();
  for (const s of sightings) {
    const seen = latest.get(s.sensorId);
    // The latest sign wins; at the same instant a last-will beats a sign of life.
    // A live sign always beats a retained status (whose age is unknown).
    if (!seen) {
      latest.set(s.sensorId, s);
      continue;
    }
    const newer = s.at > seen.at || (s.at.getTime() === seen.at.getTime() && !s.online);
    if ((seen.retained && !s.retained) || (!s.retained === !seen.retained && newer)) {
      latest.set(s.sensorId, s);
    }
  }
  if (!latest.size) return;
  const json = JSON.stringify(
    [...latest.values()].map((s) => ({
      sensor_id: s.sensorId,
      facility_id: s.facilityId,
      community_id: s.communityId,
      street_id: s.streetId,
      online: s.online,
      at: s.at.toISOString(),
      retained: s.retained === true,
    })),
  );
  const rows = sql`jsonb_to_recordset(${json}::jsonb) as x(sensor_id uuid, facility_id uuid, community_id uuid,
    street_id uuid, online boolean, at timestamptz, retained boolean)`;
  // A retained last-will delivered again counts only if the sensor has shown no life since it
  // could have been published: within the last MISSED_HEARTBEATS intervals.
  const silent = sql`(not x.retained or not exists (select 1 from sensors q where q.id = x.sensor_id
    and q.last_seen_at > x.at - q.heartbeat_interval_s * ${MISSED_HEARTBEATS} * interval '1 second'))`;
  // One round trip for the three: queryPrepared sends them in call order and PostgreSQL runs them
  // in that order on the transaction's connection, each seeing what the one before wrote (as if
  // each had been awaited in turn).
  const close = queryPrepared(
    tx,
    sql`update incidents i set closed_at = x.at, halt_seconds = null, updated_at = now()
        from ${rows}
        where x.online and i.kind = 'sensor_offline' and i.closed_at is null
          and i.facility_id = x.facility_id and i.sensor_id = x.sensor_id and i.opened_at <= x.at`,
  );
  const open = queryPrepared(
    tx,
    sql`insert into incidents (kind, sensor_id, facility_id, community_id, street_id, opened_at)
        select 'sensor_offline', x.sensor_id, x.facility_id, x.community_id, x.street_id, x.at
        from ${rows}
        where not x.online and ${silent}
        on conflict (facility_id, kind) where closed_at is null do nothing`,
  );
  // Written only where it changes: a sensor that is online and stays so (nearly every batch) costs
  // no row version.
  const online = sql`(x.online and not exists (select 1 from incidents i
    where i.kind = 'sensor_offline' and i.closed_at is null and i.sensor_id = s.id))`;
  const mark = queryPrepared(
    tx,
    sql`update sensors s set online = ${online}
        from ${rows}
        where s.id = x.sensor_id and (x.online or ${silent}) and s.online is distinct from ${online}`,
  );
  await Promise.all([close, open, mark]);
}

export interface SweepResult {
  /** Sensors that were online and are now offline. */
  offline: string[];
  /** Incidents opened for them (fewer when one was open already or the sensor is revoked). */
  incidents: number;
}

/**
 * One sweep at `now`: every online sensor silent for MISSED_HEARTBEATS of its intervals goes
 * offline, and its elevator gets a `sensor_offline` incident opened at `now`. One statement.
 */
export async function sweepOffline(db: Database, now: Date, scope: SweepScope = {}): Promise<SweepResult> {
  const inScope = scope.communityId ? sql`and s.community_id = ${scope.communityId}` : sql``;
  const rows = await db.transaction((tx) =>
    queryRows<{ sensor_id: string; incident_id: string | null }>(
      tx,
      sql`with gone as (
            update sensors s set online = false
            where s.online ${inScope}
              and coalesce(s.last_seen_at, '-infinity') <
                ${now.toISOString()}::timestamptz - ${MISSED_HEARTBEATS} * s.heartbeat_interval_s * interval '1 second'
            returning s.id, s.facility_id, s.community_id, s.street_id, s.revoked_at
          ), opened as (
            insert into incidents (kind, sensor_id, facility_id, community_id, street_id, opened_at)
            select 'sensor_offline', g.id, g.facility_id, g.community_id, g.street_id, ${now.toISOString()}::timestamptz
            from gone g where g.revoked_at is null
            on conflict (facility_id, kind) where closed_at is null do nothing
            returning id, sensor_id
          )
          select g.id as sensor_id, o.id as incident_id from gone g left join opened o on o.sensor_id = g.id`,
    ),
  );
  return {
    offline: rows.map((r) => r.sensor_id),
    incidents: rows.filter((r) => r.incident_id !== null).length,
  };
}

/**
 * One sweep as of the clock, logged when it took sensors offline: what the sweeper's timer runs
 * on Node and the Workers cron trigger runs every minute (src/scheduled.ts).
 */
export async function runOfflineSweep(opts: {
  db: Database;
  logger: Logger;
  clock: () => Date;
  scope?: SweepScope;
}): Promise<SweepResult> {
  const result = await sweepOffline(opts.db, opts.clock(), opts.scope);
  if (result.offline.length) {
    opts.logger.warn(
      { sensors: result.offline, incidents: result.incidents },
      "sensors offline: missed heartbeats",
    );
  }
  return result;
}

/** Production sweeps every sensor; tests sharing one database restrict it to their community. */
export interface SweepScope {
  communityId?: string;
}

export interface SweeperOptions {
  db: Database;
  scope?: SweepScope;
  logger: Logger;
  clock?: () => Date;
  /** Time between sweeps. */
  intervalMs?: number;
}

export interface Sweeper {
  /** Runs one sweep now (also what the timer does). */
  sweep(): Promise<SweepResult>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps every intervalMs (a tick never overlaps the previous one); a failed tick is retried by
 * the next, logged once per change (db/failure-log.ts), never thrown.
 */
export function startSweeper({
  db,
  logger,
  scope = {},
  clock = () => new Date(),
  intervalMs = 5_000,
}: SweeperOptions): Sweeper {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const failures = createFailureLog(logger, "offline sweeper");

  const sweep = () => runOfflineSweep({ db, logger, clock, scope });

  const tick = () => {
    timer = null;
    running = sweep()
      .then(
        () => failures.succeeded(),
        // A database outage or a deadlock with a concurrent sweeper: the next tick sweeps again
        // (nothing was written), and the log says so once, not every tick.
        (err: unknown) => void failures.failed(err),
      )
      .finally(() => {
        running = null;
        if (!stopped) schedule();
      });
  };
  const schedule = () => {
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  schedule();

  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
